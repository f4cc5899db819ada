"""Scribble to image (iGAN, the course's "draw"): fit the generator to coloured strokes, only where drawn."""
from typing import Callable

import torch

from inversion.feature_networks import FeatureNetwork
from inversion.invert import InversionConfig, InversionResult, invert
from inversion.latents import initial_code
from inversion.metrics import masked_l1


def sketch_starts(G, config: InversionConfig, samples: int = 1, seed: int = 0):
    """Where a sketch's fits start: the mean for one, else `samples` seeded random codes (a Code)."""
    return initial_code(G, config.space, "mean" if samples == 1 else "random", samples, seed)


def fit_sketch(G, sketch: torch.Tensor, mask: torch.Tensor, config: InversionConfig, samples: int = 1,
               seed: int = 0, network: FeatureNetwork | None = None, progress: bool = True,
               on_step: Callable[[int, Callable[[], torch.Tensor]], None] | None = None,
               stop: Callable[[], bool] | None = None) -> InversionResult:
    """Fit one sketch [3, R, R] (mask [1, R, R]) from the mean (samples=1) or from `samples` random starts.

    The losses are masked (pixels outside the strokes are free); pull the result toward realistic cats with
    config.weights.mean_distance (L2 to w_avg). Returns one result per start. on_step and stop are `invert`'s
    (a page streams the fits as they improve, and drops a fit whose sketch has changed).
    """
    start = sketch_starts(G, config, samples, seed)
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
