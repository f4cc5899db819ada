"""Building blocks shared by the StyleGAN2 generator and discriminator (pure PyTorch, CPU and GPU).

Equalised learning rate as in NVlabs: parameters are stored at unit scale and multiplied by
their He gain at run time, so Adam treats every layer alike.
"""
import math
from dataclasses import dataclass

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


@dataclass
class LowRankChange:
    """A change of low rank to a modulated conv's weight, one per row of a batch (generator tuning: one row per
    tuned generator): row j convolves with W + up[j] @ down[j] (reshaped to W's shape). A batch of N samples
    holds N / R consecutive samples of each of the R rows. Applied as a second, thin convolution beside the
    shared one, so tuning needs no gradient of the full weight and no per-sample weights."""
    up: torch.Tensor    # [R, out, rank]
    down: torch.Tensor  # [R, rank, in, k, k]

    @property
    def rows(self) -> int:
        return self.up.shape[0]

    def dense(self) -> torch.Tensor:
        """[R, out, in, k, k]: each row's change of the weight."""
        return torch.einsum("jor,jrikl->joikl", self.up, self.down)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution: scale input channels by a per-sample style, convolve, then demodulate.

    Done as modulate -> shared conv -> demodulate (NVlabs' non-fused path), which batches well and needs no
    grouped conv. Exactly NVlabs' arithmetic: demodulated convs use the raw weight (demodulation cancels its
    gain), toRGB-style convs scale the styles by the weight gain, and with `up` the conv is a stride-2 transposed
    conv followed by the [1, 3, 3, 1] filter with zero padding (with resample="bilinear": bilinear 2x, then the
    conv, as latentcat's generators trained before these layers). `weight` is stored as the kernel F.conv2d would
    apply on the output grid; NVlabs' transposed-conv kernel is that kernel flipped. `change`, when set (generator
    tuning sets it on a copy), adds a LowRankChange per row of the batch.
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
        self.change: LowRankChange | None = None

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x: [N, in, H, W]; w: [N, w_dim] -> [N, out, H', W'] (H' = 2H when up)."""
        change = self.change
        # Styles and demodulation coefficients in fp32: their squares overflow fp16 easily.
        with torch.autocast(device_type=x.device.type, enabled=False):
            styles = self.affine(w.float())
            weight = self.weight.float()
            change = LowRankChange(change.up.float(), change.down.float()) if change is not None else None
            if not self.demodulate:
                styles = styles * self.weight_gain
            elif x.dtype == torch.float16:  # NVlabs' pre-normalisation against fp16 overflow (cancels out)
                scale = self.weight_gain / weight.abs().amax(dim=[1, 2, 3], keepdim=True)
                weight = weight * scale
                if change is not None:
                    change = LowRankChange(change.up * scale.reshape(1, -1, 1), change.down)
                styles = styles / styles.abs().amax(dim=1, keepdim=True)
            if self.demodulate:
                dcoefs = self._demodulation(styles, weight, change)
        x = x * styles.to(x.dtype).reshape(*styles.shape, 1, 1)
        y = self._convolve(x, weight.to(x.dtype))
        if change is not None:
            y = y + self._low_rank_branch(x, change.up.to(x.dtype), change.down.to(x.dtype))
        if self.demodulate:
            y = y * dcoefs.to(x.dtype).reshape(*dcoefs.shape, 1, 1)
        return y

    @staticmethod
    def _demodulation(styles: torch.Tensor, weight: torch.Tensor, change: LowRankChange | None) -> torch.Tensor:
        """[N, out]: 1 / the norm of each sample's modulated kernel (its row's changed weight, with a change)."""
        if change is None:
            return (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        squares = (weight + change.dense()).square().sum(dim=[3, 4])           # [R, out, in]
        per_row = styles.square().reshape(change.rows, -1, styles.shape[1])           # [R, P, in]
        return (torch.einsum("jpi,joi->jpo", per_row, squares).flatten(0, 1) + 1e-8).rsqrt()

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """x [N, groups * in, H, W] by `weight` [groups * out, in, k, k] (groups independent convolutions), with
        this layer's upsampling."""
        if self.up and self.resample == "bilinear":
            return F.conv2d(upsample(x, "bilinear"), weight, padding=self.padding, groups=groups)
        if self.up:
            out, inp, k = weight.shape[0] // groups, weight.shape[1], weight.shape[2]
            kernel = weight.flip([2, 3]).reshape(groups, out, inp, k, k).transpose(1, 2).reshape(-1, out, k, k)
            x = F.conv_transpose2d(x, kernel, stride=2, groups=groups)
            return F.conv2d(x, fir_filter(x, gain=4.0), padding=1, groups=x.shape[1])
        return F.conv2d(x, weight, padding=self.padding, groups=groups)

    def _low_rank_branch(self, x: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        """The rows' changes applied to x [N, in, H, W]: through `down` as one grouped conv (a group per row),
        then `up` per row."""
        rows, rank = down.shape[:2]
        per_row = x.shape[0] // rows
        grouped = x.reshape(rows, per_row, *x.shape[1:]).transpose(0, 1).reshape(per_row, -1, *x.shape[2:])
        y = self._convolve(grouped, down.flatten(0, 1), groups=rows)               # [P, R * rank, H', W']
        y = y.reshape(per_row, rows, rank, *y.shape[2:]).transpose(0, 1)            # [R, P, rank, H', W']
        return torch.einsum("jprhw,jor->jpohw", y, up).flatten(0, 1)
