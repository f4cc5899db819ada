"""Encoder files: weights + config + the identity of the generator they were trained for.

An encoder predicts codes for one exact generator, so loading checks the generator's fingerprint and
resolution, and refuses a mismatch with a one-line error.
"""
import torch

from encoder.config import encoder_config_from_dict
from encoder.model import WPlusEncoder
from latentcat.checkpoints import read_model, save_model
from latentcat.errors import UserError

KIND = "encoder"


def save_encoder(path, E, generator_fingerprint: str, dtype: torch.dtype | None = None,
                 extra: dict[str, str] | None = None) -> None:
    save_model(path, E, KIND, E.config, dtype=dtype,
               extra={"generator_fingerprint": generator_fingerprint, **(extra or {})})


def read_encoder(path) -> tuple[WPlusEncoder, dict]:
    """The encoder in `path` and its metadata, checked against its own config only."""
    return read_model(path, KIND, encoder_config_from_dict, WPlusEncoder)


def load_encoder(path, G, generator_fingerprint: str, device="cpu", parent: str | None = None,
                 log=print) -> WPlusEncoder:
    """The encoder in `path`, checked against generator G, in fp32 eval mode on `device`. An encoder of G's
    `parent` (the generator G was fine-tuned or tuned from) is accepted with a note: G's w space descends from
    its parent's, so the encoder is a start, if a less exact one."""
    E, meta = read_encoder(path)
    trained_for = meta.get("generator_fingerprint")
    if trained_for != generator_fingerprint:
        if parent is None or trained_for != parent:
            raise UserError(f"this encoder was trained for generator {trained_for}, not for the --generator in use "
                            f"({generator_fingerprint})", path)
        log(f"note: {path}: this encoder was trained for generator {trained_for}, which the --generator in use was "
            "fine-tuned from: its codes are a start, not a fit")
    c = E.config
    if (c.resolution, c.num_ws, c.w_dim) != (G.resolution, G.num_ws, G.w_dim):
        raise UserError(f"this encoder reads {c.resolution} px and predicts {c.num_ws}x{c.w_dim} w+, but the "
                        f"generator is {G.resolution} px with {G.num_ws}x{G.w_dim} w+", path)
    return E.to(device).requires_grad_(False)
