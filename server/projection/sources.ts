/**
 * `w:<id>` in the image routes: the projections a request names are looked up before it is planned (reading a
 * finished projection's w is asynchronous, plans are not), and they choose the model when the request names
 * none: a projected w belongs to the model it was projected into.
 *
 * @module
 */
import { NotFoundError, ValidationError } from "../errors.ts";
import type { ProjectedTiles } from "../plans.ts";
import type { Services } from "../services.ts";
import type { TileRef } from "../validation.ts";
import type { ProjectedTile } from "./jobs.ts";

/** The projections named by `refs` (`[field, ref]` pairs) and the model to render them with. */
export async function resolveTiles(
  services: Services,
  refs: [string, TileRef][],
  requestedModel: string | undefined,
): Promise<{ tiles: ProjectedTiles; model: string | undefined }> {
  const tiles = new Map<string, ProjectedTile>();
  let model = requestedModel;
  let modelField = "model";
  for (const [field, ref] of refs) {
    if (typeof ref === "number" || tiles.has(ref.projection)) continue;
    if (!services.projections) {
      throw new NotFoundError(
        `${field}: no projection 'w:${ref.projection}' (projections are off on this server)`,
        field,
        "seeds",
      );
    }
    const tile = await services.projections.tile(ref.projection, field);
    if (model !== undefined && tile.model !== model) {
      throw new ValidationError(
        field,
        `w:${tile.id} was projected into model '${tile.model}', not '${model}'` +
          (modelField === "model" ? "; leave model= out or name that model" : ` (as ${modelField} was)`),
        `projections of model '${model}', or seeds`,
      );
    }
    model = tile.model;
    modelField = `w:${tile.id}`;
    tiles.set(ref.projection, tile);
  }
  return { tiles, model };
}
