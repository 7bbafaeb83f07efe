/** The pools' message framing: any chunking of the byte stream gives back the same messages; a cut stream fails. */
import assert from "node:assert/strict";
import { bytesToFloats, floatBytes, readMessages, writeMessage } from "../../../model/pool/protocol.ts";

/** The bytes that writeMessage puts on a stream for `messages` (each write's reported size is checked). */
async function framed(messages: unknown[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const writer = new WritableStream<Uint8Array>({ write: (c) => void parts.push(c) }).getWriter();
  for (const m of messages) {
    const reported = await writeMessage(writer, m);
    assert.equal(reported, parts[parts.length - 1].length, "writeMessage reports the bytes it wrote");
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) (out.set(p, offset), offset += p.length);
  return out;
}

/** A stream of `bytes` cut into chunks of the given sizes (repeated). */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of readMessages(stream)) out.push(m);
  return out;
}

Deno.test("messages survive any chunking of the stream, binary payloads included", async () => {
  const floats = Float32Array.from({ length: 70_000 }, (_, i) => Math.sin(i) * 1e3);
  const messages = [
    { type: "a", id: 1, data: floatBytes(floats) },
    { type: "b", id: 2, text: "ψ 0.7 · 1.22 m/px", list: [1, 2, 3], none: null },
    { type: "c", id: 3, empty: new Uint8Array(0) },
  ];
  const bytes = await framed(messages);
  // The header says the body's length: 4 bytes, little-endian.
  assert.equal(new DataView(bytes.buffer).getUint32(0, true) + 4 <= bytes.length, true);
  for (const sizes of [[bytes.length], [1], [3, 5], [65536], [2, 100_000]]) {
    const got = await collect(chunked(bytes, sizes)) as typeof messages;
    assert.equal(got.length, 3, `chunks ${sizes}`);
    assert.deepEqual(bytesToFloats(got[0].data as Uint8Array), floats, `chunks ${sizes}`);
    assert.deepEqual(got[1], messages[1]);
    assert.equal((got[2].empty as Uint8Array).length, 0);
  }
  // Each message's size as read: its 4-byte prefix plus the body length the prefix gives; they add up to the stream.
  const sizes: number[] = [];
  for await (const _ of readMessages(chunked(bytes, [3, 5]), (n) => sizes.push(n))) { /* drain */ }
  const view = new DataView(bytes.buffer);
  const first = 4 + view.getUint32(0, true);
  assert.equal(sizes.length, 3);
  assert.equal(sizes[0], first);
  assert.equal(sizes[1], 4 + view.getUint32(first, true));
  assert.equal(sizes.reduce((a, b) => a + b, 0), bytes.length);
  // The float payload dominates the first message: 280,000 bytes plus a small MessagePack head.
  assert.ok(sizes[0] > 280_000 && sizes[0] < 280_100, `${sizes[0]}`);
});

Deno.test("a stream cut inside a message is an error, not a silent loss", async () => {
  const bytes = await framed([{ id: 1 }, { id: 2, data: new Uint8Array(1000) }]);
  for (const cut of [bytes.length - 1, bytes.length - 900, 2]) {
    await assert.rejects(collect(chunked(bytes.slice(0, cut), [7])), /the stream ended inside a message/);
  }
  assert.throws(() => bytesToFloats(new Uint8Array(6)), /not a multiple of 4/);
});
