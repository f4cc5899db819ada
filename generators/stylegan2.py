"""StyleGAN2 (Karras et al. 2020): mapping z -> w, modulated synthesis from w+, residual discriminator.

Contract (NVlabs): `mapping(z) -> w [N, w_dim]`, `synthesis(ws [N, num_ws, w_dim]) -> img [N, 3, R, R]`
in [-1, 1], and `forward(z) == synthesis(broadcast(mapping(z)))`. Pure PyTorch: no custom ops.

The generator computes what NVlabs' stylegan2-ada-pytorch generator computes (upsampling by a transposed conv
and the [1, 3, 3, 1] filter with zero borders, conv_clamp after the activation and on toRGB, fp16 layers on
CUDA), so NVlabs' and rosinality's weights render here as they do there (`latentcat.foreign`).
"""
import math

import torch
from torch import nn

from generators.config import StyleGAN2Config
from generators.layers import EqualConv2d, EqualLinear, ModulatedConv2d, bias_lrelu, upsample
from generators.protocol import SPACES, check_space

NOISE_MODES = ("random", "const", "none")


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, crossover: int) -> torch.Tensor:
    """Style mixing: layers [0, crossover) from ws_a (coarse), the rest from ws_b (fine)."""
    if ws_a.shape != ws_b.shape:
        raise ValueError(f"mix_styles needs equal shapes, got {tuple(ws_a.shape)} and {tuple(ws_b.shape)}")
    return torch.cat([ws_a[:, :crossover], ws_b[:, crossover:]], dim=1)


class MappingNetwork(nn.Module):
    """z [N, z_dim] -> w [N, w_dim]; keeps `w_avg`, the running mean of w, for truncation and inversion."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float):
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(*[EqualLinear(dims[i], dims[i + 1], activation=True, lr_mul=lr_mul)
                                      for i in range(num_layers)])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        w = self.layers(normalize_2nd_moment(z.to(torch.float32)))
        if truncation != 1.0:
            w = self.w_avg.lerp(w, truncation)
        return w


def clamp_for(x: torch.Tensor, conv_clamp: float | None) -> float | None:
    """The clamp of a layer's output: the configured one, else 256 in fp16 (autocast training) against overflow."""
    return conv_clamp if conv_clamp is not None else 256 if x.dtype == torch.float16 else None


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (upsampling or not), per-pixel noise, bias, leaky ReLU and the optional clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool,
                 conv_clamp: float | None = None, resample: str = "nvlabs"):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True, up=up, resample=resample)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.resolution = resolution
        self.conv_clamp = conv_clamp

    def forward(self, x, w, noise_mode: str = "random", noise: torch.Tensor | None = None):
        x = self.conv(x, w)
        if noise is None and noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype)
        elif noise is None and noise_mode == "const":
            noise = self.noise_const
        if noise is not None:
            x = x + noise.to(x.dtype) * self.noise_strength.to(x.dtype)
        return bias_lrelu(x, self.bias, clamp=clamp_for(x, self.conv_clamp))


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB, plus bias and the optional clamp; added to the upsampled
    skip image."""

    def __init__(self, in_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(3))
        self.conv_clamp = conv_clamp

    def forward(self, x, w):
        x = self.conv(x, w) + self.bias.to(x.dtype).reshape(1, 3, 1, 1)
        clamp = clamp_for(x, self.conv_clamp)
        return x.clamp(-clamp, clamp) if clamp is not None else x


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling conv unless first) + conv + toRGB. Uses `num_conv + 1` consecutive ws.

    A `use_fp16` block computes in fp16 on CUDA (NVlabs' `num_fp16_res`) and in fp32 elsewhere; the skip image
    stays fp32."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 conv_clamp: float | None = None, use_fp16: bool = False, resample: str = "nvlabs"):
        super().__init__()
        self.resample = resample
        self.first = in_channels == 0
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True, conv_clamp=conv_clamp,
                                        resample=resample)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, up=False, conv_clamp=conv_clamp)
        self.torgb = ToRGB(out_channels, w_dim, conv_clamp)
        self.num_conv = 1 if self.first else 2
        self.use_fp16 = use_fp16

    def forward(self, x, img, ws, noise_mode, noises):
        """ws: [N, num_conv + 1, w_dim]; noises: a list of num_conv tensors or Nones."""
        half = self.use_fp16 and ws.device.type == "cuda"
        dtype = torch.float16 if half else ws.dtype
        if self.first:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(dtype)
        else:
            x = self.conv0(x.to(dtype) if half else x, ws[:, 0], noise_mode, noises[0])
        x = self.conv1(x, ws[:, self.num_conv - 1], noise_mode, noises[-1])
        rgb = self.torgb(x, ws[:, self.num_conv])
        rgb = rgb.float() if half else rgb
        img = rgb if img is None else upsample(img, self.resample) + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """w+ [N, num_ws, w_dim] -> image [N, 3, R, R] in about [-1, 1], with 'skip' toRGB outputs."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        self.resolution = config.resolution
        self.w_dim = config.w_dim
        self.num_ws = config.num_ws
        self.resolutions = config.resolutions
        blocks, in_ch = [], 0
        for res in self.resolutions:
            out_ch = config.channels(res)
            blocks.append(SynthesisBlock(in_ch, out_ch, config.w_dim, res, config.conv_clamp, config.uses_fp16(res),
                                         config.resample))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)

    @property
    def noise_shapes(self) -> list[tuple[int, int, int, int]]:
        """Shape of each noise input, in layer order (one per modulated conv: num_ws - 1 of them)."""
        return [(1, 1, r, r) for r in self.resolutions for _ in range(1 if r == 4 else 2)]

    def const_noise(self) -> list[torch.Tensor]:
        """The fixed noise maps of noise_mode="const", in layer order (the start point for optimising noise)."""
        layers = [layer for block in self.blocks
                  for layer in ([block.conv1] if block.first else [block.conv0, block.conv1])]
        return [layer.noise_const for layer in layers]

    def forward(self, ws: torch.Tensor, noise_mode: str = "random",
                noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """ws: [N, num_ws, w_dim]; noise: optional tensors, each [N or 1, 1, r, r], overriding noise_mode."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        if noise is not None and len(noise) != self.num_ws - 1:
            raise ValueError(f"expected {self.num_ws - 1} noise tensors, got {len(noise)}")
        noises = list(noise) if noise is not None else [None] * (self.num_ws - 1)
        x = img = None
        w_idx = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, w_idx:w_idx + block.num_conv + 1], noise_mode,
                           noises[w_idx:w_idx + block.num_conv])
            w_idx += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """The generator protocol over NVlabs' two parts: `mapping(z) -> w` and `synthesis(ws) -> image`."""

    latent_spaces = SPACES

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        self.config = config
        self.z_dim, self.w_dim, self.num_ws = config.z_dim, config.w_dim, config.num_ws
        self.resolution = config.resolution
        self.mapping = MappingNetwork(config.z_dim, config.w_dim, config.mapping_layers, config.mapping_lr_mul)
        self.synthesis = SynthesisNetwork(config)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> w+ [N, num_ws, w_dim]."""
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def forward(self, z: torch.Tensor, truncation: float = 1.0, **synthesis_kwargs) -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z, truncation)), **synthesis_kwargs)

    def latent_from_z(self, z: torch.Tensor, space: str) -> torch.Tensor:
        check_space(self, space)
        if space == "z":
            return z
        w = self.mapping(z)
        return self.broadcast(w) if space == "w+" else w

    def codes(self, latent: torch.Tensor, space: str) -> torch.Tensor:
        check_space(self, space)
        if space == "z":
            return self.broadcast(self.mapping(latent))
        return self.broadcast(latent) if space == "w" else latent

    def render(self, codes: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.synthesis(codes, noise_mode="const", noise=noise)

    def code_mean(self) -> torch.Tensor:
        return self.w_avg

    def mean_latent(self, space: str, num: int) -> torch.Tensor:
        check_space(self, space)
        if space == "z":
            raise ValueError("z has no usable mean latent: its mean, 0, is a dead point of the generator")
        w = self.w_avg.expand(num, -1)
        return (self.broadcast(w) if space == "w+" else w).clone()

    def noise_maps(self) -> list[torch.Tensor]:
        return self.synthesis.const_noise()

    def style_weights(self) -> list[torch.Tensor]:
        """Per w+ layer i, the weights [C_i, w_dim] of every style affine that reads ws[:, i], stacked (the conv
        it modulates and, for all but the first, the toRGB before it): what SeFa factorises."""
        per_layer = [[] for _ in range(self.num_ws)]
        w_idx = 0
        for block in self.synthesis.blocks:
            convs = [block.conv1] if block.first else [block.conv0, block.conv1]
            for j, module in enumerate([layer.conv for layer in convs] + [block.torgb.conv]):
                per_layer[w_idx + j].append(module.affine.weight * module.affine.weight_gain)
            w_idx += block.num_conv
        return [torch.cat(weights) for weights in per_layer]

    def sample(self, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "const") -> torch.Tensor:
        return self(z, truncation, noise_mode=noise_mode)

    def blocks(self) -> list[tuple[int, list[str]]]:
        return [(res, [f"synthesis.blocks.{i}.{name}" for name, _ in block.named_parameters()])
                for i, (res, block) in enumerate(zip(self.synthesis.resolutions, self.synthesis.blocks))]


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second downsamples) plus a 1x1 downsampling skip."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, down=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activation=False, down=True)

    def forward(self, x):
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append the mean std of features across a group of samples, so D can see a lack of variety."""
    n, c, h, w = x.shape
    g = math.gcd(min(group_size, n), n)
    y = x.float().reshape(g, -1, c, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=[1, 2, 3])  # [N / g]
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class StyleGAN2Discriminator(nn.Module):
    """Residual discriminator: image [N, 3, R, R] in [-1, 1] -> realness logit [N]."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        self.config = config
        res = config.resolution
        self.from_rgb = EqualConv2d(3, config.channels(res), 1)
        blocks = []
        while res > 4:
            blocks.append(DiscriminatorBlock(config.channels(res), config.channels(res // 2)))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        ch = config.channels(4)
        self.mbstd_group = config.mbstd_group
        self.conv = EqualConv2d(ch + 1, ch, 3)
        self.fc = EqualLinear(ch * 16, ch, activation=True)
        self.out = EqualLinear(ch, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.from_rgb(img))
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1))).squeeze(1)

    def stages(self) -> list[list[nn.Module]]:
        """Its layers grouped by resolution, input side first: what FreezeD counts when it freezes the first ones."""
        return [[self.from_rgb, self.blocks[0]], *([block] for block in self.blocks[1:]),
                [self.conv, self.fc, self.out]]
