"""Saved latents: one safetensors file per image, stamped with its space and the generator that made it.

A latent is only meaningful for the exact generator it was inverted with, so loading checks the generator's
fingerprint and the space, and refuses a mismatch with a one-line error.
"""
import torch

from latentcat.checkpoints import load_tensors, save_tensors
from latentcat.errors import UserError

KIND = "latent"
SUFFIX = ".latent.safetensors"


def is_latent_file(path) -> bool:
    return str(path).endswith(".safetensors")


def save_latent(path, latent: torch.Tensor, space: str, generator_fingerprint: str,
                noise: list[torch.Tensor] | None = None, source: str = "") -> None:
    """latent: one image's code ([z_dim], [w_dim] or [num_ws, w_dim]); noise: its optimised noise maps, if any."""
    tensors = {"latent": latent.detach().float()}
    for i, n in enumerate(noise or []):
        tensors[f"noise.{i:02d}"] = n.detach().float()
    save_tensors(path, tensors, {"kind": KIND, "space": space, "generator_fingerprint": generator_fingerprint,
                                 "source": source})


def load_latent(path, generator_fingerprint: str, expected_shapes: dict[str, tuple]) -> tuple:
    """(latent [1, ...], space, noise list or None) from a file saved for this generator.

    expected_shapes maps each space the generator has to its code shape, to reject foreign or damaged files.
    """
    tensors, meta = load_tensors(path, "latent")
    if meta.get("kind") != KIND or "latent" not in tensors:
        raise UserError(f"holds a {meta.get('kind') or 'unknown'} file, not a latent", path)
    if meta.get("generator_fingerprint") != generator_fingerprint:
        raise UserError(f"this latent belongs to generator {meta.get('generator_fingerprint')}, not to the "
                        f"--generator in use ({generator_fingerprint}); invert the image again with it", path)
    space = meta.get("space")
    if space not in expected_shapes:
        raise UserError(f"latent space {space!r} does not exist in this generator "
                        f"(it has {', '.join(expected_shapes)})", path)
    latent = tensors["latent"]
    if tuple(latent.shape) != tuple(expected_shapes[space]):
        raise UserError(f"latent has shape {tuple(latent.shape)}, but {space} codes of this generator are "
                        f"{tuple(expected_shapes[space])}", path)
    noise = [tensors[k] for k in sorted(tensors) if k.startswith("noise.")] or None
    return latent[None], space, noise
