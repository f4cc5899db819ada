"""Model files: safetensors weights plus the architecture config in the metadata, so one file rebuilds the model.

Nothing here unpickles: weights are safetensors, everything else is JSON.
"""
import dataclasses
import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from latentcat.errors import UserError
from latentcat.files import atomic_path

FORMAT = "latentcat"
FORMAT_VERSION = "1"


def save_tensors(path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Atomic safetensors write: a kill mid-write leaves the previous file intact."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "format_version": FORMAT_VERSION, **metadata})


def load_tensors(path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a latentcat safetensors file; any corruption or foreign file is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such {what} file", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise UserError(f"not a readable safetensors {what} (corrupt or truncated?): {str(e).splitlines()[0]}",
                        path) from None
    if metadata.get("format") != FORMAT:
        raise UserError(f"not a latentcat {what} (no latentcat metadata)", path)
    if metadata.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{what} format version {metadata.get('format_version')} is not supported "
                        f"(this latentcat reads {FORMAT_VERSION})", path)
    return tensors, metadata


def save_model(path, model: nn.Module, kind: str, config, dtype: torch.dtype | None = None,
               extra: dict[str, str] | None = None) -> None:
    """Weights (and buffers) of `model` with its config; `dtype` casts floating tensors (fp16 for shipping)."""
    state = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    save_tensors(path, state, {"kind": kind, "config": json.dumps(dataclasses.asdict(config)), **(extra or {})})


def read_model(path, kind: str, config_from_dict, build):
    """Rebuild a model saved by `save_model`: returns (model in fp32 eval mode, metadata)."""
    tensors, metadata = load_tensors(path, kind)
    if metadata.get("kind") != kind:
        raise UserError(f"holds a {metadata.get('kind') or 'unknown'} model, not a {kind}", path)
    try:
        config = config_from_dict(json.loads(metadata["config"]))
    except (KeyError, ValueError, TypeError) as e:
        raise UserError(f"{kind} config is missing or invalid: {e}", path) from None
    return load_weights(build(config), tensors, f"the stored {kind} config", path), metadata


def load_weights(model: nn.Module, tensors: dict[str, torch.Tensor], what: str, path) -> nn.Module:
    """`model` with exactly these weights (every key present, no stranger, every shape right), in eval mode;
    otherwise a one-line UserError saying how they do not match `what`."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        detail = (f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}" if unexpected
                  else f"shape of {wrong[:3]}")
        raise UserError(f"weights do not match {what} ({detail})", path)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return model.eval()


def _unreadable_weights(e: Exception) -> str:
    """Why torch's weights-only loader refused a file, in one line (torch's own message is a page long)."""
    refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
    if refused:
        return (f"holds a pickled Python object ({refused[1]}), which latentcat never unpickles; expected a "
                "torchvision state dict of tensors: save one with torch.save(model.state_dict(), FILE) or as "
                ".safetensors")
    return "not a readable weights file: expected a torchvision state dict (.pth of tensors, or .safetensors)"


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """Foreign weights (torchvision ImageNet trunks): .safetensors, or .pth through torch's weights-only loader
    (never arbitrary unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such weights file", path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any parse failure of a user file is that file's problem
        raise UserError(_unreadable_weights(e), path) from None
    if not isinstance(state, dict):
        raise UserError("does not hold a state dict", path)
    return state
