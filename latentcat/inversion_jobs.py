"""The file side of inversion: read photos, sketches and latents, run the engine in batches, write results.

`inversion/` does the maths on tensors; this module turns user files into those tensors and the results into
PNGs, latent files and summary items. Every per-input problem becomes an `errors` entry, never a crash.
"""
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from inversion.feature_networks import FeatureNetwork
from inversion.invert import InversionConfig, InversionResult, invert
from inversion.latents import INITS, initial_latent, is_stylegan, render
from inversion.draw import fit_sketch
from inversion.metrics import masked_l1, reconstruction_metrics
from latentcat.errors import UserError
from latentcat.images import image_grid, load_square_rgb, pil_to_uint8, save_png, to_pil, uint8_to_float
from latentcat.latent_files import SUFFIX, is_latent_file, load_latent, save_latent
from latentcat.plots import save_curves
from latentcat.sketches import load_sketch, sketch_preview


@dataclass
class Session:
    """A loaded generator and everything the tasks share (loss and metric networks, settings)."""
    G: torch.nn.Module
    generator_info: dict
    config: InversionConfig
    network: FeatureNetwork | None
    metric_network: FeatureNetwork
    device: torch.device
    init: str = "mean"               # mean | random | encoder | path of a latent file
    seed: int = 0
    batch_size: int = 8
    save_every: int = 0
    record_every: int = 0
    progress: bool = True
    encoder: Callable[[torch.Tensor], torch.Tensor] | None = None  # images -> w+; filled by the encoder
    init_latent: torch.Tensor | None = None  # --init FILE, read once: [1, ...] in config.space
    init_folder: dict[str, torch.Tensor] | None = None  # --init DIR: photo stem -> its start latent [1, ...]

    @property
    def fingerprint(self) -> str:
        return self.generator_info["fingerprint"]

    def latent_shapes(self) -> dict[str, tuple]:
        G = self.G
        shapes = {"z": (G.z_dim,)}
        if is_stylegan(G):
            shapes.update({"w": (G.w_dim,), "w+": (G.num_ws, G.w_dim)})
        return shapes


@dataclass
class Input:
    """One user input: a photo (image set) or a saved latent (latent set), named for its output files."""
    index: int
    path: str
    image: torch.Tensor | None = None      # [3, R, R] in [-1, 1]
    latent: torch.Tensor | None = None     # [1, ...]
    space: str | None = None
    noise: list[torch.Tensor] | None = None

    @property
    def stem(self) -> str:
        return Path(self.path).name.removesuffix(SUFFIX).rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        return f"{self.index:03d}-{self.stem}"

    @staticmethod
    def stem_of(name: str) -> str:
        """The photo stem inside an output name that `name` made (NNN-stem)."""
        return re.sub(r"^\d{3,}-", "", name)


@dataclass
class Inverted:
    """An inversion outcome for one input: latent [1, ...], noise, render [3, R, R], metrics, history."""
    input: Input
    latent: torch.Tensor
    space: str
    noise: list[torch.Tensor] | None
    image: torch.Tensor
    metrics: dict = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    terms: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0


def report(errors: list[dict], path, reason: str) -> None:
    """One bad input: a one-line message now, an `errors` entry in the summary."""
    print(f"error: {path}: {reason}", file=sys.stderr)
    errors.append({"input": str(path), "error": reason})


def read_inputs(session: Session, paths, allow_latents: bool = False) -> tuple[list[Input], list[dict]]:
    """Load every path; unusable ones become error entries, with their one-line reason."""
    inputs, errors = [], []
    for index, path in enumerate(paths):
        try:
            if allow_latents and is_latent_file(path):
                latent, space, noise = load_latent(path, session.fingerprint, session.latent_shapes())
                inputs.append(Input(index, str(path), latent=latent, space=space, noise=noise))
                continue
            img, notes = load_square_rgb(path, session.G.resolution)
            for note in notes:
                print(f"note: {note}")
            inputs.append(Input(index, str(path), image=uint8_to_float(pil_to_uint8(img))))
        except UserError as e:
            report(errors, path, e.reason)
    return inputs, errors


def read_init_latent(session: Session, path) -> torch.Tensor:
    """The --init FILE latent [1, ...], which must be in the space being optimised."""
    latent, file_space, _ = load_latent(path, session.fingerprint, session.latent_shapes())
    if file_space != session.config.space:
        raise UserError(f"holds a {file_space} latent, but --latent is {session.config.space}", path)
    return latent


def read_init_folder(session: Session, folder) -> dict[str, torch.Tensor]:
    """--init DIR: every photo starts from the latent file named after it, as `invert` names them
    (NNN-photo.latent.safetensors), so a folder of results can be refined further in one run."""
    latents = {}
    for path in sorted(Path(folder).glob(f"*{SUFFIX}")):
        stem = Input.stem_of(path.name.removesuffix(SUFFIX))
        if stem in latents:
            raise UserError(f"holds two latent files for photo {stem!r}", folder)
        latents[stem] = read_init_latent(session, path)
    if not latents:
        raise UserError(f"holds no latent files (*{SUFFIX}) to start from", folder)
    return latents


def start_latents(session: Session, batch: list[Input], images: torch.Tensor) -> torch.Tensor:
    """Where each image's optimisation starts: --init mean, random, encoder, a latent file or a folder of them."""
    G, space, init = session.G, session.config.space, session.init
    if init in INITS:
        return initial_latent(G, space, init, len(images), session.seed)
    if init == "encoder":
        if session.encoder is None:
            raise UserError("--init encoder needs a trained encoder (--encoder CKPT)")
        if space == "z":
            raise UserError("the encoder predicts w+ codes: use --latent w+ (or w) with --init encoder")
        with torch.no_grad():
            ws = session.encoder(images)
        return ws if space == "w+" else ws.mean(dim=1)
    if session.init_folder is not None:
        return torch.cat([session.init_folder[inp.stem] for inp in batch])
    latent = session.init_latent
    return latent.expand(len(images), *latent.shape[1:]).clone()


class StepHook:
    """After each optimisation step: save frames every --save-every steps, record metrics every --record-every."""

    def __init__(self, session: Session, batch: list[Input], targets: torch.Tensor, out: Path | None):
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
        done, s = step + 1, self.session
        save = s.save_every and self.out is not None and done % s.save_every == 0
        rec = s.record_every and (done % s.record_every == 0 or done == s.config.optimizer.steps)
        if not (save or rec):
            return
        tic = time.perf_counter()
        images = render()
        if save:
            for inp, img in zip(self.batch, images):
                save_png(self.out / "frames" / f"{inp.name}-step{done:05d}.png", to_pil(img))
        self.seconds += time.perf_counter() - tic
        if rec:
            self.record(done, images)


def invert_inputs(session: Session, inputs: list[Input], out: Path | None = None) -> tuple[list[Inverted], list[dict]]:
    """Invert the photo inputs in batches of session.batch_size; NaN failures become error entries."""
    done, errors = [], []
    photos = [inp for inp in inputs if inp.image is not None]
    if session.init_folder is not None:
        for inp in photos:
            if inp.stem not in session.init_folder:
                report(errors, inp.path, f"the --init folder has no latent for it (*-{inp.stem}{SUFFIX})")
        photos = [inp for inp in photos if inp.stem in session.init_folder]
    for start in range(0, len(photos), session.batch_size):
        batch = photos[start:start + session.batch_size]
        targets = torch.stack([inp.image for inp in batch]).to(session.device)
        hook = StepHook(session, batch, targets, out)
        tic = time.perf_counter()
        init = start_latents(session, batch, targets)
        if session.record_every:
            with torch.no_grad():
                hook.record(0, render(session.G, session.config.space, init.to(session.device)))
        result = invert(session.G, targets, session.config, init, network=session.network,
                        on_step=hook, progress=session.progress)
        seconds = (time.perf_counter() - tic - hook.seconds) / len(batch)
        metrics = reconstruction_metrics(result.images, targets.cpu(), session.metric_network)
        for i, inp in enumerate(batch):
            if i in result.log.failures:
                report(errors, inp.path, f"optimisation stopped: {result.log.failures[i]}")
                continue
            done.append(_inverted(result, i, inp, metrics[i], hook.records[i], seconds))
    return done, errors


def _inverted(result: InversionResult, i: int, inp: Input, metrics: dict, record: dict, seconds: float):
    return Inverted(input=inp, latent=result.latents[i:i + 1], space=result.space,
                    noise=[n[i:i + 1] for n in result.noise] if result.noise else None,
                    image=result.images[i], metrics=metrics,
                    losses=[step[i] for step in result.log.losses],
                    terms={k: float(v[i]) for k, v in result.terms.items()},
                    record=record if len(record["step"]) > 1 else {}, seconds=seconds, steps=result.log.steps)


def latents_of(session: Session, inputs: list[Input], out: Path) -> tuple[list[Inverted], list[dict]]:
    """Every input as a latent: saved latents are used as they are (rendered), photos are inverted."""
    inverted, errors = invert_inputs(session, inputs, out)
    for inp in inputs:
        if inp.latent is not None:
            with torch.no_grad():
                image = render(session.G, inp.space, inp.latent.to(session.device),
                               [n.to(session.device) for n in inp.noise] if inp.noise else None)[0].cpu()
            inverted.append(Inverted(input=inp, latent=inp.latent, space=inp.space, noise=inp.noise, image=image))
    inverted.sort(key=lambda r: r.input.index)
    return inverted, errors


def write_inverted(session: Session, out: Path, result: Inverted) -> dict:
    """Save one inversion (render PNG + latent file) and return its summary item (a saved latent: just named)."""
    if result.input.image is None:
        return {"input": result.input.path, "outputs": {}, "metrics": {}}
    name = result.input.name
    save_png(out / f"{name}.png", to_pil(result.image))
    save_latent(out / f"{name}{SUFFIX}", result.latent[0], result.space, session.fingerprint,
                [n[0] for n in result.noise] if result.noise else None, source=result.input.path)
    item = {"input": result.input.path,
            "outputs": {"reconstruction": f"{name}.png", "latent": f"{name}{SUFFIX}"},
            "metrics": result.metrics, "seconds": round(result.seconds, 4), "steps": result.steps}
    if result.terms:
        item["loss_terms"] = result.terms
    if result.record:
        item["record"] = result.record
    return item


def write_comparison_grid(path, rows: list) -> None:
    """One row per input, its images side by side (e.g. target | reconstruction); short rows padded white."""
    width = max(len(row) for row in rows)
    cells = [img for row in rows for img in list(row) + [torch.ones_like(row[0])] * (width - len(row))]
    save_png(path, image_grid(torch.stack(cells), nrow=width))


def write_loss_curve(path, results: list[Inverted]) -> None:
    curves = {r.input.name: (list(range(len(r.losses))), r.losses) for r in results if r.losses}
    if not curves:
        return
    if len(curves) > 6:
        steps = max(len(c[1]) for c in curves.values())
        mean = [sum(c[1][s] for c in curves.values() if s < len(c[1])) / len(curves) for s in range(steps)]
        save_curves(path, {"mean over images": (list(range(steps)), mean)}, "step", "loss",
                    "inversion loss", log_y=True, faint=curves)
    else:
        save_curves(path, curves, "step", "loss", "inversion loss", log_y=True)


def write_metric_curve(path, results: list[Inverted], metric: str = "lpips") -> None:
    series = {r.input.name: (r.record["step"], r.record[metric]) for r in results if r.record}
    if series:
        net = results[0].metrics.get("lpips_net", "")
        label = f"{metric} ({net})" if metric == "lpips" else metric
        save_curves(path, series, "step", label, f"{label} against step")


def draw_sketches(session: Session, paths: list[str], samples: int, out: Path) -> tuple[list[dict], list[dict]]:
    """Fit every sketch; write per sketch its results (best first), grid and best latent, plus grid.png."""
    items, errors, rows = [], [], []
    for index, path in enumerate(paths):
        try:
            sketch, mask, notes = load_sketch(path, session.G.resolution)
        except UserError as e:
            report(errors, path, e.reason)
            continue
        for note in notes:
            print(f"note: {note}")
        result = fit_sketch(session.G, sketch.to(session.device), mask.to(session.device), session.config,
                            samples, session.seed, session.network, progress=session.progress)
        ok = [k for k in range(samples) if k not in result.log.failures]
        if not ok:
            report(errors, path, f"optimisation stopped: {result.log.failures[0]}")
            continue
        scores = masked_l1(result.images, sketch.expand_as(result.images), mask.expand(samples, -1, -1, -1))
        ranked = sorted(ok, key=lambda k: scores[k])
        name = Input(index, str(path)).name
        outputs = {}
        for rank, k in enumerate(ranked):
            save_png(out / f"{name}-{rank}.png", to_pil(result.images[k]))
            outputs[f"result_{rank}"] = f"{name}-{rank}.png"
        best = ranked[0]
        save_latent(out / f"{name}{SUFFIX}", result.latents[best], result.space, session.fingerprint,
                    [n[best] for n in result.noise] if result.noise else None, source=str(path))
        row = [sketch_preview(sketch, mask), mask.expand(3, -1, -1) * 2 - 1] + [result.images[k] for k in ranked]
        save_png(out / f"{name}-grid.png", image_grid(torch.stack(row), nrow=len(row)))
        rows.append(row)
        outputs.update(grid=f"{name}-grid.png", latent=f"{name}{SUFFIX}")
        items.append({"input": str(path), "outputs": outputs,
                      "metrics": {"masked_l1": scores[best], "masked_l1_all": [scores[k] for k in ranked],
                                  "mask_coverage": float(mask.mean())},
                      "seconds": round(result.log.seconds, 4), "steps": result.log.steps})
    if rows:
        write_comparison_grid(out / "grid.png", rows)
    return items, errors
