"""Photos through the engine, a batch at a time: start codes, the optimisation, metrics, optional frames and
metric records; each batch's results are handed back as soon as it finishes, so jobs can write them at once."""
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from inversion.code import Code
from inversion.invert import InversionResult, invert
from inversion.metrics import reconstruction_metrics
from latentcat.framing import pasted
from latentcat.images import to_pil
from latentcat.inputs import Input, report
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import OutputFolder


@dataclass
class Inverted:
    """One input's outcome: its code (a Code of one), render [3, R, R], metrics, loss history, record."""
    input: Input
    code: Code
    image: torch.Tensor
    metrics: dict = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    terms: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0


class StepHook:
    """After each optimisation step: save frames every --save-every steps, record metrics every --record-every."""

    def __init__(self, session, batch: list[Input], targets: torch.Tensor, out: OutputFolder | None):
        self.session, self.batch, self.targets, self.out = session, batch, targets, out
        self.records = [{"step": []} for _ in batch]
        self.seconds = 0.0  # time spent here, kept out of the reported inversion time

    def record(self, steps_done: int, images: torch.Tensor):
        tic = time.perf_counter()
        for rec, metrics in zip(self.records, reconstruction_metrics(images.cpu(), self.targets.cpu(),
                                                                    self.session.metric_network)):
            rec["step"].append(steps_done)
            for key in ("mse", "psnr", "ssim", "lpips"):
                rec.setdefault(key, []).append(metrics[key])
        self.seconds += time.perf_counter() - tic

    def __call__(self, step: int, render: Callable[[], torch.Tensor]):
        done, s = step + 1, self.session.settings
        save = s.save_every and self.out is not None and done % s.save_every == 0
        rec = s.record_every and (done % s.record_every == 0 or done == self.session.config.optimizer.steps)
        if not (save or rec):
            return
        tic = time.perf_counter()
        images = render()
        if save:
            for inp, img in zip(self.batch, images):
                self.out.png(f"frames/{inp.name}-step{done:05d}.png", to_pil(img))
        self.seconds += time.perf_counter() - tic
        if rec:
            self.record(done, images)


def invert_batches(session, inputs: list[Input], out: OutputFolder | None = None
                   ) -> Iterator[tuple[list[Inverted], list[dict]]]:
    """Invert the photo inputs in batches of session.batch_size; yields (done, errors) after each batch.
    Photos the start cannot serve and images whose optimisation failed become error entries."""
    photos, errors = [], []
    for inp in inputs:
        if inp.image is None:
            continue
        if session.start.has(inp):
            photos.append(inp)
        else:
            report(errors, inp.path, f"the --init folder has no latent for it (*-{inp.stem}{SUFFIX})")
    if errors:
        yield [], errors
    for first in range(0, len(photos), session.batch_size):
        batch = photos[first:first + session.batch_size]
        targets = torch.stack([inp.image for inp in batch]).to(session.device)
        hook = StepHook(session, batch, targets, out)
        tic = time.perf_counter()
        start = session.start.codes(session, batch, targets)
        if session.settings.record_every:
            with torch.no_grad():
                hook.record(0, start.to(session.device).render(session.G))
        result = invert(session.G, targets, session.config, start, network=session.network, on_step=hook,
                        progress=session.settings.progress)
        seconds = (time.perf_counter() - tic - hook.seconds) / len(batch)
        metrics = reconstruction_metrics(result.images, targets.cpu(), session.metric_network)
        done, failed = [], []
        for i, inp in enumerate(batch):
            if i in result.log.failures:
                report(failed, inp.path, f"optimisation stopped: {result.log.failures[i]}")
            else:
                done.append(_inverted(result, i, inp, metrics[i], hook.records[i], seconds))
        yield done, failed


def _inverted(result: InversionResult, i: int, inp: Input, metrics: dict, record: dict, seconds: float):
    return Inverted(input=inp, code=result.code[i], image=result.images[i], metrics=metrics,
                    losses=[step[i] for step in result.log.losses],
                    terms={k: float(v[i]) for k, v in result.terms.items()},
                    record=record if len(record["step"]) > 1 else {}, seconds=seconds, steps=result.log.steps)


def invert_all(session, inputs: list[Input], out: OutputFolder | None = None
               ) -> tuple[list[Inverted], list[dict]]:
    """Every batch's results together (for jobs that use them all at the end)."""
    done, errors = [], []
    for batch_done, batch_errors in invert_batches(session, inputs, out):
        done += batch_done
        errors += batch_errors
    return done, errors


def codes_of(session, inputs: list[Input], out: OutputFolder) -> tuple[list[Inverted], list[dict]]:
    """Every input as a code: saved latents are used as they are (rendered), photos are inverted."""
    inverted, errors = invert_all(session, inputs, out)
    for inp in inputs:
        if inp.code is not None:
            with torch.no_grad():
                image = inp.code.to(session.device).render(session.G)[0].cpu()
            inverted.append(Inverted(input=inp, code=inp.code, image=image))
    inverted.sort(key=lambda r: r.input.index)
    return inverted, errors


def write_inverted(out: OutputFolder, result: Inverted) -> dict:
    """Save one inversion (render PNG + latent file) and return its summary item (a saved latent: just named)."""
    if result.input.image is None:
        return {"input": result.input.path, "outputs": {}, "metrics": {}}
    name = result.input.name
    out.png(f"{name}.png", to_pil(result.image))
    out.write(f"{name}{SUFFIX}", lambda p: write_code(p, result.code, source=result.input.path))
    item = {"input": result.input.path,
            "outputs": {"reconstruction": f"{name}.png", "latent": f"{name}{SUFFIX}"},
            "metrics": result.metrics, "seconds": round(result.seconds, 4), "steps": result.steps}
    if result.input.crop is not None:
        item["crop"] = result.input.crop.as_dict()
    if result.input.paste_back:
        item["outputs"]["pasted"] = out.png(f"{name}-pasted.png", pasted(result.input, result.image))
    if result.terms:
        item["loss_terms"] = result.terms
    if result.record:
        item["record"] = result.record
    return item
