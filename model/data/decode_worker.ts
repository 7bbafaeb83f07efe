/**
 * Worker entry of the decode pool: prepares one tile per request and sends its bytes back (transferred,
 * not copied). Started only by decode_pool.ts.
 *
 * @module
 */
import { prepareTile } from "./prepare.ts";
import { DatasetError, messageOf } from "./errors.ts";
import type { TileRequest, TileResponse } from "./decode_pool.ts";

// Typed by hand rather than through the deno.worker lib, which clashes with the window lib that
// `deno check model/` applies to the rest of the folder.
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<TileRequest>) => void) | null;
  postMessage(message: TileResponse, transfer?: Transferable[]): void;
};

scope.onmessage = async (event) => {
  const { id, path, resolution, channels, mode, root } = event.data;
  try {
    const tile = await prepareTile(path, resolution, channels, mode, root);
    // Transfer when the bytes own their whole buffer; a view into a larger buffer is copied first.
    const data = tile.data.byteOffset === 0 && tile.data.byteLength === tile.data.buffer.byteLength
      ? tile.data
      : tile.data.slice();
    scope.postMessage({ id, ok: true, ...tile, data }, [data.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({ id, ok: false, message: messageOf(error), badFile: error instanceof DatasetError });
  }
};
