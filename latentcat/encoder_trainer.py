"""The encoder training loop: Accelerate (DDP across processes, mixed precision, gradient accumulation), the
frozen generator and the photos resident on the device, validation metrics and grids in TensorBoard, and
pickle-free checkpoints that resume exactly."""
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from encoder.training import EncoderObjective, EncoderTrainingConfig, synthetic_pairs
from generators import fingerprint
from generators.pixels import uint8_to_float
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network, metric_backbone_for
from inversion.metrics import reconstruction_metrics
from latentcat import train_state
from latentcat.checkpoints import read_state_dict
from latentcat.datasets import load_images, sample_real
from latentcat.encoder_files import load_encoder, save_encoder
from latentcat.errors import UserError, user_facing
from latentcat.generator_files import load_generator, require_wplus
from latentcat.images import image_grid, save_png
from latentcat.training_loop import RunConfig, TrainingLoop

VAL_IMAGES = 8  # real and synthetic each, in the fixed validation batch


@dataclass(frozen=True, kw_only=True)
class EncoderRunConfig(RunConfig):
    generator: str                     # the StyleGAN2 the encoder inverts
    model: EncoderConfig
    training: EncoderTrainingConfig
    perceptual: str = DEFAULT_PERCEPTUAL
    backbone_weights: str | None = None   # ImageNet weights for the trunk (torchvision state dict)
    init_encoder: str | None = None    # start from this trained encoder's weights (e.g. a one-pass one)
    val_every: int = 500               # steps between validation metrics and grids


@torch.no_grad()
def start_from(encoder: WPlusEncoder, trained: WPlusEncoder, path) -> None:
    """Copy a trained encoder's weights into a new one of the same trunk and heads; an iterative encoder's
    first convolution takes them for the photo's channels and keeps zeros for the reconstruction's, so it
    starts as the trained encoder and learns to use the rest."""
    same = dict(iterations=1, progressive=False)
    if dataclasses.replace(trained.config, **same) != dataclasses.replace(encoder.config, **same):
        raise UserError(f"--init-encoder is a {trained.config.backbone} {trained.config.head} encoder of another "
                        "shape than the one being trained (use the same --backbone, --head and --depth)", path)
    own = encoder.state_dict()
    for name, value in trained.state_dict().items():
        if name not in ("mean", "std", "active_ws"):  # the new encoder's own
            own[name][:, :value.shape[1]].copy_(value) if name == "stem.0.weight" else own[name].copy_(value)


class EncoderTrainer(TrainingLoop):
    description = "encoder"

    def __init__(self, cfg: EncoderRunConfig, resume: bool = False, log=print):
        super().__init__(cfg, log, gradient_accumulation_steps=cfg.grad_accum)
        acc = self.accelerator
        self.G = load_generator(cfg.generator, acc.device)
        require_wplus(self.G, cfg.generator, "an encoder")
        self.generator_fingerprint = fingerprint(self.G)
        if (cfg.model.resolution, cfg.model.num_ws, cfg.model.w_dim) != (self.G.resolution, self.G.num_ws,
                                                                         self.G.w_dim):
            raise UserError("the encoder config does not match the generator's resolution and w+ shape",
                            cfg.generator)
        backbone = read_state_dict(cfg.backbone_weights) if cfg.backbone_weights else None
        try:
            encoder = WPlusEncoder(cfg.model, backbone).to(acc.device)
        except ValueError as e:  # the backbone weights do not fit
            raise UserError(str(e), cfg.backbone_weights) from None
        if cfg.init_encoder:
            trained = load_encoder(cfg.init_encoder, self.G, self.generator_fingerprint, acc.device)
            start_from(encoder, trained, cfg.init_encoder)
        encoder.w_avg.copy_(self.G.w_avg)
        images = load_images(cfg.data, cfg.model.resolution, cfg.val_fraction,
                             log=log if acc.is_main_process else (lambda *_: None))
        self.data = images.train.to(acc.device)
        self.num_train = images.train.shape[0]
        val = images.val if images.val is not None and len(images.val) else images.train
        self.val_real = uint8_to_float(val[:VAL_IMAGES]).to(acc.device)
        self.val_fake = synthetic_pairs(self.G, VAL_IMAGES, 0.0)[0]  # drawn right after set_seed: fixed
        network = None
        if cfg.training.perceptual_weight > 0:
            network = user_facing(build_feature_network, cfg.perceptual, device=acc.device)
        self.metric = build_feature_network(metric_backbone_for(cfg.perceptual if network else None),
                                            device=acc.device)
        self.objective = EncoderObjective(self.G, cfg.training, network, cfg.model.iterations)
        optimizer = torch.optim.Adam(encoder.parameters(), lr=cfg.training.lr)
        self.encoder, self.optimizer = acc.prepare(encoder, optimizer)
        self.start(resume, {**cfg.to_dict(), "generator_fingerprint": self.generator_fingerprint})

    def render(self, codes: torch.Tensor) -> torch.Tensor:
        return self.G.synthesis(codes.float(), noise_mode="const")

    @property
    def unwrapped(self) -> WPlusEncoder:
        return self.accelerator.unwrap_model(self.encoder)

    def _unlock(self) -> None:
        every = self.cfg.training.progressive_every
        if self.cfg.model.progressive:
            self.unwrapped.unlock(1 + self.step // every if every else self.cfg.model.num_ws)

    def train_step(self) -> dict:
        cfg, acc = self.cfg, self.accelerator
        self._unlock()
        self.encoder.train()
        num_fake = self.objective.split(cfg.batch_size)
        logs = {}
        for _ in range(cfg.grad_accum):
            with acc.accumulate(self.encoder):
                real = sample_real(self.data, cfg.batch_size - num_fake)
                with acc.autocast():
                    loss, parts = self.objective.loss(self.encoder, real, num_fake)
                acc.backward(loss)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            for k, v in parts.items():
                logs[f"loss/{k}"] = logs.get(f"loss/{k}", 0) + v.float() / cfg.grad_accum
        train_state.average_buffers(acc, [self.unwrapped])  # BatchNorm statistics: the same on every replica
        self.step += 1
        return logs

    @property
    def evaluate_every(self) -> int:
        return self.cfg.val_every

    def describe(self) -> str:
        return (f"training a {self.cfg.model.backbone} {self.cfg.model.head} encoder for {self.cfg.generator} on "
                f"{self.num_train} photos ({self.objective.split(self.cfg.batch_size)} synthetic per micro-batch)")

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Metrics and a grid (photo | reconstruction) on the fixed validation batch; main process only."""
        if not self.accelerator.is_main_process:
            return {}
        E = self.unwrapped.eval()
        scalars = {}
        rows = []
        for name, images in (("real", self.val_real), ("synthetic", self.val_fake)):
            recon = self.render(E.encode(images, self.render).float())
            metrics = reconstruction_metrics(recon.cpu(), images.cpu(), self.metric)
            for key in ("mse", "lpips"):
                scalars[f"val_{name}/{key}"] = float(np.mean([m[key] for m in metrics]))
            rows += [img for pair in zip(images, recon) for img in pair]
        grid = image_grid(torch.stack(rows), nrow=4)
        save_png(self.out / "samples" / f"val-{self.step:07d}.png", grid)
        self.accelerator.log(scalars, step=self.step)
        writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
        writer.add_image("val/photo_reconstruction", np.asarray(grid), self.step, dataformats="HWC")
        return scalars

    def modules(self) -> dict:
        return {"E": self.unwrapped}

    def optimizers(self) -> dict:
        return {"opt": self.optimizer}

    def resume_meta(self) -> dict:
        return {**super().resume_meta(), "generator_fingerprint": self.generator_fingerprint}

    def check_resume(self, meta: dict, folder) -> None:
        super().check_resume(meta, folder)
        if meta.get("generator_fingerprint") != self.generator_fingerprint:
            raise UserError("checkpoint was trained for another generator", folder)

    def export(self) -> None:
        save_encoder(self.out / "encoder.safetensors", self.unwrapped, self.generator_fingerprint,
                     extra={"step": str(self.step)})
