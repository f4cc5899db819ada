"""Scribble to image (iGAN, the course's "draw"): fit the generator to coloured strokes, only where drawn."""
import torch

from inversion.feature_networks import FeatureNetwork
from inversion.invert import InversionConfig, InversionResult, invert
from inversion.latents import initial_code


def fit_sketch(G, sketch: torch.Tensor, mask: torch.Tensor, config: InversionConfig, samples: int = 1,
               seed: int = 0, network: FeatureNetwork | None = None, progress: bool = True) -> InversionResult:
    """Fit one sketch [3, R, R] (mask [1, R, R]) from the mean (samples=1) or from `samples` random starts.

    The losses are masked (pixels outside the strokes are free); pull the result toward realistic cats with
    config.weights.mean_distance (L2 to w_avg). Returns one result per start.
    """
    start = initial_code(G, config.space, "mean" if samples == 1 else "random", samples, seed)
    targets = sketch.expand(samples, -1, -1, -1).contiguous()
    masks = mask.expand(samples, -1, -1, -1).contiguous()
    return invert(G, targets, config, start, masks=masks, network=network, progress=progress)
