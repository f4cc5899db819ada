"""compare: every way of inverting, on the same photos with the same loss, side by side.

- encoder: the encoder alone (an iterative one with all its passes; `encoder-1`: its first pass only);
- hybrid: the encoder's code refined by latent steps;
- tuned: the encoder's code (refined by --tuned-refine-steps) with the generator tuned on the photo (PTI);
- baseline: latent steps from the mean (the NVlabs projector's way);
- pti: PTI's own recipe, latent steps from the mean, then tuning.
The question it answers (In-Domain GAN inversion, pSp/e4e, PTI): what the encoder and tuning save for the same
quality. Curves share one axis in steps and one in seconds, since a tuning step costs more than a latent step.
"""
from dataclasses import dataclass

import numpy as np
import torch

from generators import seeded_z
from inversion.metrics import render_drift, summarize
from latentcat.batches import Inverted, invert_all
from latentcat.errors import UserError
from latentcat.figures import panels, rows_grid
from latentcat.inputs import read_inputs
from latentcat.outputs import Summary

METHODS = ("encoder", "encoder-1", "hybrid", "tuned", "baseline", "pti")
METRICS = ("mse", "psnr", "ssim", "lpips")


@dataclass(frozen=True)
class CompareOptions:
    methods: tuple[str, ...] = ("encoder", "hybrid", "tuned", "baseline")
    refine_steps: int = 100          # hybrid: latent steps after the encoder
    refine_lr: float | None = None   # hybrid's learning rate (None: --lr). A start near the answer needs no large
    #                                  moves (In-Domain GAN inversion refines with a tenth of the projector's rate)
    tuned_refine_steps: int = 50     # tuned: latent steps after the encoder, before tuning
    tuned_refine_lr: float = 0.02    # their learning rate (chosen with the tuning recipe on validation photos)
    tune_steps: int = 50             # tuned and pti: generator tuning steps
    baseline_steps: int = 1000       # baseline: latent steps from the mean
    pti_steps: int = 450             # pti: latent steps from the mean before tuning (PTI's own count)
    drift_samples: int = 64          # tuned methods: random samples rendered by parent and tuned generator

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"--methods takes some of {', '.join(METHODS)}; got {', '.join(unknown) or 'none'}")
        if self.refine_lr is not None and not self.refine_lr > 0:
            raise ValueError(f"--refine-lr must be > 0, got {self.refine_lr}")
        if not self.tuned_refine_lr > 0:
            raise ValueError(f"--tuned-refine-lr must be > 0, got {self.tuned_refine_lr}")
        for name in ("refine_steps", "tuned_refine_steps", "tune_steps", "baseline_steps", "pti_steps",
                     "drift_samples"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0")


DEFAULTS = {"steps": 0, "record_every": 10, "tune_steps": CompareOptions.tune_steps}


def runs(session, o: CompareOptions) -> dict:
    """Each method as the session it runs with."""
    every = {"encoder": lambda: session.with_run("encoder", 0),
             "encoder-1": lambda: session.with_run("encoder", 0, encoder_iterations=1),
             "hybrid": lambda: session.with_run("encoder", o.refine_steps, o.refine_lr),
             "tuned": lambda: session.with_run("encoder", o.tuned_refine_steps, o.tuned_refine_lr, o.tune_steps),
             "baseline": lambda: session.with_run("mean", o.baseline_steps),
             "pti": lambda: session.with_run("mean", o.pti_steps, tune_steps=o.tune_steps)}
    return {m: every[m]() for m in o.methods}


def measure_drift(session, samples: int):
    """after_batch for a tuned method: each photo's drift_lpips metric (how far its tuned generator renders
    random samples from the parent's renders), measured in the process that tuned it; then its generator goes
    (200 photos' generators would fill a machine's memory, and compare writes no generator files)."""
    if samples:
        z = seeded_z(session.G.z_dim, samples, seed=12345).to(session.device)
        with torch.no_grad():
            parent_renders = session.G.sample(z)

    def measure(done: list[Inverted]):
        measured = {}
        for r in done:
            if r.generator is None or not samples:
                continue
            if id(r.generator) not in measured:
                measured[id(r.generator)] = render_drift(parent_renders, r.generator, z, session.metric_network)
            r.metrics["drift_lpips"] = measured[id(r.generator)]
        for r in done:
            r.generator = None
    return measure


def method_summary(results: list[Inverted], run) -> dict:
    summary = {key: summarize([r.metrics[key] for r in results]) for key in METRICS}
    summary["lpips_net"] = results[0].metrics["lpips_net"] if results else None
    summary["seconds_per_image"] = float(np.mean([r.seconds for r in results])) if results else None
    summary["steps"], summary["lr"] = run.config.optimizer.steps, run.config.optimizer.base_lr
    summary["tune_steps"] = run.tuning.steps
    if results and run.tuning.steps:
        summary["tune_steps_taken"] = summarize([r.tune_steps for r in results])
        if "drift_lpips" in results[0].metrics:
            summary["drift_lpips"] = summarize([r.metrics["drift_lpips"] for r in results])
    if results and results[0].record:
        summary["curve"] = {key: [float(np.mean([r.record[key][i] for r in results]))
                                  for i in range(len(results[0].record["step"]))]
                            for key in ("step", "seconds", "lpips", "psnr")}
    return summary


def curves_figure(methods: dict, net: str):
    """LPIPS and PSNR against steps and against seconds, every method on each axis."""
    series = {m: s["curve"] for m, s in methods.items() if "curve" in s}
    for m, s in methods.items():  # a method with no steps is a point
        if "curve" not in s and s["seconds_per_image"] is not None:
            series[m] = {"step": [0], "seconds": [s["seconds_per_image"]], "lpips": [s["lpips"]["mean"]],
                         "psnr": [s["psnr"]["mean"]]}
    return panels([({m: (c[x], c[y]) for m, c in series.items()}, xlabel, label, f"{label} against {xlabel}")
                   for y, label in (("lpips", f"LPIPS ({net})"), ("psnr", "PSNR (dB)"))
                   for x, xlabel in (("step", "steps (latent + tuning)"), ("seconds", "seconds per photo"))])


def run(session, paths: list[str], options: CompareOptions, out) -> Summary:
    if session.encoder is None and any(m in options.methods for m in ("encoder", "encoder-1", "hybrid", "tuned")):
        raise UserError("compare needs a trained encoder for this generator: --encoder CKPT (or --methods baseline)")
    if session.settings.record_every < 1:
        raise UserError("compare records its curves: --record-every must be >= 1")
    inputs, errors = read_inputs(session, paths)
    planned = runs(session, options)
    summary = Summary("compare", {**session.describe(), **vars(options)},
                      session.generator_info(), errors=errors)
    results = {}
    for method, method_session in planned.items():
        print(f"{method}: {method_session.config.optimizer.steps} latent steps from the {method_session.start.init} "
              f"start, {method_session.tuning.steps} tuning steps")
        drift = measure_drift(session, options.drift_samples) if method_session.tuning.steps else None
        done, failed = invert_all(method_session, inputs, after_batch=drift)
        results[method] = {r.input.index: r for r in done}
        summary.errors += [{**e, "method": method} for e in failed]
    common = sorted(set.intersection(*(set(r) for r in results.values())))
    methods = {m: method_summary([results[m][i] for i in common], planned[m]) for m in planned}
    summary.extra["methods"] = methods
    first = next(iter(results.values()))
    summary.items = [{"input": first[i].input.path,
                      "crop": first[i].input.crop.as_dict() if first[i].input.crop is not None else None,
                      "metrics": {m: results[m][i].metrics for m in planned},
                      "seconds": {m: round(results[m][i].seconds, 4) for m in planned}} for i in common]
    for m, values in methods.items():
        drift = f"  drift {values['drift_lpips']['mean']:.3f}" if "drift_lpips" in values else ""
        print(f"{m:9s} lpips {values['lpips'].get('mean', float('nan')):.4f}  psnr "
              f"{values['psnr'].get('mean', float('nan')):.2f}  {values['seconds_per_image'] or 0:.2f} s/image  "
              f"{values['steps']}+{values['tune_steps']} steps{drift}")
    if common and out.writes:
        summary.extra["comparison"] = out.png("comparison.png", rows_grid(
            [[first[i].input.image] + [results[m][i].image for m in planned] for i in common]))
        summary.extra["curve"] = out.png("curve.png", curves_figure(methods, methods[next(iter(planned))]["lpips_net"]))
    return summary
