"""infer.py sample and the demo's example inputs."""
import json

import pytest
import torch
from PIL import Image

from latentcat.errors import UserError
from latentcat.session import device_from
from tests.conftest import one_line, run_here, run_script


def test_sample_command_reproduces_and_summarises(gen, tmp_path):
    for out in ("a", "b"):
        run_script("infer.py", "sample", "--generator", gen, "--num", "5", "--seed", "3",
                   "--out", tmp_path / out)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["command"] == "sample" and summary["settings"]["seed"] == 3
    assert summary["generator"]["fingerprint"] and len(summary["items"]) == 5 and summary["errors"] == []
    for item in summary["items"]:
        name = item["outputs"]["image"]
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "grid.png").is_file()


def test_sample_never_overwrites_foreign_files(gen, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "grid.png").write_bytes(b"precious")
    result = run_script("infer.py", "sample", "--generator", gen, "--out", out, check=False)
    assert result.returncode == 1 and "nothing was overwritten" in result.stderr
    assert (out / "grid.png").read_bytes() == b"precious"


def test_demo_examples_are_made_from_shippable_sources(gen, tmp_path):
    from latentcat.examples import write_examples
    from latentcat.sketches import load_sketch
    written = write_examples(tmp_path, gen)
    assert sorted(p.name for p in written) == ["chelsea.png", "sample-a.png", "sample-b.png", "scribble.png"]
    assert Image.open(tmp_path / "photos" / "chelsea.png").size == (451, 300)  # whole: the commands frame it
    sketch, mask, _ = load_sketch(tmp_path / "scribble.png", 64)
    assert 0.1 < float(mask.mean()) < 0.6  # strokes, not a filled square nor nothing


@pytest.mark.parametrize("psi", ["nan", "inf", "-5", "2.5"])
def test_truncation_outside_minus_one_to_two_is_refused(gen, tmp_path, psi):
    one_line(run_here("infer.py", "sample", "--generator", gen, "--truncation", psi, "--out", tmp_path),
             "--truncation must be a number from -1.0 to 2.0", f"got {float(psi)}")
    assert not any(tmp_path.iterdir())


def test_device_errors_say_what_was_asked_and_what_there_is(gen, tmp_path, monkeypatch):
    one_line(run_here("infer.py", "sample", "--generator", gen, "--device", "cdua", "--out", tmp_path),
             "--device cdua is not a device name")
    with pytest.raises(UserError, match="only cpu and cuda"):
        device_from("meta")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="--device cuda: this machine has no usable CUDA GPU") as err:
        device_from("cuda")
    assert "\n" not in str(err.value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UserError, match=r"--device cuda:7: this machine has 2 CUDA GPU\(s\), cuda:0 to cuda:1"):
        device_from("cuda:7")
