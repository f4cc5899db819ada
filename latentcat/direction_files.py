"""Directions files: unit directions in w+ with their scores, the method and settings that found them, and the
fingerprint of their generator (safetensors; metadata as JSON strings).

A direction means something only for the generator it was found on, so loading refuses any other in one line.
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

from inversion.directions import Directions, check_layers
from latentcat.checkpoints import FORMAT, FORMAT_VERSION, load_tensors
from latentcat.errors import UserError, user_facing
from latentcat.generator_files import require_wplus

KIND = "directions"
FILE_NAME = "directions.safetensors"  # what `infer.py directions` writes into its --out folder


def write_directions(path, directions: Directions) -> None:
    """Not atomic by itself: see OutputFolder.write."""
    tensors, meta = directions.to_tensors()
    save_file(tensors, str(path), metadata={"format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND, **meta})


def load_directions(path, G, generator_fingerprint: str) -> Directions:
    """The directions in `path` (a file, or a `directions` run's folder) for generator G; anything else is a
    one-line UserError."""
    if Path(path).is_dir():
        path = Path(path) / FILE_NAME
    tensors, meta = load_tensors(path, "directions")
    if meta.get("kind") != KIND:
        raise UserError(f"holds a {meta.get('kind') or 'unknown'} file, not directions", path)
    if meta.get("generator_fingerprint") != generator_fingerprint:
        raise UserError(f"these directions belong to generator {meta.get('generator_fingerprint')}, not to the "
                        f"--generator in use ({generator_fingerprint}); find directions with it", path)
    try:
        directions = Directions.from_tensors(tensors, meta)
    except ValueError as e:
        raise UserError(str(e), path) from None
    expected = (G.num_ws, G.w_dim)
    if tuple(directions.vectors.shape[1:]) != expected or any(not 0 <= i < G.num_ws for i in directions.layers):
        raise UserError(f"directions of shape {tuple(directions.vectors.shape[1:])} do not fit this generator's w+ "
                        f"{expected}", path)
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise UserError("holds NaN or infinite values", path)
    return directions


def directions_for(session, path, layers=None) -> tuple[Directions, tuple[int, ...]]:
    """The directions in `path` for the session's generator, and the w+ layers a move goes to (`layers`, else
    those the directions were found on), checked before any work."""
    require_wplus(session.G, session.generator_path, "editing along directions")
    directions = load_directions(path, session.G, session.fingerprint)
    return directions, user_facing(check_layers, session.G, layers or directions.layers)


def describe_direction(directions: Directions, index: int) -> dict:
    """What summary.json says about one direction: its score and, where known, how it spreads over the w+
    layers (shares summing to 1) or, for GANSpace, the share of w's variance it explains."""
    item = {"index": index, "score": float(directions.scores[index])}
    if directions.layer_scores is not None:
        row = directions.layer_scores[index]
        item["layer_shares"] = [round(float(v), 4) for v in row / row.sum().clamp_min(1e-12)]
    if "total_variance" in directions.settings:
        item["explained_variance"] = float(directions.scores[index]) / directions.settings["total_variance"]
    return item


def layer_summary(item: dict, top: int = 3) -> str:
    """'layers 0 (41%), 1 (22%), 2 (9%)': where a direction lives most, for printing."""
    shares = item.get("layer_shares")
    if not shares:
        return ""
    ranked = sorted(range(len(shares)), key=lambda i: -shares[i])[:top]
    return "layers " + ", ".join(f"{i} ({shares[i]:.0%})" for i in ranked)
