"""PyTorch reference of this project's StyleGAN v1 networks, for same-run benchmarks (CPU and GPU).

What: the generator and discriminator of huangzh13/StyleGAN.pytorch (which the TypeScript port in model/
reproduces), rewritten as one self-contained file: same layers, same maths, same state_dict keys
(`g_mapping.map.dense0.weight`, `g_synthesis.blocks.0.conv0_up.weight`, `truncation.avg_latent`,
`blocks.0.conv1_down.weight`, `final_block.dense0.weight`, ...), including the port's fused transposed /
strided convolutions at >= 128 px and official truncation semantics; plus the training step that
`deno task bench --tasks train` (bench/train_step.ts, model/train/loop.ts) times.

Why: its images/s measured in the same session as ours is the denominator of the ratios that
`deno task bench --reference FILE` prints (bench/reference.ts keeps older recorded figures only as a
labelled fallback). `--check` first proves that it computes the same networks, against the fixture that
the TypeScript tests use (G's w and images, D's scores).

How (Python 3, PyTorch >= 1.13, numpy; PyYAML for --train-config):
  python3 bench/reference/stylegan_torch.py --check tests/fixtures/stylegan-pytorch-r32
  python3 bench/reference/stylegan_torch.py --bench --device cuda --res 32,64,128,256 \\
      --channels default,reduced --batch 8 --tf32 off --json
  python3 bench/reference/stylegan_torch.py --train --device cpu --res 32,64 --channels default,reduced \\
      --batch 8 --json
  python3 bench/reference/stylegan_torch.py --train --train-config configs/ucmerced-64.yaml --json
`--tf32 off` = strict fp32 (what WebGPU computes); `on` = PyTorch's defaults. Generation timed: z -> mapping
-> truncation (psi 0.7) -> synthesis (const noise), fp32, no_grad, median over >= 5 runs and ~2 s after
warm-up. Training timed: see `train_step` (one D step with logistic loss + R1, one G step, style mixing,
EMA, Adam), fixed structure at the final resolution, random reals, median over >= 5 steps after warm-up.
"""
import argparse, copy, json, math, os, statistics, struct, sys, time
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


class Downscale2d(nn.Module):
    """The port's x2 box downscale: a [0.5, 0.5] blur with stride 2 whose 2x2 kernel is a buffer
    (`downscale.blur.kernel`, kept for state_dict parity)."""

    def __init__(self):
        super().__init__()
        self.blur = nn.Module()
        self.blur.register_buffer("kernel", torch.full((1, 1, 2, 2), 0.25))

    def forward(self, x):
        # The port's stride-2 depthwise conv with that kernel is exactly a 2x2 mean; PyTorch's pooling op is the
        # faster way to compute it (the reference should be the fastest faithful PyTorch, not a handicapped one).
        return F.avg_pool2d(x, 2)


class EqualizedConv2d(nn.Module):
    """The port's EqualizedConv2d: optional x2 upscale, conv, optional x2 downscale or intermediate (blur), bias."""

    def __init__(self, cin, cout, k, gain=GAIN, upscale=False, downscale=False, blur=None, fused_min_res=128):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        if blur is not None:
            self.intermediate = Blur(blur)
        if downscale:
            self.downscale = Downscale2d()
        self.w_mul, self.upscale, self.fused_min_res = gain * (cin * k * k) ** -0.5, upscale, fused_min_res

    def forward(self, x):
        w = self.weight * self.w_mul
        intermediate = getattr(self, "intermediate", None)
        down = getattr(self, "downscale", None)
        if self.upscale and min(x.shape[2:]) * 2 >= self.fused_min_res:
            # Fused: 4x4 kernel = sum of the 3x3 kernel's four 1-px shifts (no 0.25 when upscaling), then a
            # stride-2 transposed conv. NB: equals nearest-upscale + conv with the *flipped* 3x3 kernel.
            w = F.pad(w.permute(1, 0, 2, 3), [1, 1, 1, 1])
            w = w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]
            x = F.conv_transpose2d(x, w, stride=2, padding=(w.size(-1) - 1) // 2)
        elif down is not None and min(x.shape[2:]) >= self.fused_min_res:
            # Fused: the mean of the four shifts, then a stride-2 conv (the port's formulation).
            w = F.pad(w, [1, 1, 1, 1])
            w = (w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]) * 0.25
            x = F.conv2d(x, w, stride=2, padding=(w.size(-1) - 1) // 2)
        else:
            if self.upscale:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            if down is not None:
                intermediate = down  # the port: conv, then downscale, then bias
            if intermediate is None:  # as the port: bias inside conv2d when nothing follows
                return F.conv2d(x, w, self.bias, padding=w.size(-1) // 2)
            x = F.conv2d(x, w, padding=w.size(-1) // 2)
        if intermediate is not None:
            x = intermediate(x)
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

    def forward_training(self, z, z2=None, mixing_cutoff=None, beta=0.995):
        """Official StyleGAN's training pass (model/networks/generator.ts forwardTraining): the W average follows
        the batch mean, styles from layer `mixing_cutoff` on come from `z2`, random noise, no truncation."""
        w = self.g_mapping.map(z)
        with torch.no_grad():
            self.truncation.avg_latent.lerp_(w.mean(0), 1 - beta)  # avg <- mean + (avg - mean) * beta
        w = w.unsqueeze(1).expand(-1, self.num_layers, -1)
        if z2 is not None:
            w2 = self.g_mapping.map(z2).unsqueeze(1).expand(-1, self.num_layers, -1)
            layer = torch.arange(self.num_layers, device=w.device).view(1, -1, 1)
            w = torch.where(layer < mixing_cutoff, w, w2)
        return self.g_synthesis(w, noise="random")


class DiscriminatorBlock(nn.Module):
    """3x3 conv, act, blur, 3x3 conv with x2 downscale, act (the port's nn.Sequential; its act layers hold no state)."""

    def __init__(self, cin, cout, blur, fused_min_res=128):
        super().__init__()
        self.conv0 = EqualizedConv2d(cin, cin, 3)
        self.blur = Blur(blur)
        self.conv1_down = EqualizedConv2d(cin, cout, 3, downscale=True, fused_min_res=fused_min_res)

    def forward(self, x):
        return lrelu(self.conv1_down(self.blur(lrelu(self.conv0(x)))))


class StddevLayer(nn.Module):
    """Minibatch standard deviation, as the port (sample i in group i mod (batch / group_size))."""

    def __init__(self, group_size=4, num_new_features=1):
        super().__init__()
        self.group_size, self.num_new_features = group_size, num_new_features

    def forward(self, x):
        b, c, h, w = x.shape
        g, f = min(self.group_size, b), self.num_new_features
        y = x.reshape(g, -1, f, c // f, h, w)
        y = torch.sqrt(((y - y.mean(0, keepdim=True)) ** 2).mean(0, keepdim=True) + 1e-8)
        y = y.mean([3, 4, 5], keepdim=True).squeeze(3)  # [1, M, F, 1, 1]
        y = y.expand(g, -1, -1, h, w).reshape(b, f, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorTop(nn.Module):
    """Final 4x4 block: minibatch stddev, conv, dense, dense -> one score per image."""

    def __init__(self, group_size, num_features, cin, cmid, res=4):
        super().__init__()
        self.stddev = StddevLayer(group_size, num_features) if group_size > 1 else None
        self.conv = EqualizedConv2d(cin + (num_features if group_size > 1 else 0), cin, 3)
        self.dense0 = EqualizedLinear(cin * res * res, cmid)
        self.dense1 = EqualizedLinear(cmid, 1, gain=1.0)

    def forward(self, x):
        if self.stddev is not None:
            x = self.stddev(x)
        x = lrelu(self.conv(x)).flatten(1)  # NCHW flattened as the port's View(-1)
        return self.dense1(lrelu(self.dense0(x)))


class Discriminator(nn.Module):
    """The port's Discriminator: blocks from the finest resolution down, final block, one from_rgb per depth."""

    def __init__(self, resolution, num_channels=3, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                 blur_filter=(1, 2, 1), mbstd_group_size=4, mbstd_num_features=1, structure="linear"):
        super().__init__()
        log2 = int(math.log2(resolution))
        nf = lambda s: min(int(fmap_base / 2.0 ** (s * fmap_decay)), fmap_max)
        self.structure, self.depth_count = structure, log2 - 1
        self.blocks = nn.ModuleList(DiscriminatorBlock(nf(r - 1), nf(r - 2), list(blur_filter))
                                    for r in range(log2, 2, -1))
        self.final_block = DiscriminatorTop(mbstd_group_size, mbstd_num_features, nf(2), nf(2))
        self.from_rgb = nn.ModuleList(EqualizedConv2d(num_channels, nf(r - 1), 1) for r in range(log2, 1, -1))

    def forward(self, images, depth=None, alpha=1.0):
        last = self.depth_count - 1
        depth = last if depth is None else depth
        if self.structure == "fixed":
            x = self.from_rgb[0](images)
            for block in self.blocks:
                x = block(x)
        elif depth > 0:
            first = last - depth  # the block that consumes this resolution
            x = self.blocks[first](self.from_rgb[first](images))
            if alpha < 1:  # fade-in: the half-resolution path through the next from_rgb
                x = alpha * x + (1 - alpha) * self.from_rgb[first + 1](F.avg_pool2d(images, 2))
            for block in self.blocks[first + 1:]:
                x = block(x)
        else:
            x = self.from_rgb[-1](images)
        return self.final_block(x)


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


def fused_downscale_selfcheck():
    """The fused strided conv (>= 128 px) against the unfused path (conv, 2x2 mean, bias): the same maths."""
    torch.manual_seed(2)
    fused = EqualizedConv2d(3, 2, 3, downscale=True, fused_min_res=8)
    plain = EqualizedConv2d(3, 2, 3, downscale=True, fused_min_res=10 ** 9)
    fused.bias.data = torch.tensor([0.1, -0.2])
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        return float((fused.double()(x) - plain.double()(x)).abs().max())


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
    D = Discriminator(**{k: cfg[k] for k in ["resolution", "num_channels", "fmap_base", "fmap_decay", "fmap_max",
                                              "blur_filter", "structure"]})
    sd = read_safetensors(os.path.join(folder, "D.safetensors"))
    assert list(sd) == list(D.state_dict()), "discriminator state_dict keys differ"
    D.load_state_dict(sd, strict=True)
    D.to(device).eval()
    with torch.no_grad():
        for depth, alpha in cfg["depths_alphas"]:  # cfg["d_input"]: D of the first psi's first noise mode
            images = io[f"img_psi{cfg['psis'][0]}_noise{cfg['noise_modes'][0]}_depth{depth}_alpha{alpha}"]
            key = f"dscore_depth{depth}_alpha{alpha}"
            errors[key] = (D(images, depth, alpha) - io[key]).abs().max().item()
    errors["fused_downscale_selfcheck"] = fused_downscale_selfcheck()
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
                row = {"impl": "pytorch", "task": "generate", "device": device.type, "torch": torch.__version__, "gpu": gpu, "res": res,
                       "channels": preset, "batch": batch, "tf32": args.tf32, "img_per_s": batch / sec,
                       "median_ms": sec * 1000, "threads": torch.get_num_threads(), "gflop_per_s": flops * batch / sec / 1e9}
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"pytorch {device.type} {gpu or ''} {res:4d} px {preset:8s} batch {batch:3d} tf32 {args.tf32:3s} "
                          f"{row['img_per_s']:9.2f} img/s {row['median_ms']:9.2f} ms {row['gflop_per_s']:8.1f} GFLOP/s", flush=True)
            del G


# What model/config.ts defaults to where a bench case does not say otherwise (official StyleGAN).
TRAIN_DEFAULTS = dict(r1_gamma=10.0, r1_interval=1, g_ema_kimg=10.0, style_mixing_prob=0.9, learning_rate=0.001,
                      betas=(0.0, 0.99), eps=1e-8, dlatent_avg_beta=0.995)


def train_cases(args):
    """(case name, G options, D options, batch, loss/optimizer settings) of every training case asked for:
    the bench presets as bench/train_step.ts builds them (fixed structure, R1 every step, official defaults), or
    a training config (YAML) as bench/train_model_config.ts loads it: its networks, batch, R1 interval and EMA."""
    if args.train_config:
        import yaml  # PyYAML (Debian: python3-yaml); only this path needs it
        cfg = yaml.safe_load(open(args.train_config))
        model, res = cfg.get("model", {}), cfg["dataset"]["resolution"]
        if model.get("loss", "logistic") != "logistic":
            sys.exit(f"{args.train_config}: model.loss {model['loss']!r}: only the logistic loss (+ R1) is timed here")
        gen = {k: v for k, v in model.get("gen", {}).items()
               if k in DEFAULTS or k in ("style_mixing_prob", "dlatent_avg_beta")}
        mixing = gen.pop("style_mixing_prob", TRAIN_DEFAULTS["style_mixing_prob"])
        avg_beta = gen.pop("dlatent_avg_beta", TRAIN_DEFAULTS["dlatent_avg_beta"])
        dis = {k: v for k, v in model.get("dis", {}).items()
               if k in ("fmap_base", "fmap_decay", "fmap_max", "blur_filter", "mbstd_group_size", "mbstd_num_features")}
        sched = cfg.get("sched", {}).get("batch_sizes")
        final_depth = int(math.log2(res)) - 2  # depth 0 = 4 px; model/config.ts's default list when absent
        sched = sched or [32, 32, 32, 32, 16, 16, 8, 4, 2]
        batch = int(args.batch.split(",")[0]) if args.batch_given else sched[final_depth]
        settings = {**TRAIN_DEFAULTS, "style_mixing_prob": mixing, "dlatent_avg_beta": avg_beta,
                    **{k: model[k] for k in ("r1_gamma", "r1_interval", "g_ema_kimg") if k in model}}
        name = os.path.splitext(os.path.basename(args.train_config))[0]
        channels = cfg["dataset"].get("channels", 3)
        yield (name, dict(resolution=res, num_channels=channels, **gen),
               dict(resolution=res, num_channels=channels, structure="fixed", **dis), batch, settings)
        return
    for preset in args.channels.split(","):
        for res in map(int, args.res.split(",")):
            for batch in map(int, args.batch.split(",")):
                yield (preset, dict(resolution=res, **CHANNELS[preset]),
                       dict(resolution=res, structure="fixed", **CHANNELS[preset]), batch, dict(TRAIN_DEFAULTS))


def train_step_fn(gen_kw, dis_kw, batch, settings, device, seed):
    """One training step as model/train/loop.ts trainStep runs it (one process), returning a closure:
    D step: fakes = G(z) without gradient (the W average moves); logistic loss softplus(D(fake)) + softplus(-D(real)),
    plus R1 = gamma * interval / 2 * mean over the batch of |grad_x D(real)|^2 on steps where step % interval == 0
    (double backprop); Adam. G step: non-saturating softplus(-D(G(z))), gradients for G only; Adam; then the EMA
    Gs <- lerp(G, Gs, beta), buffers copied. Style mixing with probability p, cutoff uniform in [1, layers), random
    noise, Adam(lr 0.001, betas (0, 0.99), eps 1e-8) on both networks, as the project's defaults."""
    torch.manual_seed(seed)
    G = Generator(**gen_kw).to(device).train()
    Gs = copy.deepcopy(G).eval()
    D = Discriminator(**dis_kw).to(device).train()
    adam = lambda params: torch.optim.Adam(params, lr=settings["learning_rate"], betas=settings["betas"],
                                           eps=settings["eps"])
    g_opt, d_opt = adam(G.parameters()), adam(D.parameters())
    res, layers, latent = G.o["resolution"], G.num_layers, G.o["latent_size"]
    reals = (torch.rand(batch, G.o["num_channels"], res, res, generator=torch.Generator().manual_seed(seed)) * 2 - 1)
    reals = reals.to(device)
    ema_kimg = settings["g_ema_kimg"]
    ema_beta = 0.5 ** (batch / (ema_kimg * 1000)) if ema_kimg > 0 else 0.0  # model/train/schedule.ts emaBeta
    gamma, interval, mixing_prob = settings["r1_gamma"], settings["r1_interval"], settings["style_mixing_prob"]
    rng = np.random.RandomState(seed)
    step = 0

    def latents():
        cutoff = 1 + int(rng.random_sample() * (layers - 1)) if rng.random_sample() < mixing_prob else None
        z = torch.randn(batch, latent, device=device)
        return z, (torch.randn(batch, latent, device=device) if cutoff is not None else None), cutoff

    def run():
        nonlocal step
        # D step.
        z, z2, cutoff = latents()
        with torch.no_grad():
            fakes = G.forward_training(z, z2, cutoff, settings["dlatent_avg_beta"])
        fake_scores = D(fakes)
        if gamma > 0 and step % interval == 0:
            x = reals.detach().requires_grad_(True)
            real_scores = D(x)
            (grad,) = torch.autograd.grad(real_scores.sum(), x, create_graph=True)
            penalty = grad.square().sum([1, 2, 3]).mean() * (gamma * interval * 0.5)
        else:
            real_scores, penalty = D(reals), 0.0
        d_loss = F.softplus(fake_scores).mean() + F.softplus(-real_scores).mean() + penalty
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        # G step.
        z, z2, cutoff = latents()
        D.requires_grad_(False)
        g_loss = F.softplus(-D(G.forward_training(z, z2, cutoff, settings["dlatent_avg_beta"]))).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        D.requires_grad_(True)
        # G's moving average.
        with torch.no_grad():
            for shadow, p in zip(Gs.parameters(), G.parameters()):
                shadow.lerp_(p, 1 - ema_beta)
            for shadow, b in zip(Gs.buffers(), G.buffers()):
                shadow.copy_(b)
        step += 1
        return d_loss.item(), g_loss.item()  # the loop reads both losses every step too

    return run, G


def train_bench(args):
    """Seconds per training step: warm-up, then cycles of `r1_interval` steps (one carries R1; the interval is 1
    unless a config says otherwise), median cycle time / interval, as bench/train_step.ts measures ours."""
    device = torch.device(args.device)
    if args.tf32 == "off":
        strict_fp32()
    if device.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    last = {}  # seconds per step of the previous resolution of a case, to predict the next one's cost
    for name, gen_kw, dis_kw, batch, settings in train_cases(args):
        res, k = gen_kw["resolution"], settings["r1_interval"]
        row = {"impl": "pytorch", "task": "train", "device": device.type, "torch": torch.__version__, "res": res,
               "channels": None if args.train_config else name, "config": name if args.train_config else None,
               "batch": batch, "tf32": args.tf32, "r1_interval": k, "img_per_s": None, "median_ms": None,
               "threads": torch.get_num_threads()}
        warmup, cycles = max(2, k), max(1, -(-args.train_steps // k))
        estimate = last.get((name, batch), 0) * 4 * args.train_steps  # as bench/main.ts predicts ours
        if estimate > args.budget:
            row["note"] = f"skipped: about {estimate:.0f} s over the budget of {args.budget:g} s"
        else:
            run, _ = train_step_fn(gen_kw, dis_kw, batch, settings, device, args.seed)
            for _ in range(warmup):
                run()
            # The warm-up is a whole number of cycles, so every timed cycle starts on an R1 step (step % k == 0).
            times = []
            for _ in range(cycles):
                t0 = time.perf_counter()
                for _ in range(k):
                    run()
                times.append((time.perf_counter() - t0) / k)
            sec = sorted(times)[len(times) // 2]  # the upper middle of an even count, as bench/train_step.ts
            last[(name, batch)] = sec
            row.update(img_per_s=batch / sec, median_ms=sec * 1000, steps_timed=cycles * k)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            figure = f"{row['img_per_s']:9.3f} img/s {row['median_ms']:10.1f} ms/step" if row["img_per_s"] else row["note"]
            print(f"pytorch train {device.type} {res:4d} px {name:12s} batch {batch:3d} r1 every {k}  {figure}",
                  flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FIXTURE_DIR", help="parity check against a StyleGAN.pytorch fixture")
    p.add_argument("--bench", action="store_true", help="time generation")
    p.add_argument("--train", action="store_true", help="time training steps (bench presets, or --train-config)")
    p.add_argument("--train-config", metavar="YAML", help="time this training config's networks and batch instead")
    p.add_argument("--train-steps", type=int, default=5, help="training steps timed after the warm-up")
    p.add_argument("--budget", type=float, default=float("inf"),
                   help="skip a training case whose predicted time (from the resolution below) exceeds this, s")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--res", default="256", help="comma list of resolutions")
    p.add_argument("--channels", default="default", help="comma list of presets: default, reduced")
    p.add_argument("--batch", default=None, help="comma list of batch sizes (default 8; a config's own with --train-config)")
    p.add_argument("--tf32", choices=["on", "off"], default="off")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    args = p.parse_args()
    args.batch_given, args.batch = args.batch is not None, args.batch or "8"
    if not args.check and not args.bench and not args.train:
        p.error("give --check FIXTURE_DIR, --bench and/or --train")
    if args.train_config and not args.train:
        p.error("--train-config needs --train")
    if args.train_steps < 1:
        p.error("--train-steps must be at least 1")
    for preset in args.channels.split(","):
        if preset not in CHANNELS:
            p.error(f"--channels: unknown preset {preset!r} (presets: {', '.join(CHANNELS)})")
    if args.check and (args.bench or args.train) and args.tf32 == "on":
        p.error("--check forces strict fp32: run --bench/--train --tf32 on separately")
    ok = True
    if args.check:
        strict_fp32()
        ok = check(args.check, torch.device(args.device))
    if args.bench:
        bench(args)
    if args.train:
        train_bench(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
