/**
 * Float32 memory shared between the training process and its worker processes: a file mapped with
 * `mmap(MAP_SHARED)` in each of them, so what one writes the others read without a copy through a pipe.
 *
 * Written by hand on libc through `Deno.dlopen` because Deno has no shared memory between processes: a
 * `SharedArrayBuffer` is shared between Worker threads only, and the pools run processes (OpenBLAS's OpenMP
 * runtime must not be driven from several threads of one process). A pipe moves about 80–160 MB/s here with
 * MessagePack framing at both ends, a copy through mapped memory several GB/s (measured: 40 MB in 0.5 s
 * through a worker's pipes and back, 30 ms memcpy). Linux and macOS; elsewhere, or without `--allow-ffi`,
 * {@link SharedFloats.create} fails and the pool keeps its data on the pipes.
 *
 * The file lives in /dev/shm where there is one (tmpfs: memory, never the disk) and is reserved in full with
 * `posix_fallocate` when created, so a full tmpfs is an error at the start rather than a SIGBUS in the middle
 * of a step. The creator removes the file once every process has mapped it; the mappings outlive the name.
 *
 * @module
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
} as const;

const O_RDWR = 2;
const SEEK_END = 2;
const PROT_READ_WRITE = 1 | 2;
const MAP_SHARED = 1;
/** mmap's MAP_FAILED, (void *) -1. */
const MAP_FAILED = 2n ** 64n - 1n;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

function openLibc(): Libc {
  const os = Deno.build.os;
  if (os !== "linux" && os !== "darwin") throw new Error(`no shared memory on ${os}`);
  return Deno.dlopen(os === "darwin" ? "libSystem.B.dylib" : "libc.so.6", SYMBOLS);
}

/** A mapped file of float32 values; see the module comment. */
export class SharedFloats {
  /** The mapped values (length: the file's size / 4). */
  readonly floats: Float32Array;
  #libc: Libc | undefined;
  #pointer: Deno.PointerObject | null;

  private constructor(readonly path: string, libc: Libc, pointer: Deno.PointerObject, length: number) {
    this.#libc = libc;
    this.#pointer = pointer;
    this.floats = new Float32Array(Deno.UnsafePointerView.getArrayBuffer(pointer, length * 4));
  }

  /** A new file of `length` zeros, reserved in full and mapped (its name: {@link path}, for the others). */
  static async create(length: number): Promise<SharedFloats> {
    const libc = openLibc();
    let path: string | undefined;
    try {
      const dir = await isDirectory("/dev/shm") ? "/dev/shm" : undefined;
      path = await Deno.makeTempFile({ dir, prefix: "sgan-pool-", suffix: ".f32" });
      return SharedFloats.#map(libc, path, length, true);
    } catch (e) {
      libc.close();
      if (path) await Deno.remove(path).catch(() => {});
      throw e;
    }
  }

  /** Map the file another process created (`length`: its values, as the creator says). */
  static open(path: string, length: number): SharedFloats {
    const libc = openLibc();
    try {
      return SharedFloats.#map(libc, path, length, false);
    } catch (e) {
      libc.close();
      throw e;
    }
  }

  static #map(libc: Libc, path: string, length: number, reserve: boolean): SharedFloats {
    const bytes = Math.max(4, length * 4);
    const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), O_RDWR);
    if (fd < 0) throw new Error(`shared memory ${path} could not be opened`);
    try {
      if (reserve) {
        const status = libc.symbols.posix_fallocate(fd, 0n, BigInt(bytes));
        if (status !== 0) {
          throw new Error(`shared memory: ${bytes} bytes could not be reserved in ${path} (errno ${status})`);
        }
      } else if (Number(libc.symbols.lseek(fd, 0n, SEEK_END)) < bytes) {
        // (lseek, not Deno.stat: Deno asks for every permission on paths under /dev)
        throw new Error(`shared memory ${path} holds fewer than ${bytes} bytes`);
      }
      const pointer = libc.symbols.mmap(null, BigInt(bytes), PROT_READ_WRITE, MAP_SHARED, fd, 0n);
      if (pointer === null || BigInt(Deno.UnsafePointer.value(pointer)) === MAP_FAILED) {
        throw new Error(`shared memory ${path} could not be mapped`);
      }
      return new SharedFloats(path, libc, pointer, length);
    } finally {
      libc.symbols.close(fd);
    }
  }

  /** Remove the file's name (the mappings stay valid until closed). */
  async unlink(): Promise<void> {
    await Deno.remove(this.path).catch(() => {});
  }

  /** Unmap (the values must not be used after this). */
  close(): void {
    if (!this.#libc || !this.#pointer) return;
    this.#libc.symbols.munmap(this.#pointer, BigInt(Math.max(4, this.floats.length * 4)));
    this.#libc.close();
    this.#libc = undefined;
    this.#pointer = null;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
