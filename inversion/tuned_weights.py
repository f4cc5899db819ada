"""What generator tuning changes in a generator, and how a saved change becomes weights again.

Two parameterisations, each with one row of changes per tuned generator (`rows`), rendering a batch whose N
samples hold N / rows consecutive samples of each row:
- low rank (LoRA, Hu et al. 2021; the default for StyleGAN2): each demodulated 3x3 conv of the tuned blocks
  convolves with W + up @ down, of rank r, applied as a thin second convolution beside the shared one
  (`generators.layers.LowRankChange`): no gradient of the full weights, and a photo's file holds the factors
  alone (rank 8: 0.37 MB for the shipped 64 px generator);
- dense: every parameter of the tuned blocks, one full copy per row, rendered with torch.func (vmap over rows):
  any generator, the DCGAN included; a photo's file holds the change of every tuned tensor (12.5 MB for the
  shipped generator).
Both end as a `Tuned` per row, rounded to fp16, from which `apply_tuned` rebuilds the tuned weights bit for bit
(what tuning's final render used, what a tuned file loads as).
"""
import copy
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, vmap

from generators.layers import LowRankChange, ModulatedConv2d


@dataclass(frozen=True)
class Tuned:
    """What tuning did to a generator: its parent's fingerprint, the fp16 change of each densely tuned tensor,
    and the fp16 factors (up [out, r], down [r, in, k, k]) of each low-rank tuned conv weight. Tuned generators
    carry it as `G.tuned`."""
    parent: str
    changes: dict[str, torch.Tensor] = field(default_factory=dict)
    low_rank: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


def low_rank_product(up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
    """up [out, r] @ down [r, ...] as fp32, the same bits on every machine and thread count: products of fp16
    values are exact in float64, summed rank by rank in a fixed order (no matmul, whose summation order depends
    on the library and the threads), rounded to fp32 once."""
    total = torch.zeros(up.shape[0], *down.shape[1:], dtype=torch.float64, device=up.device)
    for k in range(up.shape[1]):
        total += up[:, k].double().reshape(-1, *[1] * (down.ndim - 1)) * down[k].double()
    return total.float()


@torch.no_grad()
def apply_tuned(G: nn.Module, tuned: Tuned) -> nn.Module:
    """G's weights become its tuned weights (parent + change, in fp32); G carries `tuned` from then on."""
    params = dict(G.named_parameters())
    for name, change in tuned.changes.items():
        params[name].add_(change.to(params[name].device).float())
    for name, (up, down) in tuned.low_rank.items():
        params[name].add_(low_rank_product(up.to(params[name].device), down.to(params[name].device)))
    G.tuned = tuned
    return G


def low_rank_names(G: nn.Module, names: list[str]) -> list[str]:
    """Which of `names` are weights of demodulated modulated convs (what low-rank tuning changes)."""
    def is_conv_weight(name: str) -> bool:
        module, _, leaf = name.rpartition(".")
        layer = G.get_submodule(module) if module else None
        return leaf == "weight" and isinstance(layer, ModulatedConv2d) and layer.demodulate
    return [name for name in names if is_conv_weight(name)]


class _Renderer(nn.Module):
    """G.render as a module's forward, so torch.func can call it with other weights."""

    def __init__(self, G):
        super().__init__()
        self.G = G

    def forward(self, latent, space: str, noise):
        return self.G.render(self.G.codes(latent, space), noise)


class DenseRows:
    """Every parameter of the tuned blocks (`blocks`: names per block, coarse to fine), one copy per row."""

    def __init__(self, G: nn.Module, blocks: list[list[str]], rows: int):
        self.G, self.blocks, self.renderer = G, blocks, _Renderer(G)
        parent = dict(G.named_parameters())
        self.parent = {name: parent[name] for block in blocks for name in block}
        self.weights = {name: p.detach()[None].repeat(rows, *[1] * p.ndim).requires_grad_(True)
                        for name, p in self.parent.items()}

    def params(self) -> list[torch.Tensor]:
        return list(self.weights.values())

    def render(self, latent: torch.Tensor, space: str, noise, unlocked: int) -> torch.Tensor:
        """latent [rows, P, ...] (noise maps [rows, P, ...] or None) -> images [rows * P, 3, R, R]; only the first
        `unlocked` blocks carry gradients."""
        moving = {name for block in self.blocks[:unlocked] for name in block}
        weights = {name: w if name in moving else w.detach() for name, w in self.weights.items()}

        def one(row_weights, row_latent, row_noise):
            return functional_call(self.renderer, {f"G.{k}": v for k, v in row_weights.items()},
                                   (row_latent, space, row_noise))
        rows_noise = [n.reshape(*latent.shape[:2], *n.shape[1:]) for n in noise] if noise else None
        return vmap(one, in_dims=(0, 0, 0 if rows_noise else None))(weights, latent, rows_noise).flatten(0, 1)

    @torch.no_grad()
    def rounded(self, row: int, parent_fingerprint: str) -> Tuned:
        """Row `row`'s change, rounded to fp16 (its tensors alone, not views of the whole batch's)."""
        changes = {name: (w[row] - self.parent[name]).half().cpu().clone() for name, w in self.weights.items()}
        return Tuned(parent_fingerprint, changes={name: c for name, c in changes.items() if c.any()})


class LowRankRows:
    """A change of rank `rank` per row to each conv weight named in `blocks` (names per block, coarse to fine).

    up starts at zero (the tuned generator starts as its parent) and down at a seeded random projection of unit
    gain, the same for every row, so a photo's result does not depend on its batch mates."""

    def __init__(self, G: nn.Module, blocks: list[list[str]], rows: int, rank: int, seed: int):
        self.G = copy.deepcopy(G).requires_grad_(False)  # its convs hold the changes; the caller's G stays as it is
        self.blocks = blocks
        generator = torch.Generator().manual_seed(seed)
        self.factors = {}
        for block in blocks:
            for name in block:
                weight = G.get_parameter(name)
                down = (torch.randn(rank, *weight.shape[1:], generator=generator) / weight[0].numel() ** 0.5)
                self.factors[name] = (weight.new_zeros(rows, weight.shape[0], rank).requires_grad_(True),
                                      down.to(weight.device)[None].repeat(rows, *[1] * down.ndim).requires_grad_(True))

    def params(self) -> list[torch.Tensor]:
        return [f for pair in self.factors.values() for f in pair]

    def render(self, latent: torch.Tensor, space: str, noise, unlocked: int) -> torch.Tensor:
        """As DenseRows.render."""
        moving = {name for block in self.blocks[:unlocked] for name in block}
        for name, (up, down) in self.factors.items():
            held = name not in moving
            self.G.get_submodule(name.rpartition(".")[0]).change = LowRankChange(
                up.detach() if held else up, down.detach() if held else down)
        flat = latent.flatten(0, 1)
        return self.G.render(self.G.codes(flat, space), noise)

    @torch.no_grad()
    def rounded(self, row: int, parent_fingerprint: str) -> Tuned:
        """Row `row`'s factors, rounded to fp16 (its tensors alone)."""
        return Tuned(parent_fingerprint, low_rank={
            name: (up[row].half().cpu().clone(), down[row].half().cpu().clone())
            for name, (up, down) in self.factors.items() if up[row].any()})
