"""Generator checkpoints: save the (EMA) generator with its config; load any latentcat generator file."""
import torch

from generators import build_generator, generator_config_from_dict
from inversion.latents import is_stylegan
from latentcat.checkpoints import fingerprint, read_model, save_model
from latentcat.errors import UserError

KIND = "generator"


def save_generator(path, G, dtype: torch.dtype | None = None, extra: dict[str, str] | None = None) -> None:
    save_model(path, G, KIND, G.config, dtype=dtype, extra={"fingerprint": fingerprint(G), **(extra or {})})


def require_stylegan(G, path, what: str) -> None:
    """w+ tools (encoders, style mixing) need a StyleGAN2: a DCGAN has only z."""
    if not is_stylegan(G):
        raise UserError(f"{what} works on w+: it needs a StyleGAN2 generator, not a DCGAN", path)


def load_generator(path, device="cpu"):
    """The generator stored in `path`, in fp32 eval mode on `device` (a one-line UserError if unusable)."""
    G, _ = read_model(path, KIND, generator_config_from_dict, build_generator)
    return G.to(device).requires_grad_(False)
