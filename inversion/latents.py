"""Where an inversion starts (the mean, or seeded random samples) and how latents move between two codes.

z has no usable mean: z = 0 is a dead point (StyleGAN2 normalises z, so 0 has no direction; the DCGAN's
ReLUs are all off at 0 and its gradient is exactly zero), so a "mean" start in z is a seeded random z.
"""
import torch

from generators.protocol import check_space, fingerprint, seeded_z
from inversion.code import Code

INITS = ("mean", "random")


@torch.no_grad()
def initial_code(G, space: str, init: str, num: int, seed: int = 0) -> Code:
    """Start codes on G's device: w_avg ("mean"), or one seeded sample per image ("random"; image i's start
    depends only on seed and i)."""
    check_space(G, space)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "mean" and space != "z":
        latent = G.mean_latent(space, num)
    else:
        latent = G.latent_from_z(seeded_z(G.z_dim, num, seed).to(G.code_mean().device), space)
    return Code(latent, space, generator=fingerprint(G))


@torch.no_grad()
def w_spread(G, num_samples: int = 10000, seed: int = 0) -> float:
    """RMS distance of w from w_avg: the scale of the NVlabs projector's latent noise ramp."""
    w = G.latent_from_z(seeded_z(G.z_dim, num_samples, seed).to(G.w_avg.device), "w")
    return float((w - G.w_avg).square().sum(dim=1).mean().sqrt())


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation of each row (z is Gaussian: slerp keeps its norm plausible)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def between(a: Code, b: Code, t: float) -> Code:
    """The code a fraction t of the way from a to b (one row each, one space): linear in w and w+, spherical
    in z; noise maps, where both have them, are blended linearly, so t = 0 and 1 give exactly a and b."""
    step = slerp if a.space == "z" else torch.lerp
    noise = tuple(torch.lerp(na, nb, t) for na, nb in zip(a.noise, b.noise)) if a.noise and b.noise else None
    return Code(step(a.latent, b.latent, t), a.space, noise, a.generator)


def noise_scale(spread: float, factor: float, ramp: float, t: float) -> float:
    """NVlabs projector's latent noise: spread * factor * max(0, 1 - t / ramp)^2 at progress t in [0, 1]."""
    if factor <= 0 or ramp <= 0:
        return 0.0
    return spread * factor * max(0.0, 1.0 - t / ramp) ** 2
