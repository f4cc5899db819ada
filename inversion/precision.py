"""Mixed precision for inversion: bf16 where the compute is (the generator's synthesis, the loss network's trunk,
the encoder), fp32 where values are kept or summed (latents, optimiser state, loss reductions, the final render).

bf16 keeps fp32's exponent range, so it needs no loss scaling; its 8-bit mantissa is why nothing accumulates in
it. "fp32" runs the code exactly as written, with no autocast region at all. bf16 is for GPUs with bf16 units:
a CPU without them (AVX2) falls back to torch's slow reference convolution, about 100 times slower than fp32.
"""
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

PRECISIONS = ("fp32", "bf16")
# Ops torch.autocast computes in bf16 but misses under torch.func.vmap, whose batching rules take them below it.
_MISSED_UNDER_VMAP = (F.conv1d, F.conv2d, F.conv_transpose1d, F.conv_transpose2d, F.linear)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


class _AutocastUnderVmap(TorchFunctionMode):
    """Autocast's rule for convolutions and linear layers, for code run under vmap (generator tuning renders one
    generator per row with it): their floating inputs go to bf16 wherever autocast is on (not inside the
    generator's fp32 style arithmetic, which switches it off)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _MISSED_UNDER_VMAP and args and torch.is_autocast_enabled(args[0].device.type):
            def low(t):
                return t.to(torch.bfloat16) if isinstance(t, torch.Tensor) and t.is_floating_point() else t
            args, kwargs = tuple(map(low, args)), {k: low(v) for k, v in kwargs.items()}
        return func(*args, **kwargs)


def in_precision(precision: str, device: torch.device, fn: Callable, *args):
    """fn(*args) under bf16 autocast on `device` (precision "bf16"), its tensor or list of tensors handed back
    in fp32; with "fp32", just fn(*args)."""
    if precision == "fp32":
        return fn(*args)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16), _AutocastUnderVmap():
        out = fn(*args)
    return [t.float() for t in out] if isinstance(out, list) else out.float()
