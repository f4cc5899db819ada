"""Tuned generators on disk: only what tuning changed (fp16), plus the identity and place of the parent.

A photo's tuned generator differs from its parent in a few tensors by small amounts, so a file holds those
changes alone (a fraction of the parent's size). Loading finds the parent (the path recorded, the tuned file's
own folder, the shipped checkpoints), refuses any other generator in its place, and rebuilds the tuned weights
bit for bit (parent + change, in fp32, as tuning left them).
"""
import dataclasses
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from generators import fingerprint
from inversion.tuning import Tuned
from latentcat.checkpoints import FORMAT, FORMAT_VERSION, load_tensors
from latentcat.errors import UserError
from latentcat.shipped import CHECKPOINTS

PARENT = "tuned_from"


def is_tuned_file(path) -> bool:
    """Whether `path` is a readable tuned-generator file (anything else is left to the usual loader)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return PARENT in (f.metadata() or {})
    except Exception:  # unreadable: the usual loader says why, in one line
        return False


def write_tuned(path, G, parent_path) -> None:
    """The tuned generator G (made by `inversion.tuning.tune`) as its changes from the parent at `parent_path`
    (not atomic by itself: see OutputFolder.write)."""
    tuned: Tuned = G.tuned
    tensors = {f"change.{name}": change.detach().cpu().contiguous() for name, change in tuned.changes.items()}
    save_file(tensors, str(path), metadata={
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": "generator",
        "config": json.dumps(dataclasses.asdict(G.config)), "fingerprint": fingerprint(G),
        PARENT: tuned.parent, "parent_path": str(Path(parent_path).resolve())})


def _parent_candidates(path: Path, recorded: str) -> list[Path]:
    name = Path(recorded).name
    return [Path(recorded), path.parent / name, CHECKPOINTS / name]


def load_tuned(path, load_generator):
    """The tuned generator in `path`: its parent, found and checked, with the changes applied."""
    path = Path(path)
    tensors, meta = load_tensors(path, "generator")
    wanted, recorded = meta[PARENT], meta.get("parent_path", "")
    wrong = []
    for candidate in _parent_candidates(path, recorded):
        if candidate.is_file() and candidate.resolve() != path.resolve():
            G = load_generator(candidate)
            if fingerprint(G) == wanted:
                break
            wrong.append(f"{candidate} is generator {fingerprint(G)}")
    else:
        found = f" ({'; '.join(wrong)})" if wrong else ""
        raise UserError(f"its parent, generator {wanted} at {recorded}, was not found{found}: keep the tuned file "
                        "with its parent", path)
    params = dict(G.named_parameters())
    changes = {key.removeprefix("change."): value for key, value in tensors.items()}
    unknown = [name for name, change in changes.items() if name not in params or params[name].shape != change.shape]
    if unknown:
        raise UserError(f"its changes do not fit its parent generator ({unknown[0]})", path)
    with torch.no_grad():
        for name, change in changes.items():
            params[name].add_(change.float())
    G.tuned = Tuned(parent=wanted, changes=changes)
    if fingerprint(G) != meta.get("fingerprint"):
        raise UserError("the tuned weights do not match the fingerprint recorded with them (a damaged file?)", path)
    return G
