"""Writers of generator files in NVlabs' and rosinality's formats, from a latentcat StyleGAN2, for tests that need
no fixture: round trips, and hostile files built on a valid one.

An NVlabs snapshot is written the way NVlabs' `torch_utils.persistence` writes it: each network object becomes
`_reconstruct_persistent_obj(dict(type, version, module_src, class_name, state))`. Writing only needs the names of
those globals to exist while pickling, so stand-in modules are put in `sys.modules` for that moment.
"""
import argparse
import contextlib
import pickle
import sys
import types
from collections import OrderedDict

import numpy as np
import torch

FIR = torch.tensor([1.0, 3.0, 3.0, 1.0])
NVLABS_FILTER = FIR[:, None] * FIR[None, :] / 64


class Net:
    """What NVlabs pickles for one network object: a class name and a module `__dict__`."""

    def __init__(self, class_name: str, **attributes):
        self.class_name = class_name
        self.state = {"training": False, "_parameters": OrderedDict(), "_buffers": OrderedDict(),
                      "_modules": OrderedDict(), **attributes}

    def add(self, name: str, child: "Net") -> "Net":
        self.state["_modules"][name] = child
        return child


def _reconstruct_persistent_obj(meta):  # never called: only its name is pickled
    raise AssertionError("tests never unpickle with the standard unpickler")


class EasyDict(dict):
    pass


def scalar(dtype, data):  # numpy 1's name for a pickled numpy scalar; never called here
    raise AssertionError("tests never unpickle with the standard unpickler")


class Numpy1Scalar:
    """A float64 pickled as numpy 1 pickles one (NVlabs' released models): numpy.core.multiarray.scalar."""

    def __init__(self, value: float):
        self.value = value

    def __reduce__(self):
        return scalar, (np.dtype("f8"), np.float64(self.value).tobytes())


@contextlib.contextmanager
def nvlabs_globals(extra: dict[str, dict] | None = None):
    """Stand-in modules under NVlabs' names, so the pickler can name their globals."""
    modules = {"torch_utils": {}, "torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
               "dnnlib": {}, "dnnlib.util": {"EasyDict": EasyDict}, "numpy.core.multiarray": {"scalar": scalar},
               **(extra or {})}
    saved = {name: sys.modules.get(name) for name in modules}
    try:
        for name, attributes in modules.items():
            module = types.ModuleType(name)
            for key, value in attributes.items():
                value.__module__, value.__qualname__ = name, key
                setattr(module, key, value)
            sys.modules[name] = module
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def dump(obj, path, module_src: str = "", extra_globals: dict | None = None) -> None:
    """Pickle `obj` (which may hold `Net`s) as NVlabs does."""
    class Pickler(pickle.Pickler):
        def reducer_override(self, value):
            if isinstance(value, Net):
                return _reconstruct_persistent_obj, ({"type": "class", "version": 6, "module_src": module_src,
                                                      "class_name": value.class_name, "state": value.state},)
            return NotImplemented

    with nvlabs_globals(extra_globals), open(path, "wb") as f:
        Pickler(f, protocol=4).dump(obj)


def fc(weight, bias, activation: str, lr_mul: float) -> Net:
    gain = lr_mul / np.sqrt(weight.shape[1])  # a numpy scalar in NVlabs' files, spelt as numpy 1 or 2 wrote it
    net = Net("FullyConnectedLayer", activation=activation, bias_gain=lr_mul,
              weight_gain=Numpy1Scalar(gain) if activation == "lrelu" else np.float64(gain))
    net.state["_parameters"].update(weight=torch.nn.Parameter(weight.clone()), bias=torch.nn.Parameter(bias.clone()))
    return net


def nvlabs_generator(G) -> Net:
    """G as the record tree of an NVlabs `Generator` (the inverse of latentcat's conversion)."""
    c, sd = G.config, G.state_dict()
    root = Net("Generator", z_dim=c.z_dim, c_dim=0, w_dim=c.w_dim, img_resolution=c.resolution, img_channels=3,
               num_ws=c.num_ws)
    mapping = root.add("mapping", Net("MappingNetwork", num_layers=c.mapping_layers, w_avg_beta=np.float64(0.995)))
    mapping.state["_buffers"]["w_avg"] = sd["mapping.w_avg"].clone()
    for i in range(c.mapping_layers):
        mapping.add(f"fc{i}", fc(sd[f"mapping.layers.{i}.weight"], sd[f"mapping.layers.{i}.bias"], "lrelu",
                                 c.mapping_lr_mul))
    synthesis = root.add("synthesis", Net("SynthesisNetwork", _init_kwargs={
        "channel_base": c.channel_base, "channel_max": c.channel_max}))
    for k, res in enumerate(c.resolutions):
        ours = f"synthesis.blocks.{k}."
        block = synthesis.add(f"b{res}", Net("SynthesisBlock", architecture="skip", use_fp16=c.uses_fp16(res)))
        block.state["_buffers"]["resample_filter"] = NVLABS_FILTER.clone()
        if k == 0:
            block.state["_parameters"]["const"] = torch.nn.Parameter(sd[ours + "const"].clone())
        for j in ([1] if k == 0 else [0, 1]):
            p = f"{ours}conv{j}."
            layer = block.add(f"conv{j}", Net("SynthesisLayer", conv_clamp=c.conv_clamp, activation="lrelu"))
            weight = sd[p + "conv.weight"]
            layer.state["_parameters"].update(weight=weight.flip([2, 3]) if j == 0 else weight.clone(),
                                              noise_strength=sd[p + "noise_strength"].clone(), bias=sd[p + "bias"].clone())
            layer.state["_buffers"].update(resample_filter=NVLABS_FILTER.clone(), noise_const=sd[p + "noise_const"][0, 0])
            layer.add("affine", fc(sd[p + "conv.affine.weight"], sd[p + "conv.affine.bias"], "linear", 1))
        torgb = block.add("torgb", Net("ToRGBLayer", conv_clamp=c.conv_clamp))
        torgb.state["_parameters"].update(weight=sd[ours + "torgb.conv.weight"].clone(), bias=sd[ours + "torgb.bias"].clone())
        torgb.add("affine", fc(sd[ours + "torgb.conv.affine.weight"], sd[ours + "torgb.conv.affine.bias"], "linear", 1))
    return root


def nvlabs_snapshot(G, **entries) -> dict:
    """A training snapshot as NVlabs' training loop writes it (G and D left out unless given)."""
    return {"training_set_kwargs": EasyDict(resolution=G.resolution, xflip=True), "G": None, "D": None,
            "G_ema": nvlabs_generator(G), "augment_pipe": None, **entries}


def rosinality_checkpoint(G, latent_avg: bool = False) -> dict:
    """G as rosinality's train.py saves it: {"g_ema": state dict, "args": Namespace, "ada_aug_p": 0.0}."""
    c, sd = G.config, G.state_dict()
    out = {f"style.{i + 1}.{kind}": sd[f"mapping.layers.{i}.{kind}"] for i in range(c.mapping_layers)
           for kind in ("weight", "bias")}
    out["input.input"] = sd["synthesis.blocks.0.const"][None]
    kernel = NVLABS_FILTER * 4
    noise = 0
    for k in range(len(c.resolutions)):
        ours, torgb = f"synthesis.blocks.{k}.", "to_rgb1" if k == 0 else f"to_rgbs.{k - 1}"
        convs = [("conv1", "conv1")] if k == 0 else [("conv0", f"convs.{2 * k - 2}"), ("conv1", f"convs.{2 * k - 1}")]
        for j, theirs in convs:
            p = f"{ours}{j}."
            weight = sd[p + "conv.weight"]
            out[theirs + ".conv.weight"] = (weight.flip([2, 3]) if j == "conv0" else weight)[None]
            out[theirs + ".conv.modulation.weight"] = sd[p + "conv.affine.weight"]
            out[theirs + ".conv.modulation.bias"] = sd[p + "conv.affine.bias"]
            out[theirs + ".noise.weight"] = sd[p + "noise_strength"].reshape(1)
            out[theirs + ".activate.bias"] = sd[p + "bias"]
            out[f"noises.noise_{noise}"] = sd[p + "noise_const"]
            noise += 1
            if j == "conv0":
                out[theirs + ".conv.blur.kernel"] = kernel
        out[torgb + ".conv.weight"] = sd[ours + "torgb.conv.weight"][None]
        out[torgb + ".conv.modulation.weight"] = sd[ours + "torgb.conv.affine.weight"]
        out[torgb + ".conv.modulation.bias"] = sd[ours + "torgb.conv.affine.bias"]
        out[torgb + ".bias"] = sd[ours + "torgb.bias"].reshape(1, 3, 1, 1)
        if k:
            out[torgb + ".upsample.kernel"] = kernel
    checkpoint = {"g_ema": {k: v.clone() for k, v in out.items()},
                  "args": argparse.Namespace(size=c.resolution, latent=c.w_dim, n_mlp=c.mapping_layers), "ada_aug_p": 0.0}
    if latent_avg:
        checkpoint["latent_avg"] = sd["mapping.w_avg"].clone()
    return checkpoint


def lively(G):
    """G with every parameter mattering: non-zero noise strengths and biases (as the fixtures are made)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(("noise_strength", "bias")):
                p.add_(torch.randn_like(p) * 0.2)
    return G
