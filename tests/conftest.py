"""Shared fixtures: tiny models and a synthetic dataset of coloured shapes, made on the fly."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shapes_image(rng: np.random.Generator, size: int = 32) -> Image.Image:
    """A red disc on a blue background with a little jitter: easy to learn, easy to measure."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < (size * 0.25) ** 2
    img = np.zeros((size, size, 3), np.uint8)
    img[...] = (30, 60, 200)
    img[disc] = (220, 40, 30)
    return Image.fromarray(img)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    for i in range(64):
        shapes_image(rng).save(folder / f"shape_{i:03d}.png")
    return folder


def run_script(*args, env=None, check=True) -> subprocess.CompletedProcess:
    """Run one of the project's entry points as a user would, from the repository root."""
    result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def needs_shared_data(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared cat data is not on this machine")
    return path
