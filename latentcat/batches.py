"""Photos through the engine, a batch at a time: start codes, the optimisation, metrics, optional frames and
metric records; each batch's results are handed back as soon as it finishes, so jobs can write them at once."""
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from inversion.code import Code
from inversion.invert import invert
from inversion.metrics import reconstruction_metrics
from inversion.tuning import tune
from latentcat.errors import UserError
from latentcat.framing import pasted
from latentcat.images import to_pil
from latentcat.inputs import Input, report
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import OutputFolder
from latentcat.tuned_files import write_tuned


@dataclass
class Inverted:
    """One input's outcome: its code (a Code of one), render [3, R, R], metrics, loss history, record, and the
    generator tuned for it (None: the session's own)."""
    input: Input
    code: Code
    image: torch.Tensor
    metrics: dict = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    terms: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0          # of the latent stage
    tune_steps: int = 0     # of generator tuning
    generator: torch.nn.Module | None = None


class StepHook:
    """After each step of either stage: save frames every --save-every steps, record metrics (and the seconds
    per image so far) every --record-every, and hand the step to `observer` (a page streaming the inversion), if
    any. Steps count on from the latent stage into tuning."""

    def __init__(self, session, batch: list[Input], targets: torch.Tensor, out: OutputFolder | None,
                 observer: Callable[[int, Callable[[], torch.Tensor]], None] | None = None):
        self.session, self.batch, self.targets, self.out, self.observer = session, batch, targets, out, observer
        self.records = [{"step": [], "seconds": []} for _ in batch]
        self.rows = list(range(len(batch)))  # the batch entries the current stage renders
        self.offset, self.last = 0, session.config.optimizer.steps + session.tuning.steps
        self.start, self.seconds = time.perf_counter(), 0.0  # time spent here is kept out of the timings

    def elapsed(self) -> float:
        """Seconds per image of inversion so far."""
        return (time.perf_counter() - self.start - self.seconds) / len(self.batch)

    def begin_tuning(self, latent_steps: int, rows: list[int]) -> None:
        self.offset, self.rows = latent_steps, rows

    def record(self, steps_done: int, images: torch.Tensor):
        seconds = self.elapsed()
        tic = time.perf_counter()
        metrics = reconstruction_metrics(images.cpu(), self.targets[self.rows].cpu(), self.session.metric_network)
        for row, values in zip(self.rows, metrics):
            rec = self.records[row]
            rec["step"].append(steps_done)
            rec["seconds"].append(round(seconds, 4))
            for key in ("mse", "psnr", "ssim", "lpips"):
                rec.setdefault(key, []).append(values[key])
        self.seconds += time.perf_counter() - tic

    def __call__(self, step: int, render: Callable[[], torch.Tensor]):
        if self.observer is not None:
            tic = time.perf_counter()
            self.observer(self.offset + step, render)
            self.seconds += time.perf_counter() - tic
        done, s = self.offset + step + 1, self.session.settings
        save = s.save_every and self.out is not None and done % s.save_every == 0
        rec = s.record_every and (done % s.record_every == 0 or done == self.last)
        if not (save or rec):
            return
        tic = time.perf_counter()
        images = render()
        if save:
            for row, img in zip(self.rows, images):
                self.out.png(f"frames/{self.batch[row].name}-step{done:05d}.png", to_pil(img))
        self.seconds += time.perf_counter() - tic
        if rec:
            self.record(done, images)


def invert_batches(session, inputs: list[Input], out: OutputFolder | None = None, on_step=None, stop=None,
                   after_batch: Callable[[list[Inverted]], None] | None = None
                   ) -> Iterator[tuple[list[Inverted], list[dict]]]:
    """Invert the photo inputs in batches of session.batch_size; yields (done, errors) after each batch (of every
    process, in order, where the run is split across processes: `latentcat.shards`).
    Photos the start cannot serve and images whose optimisation failed become error entries.
    on_step(step, render) and stop() are `invert`'s, for each batch (a page streams and cancels with them).
    after_batch(done) runs in the process that inverted the batch, before the exchange: a job measures there
    what needs the batch's tuned generators, and may let them go."""
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
    batches = [photos[first:first + session.batch_size] for first in range(0, len(photos), session.batch_size)]
    for batch in session.shards.mine(batches):
        outcome = invert_batch(session, batch, out, on_step, stop) if batch else ([], [])
        if after_batch is not None:
            after_batch(outcome[0])
        yield from session.shards.exchange(outcome)


def invert_batch(session, batch: list[Input], out: OutputFolder | None, on_step=None, stop=None
                 ) -> tuple[list[Inverted], list[dict]]:
    """The latent stage from the session's start, then (with tuning steps) generator tuning from its codes."""
    targets = torch.stack([inp.image for inp in batch]).to(session.device)
    hook = StepHook(session, batch, targets, out, on_step)
    start = session.start.codes(session, batch, targets)
    if session.settings.record_every:
        with torch.no_grad():
            hook.record(0, start.to(session.device).render(session.G))
    result = invert(session.G, targets, session.config, start, network=session.network, on_step=hook,
                    progress=session.settings.progress, stop=stop)
    failed, ok = [], []
    for i, inp in enumerate(batch):
        if i in result.log.failures:
            report(failed, inp.path, f"optimisation stopped: {result.log.failures[i]}")
        else:
            ok.append(i)
    outcome = {i: {"code": result.code[i], "image": result.images[i], "losses": [s[i] for s in result.log.losses],
                   "terms": {k: float(v[i]) for k, v in result.terms.items()}} for i in ok}
    if session.tuning.steps and ok:
        hook.begin_tuning(result.log.steps, ok)
        tuned = tune(session.G, targets[ok], session.config, session.tuning, result.code[ok], session.network,
                     hook, session.settings.progress, session.config.seed, stop)
        for j, i in enumerate(ok):
            row = tuned.rows[j]
            if row in tuned.log.failures:
                report(failed, batch[i].path, f"generator tuning stopped: {tuned.log.failures[row]}")
                del outcome[i]
                continue
            outcome[i].update(code=tuned.code_of(j), image=tuned.images[j], generator=tuned.generators[row],
                              losses=outcome[i]["losses"] + [s[row] for s in tuned.log.losses],
                              terms={k: float(v[j]) for k, v in tuned.terms.items()},
                              tune_steps=tuned.log.finished.get(row, tuned.log.steps))
    seconds = hook.elapsed()
    kept = sorted(outcome)
    metrics = reconstruction_metrics(torch.stack([outcome[i]["image"] for i in kept]), targets[kept].cpu(),
                                     session.metric_network) if kept else []
    done = []
    for i, values in zip(kept, metrics):
        record = hook.records[i]
        done.append(Inverted(input=batch[i], metrics=values, record=record if len(record["step"]) > 1 else {},
                             seconds=seconds, steps=result.log.steps, **outcome[i]))
    return done, failed


def invert_all(session, inputs: list[Input], out: OutputFolder | None = None, on_step=None, stop=None,
               after_batch=None) -> tuple[list[Inverted], list[dict]]:
    """Every batch's results together (for jobs that use them all at the end)."""
    done, errors = [], []
    for batch_done, batch_errors in invert_batches(session, inputs, out, on_step, stop, after_batch):
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


GENERATOR_SUFFIX = ".generator.safetensors"


def shared_generator(session, results: list[Inverted]):
    """The one generator all these codes belong to (a tuned one, or the session's), for edits that combine
    them; codes of different generators cannot be combined."""
    generators = {id(r.generator): r.generator for r in results}
    if len(generators) > 1:
        raise UserError("these inputs belong to different generators (each photo tuned its own, or a saved latent "
                        "beside a tuned photo): tune photos together with --tune-per batch, or do not tune")
    return next(iter(generators.values())) or session.G


def write_inverted(out: OutputFolder, result: Inverted, parent_path: str, written: dict | None = None) -> dict:
    """Save one inversion (render PNG, latent file, and its tuned generator once per generator: `written`
    remembers those) and return its summary item (a saved latent: just named)."""
    if result.input.image is None:
        return {"input": result.input.path, "outputs": {}, "metrics": {}}
    name = result.input.name
    outputs = {"reconstruction": out.png(f"{name}.png", to_pil(result.image)),
               "latent": out.write(f"{name}{SUFFIX}", lambda p: write_code(p, result.code, source=result.input.path))}
    if result.generator is not None:
        written = {} if written is None else written
        if id(result.generator) not in written:
            written[id(result.generator)] = out.write(f"{name}{GENERATOR_SUFFIX}",
                                                      lambda p: write_tuned(p, result.generator, parent_path))
        outputs["generator"] = written[id(result.generator)]
    item = {"input": result.input.path, "outputs": outputs, "metrics": result.metrics,
            "seconds": round(result.seconds, 4), "steps": result.steps}
    if result.generator is not None:
        item["tune_steps"] = result.tune_steps
    if result.input.crop is not None:
        item["crop"] = result.input.crop.as_dict()
    if result.input.paste_back:
        outputs["pasted"] = out.png(f"{name}-pasted.png", pasted(result.input, result.image))
    if result.terms:
        item["loss_terms"] = result.terms
    if result.record:
        item["record"] = result.record
    return item
