"""torch.compile for the inversion step: the render and the loss (forward and backward) as fused kernels.

Measured on 2 idle CPU cores with the shipped 64 px generator and the default loss (bench/invert_speed.py
--compile): a step 1.10x as fast at batch 1 and 1.28x at batch 16, after 70-100 s of compiling on first use
(later batches of the same size in the process reuse it; another size compiles once more). So it stays off by
default, for the short runs (the demo, the studio), and pays off on long runs of many photos. The optimiser, the
NaN isolation and the final render stay eager. Generator tuning stays eager: its vmapped render compiled ran
0.90x as fast as eager at batch 1 and 0.78x at batch 4 (bench/tuning_compile_trial.py). On a GPU: not measured.
"""
from collections.abc import Callable

import torch


def maybe_compiled(fn: Callable, enabled: bool) -> Callable:
    """fn compiled by torch.compile (inductor, default mode) when enabled, else fn itself."""
    return torch.compile(fn) if enabled else fn
