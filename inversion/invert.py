"""Inversion: find, for each target image, the latent (and optionally noise) whose render matches it."""
from dataclasses import dataclass, field
from typing import Callable

import torch

from generators.protocol import SPACES, check_space
from inversion.code import Code
from inversion.compiled import maybe_compiled
from inversion.feature_networks import FeatureNetwork
from inversion.latents import noise_scale, w_spread
from inversion.losses import InversionLoss, LossWeights, perceptual_side, renormalize_noise
from inversion.optimize import OptimizationLog, OptimizerConfig, optimize
from inversion.precision import check_precision, in_precision


@dataclass(frozen=True)
class InversionConfig:
    """What is optimised (space, noise), against which loss, by which optimiser, in which precision (bf16: the
    generator's synthesis and the loss network, in generator tuning and the encoder too; see inversion.precision)."""
    space: str = "w+"
    optimize_noise: bool = False
    weights: LossWeights = field(default_factory=LossWeights)
    pixel_p: int = 2
    perceptual_upsample: int = 2  # the perceptual network reads images at this many times their side (<= 256 px)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    seed: int = 0  # for the latent noise ramp
    precision: str = "fp32"
    compile: bool = False  # torch.compile the step's render and loss (see inversion.compiled)

    def __post_init__(self):
        if self.space not in SPACES:
            raise ValueError(f"latent space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.pixel_p not in (1, 2):
            raise ValueError(f"pixel loss must be L1 or L2 (p = 1 or 2), got p = {self.pixel_p}")
        if self.perceptual_upsample < 1:
            raise ValueError(f"the perceptual upsampling must be a whole factor >= 1, got {self.perceptual_upsample}")
        check_precision(self.precision)

    def perceptual_side(self, G) -> int:
        """The side at which the loss's perceptual network reads G's images."""
        return perceptual_side(G.resolution, self.perceptual_upsample)


@dataclass
class InversionResult:
    """Everything on the CPU: the codes found (one row per target), renders [N, 3, R, R] in about [-1, 1],
    final per-image loss terms, and the optimisation log (per-step losses, failures, steps, seconds)."""
    code: Code
    images: torch.Tensor
    losses: torch.Tensor
    terms: dict[str, torch.Tensor]
    log: OptimizationLog


def start_noise(G, start: Code, optimize: bool) -> list[torch.Tensor] | None:
    """The noise maps to render with: the start's own, else per-image copies of the fixed ones when noise is
    optimised, else None (the generator's fixed noise)."""
    if start.noise:
        return [n.detach().clone() for n in start.noise]
    if optimize and G.noise_maps():
        return [n.expand(len(start), -1, -1, -1).clone() for n in G.noise_maps()]
    return None


def invert(G, targets: torch.Tensor, config: InversionConfig, start: Code,
           masks: torch.Tensor | None = None, network: FeatureNetwork | None = None,
           on_step: Callable[[int, Callable[[], torch.Tensor]], None] | None = None,
           progress: bool = True, stop: Callable[[], bool] | None = None) -> InversionResult:
    """Optimise `start` (one code per target, in config.space) to reproduce `targets` [N, 3, R, R] in [-1, 1].

    masks [N, 1, R, R] in [0, 1] restrict the reconstruction terms to where the mask is set.
    on_step(step, render) runs after every step; render() gives the current images (no gradient).
    stop() ends the optimisation early when it returns True (see `optimize`); the result holds the steps done.
    """
    check_space(G, config.space)
    if start.space != config.space:
        raise ValueError(f"the start is a {start.space} code, but the inversion is in {config.space}")
    device = targets.device
    if len(start) != targets.shape[0]:
        raise ValueError(f"{len(start)} start codes for {targets.shape[0]} targets")
    start = start.to(device)
    latent = start.latent.detach().clone().requires_grad_(True)
    noise = start_noise(G, start, config.optimize_noise)
    optimised_noise = noise if config.optimize_noise else None
    params = [latent] + ([n.requires_grad_(True) for n in optimised_noise] if optimised_noise else [])
    loss = InversionLoss(config.weights, targets, masks, network, config.pixel_p, config.perceptual_side(G))
    centre = G.code_mean()
    opt = config.optimizer
    spread = w_spread(G) if opt.latent_noise > 0 and config.space != "z" else 0.0
    jitter_rng = torch.Generator(device=device).manual_seed(config.seed)

    def forward(rendered: torch.Tensor, precision: str):
        """(total [N], terms, images) for the latent `rendered` (the latent itself, or a jittered copy)."""
        codes = G.codes(rendered, config.space)
        images = in_precision(precision, device, G.render, codes, noise)
        total, terms = loss(images, latent=latent, init=start.latent, codes=codes, code_mean=centre,
                            noises=optimised_noise, precision=precision)
        return total, terms, images

    def total_loss(rendered: torch.Tensor, precision: str) -> torch.Tensor:
        """All a step needs: the total alone (a compiled function returning it beside the detached terms hands
        it back without its gradient, torch 2.14)."""
        return forward(rendered, precision)[0]

    step_loss = maybe_compiled(total_loss, config.compile)

    def evaluate(step: int):
        scale = noise_scale(spread, opt.latent_noise, opt.latent_noise_ramp, step / max(opt.steps, 1))
        jittered = latent
        if scale > 0:
            jittered = latent + scale * torch.randn(latent.shape, generator=jitter_rng, device=device)
        return step_loss(jittered, config.precision)

    @torch.no_grad()
    def current_images():
        return G.render(G.codes(latent, config.space), noise)

    def after_step(step: int):
        if optimised_noise:
            renormalize_noise(optimised_noise)
        if on_step is not None:
            on_step(step, current_images)

    log = optimize(params, evaluate, opt, after_step, progress=progress, stop=stop)
    with torch.no_grad():  # in fp32: what the saved code renders anywhere else
        total, terms, images = forward(latent, "fp32")
    code = Code(latent, config.space, tuple(noise) if noise else None, start.generator).detach()
    return InversionResult(code=code, images=images.detach().cpu(), losses=total.detach().cpu(),
                           terms={k: v.cpu() for k, v in terms.items()}, log=log)
