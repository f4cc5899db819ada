"""What both trainers share: the Accelerator, the step loop (progress bar, TensorBoard scalars, a divergence
check, periodic evaluation and checkpoints), and pickle-free checkpoints that resume exactly. A trainer
subclasses it and provides what differs: its models, optimisers and one training step."""
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm import tqdm

from latentcat import train_state
from latentcat.errors import UserError
from latentcat.files import write_json


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """What every training run has. `batch_size` is per process and micro-step; the optimiser sees
    batch_size x processes x grad_accum images per step."""
    data: str                      # packed dataset file, prepared folder, or any folder of photos
    out: str                       # the run folder
    steps: int                     # optimiser steps to train to, in total
    batch_size: int = 16
    grad_accum: int = 1
    mixed_precision: str = "no"    # no | bf16 | fp16
    seed: int = 0
    val_fraction: float = 0.05     # held-out share when `data` is a raw folder
    log_every: int = 50            # steps between TensorBoard scalars
    checkpoint_every: int = 500

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("steps, batch_size and grad_accum must be positive")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"mixed_precision must be no, bf16 or fp16, got {self.mixed_precision!r}")
        for f in dataclasses.fields(self):
            if f.name.endswith("_every") and getattr(self, f.name) < 1:
                raise ValueError(f"{f.name} must be positive")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class TrainingLoop:
    """Subclasses build their models after `super().__init__` (which seeds every process alike, so replicas start
    identical), then call `start`; they implement `train_step() -> {name: tensor}`, `evaluate()`, `describe()`,
    `modules()` and `optimizers()` (what a checkpoint holds, by name) and `export()` (the run's model file);
    `objective_state`, `resume_meta` and `check_resume` add what else must survive, or match, a restart."""

    description = "train"

    def __init__(self, cfg, log=print, **accelerator_options):
        self.cfg, self.log = cfg, log
        self.out = Path(cfg.out)
        # cpu=True where there is no GPU, so a multi-process launch falls back to gloo on the CPU.
        self.accelerator = Accelerator(mixed_precision=cfg.mixed_precision, log_with="tensorboard",
                                       project_dir=str(self.out), cpu=not torch.cuda.is_available(),
                                       **accelerator_options)
        set_seed(cfg.seed)

    @property
    def evaluate_every(self) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def objective_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_objective_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def resume_meta(self) -> dict:
        return {"model": dataclasses.asdict(self.cfg.model)}

    def check_resume(self, meta: dict, folder: Path) -> None:
        """Refuse a checkpoint of another architecture (resuming it would fail, or silently train another run)."""
        if meta.get("model") != dataclasses.asdict(self.cfg.model):
            raise UserError(f"checkpoint was trained with {meta.get('model')}, not {dataclasses.asdict(self.cfg.model)}",
                            folder)

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

    def save(self) -> None:
        """Check the replicas agree, then write every process's RNG and the main process's state and model file."""
        acc = self.accelerator
        train_state.check_replicas(acc, self.modules().values(), self.step, self.log)
        train_state.save_rng(self.out, self.step, acc.process_index)
        acc.wait_for_everyone()
        if acc.is_main_process:
            tensors, meta = {}, {"step": self.step, **self.resume_meta()}
            for name, module in self.modules().items():
                tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
            for name, opt in self.optimizers().items():
                opt_tensors, meta[name] = train_state.flatten_optimizer(name, opt.state_dict())
                tensors.update(opt_tensors)
            tensors.update({f"objective.{k}": v for k, v in self.objective_state().items()})
            self.export()
            train_state.save_main_state(self.out, self.step, tensors, meta)
        acc.wait_for_everyone()

    def _load(self, folder: Path) -> None:
        tensors, meta = train_state.load_main_state(folder)
        self.check_resume(meta, folder)
        device = self.accelerator.device
        for name, module in self.modules().items():
            module.load_state_dict({k: v.to(device) for k, v in train_state.module_state(tensors, name).items()})
        for name, opt in self.optimizers().items():
            opt.load_state_dict(train_state.unflatten_optimizer(name, tensors, meta[name]))
        self.load_objective_state(train_state.module_state(tensors, "objective"))
        self.step = int(meta["step"])
        train_state.load_rng(folder, self.accelerator.process_index)
        if self.accelerator.is_main_process:
            self.log(f"resumed from {folder} at step {self.step}")

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
