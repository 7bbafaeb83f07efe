import { FIXTURE_DIR } from "../../support/paths.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CheckpointError,
  encodeSafetensors,
  fromFloat16Bits,
  parseSafetensors,
  readSafetensors,
  type TensorToWrite,
  toBfloat16Bits,
  toFloat16Bits,
  writeSafetensors,
} from "../../../model/checkpoint/safetensors.ts";

/** The StyleGAN.pytorch reference fixture (see its README). */
const REFERENCE_DIR = FIXTURE_DIR;

/** Bytes of a safetensors file with the given header (object or raw text) and data, padded like the reference. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  let text = typeof header === "string" ? header : JSON.stringify(header);
  if (pad) text += " ".repeat((8 - (text.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

/** Little-endian bytes of float32 values. */
function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** The header of encoded bytes, parsed independently of the module. */
function headerOf(bytes: Uint8Array): { length: number; text: string; json: Record<string, unknown> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  return { length, text, json: JSON.parse(text) };
}

/** Assert `run` throws a CheckpointError whose message contains every fragment (file and tensor names, reason). */
function assertCheckpointError(run: () => unknown, ...fragments: (string | RegExp)[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${error}`);
    for (const fragment of fragments) {
      if (typeof fragment === "string") {
        assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
      } else assert.match(error.message, fragment);
    }
    return true;
  });
}

async function assertRejectsCheckpointError(
  run: () => Promise<unknown>,
  ...fragments: string[]
): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

Deno.test("reading the StyleGAN.pytorch reference files", async (t) => {
  await t.step("G.safetensors: keys, shapes, order, metadata and values", async () => {
    const path = join(REFERENCE_DIR, "G.safetensors");
    const { tensors, metadata } = await readSafetensors(path);
    assert.equal(metadata.format, "StyleGAN.pytorch state_dict keys");

    const dense0 = tensors.get("g_mapping.map.dense0.weight")!;
    assert.deepEqual(dense0.shape, [64, 512]);
    assert.equal(dense0.dtype, "F32");
    assert.equal(dense0.storedDtype, "F32");
    assert.ok(dense0.data instanceof Float32Array);
    assert.equal(dense0.data.length, 64 * 512);
    assert.deepEqual(tensors.get("g_mapping.map.dense0.bias")!.shape, [64]);
    assert.ok(tensors.has("truncation.avg_latent"));

    // Same order and values as an independent parse of the raw header.
    const raw = await Deno.readFile(path);
    const header = headerOf(raw);
    assert.deepEqual([...tensors.keys()], Object.keys(header.json).filter((key) => key !== "__metadata__"));
    const dataStart = 8 + header.length;
    for (const [name, tensor] of tensors) {
      const [begin, end] = (header.json[name] as { data_offsets: number[] }).data_offsets;
      const expected = new Float32Array(raw.slice(dataStart + begin, dataStart + end).buffer);
      assert.deepEqual(tensor.data, expected, name);
    }
  });

  await t.step("io.safetensors re-encodes byte for byte (same layout as its writer)", async () => {
    const path = join(REFERENCE_DIR, "io.safetensors");
    const raw = await Deno.readFile(path);
    const { tensors } = parseSafetensors(raw, path);
    assert.deepEqual(tensors.get("z")!.shape, [4, 512]);
    assert.deepEqual(tensors.get("w")!.shape, [4, 8, 512]);
    assert.deepEqual(encodeSafetensors(tensors), raw);
  });

  await t.step("D.safetensors and noise_const.safetensors read", async () => {
    const d = await readSafetensors(join(REFERENCE_DIR, "D.safetensors"));
    assert.deepEqual(d.tensors.get("blocks.0.conv0.weight")!.shape, [16, 16, 3, 3]);
    const noise = await readSafetensors(join(REFERENCE_DIR, "noise_const.safetensors"));
    assert.deepEqual(noise.tensors.get("g_synthesis.init_block.epi1.top_epi.noise.const")!.shape, [
      1,
      1,
      4,
      4,
    ]);
  });
});

Deno.test("round trips", async (t) => {
  await t.step("F32, F16, BF16, F64, I32, I64, U8, BOOL with metadata; order kept; tensors aligned", () => {
    const tensors = new Map<string, TensorToWrite>([
      ["mask", { dtype: "U8", shape: [3], data: new Uint8Array([0, 7, 255]) }],
      ["flags", { dtype: "BOOL", shape: [2], data: [true, false] }],
      ["half", { dtype: "F16", shape: [2, 2], data: new Float32Array([1, -2.5, 65504, 2 ** -24]) }],
      ["weight", { dtype: "F32", shape: [2, 3], data: new Float32Array([0.1, -1, 2, 3.5, 1e-8, -0]) }],
      ["step", { dtype: "I64", shape: [], data: new BigInt64Array([9007199254740993n]) }],
      ["counts", { dtype: "I64", shape: [2], data: [-5, 2 ** 53 - 1] }],
      ["brain", { dtype: "BF16", shape: [2], data: [1.5, -3] }],
      ["exact", { dtype: "F64", shape: [1], data: [Math.PI] }],
      ["index", { dtype: "I32", shape: [2], data: new Int32Array([-2147483648, 42]) }],
      ["0", { dtype: "F32", shape: [1], data: [7] }], // integer-like name: must not jump to the front
      ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const metadata = { format: "pt", config: JSON.stringify({ resolution: 32 }) };
    const bytes = encodeSafetensors(tensors, metadata);

    const header = headerOf(bytes);
    assert.equal((8 + header.length) % 8, 0, "data starts 8-aligned");
    assert.match(header.text, /^\{"__metadata__":/);
    assert.ok(/ *$/.test(header.text));
    for (const name of tensors.keys()) {
      const { dtype, data_offsets: [begin] } = header.json[name] as { dtype: string; data_offsets: number[] };
      const itemSize = { U8: 1, BOOL: 1, F16: 2, BF16: 2, F32: 4, I32: 4, I64: 8, F64: 8 }[dtype]!;
      assert.equal(begin % itemSize, 0, `${name} aligned`);
    }

    const read = parseSafetensors(bytes, "roundtrip.safetensors");
    assert.deepEqual(read.metadata, metadata);
    assert.deepEqual([...read.tensors.keys()], [...tensors.keys()]);
    const get = (name: string) => read.tensors.get(name)!;
    assert.deepEqual(get("mask").data, new Uint8Array([0, 7, 255]));
    assert.deepEqual(get("flags"), {
      dtype: "BOOL",
      storedDtype: "BOOL",
      shape: [2],
      data: new Uint8Array([1, 0]),
    });
    assert.deepEqual(get("half"), {
      dtype: "F32",
      storedDtype: "F16",
      shape: [2, 2],
      data: new Float32Array([1, -2.5, 65504, 2 ** -24]),
    });
    assert.deepEqual(get("weight").data, new Float32Array([0.1, -1, 2, 3.5, 1e-8, -0]));
    assert.ok(Object.is(get("weight").data[5], -0));
    assert.deepEqual(get("step"), {
      dtype: "I64",
      storedDtype: "I64",
      shape: [],
      data: new BigInt64Array([9007199254740993n]),
    });
    assert.deepEqual(get("counts").data, new BigInt64Array([-5n, 9007199254740991n]));
    assert.deepEqual(get("brain"), {
      dtype: "F32",
      storedDtype: "BF16",
      shape: [2],
      data: new Float32Array([1.5, -3]),
    });
    assert.deepEqual(get("exact").data, new Float64Array([Math.PI]));
    assert.deepEqual(get("index").data, new Int32Array([-2147483648, 42]));
    assert.deepEqual(get("0").data, new Float32Array([7]));
    assert.deepEqual(get("empty"), {
      dtype: "F32",
      storedDtype: "F32",
      shape: [0, 4],
      data: new Float32Array(0),
    });

    // Writing what was read keeps F16 exact (every half is a float32) and reproduces the bytes.
    const again = new Map(
      [...read.tensors].map(([name, t]) => [name, { dtype: t.storedDtype, shape: t.shape, data: t.data }]),
    );
    assert.deepEqual(encodeSafetensors(again as Map<string, TensorToWrite>, read.metadata), bytes);

    assert.deepEqual(parseSafetensors(bytes, "x", { float64ToFloat32: true }).tensors.get("exact"), {
      dtype: "F32",
      storedDtype: "F64",
      shape: [1],
      data: new Float32Array([Math.PI]),
    });
  });

  await t.step("a plain object works too, and tensors are copies of the input bytes", () => {
    const bytes = encodeSafetensors({ a: { dtype: "F32", shape: [2], data: [1, 2] } });
    const read = parseSafetensors(bytes, "copy.safetensors");
    bytes.fill(0);
    assert.deepEqual(read.tensors.get("a")!.data, new Float32Array([1, 2]));
    assert.deepEqual(read.metadata, {});
  });

  await t.step("encoding matches the reference writer byte for byte", () => {
    // What `safetensors.torch.save({"x": torch.tensor([1.0, 2.0])}, metadata={"format": "pt"})` writes.
    const header = '{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ';
    const expected = buildFile(header, float32Bytes([1, 2]), false);
    assert.equal(new DataView(expected.buffer).getBigUint64(0, true), 88n);
    assert.deepEqual(
      encodeSafetensors({ x: { dtype: "F32", shape: [2], data: [1, 2] } }, { format: "pt" }),
      expected,
    );
  });

  await t.step("hand-built files: F16, BF16 and I64 as other writers store them, unaligned data", () => {
    // 1.0, -2.0, 65504, smallest subnormal as F16; 1.0, -0.5 as BF16; -1 and 2^40 as I64; one byte first to
    // misalign everything after it (the reader must copy rather than fail on an unaligned view).
    const data = new Uint8Array([
      0x2a, // u8
      0x00,
      0x3c,
      0x00,
      0xc0,
      0xff,
      0x7b,
      0x01,
      0x00, // f16
      0x80,
      0x3f,
      0x00,
      0xbf, // bf16
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x01,
      0x00,
      0x00, // i64
    ]);
    const file = buildFile({
      u: { dtype: "U8", shape: [1], data_offsets: [0, 1] },
      h: { dtype: "F16", shape: [4], data_offsets: [1, 9] },
      b: { dtype: "BF16", shape: [2], data_offsets: [9, 13] },
      i: { dtype: "I64", shape: [2], data_offsets: [13, 29] },
      __metadata__: { source: "hand" },
    }, data);
    const { tensors, metadata } = parseSafetensors(file, "hand.safetensors");
    assert.deepEqual(metadata, { source: "hand" });
    assert.deepEqual(tensors.get("u")!.data, new Uint8Array([42]));
    assert.deepEqual(tensors.get("h")!.data, new Float32Array([1, -2, 65504, 2 ** -24]));
    assert.deepEqual(tensors.get("b")!.data, new Float32Array([1, -0.5]));
    assert.deepEqual(tensors.get("i")!.data, new BigInt64Array([-1n, 2n ** 40n]));
  });

  await t.step(
    "a header without padding, with a null __metadata__ and extra entry fields, is accepted",
    () => {
      const file = buildFile(
        '{"__metadata__":null,"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":1}}',
        float32Bytes([3]),
        false,
      );
      const { tensors, metadata } = parseSafetensors(file, "odd.safetensors");
      assert.deepEqual(metadata, {});
      assert.deepEqual(tensors.get("x")!.data, new Float32Array([3]));
    },
  );
});

Deno.test("half-precision conversion", async (t) => {
  await t.step("float16 bits of hand-worked values", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff], // just below the halfway point to 65536
      [65520, 0x7c00], // halfway: ties to even gives 65536, which overflows to infinity
      [1e6, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -14 - 2 ** -25, 0x0400], // halfway between the largest subnormal and it: even wins
      [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -24, 0x0001], // smallest subnormal
      [3 * 2 ** -26, 0x0001], // 0.75 of it rounds up
      [2 ** -25, 0x0000], // exactly half of it: ties to even gives zero
      [2 ** -25 + 2 ** -40, 0x0001], // just above half rounds up
      [3 * 2 ** -25, 0x0002], // 1.5 units: ties to even gives 2
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: even (1) wins
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between mantissas 1 and 2: even (2) wins
      [1 + 2 ** -11 + 2 ** -40, 0x3c01], // decided from the double, not from a float32 rounding
      [2047.5, 0x6800], // 2047.5 lies between 2047 and 2048 (spacing 1): ties to even gives 2048
      [0, 0x0000],
      [-0, 0x8000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [-1e-30, 0x8000],
    ];
    for (const [value, bits] of cases) {
      assert.equal(toFloat16Bits(value), bits, `${value} → 0x${bits.toString(16)}`);
    }
    const nan = toFloat16Bits(NaN);
    assert.equal(nan & 0x7c00, 0x7c00);
    assert.notEqual(nan & 0x03ff, 0);
  });

  await t.step("float16 bits decode to the values they stand for", () => {
    assert.equal(fromFloat16Bits(0x3c00), 1);
    assert.equal(fromFloat16Bits(0x7bff), 65504);
    assert.equal(fromFloat16Bits(0x0001), 2 ** -24);
    assert.equal(fromFloat16Bits(0x03ff), 2 ** -14 - 2 ** -24);
    assert.equal(fromFloat16Bits(0x3555), 0.333251953125);
    assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
    assert.equal(fromFloat16Bits(0xfc00), -Infinity);
    assert.ok(Number.isNaN(fromFloat16Bits(0x7e00)));
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue; // NaN payloads are not kept
      assert.equal(toFloat16Bits(fromFloat16Bits(bits)), bits, `round trip 0x${bits.toString(16)}`);
    }
  });

  await t.step("agrees with the engine's Float16Array where it has one", () => {
    const Native =
      (globalThis as { Float16Array?: new (n: number) => { [i: number]: number; buffer: ArrayBuffer } })
        .Float16Array;
    if (!Native) return; // older engines: the hand-worked cases above still stand
    const native = new Native(1);
    const bits = new Uint16Array(native.buffer);
    let state = 12345;
    const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 200_000; i++) {
      const value = (random() - 0.5) * 2 ** Math.floor(random() * 50 - 30);
      native[0] = value;
      assert.equal(toFloat16Bits(value), bits[0], `${value}`);
    }
  });

  await t.step("bfloat16 rounds to nearest even and keeps the float32 exponent range", () => {
    assert.equal(toBfloat16Bits(1), 0x3f80);
    assert.equal(toBfloat16Bits(-0.5), 0xbf00);
    assert.equal(toBfloat16Bits(1 + 2 ** -8), 0x3f80); // tie: even wins
    assert.equal(toBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
    assert.equal(toBfloat16Bits(3e38), 0x7f62);
    assert.equal(toBfloat16Bits(3.4e38), 0x7f80); // rounds past the largest finite value
    assert.equal(toBfloat16Bits(2 ** -133), 0x0001); // smallest subnormal
    assert.equal(toBfloat16Bits(NaN), 0x7fc0);
  });
});

Deno.test("errors name the file and the tensor", async (t) => {
  const name = "broken.safetensors";
  const good = () =>
    buildFile({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
    }, float32Bytes([1, 2, 3]));
  const withHeader = (header: unknown, data = float32Bytes([1, 2, 3])) => () =>
    parseSafetensors(buildFile(header, data), name);

  await t.step("file missing", async () => {
    const path = join(await Deno.makeTempDir(), "missing.safetensors");
    await assertRejectsCheckpointError(() => readSafetensors(path), "missing.safetensors", "file not found");
  });

  await t.step("not a file", async () => {
    const directory = await Deno.makeTempDir();
    await assertRejectsCheckpointError(() => readSafetensors(directory), directory, "cannot read");
  });

  await t.step("shorter than 8 bytes", () => {
    assertCheckpointError(
      () => parseSafetensors(new Uint8Array(5), name),
      name,
      "5 bytes",
      "8-byte header length",
    );
  });

  await t.step("header length larger than the file", () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
    assertCheckpointError(() => parseSafetensors(bytes, name), name, "header length 9223372036854775808");
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length - 7), true);
    assertCheckpointError(() => parseSafetensors(bytes, name), name, "larger than the rest of the file");
  });

  await t.step("header not JSON, not UTF-8, not an object", () => {
    assertCheckpointError(() => parseSafetensors(buildFile("{not json"), name), name, "header is not JSON");
    assertCheckpointError(() => parseSafetensors(buildFile(""), name), name, "header is not JSON");
    const invalidUtf8 = buildFile("{}      ");
    invalidUtf8[9] = 0xff;
    assertCheckpointError(() => parseSafetensors(invalidUtf8, name), name, "UTF-8");
    assertCheckpointError(() => parseSafetensors(buildFile("[1, 2]"), name), name, "not an object");
  });

  await t.step("tensor entry missing fields or malformed", () => {
    assertCheckpointError(
      withHeader({ a: { shape: [2], data_offsets: [0, 8] } }),
      name,
      'tensor "a"',
      '"dtype"',
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", data_offsets: [0, 8] } }),
      name,
      'tensor "a"',
      '"shape"',
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [2] } }),
      name,
      'tensor "a"',
      '"data_offsets"',
    );
    assertCheckpointError(withHeader({ a: 5 }), name, 'tensor "a"', "header entry is a number");
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }),
      'tensor "a"',
      "shape",
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0] } }),
      'tensor "a"',
      "pair",
    );
    assertCheckpointError(
      withHeader({ a: { dtype: 3, shape: [2], data_offsets: [0, 8] } }),
      'tensor "a"',
      "dtype",
    );
  });

  await t.step("unknown or unsupported dtype", () => {
    assertCheckpointError(
      withHeader({ a: { dtype: "F7", shape: [2], data_offsets: [0, 8] } }),
      name,
      'tensor "a"',
      '"F7" is not a safetensors dtype',
      "supported: BOOL, U8",
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F8_E4M3", shape: [8], data_offsets: [0, 8] } }),
      'tensor "a"',
      "not supported by this reader",
    );
    // Dropped: integer widths no PyTorch/StyleGAN checkpoint holds; the error names the dtype and what is read.
    for (const [dtype, bytes] of [["I8", 1], ["I16", 2], ["U16", 2], ["U32", 4], ["U64", 8]] as const) {
      assertCheckpointError(
        withHeader({ a: { dtype, shape: [2], data_offsets: [0, 2 * bytes] } }),
        name,
        'tensor "a"',
        `dtype "${dtype}" is not supported by this reader`,
        "(supported: BOOL, U8, F16, BF16, I32, F32, F64, I64)",
      );
    }
  });

  await t.step("shape × item size differs from the byte length", () => {
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }),
      name,
      'tensor "a"',
      "shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] hold 8",
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }),
      'tensor "a"',
      "too many",
    );
  });

  await t.step("offsets outside the data buffer, reversed, or overlapping", () => {
    assertCheckpointError(
      withHeader({ b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }),
      name,
      'tensor "b"',
      "past the end of the 12-byte data buffer",
    );
    assertCheckpointError(
      withHeader({ a: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }),
      'tensor "a"',
      "end before they begin",
    );
    assertCheckpointError(
      withHeader({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }),
      name,
      'tensor "b"',
      'overlap those of tensor "a"',
    );
  });

  await t.step("truncated data", async () => {
    const directory = await Deno.makeTempDir();
    const path = join(directory, "truncated.safetensors");
    const bytes = good();
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 2));
    await assertRejectsCheckpointError(
      () => readSafetensors(path),
      "truncated.safetensors",
      'tensor "b"',
      "truncated",
    );
  });

  await t.step("metadata values not strings, metadata not an object", () => {
    assertCheckpointError(
      withHeader({ __metadata__: { epoch: 3 }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }),
      name,
      'metadata value "epoch" is a number',
    );
    assertCheckpointError(withHeader({ __metadata__: ["x"] }), name, "__metadata__");
  });

  await t.step("a tensor named twice", () => {
    const header =
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    assertCheckpointError(
      () => parseSafetensors(buildFile(header, new Uint8Array(2)), name),
      name,
      'tensor "a"',
      "twice",
    );
  });

  await t.step("no corruption of a valid file lets anything but a CheckpointError escape", () => {
    const bytes = encodeSafetensors(
      new Map<string, TensorToWrite>([
        ["h", { dtype: "F16", shape: [3], data: [1, 2, 3] }],
        ["w", { dtype: "F32", shape: [2, 2], data: [1, 2, 3, 4] }],
        ["n", { dtype: "I64", shape: [1], data: [5] }],
      ]),
      { k: "v" },
    );
    const check = (corrupt: Uint8Array) => {
      try {
        parseSafetensors(corrupt, name);
      } catch (error) {
        assert.ok(error instanceof CheckpointError, `${error}`);
        assert.ok(error.message.startsWith(name));
      }
    };
    for (let length = 0; length < bytes.length; length++) check(bytes.slice(0, length));
    let state = 7;
    const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 3000; trial++) {
      const corrupt = bytes.slice();
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        corrupt[Math.floor(random() * corrupt.length)] = Math.floor(random() * 256);
      }
      check(corrupt);
    }
  });

  await t.step("encoding rejects inconsistent tensors, naming the target and the tensor", () => {
    const target = "out.safetensors";
    const encode = (tensor: unknown, metadata?: Record<string, string>) => () =>
      encodeSafetensors({ t: tensor as TensorToWrite }, metadata, target);
    assertCheckpointError(
      encode({ dtype: "F32", shape: [3], data: [1, 2] }),
      target,
      'tensor "t"',
      "holds 3 elements but data has 2",
    );
    assertCheckpointError(
      encode({ dtype: "F7", shape: [1], data: [1] }),
      target,
      'tensor "t"',
      'cannot write dtype "F7"',
    );
    assertCheckpointError(encode({ dtype: "F32", shape: [1.5], data: [1] }), 'tensor "t"', "shape");
    assertCheckpointError(encode({ dtype: "F32", shape: [1], data: 5 }), 'tensor "t"', "not an array");
    assertCheckpointError(
      encode({ dtype: "U8", shape: [2], data: [1, 256] }),
      'tensor "t"',
      "element 1 (256)",
      "[0, 255]",
    );
    assertCheckpointError(encode({ dtype: "I32", shape: [1], data: [1.5] }), 'tensor "t"', "element 0 (1.5)");
    assertCheckpointError(encode({ dtype: "BOOL", shape: [1], data: [2] }), 'tensor "t"', "[0, 1]");
    assertCheckpointError(
      encode({ dtype: "I64", shape: [1], data: [2 ** 60] }),
      'tensor "t"',
      "safe integer",
    );
    assertCheckpointError(
      encode({ dtype: "I64", shape: [1], data: [2n ** 63n] }),
      'tensor "t"',
      "out of range",
    );
    assertCheckpointError(encode({ dtype: "I64", shape: [1], data: [-(2n ** 63n) - 1n] }), "out of range");
    // The integer widths no PyTorch/StyleGAN checkpoint uses are not written either.
    for (const dtype of ["I8", "I16", "U16", "U32", "U64"]) {
      assertCheckpointError(
        encode({ dtype, shape: [1], data: [1] }),
        'tensor "t"',
        `cannot write dtype "${dtype}"`,
      );
    }
    assertCheckpointError(encode({ dtype: "F16", shape: [1], data: ["1"] }), 'tensor "t"', "not a number");
    assertCheckpointError(
      encode({ dtype: "F32", shape: [1], data: [1] }, { epoch: 3 as unknown as string }),
      target,
      'metadata value "epoch" is a number',
    );
    assertCheckpointError(
      () => encodeSafetensors({ __metadata__: { dtype: "U8", shape: [1], data: [1] } }, undefined, target),
      target,
      "reserved",
    );
  });
});

Deno.test("atomic writes", async (t) => {
  const tensors = { w: { dtype: "F32", shape: [2], data: [1, 2] } } satisfies Record<string, TensorToWrite>;

  await t.step("writes, overwrites and leaves no temporary file", async () => {
    const directory = await Deno.makeTempDir();
    const path = join(directory, "G.safetensors");
    await writeSafetensors(path, tensors, { format: "pt" });
    await writeSafetensors(path, { w: { dtype: "F32", shape: [3], data: [4, 5, 6] } }, { format: "pt" });
    const read = await readSafetensors(path);
    assert.deepEqual(read.tensors.get("w")!.data, new Float32Array([4, 5, 6]));
    assert.deepEqual(read.metadata, { format: "pt" });
    assert.deepEqual([...Deno.readDirSync(directory)].map((entry) => entry.name), ["G.safetensors"]);
  });

  await t.step(
    "a failing write leaves the existing target byte-identical and no temporary file",
    async () => {
      const directory = await Deno.makeTempDir();
      const path = join(directory, "G.safetensors");
      await writeSafetensors(path, tensors);
      const before = await Deno.readFile(path);
      await assertRejectsCheckpointError(
        () => writeSafetensors(path, { w: { dtype: "F32", shape: [5], data: [1, 2] } }),
        "G.safetensors",
        'tensor "w"',
      );
      assert.deepEqual(await Deno.readFile(path), before);
      assert.deepEqual([...Deno.readDirSync(directory)].map((entry) => entry.name), ["G.safetensors"]);
    },
  );

  await t.step("a failing rename removes the temporary file", async () => {
    const directory = await Deno.makeTempDir();
    const path = join(directory, "occupied");
    await Deno.mkdir(path);
    await Deno.writeTextFile(join(path, "keep.txt"), "x"); // a non-empty directory cannot be renamed over
    await assertRejectsCheckpointError(() => writeSafetensors(path, tensors), "occupied", "could not write");
    assert.deepEqual([...Deno.readDirSync(directory)].map((entry) => entry.name), ["occupied"]);
    assert.equal(await Deno.readTextFile(join(path, "keep.txt")), "x");
  });

  await t.step("a missing directory is reported with the path", async () => {
    const path = join(await Deno.makeTempDir(), "no", "such", "G.safetensors");
    await assertRejectsCheckpointError(() => writeSafetensors(path, tensors), path, "could not write");
  });
});
