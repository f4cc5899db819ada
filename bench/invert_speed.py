"""Inversion speed: optimisation steps/s at 64 px with the default loss (pixel L2 + stlpips-alex), in w+.

    python bench/invert_speed.py --out bench/results     # CPU, or the GPU if there is one
Measures batch 1 and 16 (and 64 on a GPU), plus peak memory, and checks the targets:
CPU batch 1 >= 4 steps/s; a batch-16 step <= 4x a batch-1 step; GPU batch 64 >= 2,000 image-steps/s.
Results go to OUT/invert_speed-<device>.json; nothing here is a test.
"""
import argparse
import json
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
from latentcat.generator_files import load_generator  # noqa: E402

DEFAULT_GENERATOR = Path(__file__).resolve().parents[1] / "checkpoints" / "stylegan2-cat64.safetensors"


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB; whole process


def step_rate(G, network, batch: int, optimizer: str, device, seconds: float) -> dict:
    """Seconds per optimisation step of `batch` images (each timed call runs 10 steps, setup included)."""
    with torch.no_grad():
        targets = initial_code(G, "w+", "random", batch, seed=1).render(G)
    config = InversionConfig(space="w+", optimizer=OptimizerConfig(name=optimizer, steps=10))
    init = initial_code(G, "w+", "mean", batch)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    per_call = timed(lambda: invert(G, targets, config, init, network=network, progress=False), device, seconds)
    step = per_call / 10
    return {"batch": batch, "optimizer": optimizer, "seconds_per_step": step, "steps_per_s": 1 / step,
            "image_steps_per_s": batch / step, "peak_memory_mb": peak_memory_mb(device)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--generator", default=str(DEFAULT_GENERATOR), help="64 px generator to invert with")
    parser.add_argument("--preset", help="time a randomly initialised preset instead (e.g. stylegan2-64)")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing window per measurement")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    if args.preset:
        G = g.build_generator(g.preset(args.preset)).to(device).eval().requires_grad_(False)
        model = args.preset
    else:
        G, model = load_generator(args.generator, device), Path(args.generator).name
    network = build_feature_network(DEFAULT_PERCEPTUAL, device=device)
    batches = [1, 16, 64] if gpu else [1, 16]
    results = {**machine(device), "generator": model, "resolution": G.resolution,
               "loss": f"pixel L2 + {DEFAULT_PERCEPTUAL} (all five taps), w+, fixed noise", "runs": []}
    for optimizer in ("adam", "lbfgs"):
        for batch in batches:
            results["runs"].append(step_rate(G, network, batch, optimizer, device, args.seconds))
            print(json.dumps(results["runs"][-1]))
    adam = {r["batch"]: r for r in results["runs"] if r["optimizer"] == "adam"}
    ratio = adam[16]["seconds_per_step"] / adam[1]["seconds_per_step"]
    results["targets"] = {"batch16_step_over_batch1_step": {"value": ratio, "target": "<= 4", "met": ratio <= 4}}
    if gpu:
        rate = adam[64]["image_steps_per_s"]
        results["targets"]["gpu_batch64_image_steps_per_s"] = {"value": rate, "target": ">= 2000", "met": rate >= 2000}
    else:
        rate = adam[1]["steps_per_s"]
        results["targets"]["cpu_batch1_steps_per_s"] = {"value": rate, "target": ">= 4", "met": rate >= 4}
    out = Path(args.out) / f"invert_speed-{'gpu' if gpu else 'cpu'}.json"
    write_json(out, results)
    print(json.dumps(results["targets"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
