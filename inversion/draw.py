"""Scribble to image (iGAN, the course's "draw"): fit the generator to coloured strokes, only where drawn."""
import dataclasses
from typing import Callable

import torch

from inversion.code import Code
from inversion.feature_networks import FeatureNetwork
from inversion.invert import InversionConfig, InversionResult, invert
from inversion.latents import initial_code
from inversion.metrics import masked_l1

# Random starts are drawn at this truncation psi: typical cats, from which a fit of a few strokes stays a cat
# (docs/draw-investigation.md).
START_TRUNCATION = 0.7


def sketch_starts(G, config: InversionConfig, samples: int = 1, seed: int = 0,
                  truncation: float = START_TRUNCATION) -> Code:
    """Where a sketch's fits start: the mean for one, else `samples` seeded random codes pulled toward the mean
    by `truncation` (psi: 1 as sampled, 0 the mean), so every start is a typical cat."""
    if not 0 <= truncation <= 1:
        raise ValueError(f"the starts' truncation psi is in [0, 1], got {truncation}")
    start = initial_code(G, config.space, "mean" if samples == 1 else "random", samples, seed)
    return dataclasses.replace(start, latent=torch.lerp(G.code_mean().to(start.latent), start.latent, truncation))


def fit_sketch(G, sketch: torch.Tensor, mask: torch.Tensor, config: InversionConfig, samples: int = 1,
               seed: int = 0, network: FeatureNetwork | None = None, progress: bool = True,
               truncation: float = START_TRUNCATION,
               on_step: Callable[[int, Callable[[], torch.Tensor]], None] | None = None,
               stop: Callable[[], bool] | None = None) -> InversionResult:
    """Fit one sketch [3, R, R] (mask [1, R, R]) from the mean (samples=1) or from `samples` random starts
    (truncated by `truncation`, see `sketch_starts`).

    The losses are masked (pixels outside the strokes are free); pull the result toward realistic cats with
    config.weights.mean_distance (L2 to w_avg). Returns one result per start. on_step and stop are `invert`'s
    (a page streams the fits as they improve, and drops a fit whose sketch has changed).
    """
    start = sketch_starts(G, config, samples, seed, truncation)
    targets = sketch.expand(samples, -1, -1, -1).contiguous()
    masks = mask.expand(samples, -1, -1, -1).contiguous()
    return invert(G, targets, config, start, masks=masks, network=network, progress=progress, on_step=on_step,
                  stop=stop)


def rank_fits(images: torch.Tensor, sketch: torch.Tensor, mask: torch.Tensor, skip=()) -> tuple[list[int], list[float]]:
    """Fits [K, 3, R, R] best first by their mean absolute error inside the strokes (images as saved), leaving
    out the indices in `skip` (failed fits); returns (order, every fit's error by index)."""
    k = len(images)
    scores = masked_l1(images.cpu(), sketch.cpu().expand(k, -1, -1, -1), mask.cpu().expand(k, -1, -1, -1))
    return sorted((i for i in range(k) if i not in skip), key=lambda i: scores[i]), scores
