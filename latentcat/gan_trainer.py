"""The GAN training loop: Accelerate for devices, processes and mixed precision; data resident on the device.

Data parallelism is NVlabs-style: every process holds full replicas and gradients are averaged
explicitly after each phase (DDP hooks do not support R1's double backward). Module buffers
(w_avg, BatchNorm statistics) are averaged too, so replicas stay identical.
"""
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from generators import build_discriminator, build_generator, generator_config_from_dict
from generators.training import GANTrainingConfig, build_objective, make_ema, update_ema
from latentcat import train_state
from latentcat.datasets import load_images
from latentcat.errors import UserError
from latentcat.generator_files import save_generator
from latentcat.images import image_grid, save_png, uint8_to_float
from latentcat.sampling import generate
from latentcat.training_loop import TrainingLoop, check_run_settings


@dataclass(frozen=True)
class GANRunConfig:
    """One training run. `batch_size` is per process and micro-step; the optimiser sees
    batch_size x processes x grad_accum images per step."""

    data: str
    out: str
    model: object                      # StyleGAN2Config or DCGANConfig
    training: GANTrainingConfig
    steps: int
    batch_size: int = 16
    grad_accum: int = 1
    mixed_precision: str = "no"        # no | bf16 | fp16
    seed: int = 0
    val_fraction: float = 0.05
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    channels_last: bool = False

    def __post_init__(self):
        check_run_settings(self, ("log_every", "sample_every", "checkpoint_every"))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = dataclasses.asdict(self.model)
        return d


def sample_real(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    """A random batch from the device-resident uint8 images, with random x-flips, in [-1, 1]."""
    idx = torch.randint(data.shape[0], (batch_size,), device=data.device)
    x = uint8_to_float(data[idx])
    flip = torch.rand(batch_size, 1, 1, 1, device=data.device) < 0.5
    return torch.where(flip, x.flip(3), x)


class GANTrainer(TrainingLoop):
    def __init__(self, cfg: GANRunConfig, resume: bool = False, log=print):
        self.cfg, self.log = cfg, log
        self.out = Path(cfg.out)
        # cpu=True where there is no GPU, so a multi-process launch falls back to gloo on the CPU.
        self.accelerator = Accelerator(mixed_precision=cfg.mixed_precision, log_with="tensorboard",
                                       project_dir=str(self.out), cpu=not torch.cuda.is_available())
        acc = self.accelerator
        set_seed(cfg.seed)  # same seed everywhere: identical initial replicas
        self.G = build_generator(cfg.model).to(acc.device)
        self.D = build_discriminator(cfg.model).to(acc.device)
        if cfg.channels_last:
            self.G, self.D = (m.to(memory_format=torch.channels_last) for m in (self.G, self.D))
        self.G_ema = make_ema(self.G)
        images = load_images(cfg.data, cfg.model.resolution, cfg.val_fraction,
                             log=log if acc.is_main_process else (lambda *_: None))
        self.data = images.train.to(acc.device)
        self.num_train = images.train.shape[0]
        t = cfg.training
        opt_g = torch.optim.Adam(self.G.parameters(), **t.adam_settings(t.pl_interval if t.pl_weight > 0 else 0))
        opt_d = torch.optim.Adam(self.D.parameters(), **t.adam_settings(t.r1_interval))
        self.opt_g, self.opt_d = acc.prepare(opt_g, opt_d)
        self.objective = build_objective(self.G, self.D, t, cfg.batch_size, reduce_mean=self._reduce_mean)
        self.fixed_z = torch.randn(16, self.G.z_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(acc.device)
        self.start(resume, cfg.to_dict())

    # --- data-parallel helpers -------------------------------------------------------------
    def _reduce_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.accelerator.reduce(x, reduction="mean") if self.accelerator.num_processes > 1 else x

    def _average_gradients(self, module: torch.nn.Module) -> None:
        params = [p for p in module.parameters() if p.grad is not None]
        if self.accelerator.num_processes == 1 or not params:
            return
        flat = self._reduce_mean(torch.cat([p.grad.flatten() for p in params]))
        torch.nan_to_num_(flat, nan=0.0, posinf=1e5, neginf=-1e5)
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad.copy_(g.view_as(p))

    # --- one step ------------------------------------------------------------------------
    def _phase(self, optimizer, module, loss_fn, logs: dict) -> None:
        """Accumulate gradients over micro-batches, average them across processes, take one step."""
        self.G.requires_grad_(module is self.G)
        self.D.requires_grad_(module is self.D)
        optimizer.zero_grad(set_to_none=True)
        for _ in range(self.cfg.grad_accum):
            with self.accelerator.autocast():
                loss, phase_logs = loss_fn()
            self.accelerator.backward(loss / self.cfg.grad_accum)
            for k, v in phase_logs.items():
                logs[k] = logs.get(k, 0) + v.float() / self.cfg.grad_accum
        self._average_gradients(module)
        optimizer.step()

    def train_step(self) -> dict:
        cfg, step, logs = self.cfg, self.step, {}
        batch = lambda: sample_real(self.data, cfg.batch_size)  # noqa: E731
        self._phase(self.opt_d, self.D, lambda: self.objective.discriminator_loss(batch(), step), logs)
        self._phase(self.opt_g, self.G, lambda: self.objective.generator_loss(cfg.batch_size, step), logs)
        train_state.average_buffers(self.accelerator, (self.G, self.D))
        images_per_step = cfg.batch_size * cfg.grad_accum * self.accelerator.num_processes
        self.step += 1
        update_ema(self.G_ema, self.G, cfg.training.ema_beta(images_per_step, self.step * images_per_step))
        return logs

    # --- what the shared loop needs ---------------------------------------------------------
    @property
    def evaluate_every(self) -> int:
        return self.cfg.sample_every

    def describe(self) -> str:
        return f"training {self.cfg.model.arch} at {self.cfg.model.resolution} px on {self.num_train} images"

    @torch.no_grad()
    def evaluate(self) -> None:
        """The fixed-z sample grid of the EMA generator, to samples/ and TensorBoard."""
        if not self.accelerator.is_main_process:
            return
        grid = image_grid(generate(self.G_ema, self.fixed_z, truncation=1.0))  # fixed noise: no RNG drawn
        save_png(self.out / "samples" / f"step-{self.step:07d}.png", grid)
        writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
        writer.add_image("samples/fixed_z", np.asarray(grid), self.step, dataformats="HWC")

    # --- checkpoints ---------------------------------------------------------------------
    def _models(self) -> dict:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def check_replicas(self) -> None:
        """Raise if data-parallel replicas have drifted apart (they must hold identical weights)."""
        train_state.check_replicas(self.accelerator, self._models().values(), self.step, self.log)

    def save(self) -> None:
        acc = self.accelerator
        self.check_replicas()
        train_state.save_rng(self.out, self.step, acc.process_index)
        acc.wait_for_everyone()
        if acc.is_main_process:
            tensors, meta = {}, {"step": self.step, "model": dataclasses.asdict(self.cfg.model)}
            for name, module in self._models().items():
                tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
            for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                opt_tensors, meta[name] = train_state.flatten_optimizer(name, opt.state_dict())
                tensors.update(opt_tensors)
            tensors.update({f"objective.{k}": v for k, v in self.objective.state_dict().items()})
            save_generator(self.out / "generator.safetensors", self.G_ema, extra={"step": str(self.step)})
            train_state.save_main_state(self.out, self.step, tensors, meta)
        acc.wait_for_everyone()

    def _load(self, folder: Path) -> None:
        tensors, meta = train_state.load_main_state(folder)
        stored = generator_config_from_dict(meta["model"])
        if stored != self.cfg.model:
            raise UserError(f"checkpoint was trained with {stored}, not {self.cfg.model}", folder)
        device = self.accelerator.device
        for name, module in self._models().items():
            prefix = name + "."
            module.load_state_dict({k[len(prefix):]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)})
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            opt.load_state_dict(train_state.unflatten_optimizer(name, tensors, meta[name]))
        self.objective.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items()
                                        if k.startswith("objective.")})
        self.step = int(meta["step"])
        train_state.load_rng(folder, self.accelerator.process_index)
        if self.accelerator.is_main_process:
            self.log(f"resumed from {folder} at step {self.step}")

