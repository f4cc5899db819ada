"""Inversion and generator-tuning speed at 64 px with the default loss (pixel L2 + stlpips-alex), in w+.

    python bench/invert_speed.py --out bench/results     # CPU, or the GPU if there is one
Measures the latent step with Adam at batch 1 and 16 and with LBFGS at batch 1 (on a GPU: both at 1, 16, 64
and 256), and the tuning step (Adam on the generator's weights, one generator per photo) at batch 1 (and 16 on
a GPU), with peak memory (on a GPU also the memory a photo costs, what `--batch-size auto` fills it
with), FLOPs per image-step and the fraction of the device's fp32 matmul peak each reaches.
(LBFGS at batch 16 would double a CPU run and no target reads it.)
--compile also times the Adam latent step under torch.compile (`infer.py --compile`) at the same batches, with
its compile time and its speed over the eager step measured in the same run.
Targets: CPU batch 1 >= 4 steps/s; the CPU latent step at >= 60% of the matmul peak (best batch); GPU >= 5,000
image-steps/s (best batch) and <= 8 ms per batch-1 step.
Results go to OUT/invert_speed-<device>.json; nothing here is a test.
"""
import argparse
import functools
import json
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import generators as g  # noqa: E402
from bench.efficiency import count_flops, measure  # noqa: E402
from bench.timing import machine  # noqa: E402
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network  # noqa: E402
from inversion.invert import InversionConfig, invert  # noqa: E402
from inversion.latents import initial_code  # noqa: E402
from inversion.memory import cuda_peak, memory_per_photo, probe_step  # noqa: E402
from inversion.optimize import OptimizerConfig  # noqa: E402
from inversion.tuning import TuningConfig, tune  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.generator_files import load_generator  # noqa: E402

DEFAULT_GENERATOR = Path(__file__).resolve().parents[1] / "checkpoints" / "stylegan2-cat64.safetensors"
STEPS = 10  # optimisation steps per timed call (setup and the final render included in its time)


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB; whole process


def step_call(G, network, task: str, optimizer: str, steps: int, compile: bool = False):
    """run(targets, start): `steps` steps of the latent stage (compiled or not) or of generator tuning (its
    defaults, one generator per photo), from `start` toward `targets`."""
    if task == "tune":
        tuning = TuningConfig(steps=steps)
        return lambda targets, pivot: tune(G, targets, InversionConfig(), tuning, pivot, network=network,
                                           progress=False)
    config = InversionConfig(space="w+", optimizer=OptimizerConfig(name=optimizer, steps=steps), compile=compile)
    return lambda targets, start: invert(G, targets, config, start, network=network, progress=False)


def step_rate(G, network, task: str, optimizer: str, batch: int, device, seconds: float,
              compile: bool = False) -> dict:
    """Seconds, image-steps/s and FLOPs per step of `batch` images, from the mean code toward random samples.
    The FLOPs per step leave out those of a call of no steps (setup and the final render); a compiled step's
    are counted on the eager step, and its first call (the compiling) is timed apart (see measure)."""
    with torch.no_grad():
        targets = initial_code(G, "w+", "random", batch, seed=1).render(G)
    start = initial_code(G, "w+", "mean", batch)
    run, setup = step_call(G, network, task, optimizer, STEPS, compile), step_call(G, network, task, optimizer, 0)
    eager = step_call(G, network, task, optimizer, STEPS) if compile else None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    per_call, flops, efficiency = measure(lambda: run(targets, start), device, torch.float32, seconds,
                                          counted=(lambda: eager(targets, start)) if compile else None)
    step_flops = (flops - count_flops(lambda: setup(targets, start))) / STEPS
    step = per_call / STEPS
    return {"task": task, "optimizer": optimizer, "batch": batch, **({"compiled": True} if compile else {}),
            "seconds_per_step": step, "steps_per_s": 1 / step, "image_steps_per_s": batch / step,
            "flop_per_image_step": step_flops / batch, **efficiency, "peak_memory_mb": peak_memory_mb(device)}


def step_memory(G, network, task: str, device) -> dict:
    """GPU memory a latent (or tuning) step costs once and per photo: what `--batch-size auto` fills a GPU with."""
    step = probe_step(G, InversionConfig(space="w+"), TuningConfig(steps=1 if task == "tune" else 0), network)
    fixed, per_photo = memory_per_photo(step, functools.partial(cuda_peak, device))
    return {"task": task, "fixed_mb": fixed / 2 ** 20, "per_photo_mb": per_photo / 2 ** 20}


def target(value: float, goal: str, met: bool, **about) -> dict:
    return {**about, "value": value, "target": goal, "met": met}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--generator", default=str(DEFAULT_GENERATOR), help="64 px generator to invert with")
    parser.add_argument("--preset", help="time a randomly initialised preset instead (e.g. stylegan2-64)")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing window per measurement")
    parser.add_argument("--note", help="recorded with the results (what else the machine was doing)")
    parser.add_argument("--compile", action="store_true",
                        help="also time the latent Adam step compiled (torch.compile), against the eager one")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    if args.preset:
        G = g.build_generator(g.preset(args.preset)).to(device).eval().requires_grad_(False)
        model = args.preset
    else:
        G, model = load_generator(args.generator, device), Path(args.generator).name
    network = build_feature_network(DEFAULT_PERCEPTUAL, device=device)
    results = {**machine(device, args.note), "generator": model, "resolution": G.resolution,
               "loss": f"pixel L2 + {DEFAULT_PERCEPTUAL} (all five taps), w+, fixed noise",
               "flops": "torch FlopCounterMode (matmuls and convolutions, forward and backward) of a timed call of "
                        f"{STEPS} steps less a call of none; achieved FLOP/s: the whole call's over its time",
               "runs": []}
    batches = [1, 16, 64, 256] if gpu else [1, 16]
    plan = [("invert", "adam", batch) for batch in batches]
    plan += [("invert", "lbfgs", batch) for batch in (batches if gpu else [1])]
    plan += [("tune", "adam", batch) for batch in batches[:2 if gpu else 1]]
    plan = [(*run, False) for run in plan] + [("invert", "adam", batch, True) for batch in batches if args.compile]
    for task, optimizer, batch, compile in plan:
        results["runs"].append(step_rate(G, network, task, optimizer, batch, device, args.seconds, compile))
        print(json.dumps(results["runs"][-1]))
    adam = {r["batch"]: r for r in results["runs"]
            if r["task"] == "invert" and r["optimizer"] == "adam" and not r.get("compiled")}
    if args.compile:
        results["compiled_over_eager"] = {
            str(r["batch"]): adam[r["batch"]]["seconds_per_step"] / r["seconds_per_step"]
            for r in results["runs"] if r.get("compiled")}
    results["memory"] = ([step_memory(G, network, task, device) for task in ("invert", "tune")] if gpu else
                         "not measured on a CPU: torch keeps no allocator statistics for it (and its speed, not its "
                         "memory, limits the batch)")
    if gpu:
        best = max(adam.values(), key=lambda r: r["image_steps_per_s"])
        rate, batch1 = best["image_steps_per_s"], adam[1]["seconds_per_step"] * 1e3
        results["targets"] = {
            "gpu_best_image_steps_per_s": target(rate, ">= 5000", rate >= 5000, batch=best["batch"]),
            "gpu_batch1_ms_per_step": target(batch1, "<= 8", batch1 <= 8)}
    else:
        best = max(adam.values(), key=lambda r: r["fraction_of_peak"])
        fraction, rate = best["fraction_of_peak"], adam[1]["steps_per_s"]
        results["targets"] = {
            "cpu_step_fraction_of_peak": target(fraction, ">= 0.6", fraction >= 0.6, batch=best["batch"]),
            "cpu_batch1_steps_per_s": target(rate, ">= 4", rate >= 4)}
    out = Path(args.out) / f"invert_speed-{'gpu' if gpu else 'cpu'}.json"
    write_json(out, results)
    print(json.dumps(results["targets"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
