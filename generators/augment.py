"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout applied to every image D sees.

It lets a GAN train on a few hundred images (the 204 grumpy cats) without D memorising them.
All ops run on the images' device with no host round trips.
"""
import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def _rand(x: torch.Tensor, *shape) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, device=x.device, dtype=x.dtype)


def augment_color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_rand(x, 1, 1, 1) - 0.5)                                   # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, 1, 1, 1) * 2) + mean                     # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, 1, 1, 1) + 0.5) + mean                # contrast


def augment_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift by up to `ratio` of the size, filling with zeros; done with one batched gather."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy = (torch.arange(h, device=x.device).reshape(1, h, 1) + dy + 1).clamp(0, h + 1)
    gx = (torch.arange(w, device=x.device).reshape(1, 1, w) + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    idx = torch.arange(n, device=x.device).reshape(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[idx, gy, gx].permute(0, 3, 1, 2)


def augment_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of `ratio` of the side in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).reshape(1, h, 1)
    xs = torch.arange(w, device=x.device).reshape(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": augment_color, "translation": augment_translation, "cutout": augment_cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """Apply the named augmentations in order; an empty policy returns x unchanged."""
    for name in policy:
        x = _OPS[name](x)
    return x


def parse_policy(text: str) -> tuple[str, ...]:
    """'color,translation,cutout' -> tuple; '' or 'none' -> ()."""
    names = tuple(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none")
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {', '.join(POLICIES)}")
    return names
