"""Saved latents: one safetensors file per image, stamped with its space and the generator that made it.

A latent is only meaningful for the exact generator it was inverted with, so loading checks the generator's
fingerprint, the space and the shape, and refuses a mismatch with a one-line error.
"""
import torch
from safetensors.torch import save_file

from inversion.code import Code
from latentcat.checkpoints import FORMAT, FORMAT_VERSION, load_tensors
from latentcat.errors import UserError

KIND = "latent"
SUFFIX = ".latent.safetensors"


def is_latent_file(path) -> bool:
    return str(path).endswith(".safetensors")


def write_code(path, code: Code, source: str = "") -> None:
    """Row 0 of `code` (latent and noise maps) into `path` (not atomic by itself: see OutputFolder.write)."""
    tensors, meta = code.to_tensors()
    save_file(tensors, str(path), metadata={"format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND,
                                            **meta, "source": source})


def latent_shapes(G) -> dict[str, tuple]:
    """The shape of one latent in each space G has."""
    return {space: tuple(G.latent_from_z(torch.zeros(1, G.z_dim, device=G.code_mean().device), space).shape[1:])
            for space in G.latent_spaces}


def load_code(path, G, generator_fingerprint: str, parent: str | None = None) -> Code:
    """The Code of one image saved for this generator; anything else is a one-line UserError. A code of G's
    `parent` (the generator G was fine-tuned or tuned from) is taken with a note, as a code of G: rendered by a
    fine-tuned G it is the same cat in the new generator's style (a grumpy-cat generator's, say)."""
    tensors, meta = load_tensors(path, "latent")
    if meta.get("kind") != KIND or "latent" not in tensors:
        raise UserError(f"holds a {meta.get('kind') or 'unknown'} file, not a latent", path)
    owner = meta.get("generator_fingerprint")
    if parent is not None and owner == parent:
        print(f"note: {path}: a latent of generator {owner}, which the --generator in use descends from: rendered "
              "as its code")
        meta = {**meta, "generator_fingerprint": generator_fingerprint}
    elif owner != generator_fingerprint:
        raise UserError(f"this latent belongs to generator {meta.get('generator_fingerprint')}, not to the "
                        f"--generator in use ({generator_fingerprint}); invert the image again with it", path)
    shapes = latent_shapes(G)
    space = meta.get("space")
    if space not in shapes:
        raise UserError(f"latent space {space!r} does not exist in this generator (it has {', '.join(shapes)})",
                        path)
    if tuple(tensors["latent"].shape) != shapes[space]:
        raise UserError(f"latent has shape {tuple(tensors['latent'].shape)}, but {space} codes of this generator "
                        f"are {shapes[space]}", path)
    code = Code.from_tensors(tensors, meta)
    expected_noise = [tuple(n.shape[1:]) for n in G.noise_maps()]
    if code.noise and [tuple(n.shape[1:]) for n in code.noise] != expected_noise:
        raise UserError("its noise maps do not fit this generator's noise inputs", path)
    if not all(torch.isfinite(t).all() for t in (code.latent, *(code.noise or ()))):
        raise UserError("holds NaN or infinite values", path)
    return code
