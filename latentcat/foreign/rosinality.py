"""rosinality stylegan2-pytorch checkpoints as latentcat StyleGAN2s.

Training checkpoints (`g_ema`, `args` as an `argparse.Namespace`, optimiser states) and converted ones
(`g_ema`, `latent_avg`) are read by torch's weights-only loader, with `argparse.Namespace` the one class allowed
in addition. The architecture is read from the weights' shapes (widths may differ from rosinality's schedule).
rosinality's layers compute what NVlabs' do without the clamp; its upsampling kernels are transposed-conv
kernels like NVlabs', so they are flipped the same way.
"""
import argparse
import re

import torch

from generators import StyleGAN2Config
from latentcat.errors import UserError

FORMAT = "rosinality-stylegan2-pytorch"
FIR = torch.tensor([1.0, 3.0, 3.0, 1.0])
UPSAMPLE_KERNEL = FIR[:, None] * FIR[None, :] / 16  # make_kernel([1, 3, 3, 1]) * 2 ** 2


def load_checkpoint(path) -> dict:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError("no such generator file", path) from None
    except Exception as e:  # any parse failure of a user file is that file's problem
        refused = re.search(r"GLOBAL ([\w.]+)", str(e))
        if refused:
            raise UserError(f"refused to load {refused[1]}: latentcat reads checkpoints with torch's weights-only "
                            "loader and never runs code from a file", path) from None
        raise UserError(f"not a readable PyTorch checkpoint: {str(e).splitlines()[0][:200]}", path) from None
    if not isinstance(data, dict):
        raise UserError(f"holds a {type(data).__name__}, not a rosinality checkpoint", path)
    return data


def generator_state(data: dict, path) -> dict[str, torch.Tensor]:
    state = data.get("g_ema", data if "style.1.weight" in data else None)
    if not isinstance(state, dict) or "style.1.weight" not in state:
        raise UserError(f"holds no rosinality g_ema generator (keys: {', '.join(map(str, data))[:200]})", path)
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    for name, value in tensors.items():  # overlapping views could claim more values than the file holds
        if value.numel() * value.element_size() > value.untyped_storage().nbytes():
            raise UserError(f"{name} is a {tuple(value.shape)} tensor claiming more values than it stores", path)
    return tensors


def count(state: dict, pattern: str) -> int:
    """How many consecutive indices 0.. (or 1..) the `{}` in `pattern` takes among the keys."""
    indices = {int(m[1]) for k in state for m in [re.fullmatch(pattern.format(r"(\d+)"), k)] if m}
    return len(indices)


def read_config(state: dict, path) -> StyleGAN2Config:
    n_mlp, n_convs = count(state, r"style\.{}\.weight"), count(state, r"convs\.{}\.conv\.weight")
    resolution = 2 ** (n_convs // 2 + 2)
    try:
        widths = [int(state["input.input"].shape[1])]
        widths += [int(state[f"convs.{2 * k + 1}.conv.weight"].shape[1]) for k in range(n_convs // 2)]
        z_dim, w_dim = int(state["style.1.weight"].shape[1]), int(state["style.1.weight"].shape[0])
    except (KeyError, IndexError) as e:
        raise UserError(f"is missing generator weight {e}", path) from None
    if n_convs % 2 or not 16 <= resolution <= 1024:
        raise UserError(f"has {n_convs} synthesis convs ({resolution} px): latentcat renders 16 to 1024 px", path)
    top, base = max(widths), widths[-1] * resolution
    by_rule = [min(base // 2 ** (i + 2), top) for i in range(len(widths))] == widths
    try:
        return StyleGAN2Config(resolution=resolution, z_dim=z_dim, w_dim=w_dim, mapping_layers=n_mlp,
                               channel_base=base if by_rule else 16384, channel_max=top if by_rule else 512,
                               channel_widths=None if by_rule else tuple(widths))
    except (ValueError, TypeError) as e:
        raise UserError(f"unsupported generator config: {e}", path) from None


def latentcat_name(name: str) -> str | None:
    """rosinality parameter name -> latentcat's (None: a blur kernel, which latentcat computes)."""
    if name.endswith(("blur.kernel", "upsample.kernel")):
        return None
    rules = [(r"style\.(\d+)\.(weight|bias)", lambda m: f"mapping.layers.{int(m[1]) - 1}.{m[2]}"),
             (r"input\.input", lambda m: "synthesis.blocks.0.const"),
             (r"noises\.noise_(\d+)", lambda m: f"{layer(int(m[1]))}.noise_const"),
             (r"conv1\.(.+)", lambda m: f"synthesis.blocks.0.conv1.{styled(m[1])}"),
             (r"convs\.(\d+)\.(.+)", lambda m: f"{layer(int(m[1]) + 1)}.{styled(m[2])}"),
             (r"to_rgb1\.(.+)", lambda m: f"synthesis.blocks.0.torgb.{styled(m[1])}"),
             (r"to_rgbs\.(\d+)\.(.+)", lambda m: f"synthesis.blocks.{int(m[1]) + 1}.torgb.{styled(m[2])}")]
    for pattern, rename in rules:
        m = re.fullmatch(pattern, name)
        if m:
            return rename(m)
    return name  # a stranger, which the weight check names


def layer(index: int) -> str:
    """The latentcat conv of rosinality's layer `index` (0: the 4 px conv, then an up conv and a conv per block)."""
    return "synthesis.blocks.0.conv1" if index == 0 else f"synthesis.blocks.{(index + 1) // 2}.conv{1 - index % 2}"


def styled(rest: str) -> str:
    return {"noise.weight": "noise_strength", "activate.bias": "bias", "conv.weight": "conv.weight"}.get(
        rest, rest.replace("conv.modulation.", "conv.affine."))


def reshaped(name: str, value: torch.Tensor) -> torch.Tensor:
    """rosinality's extra leading 1s dropped (`[1, O, I, k, k]` weights, `[1, C, 4, 4]` const, `[1, 3, 1, 1]`
    toRGB bias, `[1]` noise strengths); a shape that still differs is reported by the weight check."""
    if name.endswith(("blocks.0.const", "conv.weight")) and value.ndim > 1 and value.shape[0] == 1:
        return value[0]
    if name.endswith("noise_strength") and value.numel() == 1:
        return value.reshape([])
    return value.flatten() if name.endswith("torgb.bias") else value


def convert_weights(state: dict, path) -> dict[str, torch.Tensor]:
    out = {}
    for name, value in state.items():
        if name.endswith(("blur.kernel", "upsample.kernel")) and not torch.allclose(value.float(), UPSAMPLE_KERNEL):
            raise UserError(f"{name} is not the [1, 3, 3, 1] filter latentcat renders with", path)
        new = latentcat_name(name)
        if new is None:
            continue
        value = reshaped(new, value.float())
        if new.endswith("conv0.conv.weight"):
            value = value.flip([2, 3])  # transposed-conv kernel -> the kernel on the output grid
        out[new] = value
    return out


def read(path):
    """(config, latentcat state dict, facts for the report, notes) of the generator in a rosinality checkpoint;
    without `latent_avg` the state has no `mapping.w_avg` and the caller computes it."""
    data = load_checkpoint(path)
    state = generator_state(data, path)
    config = read_config(state, path)
    weights = convert_weights(state, path)
    latent_avg = data.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor):
        weights["mapping.w_avg"] = latent_avg.float().reshape(-1)
    args = data.get("args")
    facts = {"discriminator": "d" in data}
    notes = []
    if isinstance(args, argparse.Namespace) and getattr(args, "size", config.resolution) != config.resolution:
        notes.append(f"args.size is {args.size}, but the weights are {config.resolution} px: used the weights")
    return config, weights, facts, notes
