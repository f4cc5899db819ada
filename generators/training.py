"""What one GAN training step computes, with no I/O: the G and D phase losses, lazy regularisation, EMA.

The loop around it (data, Accelerate, checkpoints, logs) is `latentcat/gan_trainer.py`.
Each phase returns (loss, {name: detached tensor}) so logging needs no host sync.
"""
import copy
import random
from dataclasses import dataclass, field

import torch
from torch import nn

from generators.augment import diff_augment
from generators.config import StyleGAN2Config
from generators.losses import (d_least_squares_loss, d_logistic_loss, g_least_squares_loss, g_nonsaturating_loss,
                               path_length_penalty, r1_penalty)
from generators.stylegan2 import StyleGAN2Generator, mix_styles


@dataclass(frozen=True)
class GANTrainingConfig:
    """Optimisation hyperparameters shared by both architectures (StyleGAN2-only fields are ignored by DCGAN)."""

    lr: float = 0.0025
    g_lr: float | None = None          # None: lr; lower for a fine-tune whose fresh D must keep up (TTUR)
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float | None = None      # None: NVlabs' heuristic 0.0002 * R^2 / batch
    r1_interval: int = 16              # lazy R1 every k steps (0 disables R1)
    pl_weight: float = 0.0             # path-length regularisation weight (0 disables it)
    pl_interval: int = 4
    style_mixing_prob: float = 0.9
    w_avg_beta: float = 0.995
    ema_kimg: float = 10.0             # EMA half-life in thousands of images
    ema_rampup: float = 0.05           # ...but at most this share of the images seen so far (NVlabs)
    augment: tuple[str, ...] = field(default=("color", "translation", "cutout"))

    def __post_init__(self):
        if self.lr <= 0 or (self.g_lr is not None and self.g_lr <= 0):
            raise ValueError(f"learning rates must be positive, got {self.lr} and {self.g_lr}")
        if not 0 <= self.style_mixing_prob <= 1:
            raise ValueError(f"style_mixing_prob must be in [0, 1], got {self.style_mixing_prob}")
        if self.r1_interval < 0 or self.pl_interval < 1:
            raise ValueError("r1_interval must be >= 0 and pl_interval >= 1")

    def r1_gamma_for(self, resolution: int, batch_size: int) -> float:
        return self.r1_gamma if self.r1_gamma is not None else 0.0002 * resolution ** 2 / batch_size

    def ema_beta(self, images_per_step: int, images_seen: int) -> float:
        half_life = self.ema_kimg * 1000
        if self.ema_rampup > 0:
            half_life = min(half_life, images_seen * self.ema_rampup)
        return 0.5 ** (images_per_step / max(half_life, 1e-8))

    def adam_settings(self, reg_interval: int, generator: bool = False) -> dict:
        """Adam lr and betas corrected for lazy regularisation (StyleGAN2 appendix B)."""
        ratio = reg_interval / (reg_interval + 1) if reg_interval > 0 else 1.0
        lr = self.g_lr if generator and self.g_lr is not None else self.lr
        return {"lr": lr * ratio, "betas": tuple(b ** ratio for b in self.betas)}


# Each family's optimiser settings: StyleGAN2's (NVlabs), and the course's DCGAN (Radford et al.'s Adam).
ARCH_TRAINING = {"stylegan2": GANTrainingConfig(), "dcgan": GANTrainingConfig(lr=0.0002, betas=(0.5, 0.999))}


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * model for parameters; buffers (w_avg, noise) are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p.detach(), 1 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


def make_ema(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).eval().requires_grad_(False)


class GANObjective:
    """Shared parts of an objective: the models, D seeing augmented images, no extra state by default."""

    def __init__(self, G: nn.Module, D: nn.Module, config: GANTrainingConfig):
        self.G, self.D, self.config = G, D, config

    def _d(self, images: torch.Tensor) -> torch.Tensor:
        return self.D(diff_augment(images, self.config.augment))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        pass


class StyleGAN2Objective(GANObjective):
    """Losses of the StyleGAN2 phases: G (non-saturating + path length), D (logistic + lazy R1).

    `reduce_mean` averages a tensor over data-parallel processes (identity in one process), so
    pl_mean stays identical on every replica. (Module buffers such as w_avg are averaged by the loop.)
    """

    def __init__(self, G: StyleGAN2Generator, D: nn.Module, config: GANTrainingConfig, batch_size: int,
                 reduce_mean=identity):
        super().__init__(G, D, config)
        self.reduce_mean = reduce_mean
        self.r1_gamma = config.r1_gamma_for(G.resolution, batch_size)
        self.pl_mean = torch.zeros([], device=G.w_avg.device)

    def _mapped_ws(self, batch_size: int, update_w_avg: bool) -> torch.Tensor:
        """Sample z, map to w+, with style-mixing regularisation; track w_avg."""
        G, device = self.G, self.G.w_avg.device
        w = G.mapping(torch.randn(batch_size, G.z_dim, device=device))
        if update_w_avg:
            with torch.no_grad():
                G.mapping.w_avg.copy_(w.detach().float().mean(0).lerp(G.mapping.w_avg, self.config.w_avg_beta))
        ws = G.broadcast(w)
        if self.config.style_mixing_prob > 0 and random.random() < self.config.style_mixing_prob:
            crossover = random.randrange(1, G.num_ws)
            ws = mix_styles(ws, G.broadcast(G.mapping(torch.randn(batch_size, G.z_dim, device=device))), crossover)
        return ws

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"pl_mean": self.pl_mean}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.pl_mean = state["pl_mean"].to(self.pl_mean.device)

    def generator_loss(self, batch_size: int, step: int):
        ws = self._mapped_ws(batch_size, update_w_avg=True)
        loss = g_nonsaturating_loss(self._d(self.G.synthesis(ws)))
        logs = {"loss/G": loss.detach()}
        cfg = self.config
        if cfg.pl_weight > 0 and step % cfg.pl_interval == 0:
            pl_ws = self._mapped_ws(max(batch_size // 2, 1), update_w_avg=False)
            penalty, mean_length = path_length_penalty(self.G.synthesis(pl_ws), pl_ws, self.pl_mean)
            self.pl_mean = self.pl_mean.lerp(self.reduce_mean(mean_length), 0.01)
            loss = loss + penalty.mean() * cfg.pl_weight * cfg.pl_interval
            logs["loss/path_length"] = penalty.detach().mean()
        return loss, logs

    def discriminator_loss(self, real: torch.Tensor, step: int):
        with torch.no_grad():
            fake = self.G.synthesis(self._mapped_ws(real.shape[0], update_w_avg=False))
        cfg = self.config
        do_r1 = cfg.r1_interval > 0 and self.r1_gamma > 0 and step % cfg.r1_interval == 0
        real = real.detach().requires_grad_(do_r1)
        real_logits = self._d(real)
        loss = d_logistic_loss(real_logits, self._d(fake))
        logs = {"loss/D": loss.detach(), "D/real": real_logits.detach().mean()}
        if do_r1:
            penalty = r1_penalty(real_logits, real)
            loss = loss + penalty.mean() * (self.r1_gamma / 2) * cfg.r1_interval
            logs["loss/R1"] = penalty.detach().mean()
        return loss, logs


class DCGANObjective(GANObjective):
    """The course's vanilla GAN: least-squares losses, DiffAugment on what D sees."""

    def __init__(self, G: nn.Module, D: nn.Module, config: GANTrainingConfig, batch_size: int,
                 reduce_mean=identity):
        super().__init__(G, D, config)
        self.device = next(G.parameters()).device

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, device=self.device)

    def generator_loss(self, batch_size: int, step: int):
        loss = g_least_squares_loss(self._d(self.G(self._z(batch_size))))
        return loss, {"loss/G": loss.detach()}

    def discriminator_loss(self, real: torch.Tensor, step: int):
        with torch.no_grad():
            fake = self.G(self._z(real.shape[0]))
        real_scores = self._d(real)
        loss = d_least_squares_loss(real_scores, self._d(fake))
        return loss, {"loss/D": loss.detach(), "D/real": real_scores.detach().mean()}


def build_objective(G, D, config: GANTrainingConfig, batch_size: int, reduce_mean=identity):
    cls = StyleGAN2Objective if isinstance(G.config, StyleGAN2Config) else DCGANObjective
    return cls(G, D, config, batch_size, reduce_mean)
