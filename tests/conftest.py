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


@pytest.fixture
def mixed_folder(tmp_path):
    """One image in every supported mode and format, plus junk."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    rgb.save(tmp_path / "wide.jpg")
    rgb.convert("RGBA").save(tmp_path / "alpha.png")
    rgb.convert("L").save(tmp_path / "grey.png")
    rgb.convert("P").save(tmp_path / "palette.png")
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.save(tmp_path / "photo.webp")
    Image.fromarray((rng.integers(0, 65535, (32, 32))).astype(np.uint16)).save(tmp_path / "deep16.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "wide.jpg").read_bytes()[:300])
    return tmp_path
