"""Latent spaces and where an inversion starts: z, w and w+ for StyleGAN2, z for the DCGAN.

Shapes: z [N, z_dim]; w [N, w_dim]; w+ [N, num_ws, w_dim]. StyleGAN2 renders every space through w+ ("codes");
the DCGAN's codes are its z.
"""
import torch

from latentcat.sampling import sample_latents

SPACES = ("z", "w", "w+")
INITS = ("mean", "random")


def is_stylegan(G) -> bool:
    return hasattr(G, "synthesis")


def check_space(G, space: str) -> None:
    if space not in G.latent_spaces:
        raise ValueError(f"this {G.config.arch} generator has latent spaces {', '.join(G.latent_spaces)}, "
                         f"not {space!r}")


def code_mean(G) -> torch.Tensor:
    """Centre of the codes: w_avg for StyleGAN2, 0 (the prior's mean) for the DCGAN's z."""
    return G.w_avg if is_stylegan(G) else torch.zeros(G.z_dim, device=next(G.parameters()).device)


def mean_latent(G, space: str, num: int) -> torch.Tensor:
    """The average image's latent, w_avg, in w and w+ (z has no usable mean: see `initial_latent`)."""
    if space == "z":
        raise ValueError("z has no usable mean latent: its mean, 0, is a dead point of the generator")
    w = G.w_avg.expand(num, -1)
    return (G.broadcast(w) if space == "w+" else w).clone()


@torch.no_grad()
def random_latent(G, space: str, num: int, seed: int) -> torch.Tensor:
    """A random sample per image from seed (image i's start depends only on seed and i)."""
    z = sample_latents(G.z_dim, num, seed).to(next(G.parameters()).device)
    if space == "z":
        return z
    w = G.mapping(z)
    return G.broadcast(w) if space == "w+" else w


def initial_latent(G, space: str, init: str, num: int, seed: int = 0) -> torch.Tensor:
    """Start latents. "mean" in z is a seeded random z: z = 0 is a dead point (StyleGAN2 normalises z, so 0
    has no direction; the DCGAN's ReLUs are all off at 0 and its gradient is exactly zero)."""
    check_space(G, space)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "mean" and space != "z":
        return mean_latent(G, space, num)
    return random_latent(G, space, num, seed)


def to_codes(G, space: str, latent: torch.Tensor) -> torch.Tensor:
    """What the generator renders: w+ [N, num_ws, w_dim] for StyleGAN2, z for the DCGAN."""
    if not is_stylegan(G):
        return latent
    if space == "z":
        return G.broadcast(G.mapping(latent))
    return G.broadcast(latent) if space == "w" else latent


def render_codes(G, codes: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Images [N, 3, R, R] from codes; StyleGAN2 uses the given noise maps, else its fixed ("const") noise."""
    if not is_stylegan(G):
        return G(codes)
    return G.synthesis(codes, noise_mode="const", noise=noise)


def render(G, space: str, latent: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
    return render_codes(G, to_codes(G, space, latent), noise)


def start_noise(G, num: int) -> list[torch.Tensor]:
    """Per-image copies of the generator's fixed noise maps: optimising noise starts where fixed noise is."""
    return [n.expand(num, -1, -1, -1).clone() for n in G.synthesis.const_noise()]


@torch.no_grad()
def w_spread(G, num_samples: int = 10000, seed: int = 0) -> float:
    """RMS distance of w from w_avg: the scale of the NVlabs projector's latent noise ramp."""
    w = G.mapping(sample_latents(G.z_dim, num_samples, seed).to(G.w_avg.device))
    return float((w - G.w_avg).square().sum(dim=1).mean().sqrt())


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation of each row (z is Gaussian: slerp keeps its norm plausible)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def interpolate(a: torch.Tensor, b: torch.Tensor, space: str, frames: int) -> torch.Tensor:
    """`frames` latents from a to b inclusive: linear in w and w+, spherical in z. [frames, *a.shape]"""
    ts = [i / (frames - 1) for i in range(frames)] if frames > 1 else [0.0]
    step = slerp if space == "z" else torch.lerp
    return torch.stack([step(a, b, t) for t in ts])


def noise_scale(spread: float, factor: float, ramp: float, t: float) -> float:
    """NVlabs projector's latent noise: spread * factor * max(0, 1 - t / ramp)^2 at progress t in [0, 1]."""
    if factor <= 0 or ramp <= 0:
        return 0.0
    return spread * factor * max(0.0, 1.0 - t / ramp) ** 2

