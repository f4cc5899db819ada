"""A ResNet encoder that predicts StyleGAN2 w+ codes in one forward pass (pSp, Richardson et al. 2021).

image [N, 3, R, R] in [-1, 1] -> w+ [N, num_ws, w_dim] = w_avg + offsets. Predicting offsets from the
generator's w_avg (pSp) starts training at the average cat instead of at an arbitrary point.
- `pyramid` head: a feature pyramid over the last three ResNet stages used; coarse styles read the deepest
  level, middle styles the next, fine styles the shallowest, each through its own "map2style" block.
- `pool` head: global average pooling of the deepest stage and one linear layer for every style.
- `depth`: ResNet stages used. Up to 64 px the default 3 (layer1-3, pyramid at 16, 8, 4 px) keeps the file
  small (ResNet18's layer4 alone is 8.4 M parameters, for a 2x2 map); above, all 4, as pSp at 256 px.
- Photos above 256 px are read area-downsampled to 256 px (pSp's input size for its 1024 px generator).
- progressive (e4e, Tov et al. 2021): layer i > 0 predicts a delta from layer 0's code; only the first
  `active_ws` layers use their delta, so training starts from a single w and unlocks the rest gradually.
- iterative (ReStyle, Alaluf et al. 2021): the input is the photo and the current reconstruction (6 channels)
  and the output a correction added to the current code; `encode` starts at w_avg and runs several passes.
"""
import math

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from encoder.config import EncoderConfig

STAGE_CHANNELS = {"resnet18": (64, 128, 256, 512), "resnet34": (64, 128, 256, 512),
                  "resnet50": (256, 512, 1024, 2048)}
PYRAMID_CHANNELS = 128
MAX_STYLE_CONVS = 2  # map2style: at most this many stride-2 convs, then global average pooling


def style_levels(num_ws: int) -> list[int]:
    """Pyramid level (0 = deepest, C5) for each w+ layer, by the resolution it controls: <= 8 px coarse,
    <= 32 px middle, finer otherwise (pSp's coarse/middle/fine split, for any resolution)."""
    levels = []
    for k in range(num_ws):
        res = 2 ** (2 + (k + 1) // 2)  # w+ layer k modulates a conv at this resolution (toRGB shares the last)
        levels.append(0 if res <= 8 else 1 if res <= 32 else 2)
    return levels


class MapToStyle(nn.Module):
    """pSp's map2style: stride-2 3x3 convs (toward 1x1), global average pooling, a linear layer to one w."""

    def __init__(self, channels: int, w_dim: int, size: int):
        super().__init__()
        layers = []
        for _ in range(min(max(int(math.log2(size)), 0), MAX_STYLE_CONVS)):
            layers += [nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.convs = nn.Sequential(*layers)
        self.linear = nn.Linear(channels, w_dim)

    def forward(self, x):
        return self.linear(self.convs(x).mean(dim=(2, 3)))


def _mismatch(model: nn.Module, state: dict) -> str:
    """How `state` fails to fit `model`, briefly: the first missing, unexpected or misshapen keys."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        return (f"{len(missing)} key(s) missing (e.g. {missing[:2]}), {len(unexpected)} unexpected "
                f"(e.g. {unexpected[:2]})")
    wrong = [k for k in expected if getattr(state[k], "shape", None) != expected[k].shape]
    return f"wrong shapes for {wrong[:2]}"


class WPlusEncoder(nn.Module):
    def __init__(self, config: EncoderConfig, backbone_weights: dict | None = None):
        super().__init__()
        self.config = config
        trunk = getattr(torchvision.models, config.backbone)(weights=None)
        if backbone_weights is not None:
            try:
                trunk.load_state_dict(backbone_weights)
            except RuntimeError:  # wrong keys or shapes: torch's message is a page long
                raise ValueError(f"not torchvision {config.backbone} weights: {_mismatch(trunk, backbone_weights)}"
                                 ) from None
        if config.iterations > 1:  # photo and current reconstruction; the extra channels start at zero
            conv = nn.Conv2d(6, trunk.conv1.out_channels, 7, stride=2, padding=3, bias=False)
            with torch.no_grad():
                conv.weight.zero_()
                conv.weight[:, :3] = trunk.conv1.weight
            trunk.conv1 = conv
        self.stem = nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool)
        layers = [trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4][:config.depth]
        self.stages = nn.ModuleList(layers)
        channels = STAGE_CHANNELS[config.backbone][:config.depth]
        n, d = config.num_ws, config.w_dim
        if config.head == "pyramid":
            # deepest first: stage i (0-based) has stride 4 * 2^i
            self.levels = style_levels(n)
            used = min(max(self.levels) + 1, config.depth)  # small generators have no fine styles
            deep = [(channels[i], config.input_side // (4 * 2 ** i)) for i in reversed(range(config.depth))][:used]
            self.lateral = nn.ModuleList([nn.Conv2d(c, PYRAMID_CHANNELS, 1) for c, _ in deep])
            sizes = [size for _, size in deep]
            self.styles = nn.ModuleList([MapToStyle(PYRAMID_CHANNELS, d, max(sizes[min(lv, len(sizes) - 1)], 1))
                                         for lv in self.levels])
        else:
            self.linear = nn.Linear(channels[-1], n * d)
        self.register_buffer("w_avg", torch.zeros(d))
        self.register_buffer("active_ws", torch.tensor(n if not config.progressive else 1))
        channels_in = 6 if config.iterations > 1 else 3
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406] * (channels_in // 3)).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225] * (channels_in // 3)).reshape(1, -1, 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every stage used, shallowest first (x: 3 or, iterative, 6 channels in [-1, 1])."""
        if x.shape[-1] > self.config.input_side:
            x = F.interpolate(x, size=(self.config.input_side,) * 2, mode="area")
        x = self.stem(((x + 1) / 2 - self.mean) / self.std)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def offsets(self, x: torch.Tensor) -> torch.Tensor:
        stages = self.features(x)
        if self.config.head == "pool":
            return self.linear(stages[-1].mean(dim=(2, 3))).reshape(len(x), self.config.num_ws, self.config.w_dim)
        pyramid = []
        for lateral, feature in zip(self.lateral, reversed(stages)):  # deepest first, top-down sums
            level = lateral(feature)
            if pyramid:
                level = level + F.interpolate(pyramid[-1], size=feature.shape[-2:], mode="bilinear",
                                              align_corners=False)
            pyramid.append(level)
        return torch.stack([head(pyramid[min(lv, len(pyramid) - 1)]) for head, lv in zip(self.styles, self.levels)],
                           dim=1)

    def forward(self, x: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        """One pass: images [N, 3, R, R] in [-1, 1] -> w+ [N, num_ws, w_dim] = w_avg + offsets. Iterative:
        [photos | current reconstructions] [N, 6, R, R] and the current codes -> the corrected codes."""
        delta = self.offsets(x)
        if self.config.progressive:
            unlocked = (torch.arange(delta.shape[1], device=delta.device) < self.active_ws).to(delta.dtype)
            delta = delta[:, :1] + unlocked.reshape(1, -1, 1) * (delta - delta[:, :1])
        return (self.w_avg if codes is None else codes).to(delta.dtype) + delta

    def start(self, num: int) -> torch.Tensor:
        """The code every encoding starts from: w_avg in each w+ layer, [num, num_ws, w_dim]."""
        return self.w_avg.expand(num, self.config.num_ws, -1)

    def passes(self, images: torch.Tensor, render, iterations: int | None = None):
        """Yield the code [N, num_ws, w_dim] after each pass (one pass, or `iterations`, default: as trained);
        render(codes) -> images draws the current reconstruction an iterative encoder reads."""
        if self.config.iterations == 1:
            yield self(images)
            return
        codes = self.start(len(images))
        for _ in range(iterations or self.config.iterations):
            codes = self(torch.cat([images, render(codes).to(images.dtype)], dim=1), codes)
            yield codes

    def encode(self, images: torch.Tensor, render, iterations: int | None = None) -> torch.Tensor:
        """The w+ codes after the last pass."""
        for codes in self.passes(images, render, iterations):
            pass
        return codes

    def unlock(self, active: int) -> None:
        """Progressive mode: let the first `active` w+ layers use their own deltas."""
        self.active_ws.fill_(min(max(active, 1), self.config.num_ws))
