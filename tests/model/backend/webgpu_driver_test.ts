/**
 * Which of wgpu's backends the webgpu backend starts (model/backend/webgpu_driver.ts), checked in child
 * processes: wgpu reads DENO_WEBGPU_BACKEND once per process, and this test process may have set it already.
 * What is loaded is read from /proc/self/maps, so the Linux-only checks are ignored elsewhere.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../../support/paths.ts";
import { vulkanDriverInstalled } from "../../../model/backend/webgpu_driver.ts";

interface Probe {
  reason?: string;
  error?: string;
  backends: string | null;
  egl: boolean;
  vulkan: boolean;
}

const PROBE = `
import { initBackend } from "./model/backend/select.ts";
let reason, error;
try {
  reason = (await initBackend("webgpu", { quiet: true })).reason;
} catch (e) {
  error = e.message;
}
const maps = Deno.build.os === "linux" ? Deno.readTextFileSync("/proc/self/maps") : "";
console.log(JSON.stringify({
  reason, error,
  backends: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null,
  egl: /libEGL\\.so/.test(maps),
  vulkan: /libvulkan\\.so/.test(maps),
}));
`;

/** initBackend("webgpu") in a fresh process whose environment has exactly `set` beyond the basics. */
async function probe(set: Record<string, string>): Promise<Probe> {
  const keep = [
    "PATH",
    "HOME",
    "DENO_DIR",
    "XDG_RUNTIME_DIR",
    "TMPDIR",
    "VK_DRIVER_FILES",
    "VK_ICD_FILENAMES",
  ];
  const env: Record<string, string> = {};
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", PROBE],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: { ...env, ...set },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(stdout.trim().split("\n").pop()!) as Probe;
}

const linuxWithVulkan = Deno.build.os === "linux" && vulkanDriverInstalled();

Deno.test({
  name: "webgpu on Linux with a Vulkan driver: wgpu's Vulkan backend alone, libEGL never loaded",
  ignore: !linuxWithVulkan,
  async fn() {
    const chosen = await probe({});
    assert.equal(chosen.error, undefined);
    assert.equal(chosen.backends, "vulkan");
    assert.match(chosen.reason!, / via Vulkan/);
    assert.equal(chosen.vulkan, true);
    // libEGL's exit handler races with exiting threads (heap corruption at exit): it must not be there.
    assert.equal(chosen.egl, false);
    // An empty setting would leave wgpu no backend: it counts as unset.
    assert.equal((await probe({ DENO_WEBGPU_BACKEND: "" })).backends, "vulkan");
  },
});

Deno.test({
  name: "webgpu: the user's DENO_WEBGPU_BACKEND is obeyed, and named when it finds no adapter",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const gl = await probe({ DENO_WEBGPU_BACKEND: "gl" });
    assert.equal(gl.backends, "gl");
    if (gl.error === undefined) {
      // OpenGL does load libEGL: the check above can see it.
      assert.equal(gl.egl, true);
      assert.match(gl.reason!, /\(DENO_WEBGPU_BACKEND=gl\)/);
    } else assert.match(gl.error, /no WebGPU adapter found \(DENO_WEBGPU_BACKEND=gl\)/);

    const none = await probe({ DENO_WEBGPU_BACKEND: "nonesuch" });
    assert.equal(none.backends, "nonesuch");
    assert.equal(
      none.error,
      "backend 'webgpu' is not available: no WebGPU adapter found (DENO_WEBGPU_BACKEND=nonesuch)",
    );
  },
});
