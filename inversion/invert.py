"""Inversion: find, for each target image, the latent (and optionally noise) whose render matches it."""
from dataclasses import dataclass, field
from typing import Callable

import torch

from inversion.feature_networks import FeatureNetwork
from inversion.latents import (SPACES, check_space, code_mean, is_stylegan, noise_scale, render_codes, start_noise,
                               to_codes, w_spread)
from inversion.losses import InversionLoss, LossWeights, renormalize_noise
from inversion.optimize import OptimizationLog, OptimizerConfig, optimize


@dataclass(frozen=True)
class InversionConfig:
    """What is optimised (space, noise), against which loss, by which optimiser."""
    space: str = "w+"
    optimize_noise: bool = False
    weights: LossWeights = field(default_factory=LossWeights)
    pixel_p: int = 2
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    seed: int = 0  # for the latent noise ramp

    def __post_init__(self):
        if self.space not in SPACES:
            raise ValueError(f"latent space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.pixel_p not in (1, 2):
            raise ValueError(f"pixel loss must be L1 or L2 (p = 1 or 2), got p = {self.pixel_p}")


@dataclass
class InversionResult:
    """Everything on the CPU: latents [N, ...], noise maps (if optimised), renders [N, 3, R, R] in about [-1, 1],
    final per-image loss terms, and the optimisation log (per-step losses, failures, steps, seconds)."""
    space: str
    latents: torch.Tensor
    noise: list[torch.Tensor] | None
    images: torch.Tensor
    losses: torch.Tensor
    terms: dict[str, torch.Tensor]
    log: OptimizationLog


def invert(G, targets: torch.Tensor, config: InversionConfig, init: torch.Tensor,
           masks: torch.Tensor | None = None, network: FeatureNetwork | None = None,
           on_step: Callable[[int, Callable[[], torch.Tensor]], None] | None = None,
           progress: bool = True) -> InversionResult:
    """Optimise `init` (one latent per target, in config.space) to reproduce `targets` [N, 3, R, R] in [-1, 1].

    masks [N, 1, R, R] in [0, 1] restrict the reconstruction terms to where the mask is set.
    on_step(step, render) runs after every step; render() gives the current images (no gradient).
    """
    check_space(G, config.space)
    device = targets.device
    if init.shape[0] != targets.shape[0]:
        raise ValueError(f"{init.shape[0]} initial latents for {targets.shape[0]} targets")
    latent = init.detach().clone().to(device).requires_grad_(True)
    start = latent.detach().clone()
    noise = start_noise(G, len(targets)) if config.optimize_noise and is_stylegan(G) else None
    params = [latent] + ([n.requires_grad_(True) for n in noise] if noise else [])
    loss = InversionLoss(config.weights, targets, masks, network, config.pixel_p)
    centre = code_mean(G)
    opt = config.optimizer
    spread = w_spread(G) if opt.latent_noise > 0 and config.space != "z" and is_stylegan(G) else 0.0
    jitter_rng = torch.Generator(device=device).manual_seed(config.seed)

    def forward(rendered: torch.Tensor):
        """(total [N], terms, images) for the latent `rendered` (the latent itself, or a jittered copy)."""
        codes = to_codes(G, config.space, rendered)
        images = render_codes(G, codes, noise)
        total, terms = loss(images, latent=latent, init=start, codes=codes, code_mean=centre, noises=noise)
        return total, terms, images

    def evaluate(step: int):
        scale = noise_scale(spread, opt.latent_noise, opt.latent_noise_ramp, step / max(opt.steps, 1))
        jittered = latent
        if scale > 0:
            jittered = latent + scale * torch.randn(latent.shape, generator=jitter_rng, device=device)
        return forward(jittered)[0]

    @torch.no_grad()
    def current_images():
        return render_codes(G, to_codes(G, config.space, latent), noise)

    def after_step(step: int):
        if noise:
            renormalize_noise(noise)
        if on_step is not None:
            on_step(step, current_images)

    log = optimize(params, evaluate, opt, after_step, progress=progress)
    with torch.no_grad():
        total, terms, images = forward(latent)
    return InversionResult(space=config.space, latents=latent.detach().cpu(),
                           noise=[n.detach().cpu() for n in noise] if noise else None,
                           images=images.detach().cpu(), losses=total.detach().cpu(),
                           terms={k: v.cpu() for k, v in terms.items()}, log=log)
