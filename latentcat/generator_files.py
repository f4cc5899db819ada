"""Generator checkpoints: save the (EMA) generator with its config; load any latentcat generator file, or an
NVlabs .pkl / rosinality .pt converted at the door (`latentcat.foreign`), so no caller knows where it came from."""
import dataclasses

import torch
from safetensors import safe_open

from generators import build_generator, fingerprint, generator_config_from_dict
from latentcat import foreign
from latentcat.checkpoints import read_model, save_model
from latentcat.errors import UserError
from latentcat.tuned_files import PARENT, is_tuned_file, load_tuned

KIND = "generator"


def save_generator(path, G, dtype: torch.dtype | None = None, extra: dict[str, str] | None = None) -> None:
    save_model(path, G, KIND, G.config, dtype=dtype, extra={"fingerprint": fingerprint(G), **(extra or {})})


def require_wplus(G, path, what: str) -> None:
    """w+ tools (encoders, style mixing) need a generator with a w+ space (StyleGAN2), not a z-only DCGAN."""
    if "w+" not in G.latent_spaces:
        raise UserError(f"{what} works on w+: it needs a StyleGAN2 generator, not a {G.config.arch}", path)


def load_generator(path, device="cpu", log=print):
    """The generator stored in `path`, in fp32 eval mode on `device` (a one-line UserError if unusable). A tuned
    file is loaded with its parent; a foreign one is converted in memory, with a notice suggesting `train.py
    import` to convert it once."""
    if is_tuned_file(path):
        G = load_tuned(path, load_generator)
    elif foreign.is_foreign(path):
        imported = foreign.import_generator(path)
        log(f"note: {path}: {imported.source_format} generator converted in memory; `python train.py import "
            f"{path} --out GEN.safetensors` converts it once for reuse")
        for note in imported.notes:
            log(f"note: {note}")
        G = imported.G
    else:
        G, _ = read_model(path, KIND, generator_config_from_dict, build_generator)
    return G.to(device).requires_grad_(False)


def generator_parent(path) -> str | None:
    """The fingerprint of the generator the file at `path` was fine-tuned (`train.py generator --init-from`) or
    tuned (`invert --tune-generator`) from; None for any other file."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # not a safetensors file (a foreign .pkl/.pt has no parent), or unreadable: loading says why
        return None
    return meta.get("fine_tuned_from") or meta.get(PARENT)


def describe_generator(path, G) -> dict:
    """What summary.json says about the generator a run used."""
    return {"path": str(path), "arch": G.config.arch, "resolution": G.resolution,
            "fingerprint": fingerprint(G), "config": dataclasses.asdict(G.config)}
