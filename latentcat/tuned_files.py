"""Tuned generators on disk: only what tuning changed (fp16), plus the identity and place of the parent.

A photo's tuned generator differs from its parent by a change tuning kept small, so a file holds that change
alone: the low-rank factors of each tuned conv (`low_rank.NAME.up`, `low_rank.NAME.down`: 0.37 MB at rank 8 for
the shipped generator), or the dense change of each tuned tensor (`change.NAME`, files written before low-rank
tuning and `--tune-rank 0`). Loading finds the parent (the path recorded, the tuned file's own folder, the
shipped checkpoints), refuses any other generator in its place, and rebuilds the tuned weights bit for bit
(`inversion.tuned_weights.apply_tuned`, as tuning's final render used them).
"""
import dataclasses
import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file

from generators import fingerprint
from inversion.tuned_weights import Tuned, apply_tuned
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
    for name, (up, down) in tuned.low_rank.items():
        tensors[f"low_rank.{name}.up"] = up.detach().cpu().contiguous()
        tensors[f"low_rank.{name}.down"] = down.detach().cpu().contiguous()
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
    tuned = _changes(tensors, dict(G.named_parameters()), wanted, path)
    apply_tuned(G, tuned)
    if fingerprint(G) != meta.get("fingerprint"):
        raise UserError("the tuned weights do not match the fingerprint recorded with them (a damaged file?)", path)
    return G


def _changes(tensors: dict, params: dict, parent: str, path: Path) -> Tuned:
    """The file's tensors as a Tuned, each checked to fit the parent's parameter it changes."""
    changes, factors = {}, {}
    for key, value in tensors.items():
        kind, _, rest = key.partition(".")
        if kind == "change":
            changes[rest] = value
        elif kind == "low_rank" and rest.rsplit(".", 1)[-1] in ("up", "down"):
            name, part = rest.rsplit(".", 1)
            factors.setdefault(name, {})[part] = value
        else:
            raise UserError(f"it holds a tensor {key!r} that is no change of a generator", path)
    for name, change in changes.items():
        if name not in params or params[name].shape != change.shape:
            raise UserError(f"its changes do not fit its parent generator ({name})", path)
    low_rank = {}
    for name, parts in factors.items():
        up, down = parts.get("up"), parts.get("down")
        fits = (name in params and up is not None and down is not None and up.ndim == 2 and
                up.shape[0] == params[name].shape[0] and down.shape == (up.shape[1], *params[name].shape[1:]))
        if not fits:
            raise UserError(f"its low-rank change of {name} does not fit its parent generator", path)
        low_rank[name] = (up, down)
    return Tuned(parent, changes, low_rank)
