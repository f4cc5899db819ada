"""infer.py sample and the demo's example inputs."""
import json

from PIL import Image

from tests.conftest import run_script


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
