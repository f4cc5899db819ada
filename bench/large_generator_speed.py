"""Speed and memory at real sizes: sampling and inversion with NVlabs' paper256 and paper512 generators.

    python bench/large_generator_speed.py --out bench/results     # CPU, or the GPU if there is one
Random weights (the timing does not depend on them) in latentcat's NVlabs-exact StyleGAN2, as an imported
NVlabs model would run. Per generator: sampling (noise const, truncation 0.7) in images/s at batch 1 and 4, and
inversion (w+, Adam, pixel L2 + stlpips-alex, which reads a 256 px copy) in steps/s at batch 1, each with its
peak memory. Each measurement runs in a fresh process, so the peak resident memory on a CPU is its own.
Results go to OUT/large_generator_speed-<device>.json, with the load average (the CPU is shared); nothing here
is a test.
"""
import argparse
import concurrent.futures
import json
import multiprocessing
import os
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import generators as g  # noqa: E402
from bench.timing import machine, timed  # noqa: E402
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network  # noqa: E402
from inversion.invert import InversionConfig, invert  # noqa: E402
from inversion.latents import initial_code  # noqa: E402
from inversion.optimize import OptimizerConfig  # noqa: E402
from latentcat.files import write_json  # noqa: E402

PRESETS = ("paper256", "paper512")
INVERT_STEPS = 3  # per timed call (setup included, as in invert_speed.py)


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB: this process only


def measure(preset: str, task: str, batch: int, device_name: str, seconds: float) -> dict:
    """One measurement, run in its own process."""
    device = torch.device(device_name)
    torch.manual_seed(0)
    G = g.build_generator(g.preset(preset)).to(device).eval().requires_grad_(False)
    z = torch.randn(batch, G.z_dim, device=device)
    if task == "sample":
        def call():
            with torch.no_grad():
                G.sample(z, truncation=0.7)
        per_call, images = timed(call, device, seconds), batch
        result = {"images_per_s": images / per_call, "seconds_per_batch": per_call}
    else:
        network = build_feature_network(DEFAULT_PERCEPTUAL, device=device)
        with torch.no_grad():
            targets = G.sample(z, truncation=0.7)
        config = InversionConfig(space="w+", optimizer=OptimizerConfig(steps=INVERT_STEPS))
        init = initial_code(G, "w+", "mean", batch)
        per_call = timed(lambda: invert(G, targets, config, init, network=network, progress=False), device, seconds)
        step = per_call / INVERT_STEPS
        result = {"steps_per_s": 1 / step, "seconds_per_step": step, "image_steps_per_s": batch / step}
    return {"generator": preset, "task": task, "batch": batch, **result, "peak_memory_mb": peak_memory_mb(device)}


def in_fresh_process(*args) -> dict:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure, *args).result()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing window per measurement")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    results = {**machine(device), "load_average_before": os.getloadavg()[0],
               "generators": {name: {"resolution": g.preset(name).resolution,
                                     "parameters": g.preset(name).num_parameters(),
                                     "fp16_layers": "top 4 resolutions" if gpu else "none: fp32 on the CPU"}
                              for name in PRESETS},
               "sample": "noise const, truncation 0.7", "invert": f"w+, Adam, pixel L2 + {DEFAULT_PERCEPTUAL} on a "
                                                             "copy of at most 256 px, fixed noise", "runs": []}
    for preset in PRESETS:
        for task, batch in (("sample", 1), ("sample", 4 if not gpu else 32), ("invert", 1)):
            results["runs"].append(in_fresh_process(preset, task, batch, str(device), args.seconds))
            print(json.dumps(results["runs"][-1]), flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    out = Path(args.out) / f"large_generator_speed-{'gpu' if gpu else 'cpu'}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
