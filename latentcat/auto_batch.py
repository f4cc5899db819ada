"""`--batch-size auto`: the largest batch whose step fits the GPU, measured on this session's own step."""
import functools

import torch

from inversion.memory import cuda_peak, largest_batch, memory_per_photo, probe_step

CPU_BATCH = 8  # a CPU's speed, not its memory, limits the batch: compute-bound, it runs no faster at larger ones


def auto_batch_size(session) -> int:
    """On a GPU: probe one latent step (and one tuning step, if the session tunes) at two batch sizes, fit the
    memory a photo costs, and fill the free memory. On a CPU: CPU_BATCH."""
    if session.device.type != "cuda":
        print(f"--batch-size auto: {CPU_BATCH} on a CPU (its speed, not its memory, limits the batch)")
        return CPU_BATCH
    step = probe_step(session.G, session.config, session.tuning, session.network)
    fixed, per_photo = memory_per_photo(step, functools.partial(cuda_peak, session.device))
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(session.device)
    batch = largest_batch(free, fixed, per_photo)
    print(f"--batch-size auto: {batch} ({per_photo / 2 ** 20:.0f} MiB a photo, {free / 2 ** 30:.1f} GiB free on "
          f"{session.device})")
    return batch
