/**
 * The widgets' side of the HTTP API: URLs, fetching figures and model descriptions, and every failure turned
 * into an {@link ApiProblem} that says in words what went wrong. No DOM here, so it is unit-tested under Deno.
 *
 * @module
 */
import { isModelInfo, type ModelInfo } from "./model_info.ts";
import { SettingError, settingLabel } from "./params.ts";

/** Query values; undefined and null are left out. */
export type QueryValues = Record<string, string | number | boolean | null | undefined>;

/**
 * The URL of `path` on the server named by `api` (an origin, or an origin and a path prefix); an empty `api`
 * means the page's own origin, so the URL stays relative (`/generate?seed=730`).
 */
export function apiUrl(api: string | null | undefined, path: string, query: QueryValues = {}): string {
  const base = (api ?? "").trim().replace(/\/+$/, "");
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const search = params.toString();
  return `${base}${path}${search ? `?${search}` : ""}`;
}

/** What kind of failure a problem is. */
export type ProblemKind = "setting" | "unreachable" | "http" | "invalid-response";

/** A failure the widget shows: a bad setting, a server that cannot be reached, or an error response. */
export class ApiProblem extends Error {
  override name = "ApiProblem";
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly options: {
      /** HTTP status, for `http`. */
      status?: number;
      /** Attribute or query parameter at fault. */
      field?: string | null;
      /** What would have been accepted. */
      allowed?: string | readonly (string | number)[] | null;
      /** Seconds the server asked to wait (503). */
      retryAfterS?: number;
      /** The server's address, for `unreachable`. */
      server?: string;
    } = {},
  ) {
    super(message);
  }

  /** The same problem from a setting the widget rejected before asking the server. */
  static fromSetting(error: SettingError): ApiProblem {
    return new ApiProblem("setting", error.message, { field: error.field, allowed: error.allowed });
  }
}

/**
 * Whether asking again can help: a server that could not be reached, or one that failed or was busy (5xx,
 * 503). A bad setting, a 400 or a 404 gives the same answer every time, so no "Try again" is offered for them.
 */
export function isRetryable(problem: unknown): boolean {
  if (!(problem instanceof ApiProblem)) return false;
  if (problem.kind === "unreachable") return true;
  return problem.kind === "http" && (problem.options.status ?? 0) >= 500;
}

/** The attribute or query parameter a problem is about (for `aria-invalid`), or null. */
export function problemField(problem: unknown): string | null {
  if (problem instanceof SettingError) return problem.field;
  if (problem instanceof ApiProblem) return problem.options.field ?? null;
  return null;
}

/** A problem in words, for the error state: one headline and an optional line of detail. */
export interface ProblemWords {
  headline: string;
  detail: string | null;
}

/** The words a widget shows for a problem. */
export function explainProblem(problem: unknown): ProblemWords {
  if (problem instanceof SettingError) problem = ApiProblem.fromSetting(problem);
  if (!(problem instanceof ApiProblem)) {
    return { headline: `Unexpected error: ${(problem as Error)?.message ?? String(problem)}`, detail: null };
  }
  const allowed = formatAllowed(problem.options.allowed);
  switch (problem.kind) {
    case "setting":
      return { headline: capitalise(problem.message), detail: allowed ? `Allowed: ${allowed}.` : null };
    case "unreachable":
      return {
        headline: `The sgan server${
          problem.options.server ? ` at ${problem.options.server}` : ""
        } cannot be reached.`,
        detail:
          "Check that it is running (deno task serve). A page on another origin also needs the server " +
          "to allow that origin (SGAN_CORS_ORIGINS).",
      };
    case "invalid-response":
      return { headline: problem.message, detail: "Is the api attribute the address of an sgan server?" };
    case "http": {
      const status = problem.options.status ?? 0;
      if (status === 503) {
        const wait = problem.options.retryAfterS;
        return {
          headline: `The server is busy: ${problem.message}.`,
          detail: wait ? `Try again in ${wait} s.` : "Try again shortly.",
        };
      }
      const prefix = status >= 500 ? `The server failed (HTTP ${status}): ` : "";
      return {
        headline: capitalise(`${prefix}${withLabel(problem.message, problem.options.field)}`),
        detail: allowed ? `Allowed: ${allowed}.` : null,
      };
    }
  }
}

/** The problem an error response describes (its JSON `{error, field, allowed}` when it has one). */
export async function problemFromResponse(response: Response): Promise<ApiProblem> {
  let body: { error?: unknown; field?: unknown; allowed?: unknown } | null = null;
  try {
    if ((response.headers.get("content-type") ?? "").includes("json")) body = await response.json();
    else await response.body?.cancel();
  } catch {
    body = null;
  }
  const retry = Number(response.headers.get("retry-after"));
  const message = typeof body?.error === "string" && body.error
    ? body.error
    : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  return new ApiProblem("http", message, {
    status: response.status,
    field: typeof body?.field === "string" ? body.field : null,
    allowed: typeof body?.allowed === "string" || Array.isArray(body?.allowed)
      ? body!.allowed as string | (string | number)[]
      : null,
    retryAfterS: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

/** What the server says about an image in its response headers. */
export interface ImageHeaders {
  model: string | null;
  depth: number | null;
  tilePixels: number | null;
  metresPerPixel: number | null;
  /** `X-Style-Layers` of /mixing: the layer range of each destination row. */
  styleLayers: string | null;
}

/** A fetched image. */
export interface FetchedImage {
  blob: Blob;
  headers: ImageHeaders;
}

/** The fetch function (swapped in tests). */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * GET an image. Throws an {@link ApiProblem} for an error response, a server that cannot be reached or a body
 * that is not an image; an abort rethrows the signal's reason.
 */
export async function fetchImage(
  url: string,
  signal?: AbortSignal,
  fetchFn: FetchFunction = fetch,
): Promise<FetchedImage> {
  const response = await request(url, signal, fetchFn);
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("image/")) {
    await response.body?.cancel();
    throw new ApiProblem(
      "invalid-response",
      `The server answered ${type || "something"} instead of an image.`,
    );
  }
  const blob = await response.blob();
  const number = (name: string) => {
    const text = response.headers.get(name);
    const value = text === null ? NaN : Number(text);
    return Number.isFinite(value) ? value : null;
  };
  return {
    blob,
    headers: {
      model: response.headers.get("x-sgan-model"),
      depth: number("x-sgan-depth"),
      tilePixels: number("x-sgan-tile-pixels"),
      metresPerPixel: number("x-metres-per-pixel"),
      styleLayers: response.headers.get("x-style-layers"),
    },
  };
}

/** GET a JSON document, with the same failures as {@link fetchImage}. */
export async function fetchJson(
  url: string,
  signal?: AbortSignal,
  fetchFn: FetchFunction = fetch,
): Promise<unknown> {
  const response = await request(url, signal, fetchFn);
  try {
    return await response.json();
  } catch {
    throw new ApiProblem("invalid-response", "The server's answer is not JSON.");
  }
}

const modelCache = new Map<string, Promise<ModelInfo>>();

/**
 * A model's description (the server's default model when `model` is undefined). Widgets on one page share one
 * request per server and model; a failed request is forgotten so that the next attempt asks again.
 */
export function fetchModelInfo(
  api: string | null | undefined,
  model: string | undefined,
  signal?: AbortSignal,
  fetchFn: FetchFunction = fetch,
): Promise<ModelInfo> {
  const key = `${(api ?? "").trim()}\n${model ?? ""}`;
  let shared = modelCache.get(key);
  if (!shared) {
    shared = loadModelInfo(api, model, fetchFn);
    modelCache.set(key, shared);
    shared.catch(() => {
      if (modelCache.get(key) === shared) modelCache.delete(key);
    });
  }
  // The shared request outlives any one widget, so only this caller's wait is cut short by its signal.
  return untilAborted(shared, signal);
}

/** Forget the cached model descriptions (tests; a page that knows the server changed). */
export function clearModelCache(): void {
  modelCache.clear();
  limitsCache.clear();
}

/** The server's figure limits (`limits` of `/api/models`). */
export interface ServerLimits {
  /** Seeds per seed list (`seeds`, `src`, `dst`). */
  max_seeds: number;
  /** ψ values per truncation figure. */
  max_psis: number;
  /** Tiles per figure. */
  max_cells: number;
}

const limitsCache = new Map<string, Promise<ServerLimits | null>>();

/**
 * The server's figure limits, so that a widget refuses a figure the server would refuse before drawing a
 * control per row; null from a server that does not publish them. Shared per server like the descriptions.
 */
export function fetchServerLimits(
  api: string | null | undefined,
  signal?: AbortSignal,
  fetchFn: FetchFunction = fetch,
): Promise<ServerLimits | null> {
  const key = (api ?? "").trim();
  let shared = limitsCache.get(key);
  if (!shared) {
    shared = fetchJson(apiUrl(api, "/api/models"), undefined, fetchFn).then((list) =>
      limitsOf((list as { limits?: unknown })?.limits)
    );
    limitsCache.set(key, shared);
    shared.catch(() => {
      if (limitsCache.get(key) === shared) limitsCache.delete(key);
    });
  }
  return untilAborted(shared, signal);
}

function limitsOf(value: unknown): ServerLimits | null {
  const v = value as ServerLimits | null | undefined;
  const ok = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n > 0;
  return v && ok(v.max_seeds) && ok(v.max_psis) && ok(v.max_cells)
    ? { max_seeds: v.max_seeds, max_psis: v.max_psis, max_cells: v.max_cells }
    : null;
}

async function loadModelInfo(
  api: string | null | undefined,
  model: string | undefined,
  fetchFn: FetchFunction,
): Promise<ModelInfo> {
  if (model !== undefined) {
    const info = await fetchJson(apiUrl(api, `/api/models/${encodeURIComponent(model)}`), undefined, fetchFn);
    if (!isModelInfo(info)) {
      throw new ApiProblem("invalid-response", `The description of model '${model}' is incomplete.`);
    }
    return info;
  }
  const list = await fetchJson(apiUrl(api, "/api/models"), undefined, fetchFn) as {
    default?: unknown;
    models?: unknown;
    limits?: unknown;
  };
  // The same answer carries the limits: no second request for them.
  const key = (api ?? "").trim();
  if (!limitsCache.has(key)) limitsCache.set(key, Promise.resolve(limitsOf(list?.limits)));
  const models = Array.isArray(list?.models) ? list.models : [];
  const info = models.find((m: { name?: unknown }) => m?.name === list.default) ?? models[0];
  if (!isModelInfo(info)) {
    throw new ApiProblem("invalid-response", "The server lists no usable default model.");
  }
  return info;
}

async function request(
  url: string,
  signal: AbortSignal | undefined,
  fetchFn: FetchFunction,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw signal.reason ?? e;
    throw new ApiProblem("unreachable", `cannot reach ${url}: ${(e as Error).message}`, {
      server: serverOf(url),
    });
  }
  if (!response.ok) throw await problemFromResponse(response);
  return response;
}

/** Wait `ms` milliseconds, or reject with the signal's reason when it is aborted first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `promise`, or a rejection with the signal's reason as soon as it is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function serverOf(url: string): string {
  try {
    // Relative URLs (the default, same-origin api) resolve against the page.
    return new URL(url, (globalThis as { location?: { href: string } }).location?.href).origin;
  } catch {
    return "this page's origin";
  }
}

/**
 * The server's message with the setting named as the widget's label names it: "dst: …" becomes
 * "Destination seeds: …", "depth 9 …" becomes "Depth 9 …", and a message that names no setting gets the label
 * in front.
 */
function withLabel(message: string, field: string | null | undefined): string {
  if (!field) return message;
  const label = settingLabel(field);
  if (message.startsWith(`${field}:`)) return `${label}${message.slice(field.length)}`;
  if (message.startsWith(`${field} `)) return `${label}${message.slice(field.length)}`;
  return `${label}: ${message}`;
}

function formatAllowed(allowed: string | readonly (string | number)[] | null | undefined): string | null {
  if (allowed === null || allowed === undefined) return null;
  if (typeof allowed === "string") return allowed;
  return allowed.join(", ");
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
