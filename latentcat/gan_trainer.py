"""The GAN training loop: Accelerate for devices, processes and mixed precision; data resident on the device.

Data parallelism is NVlabs-style: every process holds full replicas and gradients are averaged
explicitly after each phase (DDP hooks do not support R1's double backward). Module buffers
(w_avg, BatchNorm statistics) are averaged too, so replicas stay identical.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from generators import build_discriminator, build_generator, sample_images
from generators.projected import ProjectedDiscriminator
from generators.training import GANTrainingConfig, build_objective, make_ema, update_ema
from latentcat import train_state
from latentcat.datasets import load_images, sample_real
from latentcat.effnet import EffNetLite0Trunk
from latentcat.checkpoints import load_weights
from latentcat.errors import UserError
from latentcat.gan_init import InitWeights, read_init
from latentcat.generator_files import save_generator
from latentcat.images import image_grid, save_png
from latentcat.training_loop import RunConfig, TrainingLoop

DISCRIMINATORS = ("own", "projected")


@dataclass(frozen=True, kw_only=True)
class GANRunConfig(RunConfig):
    model: object                      # StyleGAN2Config or DCGANConfig
    training: GANTrainingConfig
    sample_every: int = 500            # steps between sample grids
    channels_last: bool = False        # channels_last memory format (GPU)
    init_from: str | None = None       # fine-tune: start from this generator file or run folder
    freeze_d: int = 0                  # FreezeD: D's first (highest-resolution) stages kept as they start
    d_warmup: int = 0                  # steps that train D alone first (a fresh D must learn before G follows it)
    discriminator: str = "own"         # own: the architecture's D; projected: frozen EfficientNet-Lite0 + heads
    projected_input: int = 128         # the side the projected D's trunk reads the images at

    def __post_init__(self):
        super().__post_init__()
        if self.freeze_d < 0 or self.d_warmup < 0:
            raise ValueError("freeze_d and d_warmup must be >= 0")
        if self.discriminator not in DISCRIMINATORS:
            raise ValueError(f"discriminator must be one of {', '.join(DISCRIMINATORS)}, got {self.discriminator!r}")
        if self.discriminator == "projected" and self.freeze_d:
            raise ValueError("--freeze-d applies to the architecture's own discriminator; the projected one's "
                             "trunk is frozen already")
        if not 32 <= self.projected_input <= 512:
            raise ValueError(f"projected_input must be in [32, 512], got {self.projected_input}")


class GANTrainer(TrainingLoop):
    def __init__(self, cfg: GANRunConfig, resume: bool = False, log=print, init: InitWeights | None = None):
        """`init`: cfg.init_from's weights where the caller has read them already."""
        super().__init__(cfg, log)
        acc = self.accelerator
        self.G = build_generator(cfg.model).to(acc.device)
        self.D = self._build_discriminator().to(acc.device)
        if cfg.channels_last:
            self.G, self.D = (m.to(memory_format=torch.channels_last) for m in (self.G, self.D))
        init = init or (read_init(cfg.init_from) if cfg.init_from else None)
        if init is not None:
            self._start_from(init, log)
        self.parent = init.fingerprint if init is not None else None
        self.G_ema = make_ema(self.G)
        if init is not None:
            self.G_ema.load_state_dict(init.G_ema)
        self.frozen_d = self._freeze_d(cfg.freeze_d) + (
            self.D.frozen_parameters() if isinstance(self.D, ProjectedDiscriminator) else [])
        images = load_images(cfg.data, cfg.model.resolution, cfg.val_fraction,
                             log=log if acc.is_main_process else (lambda *_: None))
        self.data = images.train.to(acc.device)
        self.num_train = images.train.shape[0]
        t = cfg.training
        opt_g = torch.optim.Adam(self.G.parameters(),
                                 **t.adam_settings(t.pl_interval if t.pl_weight > 0 else 0, generator=True))
        frozen = {id(p) for p in self.frozen_d}
        opt_d = torch.optim.Adam([p for p in self.D.parameters() if id(p) not in frozen],
                                 **t.adam_settings(t.r1_interval))
        self.opt_g, self.opt_d = acc.prepare(opt_g, opt_d)
        self.objective = build_objective(self.G, self.D, t, cfg.batch_size, reduce_mean=self._reduce_mean)
        self.fixed_z = torch.randn(16, self.G.z_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(acc.device)
        self.start(resume, cfg.to_dict())

    # --- fine-tuning ----------------------------------------------------------------------
    def _build_discriminator(self) -> torch.nn.Module:
        if self.cfg.discriminator == "projected":
            return ProjectedDiscriminator(EffNetLite0Trunk(self.cfg.projected_input))
        return build_discriminator(self.cfg.model)

    def _start_from(self, init: InitWeights, log) -> None:
        """Load the source's weights into G, and into D where it has one."""
        path = self.cfg.init_from
        if init.config != self.cfg.model:
            raise UserError(f"is a {init.config} generator, but the run is configured as {self.cfg.model}", path)
        self.G.load_state_dict(init.G)
        same_d = init.D is not None and init.discriminator == self.cfg.discriminator
        if same_d:
            load_weights(self.D, init.D, f"the {self.cfg.discriminator} discriminator", path)
        if self.accelerator.is_main_process:
            log(f"starting from {path} (generator {init.fingerprint}); " + (
                "its discriminator too" if same_d else "it holds no discriminator, so D starts fresh" if init.D is None
                else f"its discriminator is of the {init.discriminator} kind, so the {self.cfg.discriminator} D "
                     "starts fresh"))

    def _freeze_d(self, stages: int) -> list[torch.nn.Parameter]:
        """FreezeD (Mo et al. 2020): D's first `stages` keep their starting weights."""
        if stages == 0:
            return []
        available = self.D.stages()
        if stages >= len(available):
            raise UserError(f"--freeze-d {stages} would freeze the whole discriminator: it has {len(available)} "
                            f"stages, so at most {len(available) - 1}")
        return [p for stage in available[:stages] for module in stage for p in module.parameters()]

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
        for p in self.frozen_d:
            p.requires_grad_(False)
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
        if step >= cfg.d_warmup:
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
        grid = image_grid(sample_images(self.G_ema, self.fixed_z))  # fixed noise: no RNG drawn
        save_png(self.out / "samples" / f"step-{self.step:07d}.png", grid)
        writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
        writer.add_image("samples/fixed_z", np.asarray(grid), self.step, dataformats="HWC")

    def resume_meta(self) -> dict:
        return {**super().resume_meta(), "discriminator": self.cfg.discriminator}

    def check_resume(self, meta: dict, folder: Path) -> None:
        super().check_resume(meta, folder)
        if meta.get("discriminator", "own") != self.cfg.discriminator:
            raise UserError(f"checkpoint was trained with the {meta.get('discriminator', 'own')} discriminator, "
                            f"not the {self.cfg.discriminator} one asked for", folder)

    def modules(self) -> dict:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self) -> dict:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def objective_state(self) -> dict[str, torch.Tensor]:
        return self.objective.state_dict()

    def load_objective_state(self, state: dict[str, torch.Tensor]) -> None:
        self.objective.load_state_dict(state)

    def export(self) -> None:
        extra = {"step": str(self.step)}
        if self.parent:
            extra.update(fine_tuned_from=self.parent, init_from=Path(self.cfg.init_from).name)
        save_generator(self.out / "generator.safetensors", self.G_ema, extra=extra)
