"""NVlabs stylegan2-ada-pytorch pickles (training snapshots and bare generators) as latentcat StyleGAN2s.

The pickle is read through the allow-list unpickler (`safe_pickle`), so each network object arrives as a
record of its class name and state. The config is read from those states and checked before anything is
built; the weights are renamed to latentcat's layers. Only the upsampling convs change: NVlabs stores them as
transposed-conv kernels, latentcat as the kernel applied on the output grid, which is the same kernel flipped.
"""
import re

import torch

from generators import StyleGAN2Config
from latentcat.errors import UserError
from latentcat.foreign.safe_pickle import PersistentObject, load_pickle

FORMAT = "nvlabs-stylegan2-ada-pytorch"
FIR = torch.tensor([1.0, 3.0, 3.0, 1.0])
NVLABS_FILTER = FIR[:, None] * FIR[None, :] / 64  # upfirdn2d.setup_filter([1, 3, 3, 1])
VALID_RESOLUTIONS = [2 ** i for i in range(4, 11)]


def generator_record(data, path) -> tuple[PersistentObject, list[str], bool]:
    """The generator to convert (G_ema of a snapshot, or a bare pickled generator), notes, whether a
    discriminator came with it."""
    if isinstance(data, PersistentObject):
        return data, [], False
    if not isinstance(data, dict):
        raise UserError(f"holds a {type(data).__name__}, not an NVlabs snapshot or generator", path)
    notes, has_d = [], isinstance(data.get("D"), PersistentObject)
    G = data.get("G_ema")
    if not isinstance(G, PersistentObject):
        G = data.get("G")
        if not isinstance(G, PersistentObject):
            raise UserError(f"holds no G_ema generator (keys: {', '.join(map(str, data))[:200]})", path)
        notes.append("the snapshot has no G_ema: converted G, the non-averaged generator")
    return G, notes, has_d


def attribute(record: PersistentObject, name: str, path, kinds: tuple = (int,)):
    value = record.state.get(name)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise UserError(f"{record.class_name}.{name} is {value!r}, not a number", path)
    return value


def check_generator(G: PersistentObject, path) -> tuple[PersistentObject, PersistentObject]:
    """Refuse, in one line, what latentcat does not render: StyleGAN3, conditional, non-RGB, other
    architectures. Returns the mapping and synthesis records."""
    mapping, synthesis = G.modules().get("mapping"), G.modules().get("synthesis")
    if G.class_name != "Generator" or not isinstance(mapping, PersistentObject) \
            or not isinstance(synthesis, PersistentObject):
        raise UserError(f"holds a {G.class_name}, not an NVlabs Generator with mapping and synthesis", path)
    if "input" in synthesis.modules():
        raise UserError("holds a StyleGAN3 (alias-free) generator: latentcat renders StyleGAN2 only", path)
    if G.state.get("c_dim"):
        raise UserError(f"holds a conditional generator (c_dim = {G.state['c_dim']}): latentcat renders "
                        "unconditional ones only", path)
    if G.state.get("img_channels") != 3:
        raise UserError(f"renders {G.state.get('img_channels')} channels, not RGB", path)
    for name, block in synthesis.modules().items():
        if not re.fullmatch(r"b\d+", name):
            raise UserError(f"has a synthesis module {name!r}: not a StyleGAN2 synthesis network", path)
        if block.state.get("architecture") != "skip":
            raise UserError(f"has a {block.state.get('architecture')!r} synthesis architecture: latentcat renders "
                            "NVlabs' default, 'skip'", path)
    for name, layer in mapping.modules().items():
        if layer.state.get("activation") != "lrelu":
            raise UserError(f"mapping layer {name} uses {layer.state.get('activation')!r}, not lrelu", path)
    return mapping, synthesis


def read_config(G: PersistentObject, mapping: PersistentObject, synthesis: PersistentObject, tensors, path):
    """The StyleGAN2Config of this generator, validated (bounds first: nothing is built yet)."""
    resolution = attribute(G, "img_resolution", path)
    if resolution not in VALID_RESOLUTIONS:
        raise UserError(f"renders {resolution} px: latentcat renders powers of two from 16 to 1024 px", path)
    blocks = synthesis.modules()
    widths = []
    for res in (2 ** i for i in range(2, resolution.bit_length())):
        weight = tensors.get(f"synthesis.b{res}.conv1.weight")
        if weight is None or weight.ndim != 4:
            raise UserError(f"has no synthesis.b{res}.conv1.weight", path)
        widths.append(int(weight.shape[0]))
    fp16 = [res for name, block in blocks.items() if block.state.get("use_fp16") for res in [int(name[1:])]]
    clamps = {layer.state.get("conv_clamp") for block in blocks.values() for layer in block.modules().values()
              if isinstance(layer, PersistentObject) and "conv_clamp" in layer.state}
    if len(clamps) > 1:
        raise UserError(f"uses several conv_clamp values {sorted(map(str, clamps))}", path)
    kwargs = synthesis.state.get("_init_kwargs") or {}
    base, top = kwargs.get("channel_base", 32768), kwargs.get("channel_max", 512)
    by_rule = [min(base // 2 ** (i + 2), top) for i in range(len(widths))] if isinstance(base, int) \
        and isinstance(top, int) else None
    fc0 = mapping.modules().get("fc0")
    try:
        return StyleGAN2Config(
            resolution=resolution, z_dim=attribute(G, "z_dim", path), w_dim=attribute(G, "w_dim", path),
            mapping_layers=attribute(mapping, "num_layers", path),
            mapping_lr_mul=float(attribute(fc0, "bias_gain", path, (int, float))) if fc0 else 0.01,
            channel_base=base if by_rule == widths else 16384, channel_max=top if by_rule == widths else 512,
            channel_widths=None if by_rule == widths else tuple(widths), conv_clamp=clamps.pop() if clamps else None,
            num_fp16_res=len(fp16))
    except (ValueError, TypeError) as e:
        raise UserError(f"unsupported generator config: {e}", path) from None


def latentcat_name(name: str, resolutions: list[int]) -> str | None:
    """NVlabs parameter name -> latentcat's (None: a resampling filter, which latentcat computes)."""
    if name.endswith("resample_filter"):
        return None
    m = re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", name)
    if m:
        return f"mapping.layers.{m[1]}.{m[2]}"
    m = re.fullmatch(r"synthesis\.b(\d+)\.(.+)", name)
    if not m or int(m[1]) not in resolutions:
        return name  # mapping.w_avg, or a stranger the weight check names
    block, rest = f"synthesis.blocks.{resolutions.index(int(m[1]))}", m[2]
    rest = re.sub(r"^(conv[01]|torgb)\.(weight|affine\.)", r"\1.conv.\2", rest)
    return f"{block}.{rest}"


def convert_weights(tensors: dict[str, torch.Tensor], config: StyleGAN2Config, path) -> dict[str, torch.Tensor]:
    state = {}
    for name, value in tensors.items():
        if name.endswith("resample_filter") and not torch.allclose(value.float(), NVLABS_FILTER):
            raise UserError(f"{name} is not the [1, 3, 3, 1] filter latentcat renders with", path)
        new = latentcat_name(name, config.resolutions)
        if new is None:
            continue
        value = value.float()
        if new.endswith("conv0.conv.weight"):
            value = value.flip([2, 3])  # transposed-conv kernel -> the kernel on the output grid
        if new.endswith("noise_const"):
            value = value.reshape(1, 1, *value.shape[-2:])
        state[new] = value
    return state


def read(path):
    """(config, latentcat state dict, facts for the report, notes) of the generator in an NVlabs pickle."""
    G, notes, has_d = generator_record(load_pickle(path), path)
    mapping, synthesis = check_generator(G, path)
    tensors = {k: v for k, v in G.tensors().items() if k.startswith(("mapping.", "synthesis."))}
    config = read_config(G, mapping, synthesis, tensors, path)
    if config.num_fp16_res:
        notes.append(f"the top {config.num_fp16_res} resolutions run in fp16 on CUDA, in fp32 elsewhere (as NVlabs)")
    return config, convert_weights(tensors, config, path), {"discriminator": has_d}, notes
