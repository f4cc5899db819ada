"""Where a fine-tune starts (`train.py generator --init-from`): an existing generator's weights, and its
discriminator where the source has one (a run folder's checkpoint does; a shipped or exported generator file
holds the EMA generator alone, so D then starts fresh).

Transfer learning of this kind (NVlabs' `--resume`, FreezeD, few-shot adaptation) learns a small set such as
one cat's 204 photos in hours instead of the days a generator takes from scratch.
"""
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from generators import build_discriminator, build_generator, fingerprint, generator_config_from_dict
from latentcat import train_state
from latentcat.checkpoints import load_weights
from latentcat.errors import UserError
from latentcat.generator_files import load_generator


@dataclass(frozen=True)
class InitWeights:
    config: object                       # the source's architecture, which the fine-tune keeps
    G: dict[str, torch.Tensor]           # the trained generator (a file's EMA generator where it has no other)
    G_ema: dict[str, torch.Tensor]
    D: dict[str, torch.Tensor] | None    # None: the source has no discriminator
    fingerprint: str                     # the source EMA generator's identity: the fine-tune's parent
    discriminator: str = "own"           # which kind D is (GANRunConfig.discriminator)


def _from_run(path: Path) -> InitWeights:
    folder = path if (path / "state.safetensors").is_file() else train_state.latest_checkpoint(path)
    if folder is None:
        raise UserError("is a folder without a training checkpoint (checkpoints/latest.json) to start from", path)
    tensors, meta = train_state.load_main_state(folder)
    try:
        config = generator_config_from_dict(dict(meta["model"]))
    except (KeyError, ValueError, TypeError) as e:
        raise UserError(f"is not a generator training checkpoint ({e})", folder) from None
    parts = {name: train_state.module_state(tensors, name) for name in ("G", "D", "G_ema")}
    G_ema = load_weights(build_generator(config), parts["G_ema"], "its generator config", folder)
    load_weights(build_generator(config), parts["G"], "its generator config", folder)
    kind = meta.get("discriminator", "own")
    if kind == "own":  # a projected D is checked where one is built, with its trunk
        load_weights(build_discriminator(config), parts["D"], "its discriminator config", folder)
    return InitWeights(config, parts["G"], parts["G_ema"], parts["D"], fingerprint(G_ema), kind)


def read_init(path) -> InitWeights:
    """The weights to start from: a run folder (or one checkpoint folder of it) gives G, D and G_ema; any
    generator file `load_generator` reads (latentcat, NVlabs, rosinality) gives G = G_ema and no D."""
    path = Path(path)
    if path.is_dir():
        return _from_run(path)
    G = load_generator(path)
    state = {k: v.clone() for k, v in G.state_dict().items()}
    return InitWeights(G.config, state, state, None, fingerprint(G))


def check_architecture(init: InitWeights, requested, path) -> None:
    """A fine-tune keeps its source's architecture: refuse a requested one that differs, in one line."""
    if requested is not None and requested != init.config:
        theirs, ours = dataclasses.asdict(init.config), dataclasses.asdict(requested)
        differ = ", ".join(f"{k} {theirs.get(k)} (asked {ours.get(k)})" for k in sorted(set(theirs) | set(ours))
                           if theirs.get(k) != ours.get(k))
        raise UserError(f"is a {init.config.arch} generator whose architecture differs from the one asked for: "
                        f"{differ}; drop --arch/--preset/--resolution/--channel-max to fine-tune it as it is", path)
