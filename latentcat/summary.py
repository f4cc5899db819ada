"""Output folders and summary.json: what was run (command, generator, settings), what came out, what failed."""
import dataclasses
import platform
import shlex
import sys
from pathlib import Path

import torch

from latentcat.checkpoints import fingerprint
from latentcat.errors import UserError
from latentcat.files import write_json

SUMMARY = "summary.json"


def prepare_output_dir(out_dir, planned: list[str]) -> Path:
    """Create `out_dir`; refuse to overwrite files in it unless an earlier latentcat run wrote them."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError("--out exists and is not a folder", out)
    clashes = [name for name in planned if (out / name).exists()]
    if clashes and not (out / SUMMARY).is_file():
        raise UserError(f"--out already holds files that latentcat did not write (for example {clashes[0]}); "
                        "nothing was overwritten: choose another --out", out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def describe_generator(path, G) -> dict:
    return {"path": str(path), "arch": G.config.arch, "resolution": G.resolution,
            "fingerprint": fingerprint(G), "config": dataclasses.asdict(G.config)}


def write_summary(out_dir, command: str, settings: dict, items: list, errors: list | None = None, **extra) -> Path:
    path = Path(out_dir) / SUMMARY
    write_json(path, {
        "command": command,
        "argv": " ".join(shlex.quote(a) for a in sys.argv),
        "settings": settings,
        **extra,
        "items": items,
        "errors": errors or [],
        "environment": {"python": platform.python_version(), "torch": torch.__version__},
    })
    return path
