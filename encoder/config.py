"""Encoder architecture config: one frozen dataclass, validated on creation, stored inside encoder files."""
from dataclasses import dataclass

BACKBONES = ("resnet18", "resnet34", "resnet50")
HEADS = ("pyramid", "pool")
MAX_INPUT_SIDE = 256  # larger photos are read downsampled to this (pSp reads 256 px for a 1024 px generator)


@dataclass(frozen=True)
class EncoderConfig:
    """What the encoder reads (resolution) and predicts (num_ws x w_dim w+ codes), and how."""

    resolution: int               # input side in pixels: the generator's resolution
    num_ws: int                   # w+ layers of the generator
    w_dim: int                    # w dimensionality of the generator
    backbone: str = "resnet18"    # torchvision ResNet architecture
    head: str = "pyramid"         # pyramid (pSp map2style per level) or pool (global pool + linear)
    depth: int | None = None      # ResNet stages used; None: 3 (layer1-3) up to 64 px, all 4 above
    progressive: bool = False     # e4e: start from one shared w, unlock per-layer deltas during training
    iterations: int = 1           # ReStyle: passes it was trained with (> 1: it also reads the current
    #                               reconstruction and predicts a correction to the current code)

    def __post_init__(self):
        if self.depth is None:
            object.__setattr__(self, "depth", 3 if self.resolution <= 64 else 4)
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.depth not in (2, 3, 4):
            raise ValueError(f"depth is the number of ResNet stages used, 2 to 4; got {self.depth}")
        for name in ("resolution", "num_ws", "w_dim", "iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def input_side(self) -> int:
        """The side the trunk reads: the generator's resolution, at most MAX_INPUT_SIDE."""
        return min(self.resolution, MAX_INPUT_SIDE)


def encoder_config_from_dict(d: dict) -> EncoderConfig:
    return EncoderConfig(**d)
