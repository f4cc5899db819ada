"""accelerate launch infer.py ...: a run split across processes gives the photos, summary and grid one process
gives, written once by the main process."""
import subprocess
import sys

import torch

from latentcat.checkpoints import load_tensors
from tests.conftest import FAST, ROOT, run_here, summary

LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
          "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "infer.py"]


def launched(*args) -> subprocess.CompletedProcess:
    return subprocess.run(LAUNCH + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)


def test_two_processes_invert_as_one(gen, photos, tmp_path):
    """Three photos in batches of one: each process inverts every other batch, the main one writes them all."""
    args = ["invert", photos, "--generator", gen, *FAST, "--steps", "4", "--batch-size", "1", "--record-every", "2",
            "--metric-net", "stlpips-alex"]
    one = run_here("infer.py", *args, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    two = launched(*args, "--out", tmp_path / "two")
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("invert: 3 done, 0 failed") == 1, two.stdout  # the main process alone reports
    a, b = summary(tmp_path / "one"), summary(tmp_path / "two")
    for item_a, item_b in zip(a["items"], b["items"], strict=True):
        assert item_a["input"] == item_b["input"] and item_a["outputs"] == item_b["outputs"]
        assert item_a["metrics"] == item_b["metrics"] and item_a["record"]["lpips"] == item_b["record"]["lpips"]
    assert a["metrics_mean"] == b["metrics_mean"] and a["settings"] == b["settings"] and b["finished"]
    assert (tmp_path / "one" / "grid.png").read_bytes() == (tmp_path / "two" / "grid.png").read_bytes()
    for item in a["items"]:  # b was inverted by the second process
        png, latent = item["outputs"]["reconstruction"], item["outputs"]["latent"]
        assert (tmp_path / "one" / png).read_bytes() == (tmp_path / "two" / png).read_bytes(), png
        (code_a, meta_a), (code_b, meta_b) = (load_tensors(tmp_path / run / latent, "latent") for run in ("one", "two"))
        assert meta_a == meta_b and all(torch.equal(code_a[k], code_b[k]) for k in code_a), latent
    written = [sorted(p.name for p in (tmp_path / run).rglob("*") if p.is_file()) for run in ("one", "two")]
    assert written[0] == written[1]
