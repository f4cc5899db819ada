"""Encoder alone vs encoder + refinement vs mean-start optimisation, on the same photos, loss and optimiser.

The question it answers (In-Domain GAN inversion, pSp/e4e): how many optimisation steps does the encoder's
first guess save for the same quality? The metric-vs-step curves of hybrid and baseline share one axis.
"""
import dataclasses
from pathlib import Path

import numpy as np

from inversion.metrics import summarize
from latentcat.inversion_jobs import Input, Inverted, Session, invert_inputs, write_comparison_grid
from latentcat.plots import save_curves

METHODS = ("encoder", "hybrid", "baseline")
METRICS = ("mse", "psnr", "ssim", "lpips")


def with_run(session: Session, init: str, steps: int, lr: float | None = None) -> Session:
    optimizer = dataclasses.replace(session.config.optimizer, steps=steps)
    if lr is not None:
        optimizer = dataclasses.replace(optimizer, lr=lr)
    return dataclasses.replace(session, init=init, config=dataclasses.replace(session.config, optimizer=optimizer))


def method_summary(results: list[Inverted], optimizer) -> dict:
    summary = {key: summarize([r.metrics[key] for r in results]) for key in METRICS}
    summary["lpips_net"] = results[0].metrics["lpips_net"] if results else None
    summary["seconds_per_image"] = float(np.mean([r.seconds for r in results])) if results else None
    summary["steps"], summary["lr"] = optimizer.steps, optimizer.base_lr
    return summary


def mean_curve(results: list[Inverted], metric: str) -> tuple[list[int], list[float]]:
    """The metric averaged over images at each recorded step."""
    steps = results[0].record["step"]
    return steps, [float(np.mean([r.record[metric][i] for r in results])) for i in range(len(steps))]


def compare(session: Session, inputs: list[Input], refine_steps: int, baseline_steps: int,
            out: Path, refine_lr: float | None = None) -> tuple[dict, list[dict], list[dict]]:
    """Run the three methods; write comparison.png and curve.png; return (methods, items, errors).

    `refine_lr` lets the hybrid take smaller steps than the baseline: a start near the answer needs no
    large moves (In-Domain GAN inversion refines with a tenth of the projector's rate)."""
    runs = {"encoder": with_run(session, "encoder", 0),
            "hybrid": with_run(session, "encoder", refine_steps, refine_lr),
            "baseline": with_run(session, "mean", baseline_steps)}
    results, errors = {}, []
    for method, run in runs.items():
        print(f"{method}: {run.config.optimizer.steps} steps from the {run.init} start")
        done, failed = invert_inputs(run, inputs)
        results[method] = {r.input.index: r for r in done}
        errors += [{**e, "method": method} for e in failed]
    common = sorted(set.intersection(*(set(r) for r in results.values())))
    by_method = {m: [results[m][i] for i in common] for m in METHODS}
    methods = {m: method_summary(by_method[m], runs[m].config.optimizer) for m in METHODS}
    items = [{"input": results["encoder"][i].input.path,
              "metrics": {m: results[m][i].metrics for m in METHODS},
              "seconds": {m: round(results[m][i].seconds, 4) for m in METHODS}} for i in common]
    if common:
        write_comparison_grid(out / "comparison.png",
                              [[results["encoder"][i].input.image] + [results[m][i].image for m in METHODS]
                               for i in common])
        curves = {}
        for m, label in (("hybrid", "hybrid (encoder start)"), ("baseline", "baseline (mean start)")):
            if by_method[m][0].record:
                steps, values = mean_curve(by_method[m], "lpips")
                methods[m]["curve"] = {"step": steps, "lpips": values}
                curves[label] = (steps, values)
        if curves:
            save_curves(out / "curve.png", curves, "optimisation step",
                        f"LPIPS ({methods['hybrid']['lpips_net']}), mean over images",
                        "hybrid vs baseline: quality against steps")
    return methods, items, errors
