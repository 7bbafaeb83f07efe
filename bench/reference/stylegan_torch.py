"""PyTorch reference of this project's StyleGAN v1 generator, for GPU benchmarks.

What: the generator of huangzh13/StyleGAN.pytorch (which the TypeScript port in model/ reproduces), rewritten
as one self-contained file: same layers, same maths, same state_dict keys (`g_mapping.map.dense0.weight`,
`g_synthesis.blocks.0.conv0_up.weight`, `truncation.avg_latent`, ...), including the port's fused
transposed-convolution upscale at >= 128 px and official truncation semantics.

Why: its images/s on a GPU is the denominator of the GPU ratio that `deno task bench` and the README report
(the CPU ratios use bench/reference.ts). `--check` first proves that it computes the same network, against the
fixture that the TypeScript tests use.

How (Python 3, PyTorch >= 1.13, numpy):
  python3 bench/reference/stylegan_torch.py --check /work/shared/fixtures/stylegan-pytorch-r32
  python3 bench/reference/stylegan_torch.py --bench --device cuda --res 32,64,128,256 \\
      --channels default,reduced --batch 8 --tf32 off --json
`--tf32 off` = strict fp32 (what WebGPU computes); `on` = PyTorch's defaults. Timed: z -> mapping -> truncation
(psi 0.7) -> synthesis (const noise), fp32, no_grad, median over >= 5 runs and ~2 s after warm-up.
"""
import argparse, json, math, os, statistics, struct, sys, time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS = {"default": dict(fmap_base=8192, fmap_max=512), "reduced": dict(fmap_base=2048, fmap_max=128)}
DEFAULTS = dict(num_channels=3, latent_size=512, dlatent_size=512, mapping_layers=8, mapping_fmaps=512,
                mapping_lrmul=0.01, fmap_base=8192, fmap_decay=1.0, fmap_max=512, blur_filter=[1, 2, 1],
                truncation_cutoff=8)
GAIN = math.sqrt(2)  # He gain of leaky ReLU (slope 0.2)


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-8)


class EqualizedLinear(nn.Module):
    def __init__(self, fin, fout, gain=GAIN, lrmul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin) / lrmul)  # use_wscale: init std 1/lrmul
        self.bias = nn.Parameter(torch.zeros(fout))
        self.w_mul, self.b_mul = gain * fin ** -0.5 * lrmul, lrmul

    def forward(self, x):
        return F.linear(x, self.weight * self.w_mul, self.bias * self.b_mul)


class Blur(nn.Module):
    def __init__(self, taps):
        super().__init__()
        k = torch.tensor(taps, dtype=torch.float32)
        k = k[:, None] * k[None, :]
        self.register_buffer("kernel", (k / k.sum())[None, None])

    def forward(self, x):  # depthwise, zero padding (k-1)/2
        c = x.size(1)
        return F.conv2d(x, self.kernel.expand(c, -1, -1, -1), padding=(self.kernel.size(2) - 1) // 2, groups=c)


class EqualizedConv2d(nn.Module):
    """The port's EqualizedConv2d (generator side): optional x2 upscale, then conv, intermediate (blur), bias."""

    def __init__(self, cin, cout, k, gain=GAIN, upscale=False, blur=None, fused_min_res=128):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        if blur is not None:
            self.intermediate = Blur(blur)
        self.w_mul, self.upscale, self.fused_min_res = gain * (cin * k * k) ** -0.5, upscale, fused_min_res

    def forward(self, x):
        w = self.weight * self.w_mul
        if self.upscale and min(x.shape[2:]) * 2 >= self.fused_min_res:
            # Fused: 4x4 kernel = sum of the 3x3 kernel's four 1-px shifts (no 0.25 when upscaling), then a
            # stride-2 transposed conv. NB: equals nearest-upscale + conv with the *flipped* 3x3 kernel.
            w = F.pad(w.permute(1, 0, 2, 3), [1, 1, 1, 1])
            w = w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]
            x = F.conv_transpose2d(x, w, stride=2, padding=(w.size(-1) - 1) // 2)
        else:
            if self.upscale:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            if not hasattr(self, "intermediate"):  # as the port: bias inside conv2d when nothing follows
                return F.conv2d(x, w, self.bias, padding=w.size(-1) // 2)
            x = F.conv2d(x, w, padding=w.size(-1) // 2)
        if hasattr(self, "intermediate"):
            x = self.intermediate(x)
        return x + self.bias.view(1, -1, 1, 1)


class NoiseLayer(nn.Module):
    def __init__(self, channels, size):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.register_buffer("const", torch.randn(1, 1, size, size), persistent=False)  # not in the port's keys

    def forward(self, x, mode):
        if mode == "none":
            return x
        noise = self.const if mode == "const" else torch.randn(x.size(0), 1, x.size(2), x.size(3), device=x.device)
        return x + self.weight.view(1, -1, 1, 1) * noise


class LayerEpilogue(nn.Module):
    """noise -> leaky ReLU -> instance norm -> style (x * (1 + scale) + shift)."""

    def __init__(self, channels, size, dlatent):
        super().__init__()
        self.top_epi = nn.Module()
        self.top_epi.noise = NoiseLayer(channels, size)
        self.style_mod = nn.Module()
        self.style_mod.lin = EqualizedLinear(dlatent, channels * 2, gain=1.0)

    def forward(self, x, w, noise):
        x = F.instance_norm(lrelu(self.top_epi.noise(x, noise)), eps=1e-5)
        style = self.style_mod.lin(w).view(-1, 2, x.size(1), 1, 1)
        return x * (style[:, 0] + 1) + style[:, 1]


class InputBlock(nn.Module):
    def __init__(self, nf, dlatent):
        super().__init__()
        self.const = nn.Parameter(torch.ones(1, nf, 4, 4))
        self.bias = nn.Parameter(torch.ones(nf))
        self.epi1 = LayerEpilogue(nf, 4, dlatent)
        self.conv = EqualizedConv2d(nf, nf, 3)
        self.epi2 = LayerEpilogue(nf, 4, dlatent)

    def forward(self, w1, w2, noise):
        x = self.const.expand(w1.size(0), -1, -1, -1) + self.bias.view(1, -1, 1, 1)
        return self.epi2(self.conv(self.epi1(x, w1, noise)), w2, noise)


class SynthesisBlock(nn.Module):
    def __init__(self, cin, cout, size, blur, dlatent):
        super().__init__()
        self.conv0_up = EqualizedConv2d(cin, cout, 3, upscale=True, blur=blur)
        self.epi1 = LayerEpilogue(cout, size, dlatent)
        self.conv1 = EqualizedConv2d(cout, cout, 3)
        self.epi2 = LayerEpilogue(cout, size, dlatent)

    def forward(self, x, w1, w2, noise):
        return self.epi2(self.conv1(self.epi1(self.conv0_up(x), w1, noise)), w2, noise)


class GSynthesis(nn.Module):
    def __init__(self, o):
        super().__init__()
        log2 = int(math.log2(o["resolution"]))
        nf = lambda s: min(int(o["fmap_base"] / 2.0 ** (s * o["fmap_decay"])), o["fmap_max"])
        self.init_block = InputBlock(nf(1), o["dlatent_size"])
        self.blocks = nn.ModuleList(SynthesisBlock(nf(r - 2), nf(r - 1), 2 ** r, o["blur_filter"], o["dlatent_size"])
                                    for r in range(3, log2 + 1))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf(d + 1), o["num_channels"], 1, gain=1.0)
                                    for d in range(log2 - 1))

    def forward(self, w, depth=None, alpha=1.0, noise="const"):
        depth = len(self.to_rgb) - 1 if depth is None else depth
        x = self.init_block(w[:, 0], w[:, 1], noise)
        if depth == 0:
            return self.to_rgb[0](x)
        for i in range(depth - 1):
            x = self.blocks[i](x, w[:, 2 * i + 2], w[:, 2 * i + 3], noise)
        straight = self.to_rgb[depth](self.blocks[depth - 1](x, w[:, 2 * depth], w[:, 2 * depth + 1], noise))
        if alpha >= 1:
            return straight
        residual = self.to_rgb[depth - 1](F.interpolate(x, scale_factor=2, mode="nearest"))
        return alpha * straight + (1 - alpha) * residual


class Generator(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        o = self.o = {**DEFAULTS, **kw}
        self.num_layers = (int(math.log2(o["resolution"])) - 1) * 2
        self.g_mapping = nn.Module()
        layers = [("pixel_norm", PixelNorm())]
        for i in range(o["mapping_layers"]):
            fin = o["latent_size"] if i == 0 else o["mapping_fmaps"]
            fout = o["dlatent_size"] if i == o["mapping_layers"] - 1 else o["mapping_fmaps"]
            layers += [(f"dense{i}", EqualizedLinear(fin, fout, lrmul=o["mapping_lrmul"])), (f"dense{i}_act", nn.LeakyReLU(0.2))]
        self.g_mapping.map = nn.Sequential(OrderedDict(layers))
        self.g_synthesis = GSynthesis(o)
        self.truncation = nn.Module()
        self.truncation.register_buffer("avg_latent", torch.zeros(o["dlatent_size"]))

    def mapping(self, z, psi=1.0):
        w = self.g_mapping.map(z).unsqueeze(1).expand(-1, self.num_layers, -1)
        if psi == 1:
            return w
        avg, cut = self.truncation.avg_latent, min(self.o["truncation_cutoff"], self.num_layers)
        return torch.cat([avg + psi * (w[:, :cut] - avg), w[:, cut:]], dim=1)  # official StyleGAN truncation

    def forward(self, z, psi=1.0, noise="const", depth=None, alpha=1.0):
        return self.g_synthesis(self.mapping(z, psi), depth, alpha, noise)


def generator_flops(o):
    """FLOPs per image of the convolutions and dense layers, counted exactly as bench/flops.ts does."""
    log2 = int(math.log2(o["resolution"]))
    nf = lambda s: min(int(o["fmap_base"] / 2.0 ** (s * o["fmap_decay"])), o["fmap_max"])
    n = o["mapping_layers"]
    macs = sum((o["latent_size"] if i == 0 else o["mapping_fmaps"]) * (o["dlatent_size"] if i == n - 1 else o["mapping_fmaps"])
               for i in range(n))
    styles = lambda c: 2 * o["dlatent_size"] * c * 2  # two StyleMods per block
    macs += 16 * 9 * nf(1) ** 2 + styles(nf(1))
    for r in range(3, log2 + 1):
        macs += 4 ** r * 9 * (nf(r - 2) * nf(r - 1) + nf(r - 1) ** 2) + styles(nf(r - 1))
    return 2 * (macs + 4 ** log2 * nf(log2 - 1) * o["num_channels"])


def read_safetensors(path):
    """Minimal reader: u64 LE header length, JSON header, raw little-endian data (F32 only here)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header, out = json.loads(data[8:8 + n]), {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        assert v["dtype"] == "F32", (key, v["dtype"])
        a, b = v["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").copy().reshape(v["shape"]))
    return out


def fused_upscale_selfcheck():
    """The fused path against the port's formula scattered by hand in float64 (out[2i-1+k] += x[i] * w4[k])."""
    torch.manual_seed(1)
    conv = EqualizedConv2d(3, 2, 3, upscale=True, fused_min_res=8)
    conv.bias.data = torch.tensor([0.1, -0.2])
    x = torch.randn(2, 3, 4, 4)
    w = (conv.weight * conv.w_mul).detach().double().numpy()
    wp = np.pad(w, [(0, 0), (0, 0), (1, 1), (1, 1)])
    w4 = wp[:, :, 1:, 1:] + wp[:, :, :-1, 1:] + wp[:, :, 1:, :-1] + wp[:, :, :-1, :-1]  # [out, in, 4, 4]
    out = np.zeros((2, 2, 10, 10))
    for ky in range(4):
        for kx in range(4):
            out[:, :, ky:ky + 8:2, kx:kx + 8:2] += np.einsum("nihw,oi->nohw", x.double().numpy(), w4[:, :, ky, kx])
    expected = out[:, :, 1:9, 1:9] + np.array([0.1, -0.2]).reshape(1, 2, 1, 1)
    with torch.no_grad():
        return float(np.abs(conv(x).double().numpy() - expected).max())


def check(folder, device):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    keys = ["resolution", "num_channels", "latent_size", "dlatent_size", "mapping_layers", "mapping_fmaps",
            "mapping_lrmul", "fmap_base", "fmap_decay", "fmap_max", "blur_filter", "truncation_cutoff"]
    G = Generator(**{k: cfg[k] for k in keys})
    sd = read_safetensors(os.path.join(folder, "G.safetensors"))
    assert list(sd) == list(G.state_dict()), "state_dict keys differ"
    G.load_state_dict(sd, strict=True)
    buffers = dict(G.named_buffers())
    for key, t in read_safetensors(os.path.join(folder, "noise_const.safetensors")).items():
        buffers[key].copy_(t)
    G.to(device).eval()
    io = {k: v.to(device) for k, v in read_safetensors(os.path.join(folder, "io.safetensors")).items()}
    errors = {"fused_upscale_selfcheck": fused_upscale_selfcheck()}
    with torch.no_grad():
        errors["w"] = (G.mapping(io["z"]) - io["w"]).abs().max().item()
        for psi in cfg["psis"]:
            errors[f"w_psi{psi}"] = (G.mapping(io["z"], psi) - io[f"w_psi{psi}"]).abs().max().item()
            for noise in cfg["noise_modes"]:
                for depth, alpha in cfg["depths_alphas"]:
                    key = f"img_psi{psi}_noise{noise}_depth{depth}_alpha{alpha}"
                    img = G(io["z"], psi, noise, depth, alpha)
                    errors[key] = (img - io[key]).abs().max().item()
    for key, err in errors.items():
        print(f"{key:42s} max abs error {err:.3e}{'  FAIL' if err > 1e-4 else ''}")
    worst = max(errors.values())
    print(f"{'worst':42s} {worst:.3e} -> {'OK' if worst <= 1e-4 else 'FAIL'} (tolerance 1e-4)")
    return worst <= 1e-4


def median_seconds(fn, device, min_runs=5, min_time=2.0, warmup=3):
    for _ in range(warmup):
        fn()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_time and len(times) < 1000):
        if device.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record(); fn(); b.record(); b.synchronize()
            times.append(a.elapsed_time(b) / 1000)
        else:
            t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def strict_fp32():
    """No TF32 in convolutions or matmuls (what WebGPU computes). `on` leaves PyTorch's defaults instead."""
    b = torch.backends
    if hasattr(b, "fp32_precision"):  # PyTorch >= 2.9: new API only, as mixing it with allow_tf32 can raise
        try:
            b.fp32_precision = b.cuda.matmul.fp32_precision = b.cudnn.fp32_precision = "ieee"
            b.cudnn.conv.fp32_precision = b.cudnn.rnn.fp32_precision = "ieee"
            return
        except (AttributeError, RuntimeError, ValueError) as e:
            print(f"note: fp32_precision API refused ({e}); using allow_tf32 flags", file=sys.stderr)
    b.cudnn.allow_tf32 = False
    b.cuda.matmul.allow_tf32 = False


def bench(args):
    device = torch.device(args.device)
    if args.tf32 == "off":
        strict_fp32()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    if device.type == "cpu":
        # Debian's build starts with one thread; the recorded CPU figures used every core.
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    for preset in args.channels.split(","):
        for res in map(int, args.res.split(",")):
            torch.manual_seed(args.seed)
            G = Generator(resolution=res, **CHANNELS[preset]).to(device).eval()
            flops = generator_flops(G.o)
            for batch in map(int, args.batch.split(",")):
                z = torch.randn(batch, G.o["latent_size"], generator=torch.Generator().manual_seed(args.seed)).to(device)
                with torch.no_grad():
                    sec = median_seconds(lambda: G(z, psi=0.7, noise="const"), device)
                row = {"impl": "pytorch", "device": device.type, "torch": torch.__version__, "gpu": gpu, "res": res,
                       "channels": preset, "batch": batch, "tf32": args.tf32, "img_per_s": batch / sec,
                       "median_ms": sec * 1000, "threads": torch.get_num_threads(), "gflop_per_s": flops * batch / sec / 1e9}
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"pytorch {device.type} {gpu or ''} {res:4d} px {preset:8s} batch {batch:3d} tf32 {args.tf32:3s} "
                          f"{row['img_per_s']:9.2f} img/s {row['median_ms']:9.2f} ms {row['gflop_per_s']:8.1f} GFLOP/s", flush=True)
            del G


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FIXTURE_DIR", help="parity check against a StyleGAN.pytorch fixture")
    p.add_argument("--bench", action="store_true", help="time generation")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--res", default="256", help="comma list of resolutions")
    p.add_argument("--channels", default="default", help="comma list of presets: default, reduced")
    p.add_argument("--batch", default="8", help="comma list of batch sizes")
    p.add_argument("--tf32", choices=["on", "off"], default="off")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    args = p.parse_args()
    if not args.check and not args.bench:
        p.error("give --check FIXTURE_DIR and/or --bench")
    if args.check and args.bench and args.tf32 == "on":
        p.error("--check forces strict fp32: run --bench --tf32 on separately")
    ok = True
    if args.check:
        strict_fp32()
        ok = check(args.check, torch.device(args.device))
    if args.bench:
        bench(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
