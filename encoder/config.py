"""Encoder architecture config: one frozen dataclass, validated on creation, stored inside encoder files."""
from dataclasses import dataclass

BACKBONES = ("resnet18", "resnet34", "resnet50")
HEADS = ("pyramid", "pool")


@dataclass(frozen=True)
class EncoderConfig:
    """What the encoder reads (resolution) and predicts (num_ws x w_dim w+ codes), and how."""

    resolution: int               # input side in pixels: the generator's resolution
    num_ws: int                   # w+ layers of the generator
    w_dim: int                    # w dimensionality of the generator
    backbone: str = "resnet18"    # torchvision ResNet architecture
    head: str = "pyramid"         # pyramid (pSp map2style per level) or pool (global pool + linear)
    depth: int = 3                # ResNet stages used (3: layer1-3, enough at <= 64 px; 4: all)
    progressive: bool = False     # e4e: start from one shared w, unlock per-layer deltas during training
    iterations: int = 1           # ReStyle: passes it was trained with (> 1: it also reads the current
    #                               reconstruction and predicts a correction to the current code)

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.depth not in (2, 3, 4):
            raise ValueError(f"depth is the number of ResNet stages used, 2 to 4; got {self.depth}")
        for name in ("resolution", "num_ws", "w_dim", "iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def encoder_config_from_dict(d: dict) -> EncoderConfig:
    return EncoderConfig(**d)
