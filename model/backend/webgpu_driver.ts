/**
 * The process environment Deno's WebGPU (wgpu) reads when the first adapter is requested, set up before that
 * request: a runtime directory for Mesa, and which of wgpu's native backends it starts.
 *
 * Vulkan first, on Linux. Asked for every backend (Deno's default), wgpu also starts its OpenGL backend,
 * which loads libEGL (libglvnd). At exit that library's destructor frees every thread's EGL state while a
 * thread that used EGL may still be exiting and freeing its own: a race on the heap that aborted `deno test`
 * after its last test in 4 of about 70 runs on the development machine ("corrupted size vs. prev_size
 * in fastbins", "free(): invalid pointer"; in the core dump the main thread was in `_dl_fini` → libEGL's
 * destructor, another in `__nptl_deallocate_tsd`). With Vulkan alone libEGL is never loaded. Vulkan is also
 * the backend GPUs use here (NVIDIA, AMD, Intel) and what Mesa's lavapipe offers in software, so the tests
 * compile the WGSL pipelines to SPIR-V as they are on a GPU. Where no Vulkan driver is installed OpenGL
 * stays available, and `DENO_WEBGPU_BACKEND` (vulkan, gl, …), when set, is always obeyed.
 */

// Process setup, not a setting: these variables are Deno's and the Vulkan loader's own, read (and
// DENO_WEBGPU_BACKEND/XDG_RUNTIME_DIR set) in the real environment, where wgpu looks for them.
import { processEnvVariable } from "../runtime.ts";

/** Where the Vulkan loader looks for driver manifests (ICDs) on Linux, system-wide. */
const ICD_DIRECTORIES = ["/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", "/usr/share/vulkan/icd.d"];
/** Variables that name driver manifests directly (the loader's current and older names). */
const ICD_VARIABLES = ["VK_DRIVER_FILES", "VK_ICD_FILENAMES", "VK_ADD_DRIVER_FILES"];

/** Which wgpu backends the process asks for (`DENO_WEBGPU_BACKEND`; undefined: all) and who chose them. */
export interface WgpuBackendChoice {
  backends?: string;
  /** True when this module set `vulkan`, false when the user's setting (or wgpu's default) stands. */
  chosenHere: boolean;
}

/** Call before the first `requestAdapter` of the process: wgpu reads the variable once per instance. */
export function prepareWebGpuEnvironment(): WgpuBackendChoice {
  ensureXdgRuntimeDir();
  return chooseWgpuBackend();
}

/** Whether a Vulkan driver manifest is installed or named (an installed loader alone finds no device). */
export function vulkanDriverInstalled(): boolean {
  if (ICD_VARIABLES.some((name) => processEnvVariable(name))) return true;
  const home = processEnvVariable("HOME");
  const dirs = [...ICD_DIRECTORIES, ...(home ? [`${home}/.local/share/vulkan/icd.d`] : [])];
  return dirs.some((dir) => {
    try {
      return [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".json"));
    } catch {
      return false; // missing, or no read permission: leave wgpu's default
    }
  });
}

function chooseWgpuBackend(): WgpuBackendChoice {
  try {
    // An empty value would give wgpu no backend at all: treat it as unset.
    if (Deno.env.get("DENO_WEBGPU_BACKEND")?.trim() === "") Deno.env.delete("DENO_WEBGPU_BACKEND");
    const chosen = Deno.env.get("DENO_WEBGPU_BACKEND");
    if (chosen !== undefined || Deno.build.os !== "linux" || !vulkanDriverInstalled()) {
      return { backends: chosen, chosenHere: false };
    }
    Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
    return { backends: "vulkan", chosenHere: true };
  } catch {
    return { chosenHere: false }; // without env permission wgpu starts every backend, as before
  }
}

/** Mesa's Vulkan drivers complain (and sometimes fail) without a runtime dir; make one if missing. */
function ensureXdgRuntimeDir(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/sgan-xdg-${Deno.pid}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env/write permission the driver may still work; nothing to do.
  }
}
