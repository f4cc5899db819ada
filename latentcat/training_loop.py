"""The step loop both trainers share: progress bar, TensorBoard scalars, a divergence check, periodic
evaluation and checkpoints. A trainer subclasses it and provides what differs."""
import math
import time

import torch
from accelerate.utils import set_seed
from tqdm import tqdm

from latentcat import train_state
from latentcat.errors import UserError
from latentcat.files import write_json


def check_run_settings(cfg, intervals: tuple[str, ...]) -> None:
    """Validation every run config shares: positive sizes and intervals, a known mixed-precision mode."""
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.grad_accum < 1:
        raise ValueError("steps, batch_size and grad_accum must be positive")
    if cfg.mixed_precision not in ("no", "bf16", "fp16"):
        raise ValueError(f"mixed_precision must be no, bf16 or fp16, got {cfg.mixed_precision!r}")
    for name in intervals:
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be positive")


class TrainingLoop:
    """Subclasses set `accelerator`, `cfg` (steps, batch_size, grad_accum, log_every, checkpoint_every), `step`,
    `out`, `log`, and implement `train_step() -> {name: tensor}`, `evaluate()`, `save()` and `describe()`."""

    description = "train"

    @property
    def evaluate_every(self) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def start(self, resume: bool, config: dict) -> None:
        """Resume from the run's last checkpoint (which restores each process's RNG), or seed each process
        for its own batches; then record the run's config."""
        self.step = 0
        if resume and (folder := train_state.latest_checkpoint(self.out)) is not None:
            self._load(folder)
        else:
            set_seed(self.cfg.seed * 1000 + 1 + self.accelerator.process_index)
        if self.accelerator.is_main_process:
            write_json(self.out / "config.json", config)

    def train(self) -> None:
        cfg, acc = self.cfg, self.accelerator
        acc.init_trackers("tensorboard", config=train_state.flat_hparams(cfg.to_dict()))
        images_per_step = cfg.batch_size * cfg.grad_accum * acc.num_processes
        torch.backends.cudnn.benchmark = acc.device.type == "cuda"  # fixed shapes: let cuDNN pick its fastest kernels
        if acc.is_main_process:
            self.log(f"{self.describe()}, {images_per_step} images/step, {acc.num_processes} process(es) on "
                     f"{acc.device}")
        running, since, t0 = {}, 0, time.perf_counter()
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.description, unit="step",
                   disable=not acc.is_main_process)
        while self.step < cfg.steps:
            for k, v in self.train_step().items():
                running[k] = running.get(k, 0) + v
            since += 1
            bar.update(1)
            last = self.step == cfg.steps
            if self.step % cfg.log_every == 0 or last:
                scalars = {k: float(v) / since for k, v in running.items()}
                scalars["speed/images_per_s"] = since * images_per_step / (time.perf_counter() - t0)
                scalars["progress/kimg"] = self.step * images_per_step / 1000
                if not all(math.isfinite(v) for v in scalars.values()):
                    raise UserError(f"training diverged at step {self.step} (non-finite loss: {scalars}); "
                                    f"resume from the last checkpoint with a lower --lr", self.out)
                acc.log(scalars, step=self.step)
                bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items() if k.startswith("loss")})
                running, since, t0 = {}, 0, time.perf_counter()
            if self.step % self.evaluate_every == 0 or last:
                self.evaluate()
            if self.step % cfg.checkpoint_every == 0 or last:
                self.save()
        bar.close()
        acc.end_training()
