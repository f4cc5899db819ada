"""compare: encoder alone vs encoder + refinement (hybrid) vs optimisation from the mean (baseline), on the same
photos, loss and optimiser.

The question it answers (In-Domain GAN inversion, pSp/e4e): how many optimisation steps does the encoder's
first guess save for the same quality? The metric-vs-step curves of hybrid and baseline share one axis.
"""
from dataclasses import dataclass

import numpy as np

from inversion.metrics import summarize
from latentcat.batches import Inverted, invert_all
from latentcat.errors import UserError
from latentcat.figures import curves, rows_grid
from latentcat.inputs import read_inputs
from latentcat.outputs import Summary

DEFAULTS = {"steps": 0, "record_every": 10}
METHODS = ("encoder", "hybrid", "baseline")
METRICS = ("mse", "psnr", "ssim", "lpips")


@dataclass(frozen=True)
class CompareOptions:
    refine_steps: int = 100          # hybrid: optimisation steps after the encoder
    baseline_steps: int = 1000       # baseline: optimisation steps from the mean
    refine_lr: float | None = None   # hybrid's learning rate (None: --lr). A start near the answer needs no large
    #                                  moves (In-Domain GAN inversion refines with a tenth of the projector's rate)

    def __post_init__(self):
        if self.refine_lr is not None and not self.refine_lr > 0:
            raise ValueError(f"--refine-lr must be > 0, got {self.refine_lr}")


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


def run(session, paths: list[str], options: CompareOptions, out) -> Summary:
    if session.encoder is None:
        raise UserError("compare needs a trained encoder for this generator: --encoder CKPT")
    if session.settings.record_every < 1:
        raise UserError("compare records its curves: --record-every must be >= 1")
    inputs, errors = read_inputs(session, paths)
    runs = {"encoder": session.with_run("encoder", 0),
            "hybrid": session.with_run("encoder", options.refine_steps, options.refine_lr),
            "baseline": session.with_run("mean", options.baseline_steps)}
    summary = Summary("compare", {**session.describe(), "refine_steps": options.refine_steps,
                                  "baseline_steps": options.baseline_steps, "refine_lr": options.refine_lr},
                      session.generator_info(), errors=errors)
    results = {}
    for method, run_session in runs.items():
        print(f"{method}: {run_session.config.optimizer.steps} steps from the {run_session.start.init} start")
        done, failed = invert_all(run_session, inputs)
        results[method] = {r.input.index: r for r in done}
        summary.errors += [{**e, "method": method} for e in failed]
    common = sorted(set.intersection(*(set(r) for r in results.values())))
    by_method = {m: [results[m][i] for i in common] for m in METHODS}
    methods = {m: method_summary(by_method[m], runs[m].config.optimizer) for m in METHODS}
    summary.extra["methods"] = methods
    summary.items = [{"input": results["encoder"][i].input.path, "crop": results["encoder"][i].input.crop.as_dict(),
                      "metrics": {m: results[m][i].metrics for m in METHODS},
                      "seconds": {m: round(results[m][i].seconds, 4) for m in METHODS}} for i in common]
    for m, values in methods.items():
        print(f"{m:9s} lpips {values['lpips'].get('mean', float('nan')):.4f}  psnr "
              f"{values['psnr'].get('mean', float('nan')):.2f}  {values['seconds_per_image'] or 0:.2f} s/image  "
              f"{values['steps']} steps")
    if not common:
        return summary
    summary.extra["comparison"] = out.png("comparison.png", rows_grid(
        [[results["encoder"][i].input.image] + [results[m][i].image for m in METHODS] for i in common]))
    series = {}
    for m, label in (("hybrid", "hybrid (encoder start)"), ("baseline", "baseline (mean start)")):
        if by_method[m][0].record:
            steps, values = mean_curve(by_method[m], "lpips")
            methods[m]["curve"] = {"step": steps, "lpips": values}
            series[label] = (steps, values)
    if series:
        summary.extra["curve"] = out.png("curve.png", curves(series, "optimisation step",
                                                             f"LPIPS ({methods['hybrid']['lpips_net']}), mean over images",
                                                             "hybrid vs baseline: quality against steps"))
    return summary
