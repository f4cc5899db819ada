"""What every benchmark shares: a timing loop that respects CUDA's asynchrony, and a description of the machine."""
import os
import platform
import time

import torch


def timed(fn, device, seconds: float, warmup: bool = True) -> float:
    """Mean seconds per call over at least `seconds` (and 3 calls), after one warm-up call unless the caller
    has just made one."""
    if warmup:
        fn()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    sync()
    return (time.perf_counter() - start) / calls


def one_call(fn, device) -> float:
    """Seconds of a single call of fn, waited for on CUDA: a first call, which compiles or warms up."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def machine(device, note: str | None = None) -> dict:
    """The device, the versions, the load when the run began (others' work on a shared machine), and a note."""
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    return {"device": name, "torch": torch.__version__, "python": platform.python_version(),
            "load_average": round(os.getloadavg()[0], 2), **({"note": note} if note else {})}
