"""Generators from other projects' files, converted at the door into latentcat's own StyleGAN2.

One module per format (`nvlabs`: stylegan2-ada-pytorch pickles; `rosinality`: stylegan2-pytorch checkpoints),
each returning a validated config and weights renamed to latentcat's layers. Nothing here runs code from a file:
pickles go through an allow-list (`safe_pickle`), checkpoints through torch's weights-only loader. The rest of
latentcat only ever sees the `StyleGAN2Generator` this builds.
"""
from dataclasses import dataclass, field
from pathlib import Path

import torch

from generators import StyleGAN2Generator
from latentcat.checkpoints import load_weights
from latentcat.foreign import nvlabs, rosinality

READERS = {".pkl": nvlabs, ".pt": rosinality, ".pth": rosinality}
W_AVG_SAMPLES = 10_000  # z mapped to estimate w_avg where a file has none
W_AVG_SEED = 0


@dataclass
class Imported:
    """A converted generator and what the conversion found."""

    G: StyleGAN2Generator
    source_format: str
    discriminator: bool                 # the file also held a discriminator (not converted)
    notes: list[str] = field(default_factory=list)
    w_avg_source: str = "stored"        # "stored", or how it was estimated

    def describe(self) -> dict:
        c = self.G.config
        return {"format": self.source_format, "resolution": c.resolution, "z_dim": c.z_dim, "w_dim": c.w_dim,
                "num_ws": c.num_ws, "mapping_layers": c.mapping_layers,
                "parameters": sum(p.numel() for p in self.G.parameters()), "discriminator": self.discriminator}


def is_foreign(path) -> bool:
    return Path(path).suffix.lower() in READERS


@torch.no_grad()
def estimated_w_avg(G: StyleGAN2Generator) -> torch.Tensor:
    """The mean of W_AVG_SAMPLES mapped z (seeded): rosinality's `mean_latent`, repeatably."""
    z = torch.randn(W_AVG_SAMPLES, G.z_dim, generator=torch.Generator().manual_seed(W_AVG_SEED))
    return torch.cat([G.mapping(chunk) for chunk in z.split(1000)]).mean(dim=0)


def import_generator(path) -> Imported:
    """The generator in an NVlabs .pkl or rosinality .pt/.pth file as a latentcat StyleGAN2 in fp32 eval mode
    (a one-line UserError for anything unsafe, unsupported or corrupt)."""
    reader = READERS[Path(path).suffix.lower()]
    config, weights, facts, notes = reader.read(path)  # the config is validated before anything is built
    estimate = "mapping.w_avg" not in weights
    if estimate:
        weights["mapping.w_avg"] = torch.zeros(config.w_dim)
    G = load_weights(StyleGAN2Generator(config), weights, f"a {reader.FORMAT} StyleGAN2", path)
    imported = Imported(G.requires_grad_(False), reader.FORMAT, facts["discriminator"], notes)
    if estimate:
        G.mapping.w_avg.copy_(estimated_w_avg(G))
        imported.w_avg_source = f"mean of {W_AVG_SAMPLES} mapped z (seed {W_AVG_SEED}); the file has none"
        notes.append(f"w_avg: the file has none, so it is the {imported.w_avg_source.split(';')[0]}")
    return imported
