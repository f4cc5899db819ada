"""Shared test helpers: tiny models and their files, photos and a synthetic dataset made on the fly, and the
entry points run as a user runs them."""
import contextlib
import errno
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import latentcat.outputs
from generators import build_generator, preset
from latentcat.generator_files import save_generator

# Tiny models gain nothing from a second thread, and the suite's two worker processes (setup.cfg), the commands
# they start and the studio's server share the cores: one thread each, or their threads spin against each other
# (several times slower).
torch.set_num_threads(1)
os.environ["OMP_NUM_THREADS"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def tiny_generator(seed: int = 0, name: str = "tiny"):
    """A random 16 px StyleGAN2 (or another tiny preset) whose w_avg is its real mean w, as training leaves it."""
    torch.manual_seed(seed)
    G = build_generator(preset(name)).eval().requires_grad_(False)
    if "w" in G.latent_spaces:
        with torch.no_grad():
            G.mapping.w_avg.copy_(G.mapping(torch.randn(2000, G.z_dim)).mean(dim=0))
    return G


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


def run_here(script: str, *args, check: bool = False) -> subprocess.CompletedProcess:
    """Run an entry point's main in this process, as `run_script` does in a new one (seconds faster: torch is
    already imported); a traceback escapes as the exception it is. `check`: a non-zero exit fails the test."""
    from latentcat import cli
    main = importlib.import_module(Path(script).stem).main
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.run(main, list(map(str, args)))
    if check and code != 0:
        raise AssertionError(f"{script} {args} failed ({code}):\n{stdout.getvalue()}\n{stderr.getvalue()}")
    return subprocess.CompletedProcess(script, code, stdout.getvalue(), stderr.getvalue())


def disk_full_at(monkeypatch, name: str) -> None:
    """Every atomic write of a file called `name` fails as on a full disk; the others go through."""
    real = latentcat.outputs.atomic_path

    def write(path):
        if path.name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(latentcat.outputs, "atomic_path", write)


class HostReads:
    """Counts, while active, every read of a tensor's values by the host, each a wait for the device on a GPU:
    .item(), .tolist(), .cpu(), .numpy(), bool/float/int/index of a tensor, nonzero, masked_select and indexing
    by a boolean mask. Not counted: torch.optim's reads of its step counter, a host tensor even when the
    parameters live on a GPU. Syncs inside C++ kernels are out of its sight (torch.cuda.set_sync_debug_mode
    sees them on a GPU)."""

    METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__", "nonzero",
               "masked_select")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.METHODS:
            monkeypatch.setattr(torch.Tensor, name, self.counted(getattr(torch.Tensor, name)))
        for name in ("nonzero", "masked_select"):
            monkeypatch.setattr(torch, name, self.counted(getattr(torch, name)))
        for name in ("__getitem__", "__setitem__"):
            monkeypatch.setattr(torch.Tensor, name, self.mask_indexed(getattr(torch.Tensor, name)))

    def counted(self, method):
        def read(*args, **kwargs):
            if os.path.join("torch", "optim", "") not in sys._getframe(1).f_code.co_filename:
                self.count += 1
            return method(*args, **kwargs)
        return read

    def mask_indexed(self, method):
        def index(tensor, key, *args):
            keys = key if isinstance(key, tuple) else (key,)
            self.count += any(isinstance(k, torch.Tensor) and k.dtype == torch.bool for k in keys)
            return method(tensor, key, *args)
        return index


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


@pytest.fixture(scope="session")
def gen(tmp_path_factory) -> Path:
    """A tiny 16 px StyleGAN2 saved as a generator file."""
    path = tmp_path_factory.mktemp("gen") / "tiny.safetensors"
    save_generator(path, tiny_generator())
    return path


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """Three small random photos, a.png, b.png and c.png."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    return folder


FAST = ["--steps", "8", "--perceptual", "stlpips-alex", "--no-progress"]


def infer(command, *args, gen, check=True):
    """Run an infer.py subcommand with fast settings, in this process (a new one costs seconds of imports; the
    tests that start the real script call run_script); flags in `args` come last, so they override."""
    return run_here("infer.py", command, "--generator", gen, *FAST, *args, check=check)


def summary(out) -> dict:
    return json.loads((Path(out) / "summary.json").read_text())


def infer_here(command, *args, gen):
    """`infer` faster still: 2 steps, one perceptual network, and a failure returned, not raised."""
    return infer(command, "--steps", "2", "--metric-net", "stlpips-alex", *args, gen=gen, check=False)


def one_line(result, *fragments) -> str:
    """The one error line a failed run printed, checked to hold every fragment; returns it."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert str(fragment) in errors[0], errors[0]
    return errors[0]
