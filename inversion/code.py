"""A latent code as one value: the tensor, its space, its noise maps and the generator it belongs to.

Every job and edit passes Codes, so none of them re-derives the noise of a row or the space of a tensor.
Shapes: latent [N, z_dim] (z), [N, w_dim] (w) or [N, num_ws, w_dim] (w+); each noise map [N, 1, r, r].
"""
import dataclasses
from dataclasses import dataclass

import torch

from generators.protocol import SPACES


@dataclass(frozen=True)
class Code:
    latent: torch.Tensor
    space: str
    noise: tuple[torch.Tensor, ...] | None = None   # optimised noise maps; None: the generator's fixed ones
    generator: str | None = None                    # fingerprint of the generator the code belongs to

    def __post_init__(self):
        if self.space not in SPACES:
            raise ValueError(f"latent space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.noise is not None and any(n.shape[0] != len(self) for n in self.noise):
            raise ValueError("every noise map needs one row per latent")

    def __len__(self) -> int:
        return self.latent.shape[0]

    def __getitem__(self, rows) -> "Code":
        """Rows of the batch; an int keeps the batch dimension (a Code of one)."""
        if isinstance(rows, int):
            rows = slice(rows, rows + 1 if rows != -1 else None)
        return self._map(lambda t: t[rows])

    def _map(self, fn) -> "Code":
        noise = tuple(fn(n) for n in self.noise) if self.noise else None
        return dataclasses.replace(self, latent=fn(self.latent), noise=noise)

    def to(self, device) -> "Code":
        return self._map(lambda t: t.to(device))

    def detach(self) -> "Code":
        """A copy off the autograd graph, on the CPU (what results and files hold)."""
        return self._map(lambda t: t.detach().cpu())

    def noise_list(self) -> list[torch.Tensor] | None:
        return list(self.noise) if self.noise else None

    def codes(self, G) -> torch.Tensor:
        """What G renders for these latents."""
        return G.codes(self.latent, self.space)

    def render(self, G) -> torch.Tensor:
        """Images [N, 3, R, R] in about [-1, 1], with this code's noise maps if it has them."""
        return G.render(self.codes(G), self.noise_list())

    def as_wplus(self, G) -> "Code":
        """The same images' code in w+ (z -> w -> w+ is exact), noise kept."""
        return self if self.space == "w+" else dataclasses.replace(self, latent=self.codes(G), space="w+")

    @staticmethod
    def cat(codes: list["Code"]) -> "Code":
        """One batch of several Codes of one space and generator (noise kept only where all have it)."""
        first = codes[0]
        if any(c.space != first.space or c.generator != first.generator for c in codes):
            raise ValueError("only codes of one space and one generator join into a batch")
        noise = None
        if all(c.noise for c in codes):
            noise = tuple(torch.cat(maps) for maps in zip(*(c.noise for c in codes)))
        return Code(torch.cat([c.latent for c in codes]), first.space, noise, first.generator)

    def to_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """Row 0 as named tensors and string metadata, for a file (see `from_tensors`)."""
        tensors = {"latent": self.latent[0].detach().float().cpu()}
        for i, n in enumerate(self.noise or ()):
            tensors[f"noise.{i:02d}"] = n[0].detach().float().cpu()
        return tensors, {"space": self.space, "generator_fingerprint": self.generator or ""}

    @staticmethod
    def from_tensors(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> "Code":
        noise = tuple(tensors[k][None] for k in sorted(tensors) if k.startswith("noise.")) or None
        return Code(tensors["latent"][None], meta["space"], noise, meta.get("generator_fingerprint") or None)
