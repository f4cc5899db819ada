"""The generators' pixel range: images are floats in [-1, 1]; files and metrics hold 8-bit values."""
import torch


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [.., 3, H, W] in [0, 255] -> float in [-1, 1]."""
    return x.float() / 127.5 - 1


def float_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] -> uint8 in [0, 255], rounded and clipped, on the CPU."""
    return ((x.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
