"""Achieved FLOP/s as a fraction of the device's own matmul peak, both measured in the same run.

An absolute time depends on the machine and on whoever else is using it; the fraction of the peak a step
reaches, timed next to that peak, travels between machines and survives a busy one much better. FLOPs are
torch's count (FlopCounterMode: matmuls and convolutions, forward and backward, by their shapes; element-wise
work counts nothing), taken once, during the warm-up call.
"""
import torch
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.module_tracker import ModuleTracker

from bench.timing import one_call, timed


class _TotalOnly(ModuleTracker):
    """A module tracker that is never entered, so every FLOP counts under 'Global'. FlopCounterMode's own
    per-module breakdown fails on a module called under no_grad on a view of a tensor that requires grad
    (the final render of `invert`), and the total needs none of it."""

    def __enter__(self):
        return self

    def __exit__(self, *args):
        pass


def count_flops(fn) -> int:
    """FLOPs of one call of fn (run for real: its side effects happen)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _TotalOnly()
    with counter:
        fn()
    return counter.get_total_flops()


def matmul_peak(device, dtype, repeats: int = 5) -> dict:
    """The device's FLOP/s on a square matmul big enough to saturate it, in `dtype`: the best of `repeats`
    timings after a warm-up. fp32 on CUDA uses TF32 exactly when cuDNN lets convolutions use it (torch's
    default), so the peak is the ceiling of the precision the convolutions actually run in."""
    size = 8192 if device.type == "cuda" else 2048
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    tf32 = device.type == "cuda" and dtype == torch.float32 and torch.backends.cudnn.allow_tf32
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        a @ b
        seconds = min(timed(lambda: a @ b, device, 0.0, warmup=False) for _ in range(repeats))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    return {"matmul": f"{size}x{size}", "dtype": str(dtype).split(".")[-1], "tf32": tf32,
            "flop_per_s": 2 * size ** 3 / seconds}


def measure(fn, device, dtype, seconds: float, counted=None) -> tuple[float, int, dict]:
    """(seconds per call, FLOPs per call, efficiency) for fn, with the peak in `dtype` measured just before
    (the load on a shared machine drifts). The counted call is fn's warm-up. `counted` stands in for a compiled
    fn (whose fused kernels the counter cannot see): the same work, run eagerly, counted once; fn's own first
    call (the compiling) is then its warm-up, timed apart as first_call_seconds."""
    peak = matmul_peak(device, dtype)
    first = {} if counted is None else {"first_call_seconds": one_call(fn, device)}
    flops = count_flops(counted or fn)
    per_call = timed(fn, device, seconds, warmup=False)
    achieved = flops / per_call
    return per_call, flops, {**first, "achieved_flop_per_s": achieved, "peak": peak,
                             "fraction_of_peak": achieved / peak["flop_per_s"]}
