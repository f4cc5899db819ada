"""Device memory an inversion step costs per photo, so `--batch-size auto` can fill a GPU without running out.

A step's peak memory grows linearly with the batch: the weights, the loss network and the allocator's workspaces
are paid once, each photo's activations, gradients (and, when tuning, its own copy of the generator's weights
with their Adam state) once per photo. Two probe steps give the line.
"""
import dataclasses
from typing import Callable

import torch

from inversion.invert import InversionConfig, invert
from inversion.latents import initial_code
from inversion.tuning import TuningConfig, tune

PROBE_BATCHES = (1, 4)


def probe_step(G, config: InversionConfig, tuning: TuningConfig, network=None) -> Callable[[int], None]:
    """step(batch): one latent step of `config` (and one tuning step, if `tuning` tunes) on `batch` images."""
    one_step = dataclasses.replace(config, optimizer=dataclasses.replace(config.optimizer, steps=1))

    def step(batch: int):
        with torch.no_grad():
            targets = initial_code(G, config.space, "random", batch, seed=1).render(G)
        result = invert(G, targets, one_step, initial_code(G, config.space, "mean", batch), network=network,
                        progress=False)
        if tuning.steps:
            tune(G, targets, one_step, dataclasses.replace(tuning, steps=1), result.code, network, progress=False)
    return step


def cuda_peak(device: torch.device, run: Callable[[], None]) -> int:
    """Bytes allocated on a CUDA device at run()'s peak, beyond what was allocated before it."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    run()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def memory_per_photo(step: Callable[[int], None], peak: Callable[[Callable[[], None]], int]) -> tuple[float, float]:
    """(bytes paid once, bytes per photo) of step(batch), a line through its peaks (measured by `peak`) at two
    batch sizes."""
    (small, at_small), (large, at_large) = [(b, peak(lambda b=b: step(b))) for b in PROBE_BATCHES]
    per_photo = max((at_large - at_small) / (large - small), 1.0)
    return max(at_small - per_photo * small, 0.0), per_photo


def largest_batch(free_bytes: float, fixed: float, per_photo: float, headroom: float = 0.8, most: int = 256) -> int:
    """The largest batch whose step fits in `headroom` of the free memory: at least 1, at most `most` (beyond a
    few hundred 64 px photos a GPU runs no more image-steps a second)."""
    return int(max(1, min(most, (headroom * free_bytes - fixed) // per_photo)))
