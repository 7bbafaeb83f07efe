/**
 * `deno task train --config FILE.yaml [--set key=value ...] [--resume RUN_DIR] [--force] [--backend B]
 *   [--workers auto|N] [--events] [--data-root DIR]`
 *
 * Progressive StyleGAN training. The run directory (config `output_dir`) is never overwritten without
 * `--resume` (continue exactly where it stopped) or `--force` (start again from scratch). Ctrl-C (SIGINT)
 * stops at the next safe point with a checkpoint written; a second Ctrl-C exits at once.
 *
 * `--workers` (default auto: one per core on the wasm and cpu backends) computes the gradients of each batch
 * on that many worker processes, data-parallel (model/pool/training_pool.ts); `--workers 0` trains in this
 * process alone.
 *
 * `--events` is for a parent process (the API's training jobs): stdout then carries every `TrainEvent` as one
 * JSON line and nothing else (dataset messages become `log` events); human text goes to stderr.
 *
 * `--data-root DIR` confines every file the run reads (list file, images) to DIR, links followed and checked on
 * the file actually opened (model/data/confine.ts); the API passes its SGAN_DATA_ROOT this way.
 */
import cliProgress from "cli-progress";
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import { loadConfig, type TrainConfig } from "../config.ts";
import { train, type TrainEvent } from "../train/loop.ts";
import { checkTrainingMemory, TrainingMemoryError } from "../train/memory.ts";
import { RunDir } from "../train/run_dir.ts";
import { openTrainingData } from "../train/data_adapter.ts";
import { parseFlags, runCommand, UsageError, workerCount, workersFlag } from "./common.ts";

const USAGE =
  "usage: deno task train --config FILE.yaml [--set key=value ...] [--resume RUN_DIR] [--force] " +
  "[--backend B] [--workers auto|N] [--events] [--data-root DIR]";

/** Write one event as a JSON line on stdout, all of it (a pipe may take a long line in pieces). */
function writeEventLine(event: TrainEvent): void {
  const bytes = new TextEncoder().encode(JSON.stringify(event) + "\n");
  for (let written = 0; written < bytes.length;) written += Deno.stdout.writeSync(bytes.subarray(written));
}

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    config: { type: "string" },
    set: { type: "string", multiple: true },
    resume: { type: "string" },
    force: { type: "boolean", default: false },
    backend: { type: "string" },
    "max-steps": { type: "string" },
    events: { type: "boolean", default: false },
    workers: { type: "string" },
    "data-root": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const workersGiven = workersFlag(values.workers);
  if (values.resume && values.force) {
    throw new UsageError("--resume and --force contradict each other: choose one");
  }
  const events = values.events;
  if (events) {
    // stdout belongs to the event stream: whatever a library prints goes to stderr instead.
    console.log = console.error;
    console.info = console.error;
  }
  const say = (line: string) => events ? writeEventLine({ type: "log", line }) : console.log(line);

  // The configuration: a resumed run keeps its own (overrides still apply, e.g. a lower learning rate).
  let config: TrainConfig;
  if (values.resume) {
    const run = new RunDir(values.resume);
    const pointer = await run.readLatest();
    if (!pointer) {
      throw new UsageError(`--resume ${values.resume}: no checkpoint there (models/latest.json is missing)`);
    }
    config = await loadConfig(`${values.resume}/config.yaml`, [
      ...(values.set ?? []),
      `output_dir=${values.resume}`,
    ]);
  } else {
    if (!values.config && !(values.set ?? []).some((s) => s.startsWith("dataset.img_dir="))) {
      throw new UsageError(`--config is required (or at least --set dataset.img_dir=...)\n${USAGE}`);
    }
    config = await loadConfig(values.config, values.set ?? []);
    const run = new RunDir(config.output_dir);
    if (await run.exists()) {
      if (!values.force) {
        throw new UsageError(
          `${config.output_dir} already holds a run; continue it with --resume ${config.output_dir}, or start over with --force`,
        );
      }
      await Deno.remove(config.output_dir, { recursive: true });
    }
  }

  // Settings whose memory cannot fit are refused before anything is built (the machine's memory, read once here).
  try {
    checkTrainingMemory(config, Deno.systemMemoryInfo().total);
  } catch (e) {
    if (e instanceof TrainingMemoryError) throw new UsageError(e.message);
    throw e;
  }

  // The training config's `backend` stands in for --backend (SGAN_BACKEND does not override a config).
  const runtime = processRuntime({ backend: values.backend ?? config.backend });
  const backend = await initBackend(runtime);
  const workers = workerCount(workersGiven, backend.name);
  const run = new RunDir(config.output_dir);
  // config.yaml is written by train() once a resume's checks have passed, so a refused resume changes nothing.
  await run.makeFolders();
  const data = await openTrainingData(config, run, say, values["data-root"]);
  say(
    `training ${config.dataset.resolution} px on ${data.count} images (${data.gsdM.toPrecision(3)} m/px) ` +
      `with ${backend.name}; run directory ${config.output_dir}`,
  );

  // Ctrl-C: stop at a safe point with a checkpoint; twice: exit now. Under --events the parent escalates
  // (SIGKILL) itself, and a Ctrl-C in its terminal reaches this process too, so repeats only stop.
  const stop = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      console.error(
        events
          ? "stopping at the next safe point (a checkpoint is written)"
          : "\nstopping at the next safe point (a checkpoint is written); press Ctrl-C again to exit now",
      );
      stop.abort();
    } else if (!events) Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const tty = !events && Deno.stdout.isTerminal();
  const bar = tty
    ? new cliProgress.SingleBar({
      format:
        "depth {depth} ({res} px) epoch {epoch}/{epochs} |{bar}| {value}/{total} batches · α {alpha} · {speed} img/s · ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  let barEpoch = "";
  const onEvent = (e: TrainEvent) => {
    if (events) return writeEventLine(e);
    switch (e.type) {
      case "progress": {
        if (!bar) return;
        const key = `${e.depth}/${e.epoch}`;
        const payload = {
          depth: e.depth + 1, // 1-based like the log lines (StyleGAN.pytorch's "Currently working on depth")
          res: e.resolution,
          epoch: e.epoch,
          epochs: e.epochs,
          alpha: e.alpha.toFixed(2),
          speed: e.imgPerS.toFixed(1),
        };
        if (key !== barEpoch) {
          bar.stop();
          bar.start(e.batches, e.batch, payload);
          barEpoch = key;
        } else bar.update(e.batch, payload);
        return;
      }
      case "log":
        if (bar) bar.stop(), barEpoch = "";
        console.log(e.line);
        return;
      case "warning":
        console.error(`warning: ${e.message}`);
        return;
      case "stopped":
        console.log(
          `stopped at ${e.kimg.toFixed(2)} kimg; resume with: deno task train --resume ${config.output_dir}`,
        );
        return;
      case "done":
        console.log(`done: ${e.kimg.toFixed(1)} kimg; generator (EMA): ${e.generator}`);
        return;
    }
  };
  try {
    await train({
      config,
      data,
      resume: Boolean(values.resume),
      signal: stop.signal,
      onEvent,
      maxSteps: values["max-steps"] ? Number(values["max-steps"]) : undefined,
      workers,
      runtime,
    });
  } finally {
    bar?.stop();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
});
