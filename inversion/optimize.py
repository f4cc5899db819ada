"""The one optimisation loop every task shares, written around a closure so LBFGS and Adam run the same code.

Parameters carry a batch dimension first: row i belongs to image i. The loss is one value per image, and the
optimiser minimises their sum, so each image's latent gets exactly its own gradient.
- Adam is element-wise: a batch gives the same result as one image at a time (up to float rounding).
- LBFGS on a batch is one problem over all rows: its line search and curvature history are shared, so one
  image's result depends on its batch mates. Use `--batch-size 1` for results independent of the batch.
An image whose loss or gradient turns NaN or inf stops: its rows return to their last finite values and are
frozen, the failure is reported, and the other images go on (also when every image fails at the first step).
A row may also finish early when the caller says it is done (`finished`): it is frozen where it was.

With Adam the loop never waits on the device: which rows are alive, their failures and the loss history stay
there (masks and torch.where, no indexing by masks) and are read once at the end, plus one small read every
HOST_READ_EVERY steps (the progress bar's loss, and whether any row is left: a batch whose every row has
stopped runs at most that many idle steps, left out of the log). Callbacks read the device at their own cadence
only (frames and metric records every K steps; `stop` is a host flag). LBFGS reads the loss on the host in
every evaluation of its line search, as torch's LBFGS must; it stays correct, just not sync-free.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from tqdm.auto import tqdm

OPTIMIZERS = ("adam", "lbfgs")
DEFAULT_LR = {"adam": 0.1, "lbfgs": 1.0}
LINE_SEARCH_EVALS = 25  # loss evaluations the strong-Wolfe line search may spend in one LBFGS step (torch's max_ls)
HOST_READ_EVERY = 10    # steps between the loop's reads of the device: the progress bar's loss, any row left?
FAILED = ("the loss", "the gradient")


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam follows the NVlabs projector's schedule; LBFGS uses a strong-Wolfe line search."""
    name: str = "adam"
    steps: int = 300
    lr: float | None = None          # None: 0.1 for Adam (NVlabs), 1.0 for LBFGS
    lbfgs_history: int = 20          # curvature pairs LBFGS remembers
    warmup: float = 0.05             # Adam: fraction of steps to ramp the learning rate up
    rampdown: float = 0.25           # Adam: final fraction of steps for the cosine ramp-down
    latent_noise: float = 0.0        # Adam: initial latent noise, in units of the w spread (NVlabs: 0.05)
    latent_noise_ramp: float = 0.75  # Adam: fraction of steps over which that noise decays to 0

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.name!r}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if self.lbfgs_history < 1:
            raise ValueError(f"LBFGS history must be >= 1, got {self.lbfgs_history}")
        for name in ("warmup", "rampdown", "latent_noise_ramp"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a fraction of the steps, in [0, 1]; got {getattr(self, name)}")
        if not self.latent_noise >= 0:
            raise ValueError(f"latent noise must be >= 0, got {self.latent_noise}")

    @property
    def base_lr(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.name]

    def lr_at(self, step: int) -> float:
        """Adam's learning rate at `step`: linear warm-up, then cosine ramp-down over the last steps."""
        if self.name == "lbfgs":
            return self.base_lr
        t = step / max(self.steps, 1)
        ramp = min(1.0, (1.0 - t) / self.rampdown) if self.rampdown > 0 else 1.0
        ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
        if self.warmup > 0:
            ramp *= min(1.0, t / self.warmup)
        return self.base_lr * ramp


@dataclass
class OptimizationLog:
    """Per-step losses of every image (its loss at the start of the step), failures, rows finished early (the
    step after which each was done), steps run, wall time, and whether `stop` ended the run before its last step."""
    losses: list[list[float]] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)
    finished: dict[int, int] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    stopped: bool = False


def _make_optimizer(config: OptimizerConfig, params, lr_scales):
    if config.name == "adam":
        groups = [{"params": [p], "lr_scale": scale} for p, scale in zip(params, lr_scales)]
        return torch.optim.Adam(groups, lr=config.base_lr, betas=(0.9, 0.999))
    # One LBFGS iteration per step. max_eval must be given: torch's default (max_iter * 5 // 4 = 1) leaves the
    # line search no evaluations, so a step that overshoots is dropped and the same step is retried forever.
    if len(set(lr_scales)) > 1:
        raise ValueError("LBFGS takes one learning rate for all its parameters")
    optimizer = torch.optim.LBFGS(params, lr=config.base_lr, max_iter=1, max_eval=1 + LINE_SEARCH_EVALS,
                                  history_size=config.lbfgs_history, line_search_fn="strong_wolfe",
                                  tolerance_grad=0.0, tolerance_change=0.0)
    optimizer.param_groups[0]["lr_scale"] = lr_scales[0]
    return optimizer


def _finite_rows(tensor: torch.Tensor | None, num: int, device) -> torch.Tensor:
    """Which rows hold only finite values (a missing gradient is all zeros: finite), on the device."""
    if tensor is None:
        return torch.ones(num, dtype=torch.bool, device=device)
    return torch.isfinite(tensor.detach()).reshape(num, -1).all(dim=1)


def _rows(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A row mask [N] shaped to broadcast over `like` [N, ...]."""
    return mask.reshape(-1, *[1] * (like.ndim - 1))


def optimize(params: list[torch.Tensor], evaluate: Callable[[int], torch.Tensor], config: OptimizerConfig,
             after_step: Callable[[int], None] | None = None, progress: bool = True,
             description: str = "invert", lr_scales: list[float] | None = None,
             finished: Callable[[], torch.Tensor] | None = None,
             stop: Callable[[], bool] | None = None) -> OptimizationLog:
    """Minimise `evaluate(step) -> losses [N]` over `params` (leaf tensors, batch first) for config.steps steps.

    `after_step(step)` runs after each update (noise renormalisation, saving frames, recording metrics);
    `lr_scales` gives each parameter its own multiple of the learning rate (Adam); `finished()`, called after
    each step, marks the rows that are done ([N] bool, on any device): they are frozen where they are. `stop()`
    is asked before each step; when it says True the run ends there, keeping the steps done (a page whose visitor
    drew a newer stroke, or left).
    """
    num, device = params[0].shape[0], params[0].device
    alive = torch.ones(num, dtype=torch.bool, device=device)
    stopped_after = torch.zeros(num, dtype=torch.long, device=device)  # steps a row ran before it stopped (0: on)
    failed = torch.full((num,), -1, dtype=torch.long, device=device)   # what failed: an index into FAILED, or -1
    last_good = [p.detach().clone() for p in params]
    history = []  # each step's losses [N] at its start, on the device
    state = {"first": True, "step": 0}

    def stop_rows(bad: torch.Tensor, what: str):
        newly = alive & bad
        stopped_after.masked_fill_(newly, state["step"] + 1)
        failed.masked_fill_(newly, FAILED.index(what))
        alive.logical_and_(~newly)

    def closure():
        opt.zero_grad(set_to_none=False)
        losses = evaluate(state["step"])
        stop_rows(~_finite_rows(losses, num, device), "the loss")
        total = torch.where(alive, losses, 0).sum()  # stopped rows' losses (perhaps NaN) left out
        if total.requires_grad:
            total.backward()
        grads_ok = torch.stack([_finite_rows(p.grad, num, device) for p in params]).all(dim=0)
        stop_rows(~grads_ok, "the gradient")
        with torch.no_grad():
            for p, good in zip(params, last_good):
                keep = _rows(alive, p)
                if p.grad is not None:
                    p.grad.masked_fill_(~keep, 0)
                good.copy_(torch.where(keep, p, good))
        if state["first"]:
            history.append(losses.detach())
            state["first"] = False
        return total.detach()

    def freeze_stopped():
        """Stopped rows back to their last finite (or finished) values."""
        with torch.no_grad():
            for p, good in zip(params, last_good):
                p.copy_(torch.where(_rows(alive, p), p, good))

    lr_scales = lr_scales or [1.0] * len(params)
    opt = _make_optimizer(config, params, lr_scales)
    log = OptimizationLog()
    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc=description, disable=not progress, leave=False, dynamic_ncols=True)
    for step in bar:
        if stop is not None and stop():
            log.stopped = True
            break
        state["first"], state["step"] = True, step
        for group in opt.param_groups:
            group["lr"] = config.lr_at(step) * group["lr_scale"]
        opt.step(closure)
        freeze_stopped()
        if config.name == "lbfgs" and bool(((stopped_after == step + 1) & (failed >= 0)).any()):
            opt = _make_optimizer(config, params, lr_scales)  # its history holds the failed rows' steps: afresh
        log.steps = step + 1
        if finished is not None:
            done = finished().to(device) & alive
            stopped_after.masked_fill_(done, step + 1)
            alive.logical_and_(~done)
            with torch.no_grad():  # frozen where they are now
                for p, good in zip(params, last_good):
                    good.copy_(torch.where(_rows(done, p), p, good))
        if after_step is not None:
            after_step(step)
        if (step + 1) % HOST_READ_EVERY == 0:
            live_mean = torch.where(alive, history[-1], 0).sum() / alive.sum().clamp_min(1)
            left, loss = torch.stack([alive.any().to(live_mean.dtype), live_mean]).tolist()
            if not left:
                break
            bar.set_postfix(loss=f"{loss:.4g}")
    _fill_log(log, history, stopped_after, failed)
    log.seconds = time.perf_counter() - start
    return log


def _fill_log(log: OptimizationLog, history: list[torch.Tensor], stopped_after: torch.Tensor, failed: torch.Tensor):
    """What the device kept, read at the end: failures, rows finished early, and the loss history. When every
    row stopped, the steps are those until the last one did (the loop may have run a few idle steps after it)."""
    stopped_after, failed = stopped_after.tolist(), failed.tolist()
    if all(stopped_after):
        log.steps, log.stopped = max(stopped_after), False
    log.failures = {i: f"{FAILED[what]} became NaN or inf at step {after - 1}"
                    for i, (after, what) in enumerate(zip(stopped_after, failed)) if what >= 0}
    log.finished = {i: after for i, (after, what) in enumerate(zip(stopped_after, failed)) if after and what < 0}
    log.losses = torch.stack(history[:log.steps]).tolist() if log.steps else []
