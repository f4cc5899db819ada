"""Generator tuning after the latent stage: the generator's rendering weights move so it reproduces the photo.

PTI (Roich et al. 2022) freezes the code found first (the pivot) and tunes the weights; Deep Generative Prior
(Pan et al. 2020) tunes the code jointly and unlocks the blocks from coarse to fine. Both run on the latent
stage's loss and on the one optimisation loop.

A batch of N photos is R rows of P photos: one generator per photo (R = N, P = 1: the best fidelity) or one for
the whole batch (R = 1, P = N: what interpolate and mix need, so their photos share a generator). What moves is
a change per row (`inversion.tuned_weights`): of low rank in each conv of StyleGAN2 (the default: a photo's
file is 0.37 MB), or dense, every weight of the tuned blocks (any generator), so the loop stops a failing row,
or a row that is done, without touching the others. Renders run in the inversion's precision (bf16: autocast;
the changes and their Adam state stay fp32), the final render in fp32, with the changes rounded to fp16 as
they are saved, so a tuned file reproduces that render bit for bit.
"""
import copy
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from generators.protocol import fingerprint
from inversion.code import Code
from inversion.feature_networks import FeatureNetwork
from inversion.invert import InversionConfig
from inversion.losses import InversionLoss, locality_loss
from inversion.optimize import OptimizationLog, OptimizerConfig, optimize
from inversion.precision import in_precision
from inversion.tuned_weights import DenseRows, LowRankRows, apply_tuned, low_rank_names

TUNE_PER = ("photo", "batch")
SCHEDULES = ("all", "progressive")


DEFAULT_LR = {"low-rank": 1e-2, "dense": 3e-3}  # Adam's rate (dense: best of 1e-3, 3e-3, 1e-2 on val8)


@dataclass(frozen=True)
class TuningConfig:
    """Which weights move, how fast, for how long, and what keeps the tuned generator a cat generator."""
    steps: int = 0                   # tuning steps after the latent stage (0: no tuning)
    rank: int = 8                    # rank of each conv's change (0: every weight of the tuned blocks, dense)
    lr: float | None = None          # Adam's learning rate (None: DEFAULT_LR of the parameterisation)
    pixel_weight: float | None = None  # the pixel term's weight while tuning (None: the latent stage's)
    warmup: float = 0.0              # fraction of the steps of learning-rate warm-up
    rampdown: float = 0.0            # final fraction of the steps of cosine ramp-down
    from_resolution: int = 4         # tune the blocks rendering at this resolution and finer (4: all)
    schedule: str = "all"            # progressive: unlock blocks coarse to fine over the first half (DGP)
    tune_latent: bool = False        # DGP: keep optimising the code, at `latent_lr` (PTI: the code is frozen)
    latent_lr: float = 0.01
    locality_weight: float = 0.0     # PTI's regulariser: renders between the pivot and random codes stay put
    locality_reach: float = 0.5      # how far toward a random sample those codes lie (0: the pivot, 1: it)
    locality_samples: int = 1        # random codes drawn per photo and step (more: a steadier regulariser)
    per: str = "photo"               # photo: one generator per photo; batch: one for the batch
    stop_lpips: float | None = None  # a row stops once its perceptual loss is below this (PTI: 0.06)

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"tuning steps must be >= 0, got {self.steps}")
        if self.rank < 0:
            raise ValueError(f"the tuning rank must be >= 0 (0: dense), got {self.rank}")
        if (self.lr is not None and not self.lr > 0) or not self.latent_lr > 0:
            raise ValueError("tuning learning rates must be > 0")
        if self.pixel_weight is not None and not self.pixel_weight >= 0:
            raise ValueError(f"the tuning pixel weight must be >= 0, got {self.pixel_weight}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"tuning schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.per not in TUNE_PER:
            raise ValueError(f"--tune-per must be one of {', '.join(TUNE_PER)}, got {self.per!r}")
        if not self.locality_weight >= 0 or not 0 <= self.locality_reach <= 1:
            raise ValueError("the locality weight must be >= 0 and its reach in [0, 1]")
        if self.locality_samples < 1:
            raise ValueError(f"locality samples must be >= 1, got {self.locality_samples}")
        if self.stop_lpips is not None and not self.stop_lpips >= 0:
            raise ValueError(f"the early-stop threshold must be >= 0, got {self.stop_lpips}")

    def optimizer(self, parameterisation: str) -> OptimizerConfig:
        lr = self.lr if self.lr is not None else DEFAULT_LR[parameterisation]
        return OptimizerConfig(name="adam", steps=self.steps, lr=lr, warmup=self.warmup, rampdown=self.rampdown)


@dataclass
class TuningResult:
    """On the CPU but for the generators (on the device). `generators[rows[i]]` is photo i's generator."""
    generators: list[nn.Module]
    rows: list[int]
    code: Code
    images: torch.Tensor
    losses: torch.Tensor
    terms: dict[str, torch.Tensor]
    log: OptimizationLog
    fingerprints: list[str] = field(default_factory=list)

    def code_of(self, i: int) -> Code:
        """Photo i's code, naming the generator it now belongs to."""
        return Code(self.code.latent[i:i + 1], self.code.space,
                    tuple(n[i:i + 1] for n in self.code.noise) if self.code.noise else None,
                    self.fingerprints[self.rows[i]])


def tuned_names(G, tuning: TuningConfig) -> list[list[str]]:
    """The parameter names tuning may change, one list per block, coarse to fine."""
    blocks = [names for res, names in G.blocks() if res >= tuning.from_resolution]
    if not blocks:
        raise ValueError(f"the generator has no block at {tuning.from_resolution} px or finer to tune")
    return blocks


def unlocked_blocks(num_blocks: int, tuning: TuningConfig, step: int) -> int:
    """How many blocks (coarse first) move at `step`: all, or one more every (steps / 2 / blocks) steps."""
    if tuning.schedule == "all":
        return num_blocks
    return min(num_blocks, 1 + int(step * 2 * num_blocks / max(tuning.steps, 1)))


def changing(G, tuning: TuningConfig, rows: int, seed: int) -> tuple[str, DenseRows | LowRankRows]:
    """What tuning moves, and its name: a low-rank change of each conv where the rank is > 0 and the generator
    has modulated convs (StyleGAN2), else every weight of the tuned blocks."""
    blocks = tuned_names(G, tuning)
    convs = [low_rank_names(G, names) for names in blocks]
    if tuning.rank > 0 and any(convs):
        return "low-rank", LowRankRows(G, convs, rows, tuning.rank, seed)
    return "dense", DenseRows(G, blocks, rows)


def tune(G, targets: torch.Tensor, config: InversionConfig, tuning: TuningConfig, pivot: Code,
         network: FeatureNetwork | None = None, on_step=None, progress: bool = True, seed: int = 0,
         stop=None) -> TuningResult:
    """Tune a change of G's rendering weights per row (and the code, with tune_latent) to reproduce `targets`
    [N, 3, R, R] from `pivot` (a Code of N rows). on_step(step, render) and stop() as in `invert`."""
    n, device, space = targets.shape[0], targets.device, pivot.space
    rows, per_row = (n, 1) if tuning.per == "photo" else (1, n)
    kind, change = changing(G, tuning, rows, seed)
    num_blocks = len(change.blocks)
    pivot = pivot.to(device)
    latent = pivot.latent.detach().clone().reshape(rows, per_row, *pivot.latent.shape[1:])
    latent.requires_grad_(tuning.tune_latent)
    noise = list(pivot.noise) if pivot.noise else None
    weights = config.weights if tuning.pixel_weight is None else replace(config.weights, pixel=tuning.pixel_weight)
    loss = InversionLoss(weights, targets, None, network, config.pixel_p, config.perceptual_side(G))
    centre = G.code_mean()
    generator = torch.Generator(device=device).manual_seed(seed)
    state = {}

    def evaluate(step: int) -> torch.Tensor:
        unlocked = unlocked_blocks(num_blocks, tuning, step)
        images = in_precision(config.precision, device, change.render, latent, space, noise, unlocked)
        flat = latent.flatten(0, 1)
        total, terms = loss(images, latent=flat, init=pivot.latent, codes=G.codes(flat, space), code_mean=centre,
                            precision=config.precision)
        total = total.reshape(rows, per_row).mean(dim=1)
        if tuning.locality_weight > 0:
            total = total + tuning.locality_weight * locality(unlocked)
        state["terms"] = terms
        return total

    def locality(unlocked: int) -> torch.Tensor:
        """Per row: how much the tuned weights change the renders of codes between the pivot and random
        samples (PTI), against the parent's renders, averaged over the row's samples."""
        k = tuning.locality_samples
        pivots = latent.detach()[:, :1]
        z = torch.randn(rows * k, G.z_dim, generator=generator, device=device)
        samples = G.latent_from_z(z, space).reshape(rows, k, *pivots.shape[2:])
        near = torch.lerp(pivots, samples, tuning.locality_reach)
        with torch.no_grad():
            before = in_precision(config.precision, device, G.render, G.codes(near.flatten(0, 1), space))
        after = in_precision(config.precision, device, change.render, near, space, None, unlocked)
        terms = locality_loss(after, before, weights, loss.pixel, loss.perceptual, config.precision)
        return terms.reshape(rows, k).mean(dim=1)

    def finished() -> torch.Tensor:
        perceptual = state["terms"].get("perceptual")
        if tuning.stop_lpips is None or perceptual is None:
            return torch.zeros(rows, dtype=torch.bool, device=device)
        return perceptual.reshape(rows, per_row).mean(dim=1) < tuning.stop_lpips

    @torch.no_grad()
    def current_images():
        return change.render(latent.detach(), space, noise, num_blocks)

    def after_step(step: int):
        if on_step is not None:
            on_step(step, current_images)

    params = change.params() + ([latent] if tuning.tune_latent else [])
    optimizer = tuning.optimizer(kind)
    scales = [1.0] * len(change.params()) + ([tuning.latent_lr / optimizer.base_lr] if tuning.tune_latent else [])
    log = optimize(params, evaluate, optimizer, after_step, progress, "tune", scales, finished, stop)
    parent = fingerprint(G)
    generators = [apply_tuned(copy.deepcopy(G), change.rounded(row, parent)) for row in range(rows)]
    with torch.no_grad():  # each row by its own tuned generator, in fp32: what its file renders anywhere
        flat, parts = latent.flatten(0, 1), []
        for row, tuned in enumerate(generators):
            mine = slice(row * per_row, (row + 1) * per_row)
            parts.append(tuned.render(G.codes(flat[mine], space), [m[mine] for m in noise] if noise else None))
        images = torch.cat(parts)
        total, terms = loss(images, latent=flat, init=pivot.latent, codes=G.codes(flat, space), code_mean=centre)
    code = Code(flat.detach(), space, pivot.noise, None).detach()
    return TuningResult(generators=generators, rows=[i // per_row for i in range(n)], code=code,
                        images=images.detach().cpu(), losses=total.detach().cpu(),
                        terms={k: v.cpu() for k, v in terms.items()}, log=log,
                        fingerprints=[fingerprint(t) for t in generators])
