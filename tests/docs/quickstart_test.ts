/**
 * The README's quick start, run as written: every `sh` command of its "Quick start" section, in order, in a
 * throw-away copy of the repository (so a user's own `runs/` is never touched), with `deno task serve`
 * running. The only change made to a command is the port: the server listens on a free one instead of 8000,
 * which another program may hold. Each command must exit 0, and what it writes is checked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../support/paths.ts";

const README = await Deno.readTextFile(join(REPO_ROOT, "README.md"));

/** The fenced blocks of one `## ` section of the README, with their language. */
function blocksOf(section: string): Array<{ lang: string; body: string }> {
  const start = README.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README.md has no "## ${section}" section`);
  const end = README.indexOf("\n## ", start + 1);
  const text = README.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** Shell commands of a block: continuation lines joined, blank lines dropped. */
function commandsOf(body: string): string[] {
  return body.replace(/\\\n\s*/g, "").split("\n").map((line) => line.trim()).filter(Boolean);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A copy of the tracked files, sharing node_modules: the README's commands write into it. */
async function repositoryCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-quickstart-" });
  const files = await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: REPO_ROOT }).output();
  assert.equal(files.code, 0, "git ls-files failed");
  for (const file of new TextDecoder().decode(files.stdout).split("\0").filter(Boolean)) {
    const target = join(dir, file);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.copyFile(join(REPO_ROOT, file), target);
  }
  await Deno.symlink(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function isPng(path: string): Promise<boolean> {
  const bytes = await Deno.readFile(path);
  return bytes.length > 8 && bytes[0] === 0x89 && String.fromCharCode(...bytes.subarray(1, 4)) === "PNG";
}

async function waitForServer(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    exited ? "deno task serve exited before it listened" : "deno task serve did not listen in 120 s",
  );
}

Deno.test({
  name: "README quick start: every command works as written",
  // The server and training keep timers and child processes of their own; they are ended below.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const blocks = blocksOf("Quick start");
    const shell = blocks.filter((b) => b.lang === "sh").flatMap((b) => commandsOf(b.body));
    const html = blocks.filter((b) => b.lang === "html").map((b) => b.body).join("\n");
    assert.ok(shell.length >= 8, `only ${shell.length} commands found in the quick start`);

    const dir = await repositoryCopy();
    const port = freePort();
    const local = (text: string) => text.replaceAll("localhost:8000", `127.0.0.1:${port}`);
    const server = new Deno.Command(Deno.execPath(), {
      args: ["task", "serve", "--port", String(port)],
      cwd: dir,
      env: { SGAN_BACKEND: "wasm" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForServer(`http://127.0.0.1:${port}/`, server);

      await t.step("the widget snippet's script loads and defines the element it uses", async () => {
        const src = local(html).match(/<script type="module" src="([^"]+)"/)?.[1];
        assert.ok(src, "no script tag in the quick start's HTML");
        const res = await fetch(src);
        assert.equal(res.status, 200, src);
        assert.match(res.headers.get("content-type") ?? "", /javascript/);
        const element = html.match(/<(sgan-[a-z-]+)/)?.[1];
        assert.ok(
          element && (await res.text()).includes(`"${element}"`),
          `the bundle does not define ${element}`,
        );
      });

      for (const command of shell) {
        await t.step(command, async () => {
          const out = await new Deno.Command("bash", {
            args: ["-c", local(command)],
            cwd: dir,
            env: { SGAN_BACKEND: "wasm" },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const dec = new TextDecoder();
          assert.equal(out.code, 0, `${command}\n${dec.decode(out.stderr)}`);
          await checkOutput(command, dir, dec.decode(out.stdout));
        });
      }
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** What each kind of quick-start command must have produced. */
async function checkOutput(command: string, dir: string, stdout: string): Promise<void> {
  const written = command.match(/-o (\S+)$/)?.[1] ?? command.match(/--out (\S+)/)?.[1];
  if (command.startsWith("curl") && written) {
    assert.ok(await isPng(join(dir, written)), `${written} is not a PNG`);
  } else if (command.startsWith("curl")) {
    const body = JSON.parse(stdout);
    assert.equal(body.name, "ucmerced-64");
  } else if (command.startsWith("deno task generate")) {
    const files = [...Deno.readDirSync(join(dir, written!))].filter((e) => e.name.endsWith(".png"));
    const seeds = command.match(/--seeds (\S+)/)![1];
    const count = seeds.includes("-")
      ? Number(seeds.split("-")[1]) - Number(seeds.split("-")[0]) + 1
      : seeds.split(",").length;
    assert.equal(files.length, count);
  } else if (command.startsWith("deno task train")) {
    const latest = JSON.parse(await Deno.readTextFile(join(dir, "runs/quickstart/models/latest.json")));
    assert.ok(latest.files.shadow, "no EMA generator in latest.json");
  } else if (command.startsWith("deno task tiles")) {
    const index = JSON.parse(await Deno.readTextFile(join(dir, written!, "index.json")));
    assert.ok(index.tiles.length > 0);
  } else if (command.startsWith("deno task project")) {
    assert.ok(await isPng(join(dir, written!, "reconstruction.png")), "no reconstruction.png");
    const w = JSON.parse(await Deno.readTextFile(join(dir, written!, "w.json")));
    assert.equal(w.format, "sgan-ts/projected-w/1");
  } else if (command.startsWith("deno task eval")) {
    assert.match(stdout, /m\/px/);
  } else if (command.startsWith("deno task scale")) {
    assert.match(stdout, /m\/px|metres/);
  } else {
    throw new Error(`the quick-start test does not know what "${command}" should produce; add a check`);
  }
}

Deno.test("every `deno task` named in README.md and docs/ is a task of deno.json", async () => {
  const tasks = Object.keys(JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json"))).tasks);
  const pages = ["README.md", ...[...Deno.readDirSync(join(REPO_ROOT, "docs"))].map((e) => `docs/${e.name}`)]
    .filter((p) => p.endsWith(".md"));
  const unknown: string[] = [];
  for (const page of pages) {
    const text = await Deno.readTextFile(join(REPO_ROOT, page));
    for (const [, name] of text.matchAll(/deno task ([a-z][a-z0-9:_-]*)/g)) {
      if (!tasks.includes(name)) unknown.push(`${page}: deno task ${name}`);
    }
  }
  assert.deepEqual(unknown, []);
});
