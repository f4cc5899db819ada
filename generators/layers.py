"""Building blocks shared by the StyleGAN2 generator and discriminator (pure PyTorch, CPU and GPU).

Equalised learning rate as in NVlabs: parameters are stored at unit scale and multiplied by
their He gain at run time, so Adam treats every layer alike.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)


def bias_lrelu(x: torch.Tensor, bias: torch.Tensor, clamp: float | None = None) -> torch.Tensor:
    """x + bias, leaky ReLU(0.2), times sqrt(2) to keep unit variance; optional clamp for fp16 safety."""
    x = F.leaky_relu(x + bias.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2))), 0.2) * LRELU_GAIN
    return x.clamp(-clamp, clamp) if clamp is not None else x


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate; `lr_mul` slows it down (mapping MLP)."""

    def __init__(self, in_features: int, out_features: int, activation: bool = False,
                 bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.lr_mul
        if self.activation:
            return bias_lrelu(x @ w.t(), b)
        return torch.addmm(b.unsqueeze(0), x, w.t())


class EqualConv2d(nn.Module):
    """Conv layer with equalised learning rate; `down=True` blurs and halves the resolution first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: bool = True, down: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.activation = activation
        self.down = down
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = blur_downsample(x)
        x = F.conv2d(x, self.weight.to(x.dtype) * self.weight_gain, padding=self.padding)
        if self.activation:
            return bias_lrelu(x, self.bias, clamp=256 if x.dtype == torch.float16 else None)
        return x if self.bias is None else x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)


def blur_downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve the resolution with the [1, 3, 3, 1] low-pass filter (anti-aliased, as NVlabs' resample)."""
    return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), fir_filter(x), stride=2, groups=x.shape[1])


def fir_filter(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """The separable [1, 3, 3, 1] low-pass filter as a [C, 1, 4, 4] depthwise kernel for x, summing to `gain`."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype)
    k = k[:, None] * k[None, :] * (gain / 64)
    return k.expand(x.shape[1], 1, 4, 4)


def upsample(x: torch.Tensor, resample: str = "nvlabs") -> torch.Tensor:
    """Double the resolution. `nvlabs` (NVlabs' upsample2d): zeros between the pixels, then the [1, 3, 3, 1]
    filter with zero padding (one transposed depthwise conv); inside the image this is bilinear 2x, at the border
    a pixel sees zeros beyond it, which StyleGAN2 generators are trained with. `bilinear`: bilinear 2x with
    half-pixel centres, what latentcat's generators trained before NVlabs' layers were written with."""
    if resample == "bilinear":
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    return F.conv_transpose2d(x, fir_filter(x, gain=4.0), stride=2, padding=1, groups=x.shape[1])


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution: scale input channels by a per-sample style, convolve, then demodulate.

    Done as modulate -> shared conv -> demodulate (NVlabs' non-fused path), which batches well and needs no
    grouped conv. Exactly NVlabs' arithmetic: demodulated convs use the raw weight (demodulation cancels its
    gain), toRGB-style convs scale the styles by the weight gain, and with `up` the conv is a stride-2 transposed
    conv followed by the [1, 3, 3, 1] filter with zero padding (with resample="bilinear": bilinear 2x, then the
    conv, as latentcat's generators trained before these layers). `weight` is stored as the kernel F.conv2d would
    apply on the output grid; NVlabs' transposed-conv kernel is that kernel flipped.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, up: bool = False, resample: str = "nvlabs"):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.demodulate = demodulate
        self.up = up
        self.resample = resample
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x: [N, in, H, W]; w: [N, w_dim] -> [N, out, H', W'] (H' = 2H when up)."""
        # Styles and demodulation coefficients in fp32: their squares overflow fp16 easily.
        with torch.autocast(device_type=x.device.type, enabled=False):
            styles = self.affine(w.float())
            weight = self.weight.float()
            if not self.demodulate:
                styles = styles * self.weight_gain
            elif x.dtype == torch.float16:  # NVlabs' pre-normalisation against fp16 overflow (cancels out)
                weight = weight * (self.weight_gain / weight.abs().amax(dim=[1, 2, 3], keepdim=True))
                styles = styles / styles.abs().amax(dim=1, keepdim=True)
            if self.demodulate:
                dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        x = x * styles.to(x.dtype).reshape(*styles.shape, 1, 1)
        if self.up and self.resample == "bilinear":
            x = F.conv2d(upsample(x, "bilinear"), weight.to(x.dtype), padding=self.padding)
        elif self.up:
            x = F.conv_transpose2d(x, weight.flip([2, 3]).transpose(0, 1).to(x.dtype), stride=2)
            x = F.conv2d(x, fir_filter(x, gain=4.0), padding=1, groups=x.shape[1])
        else:
            x = F.conv2d(x, weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            x = x * dcoefs.to(x.dtype).reshape(*dcoefs.shape, 1, 1)
        return x
