"""Datasets and user files: every mode converts, every broken file gets a one-line error naming it."""
import json

import pytest
import torch
from PIL import Image

import generators as g
from latentcat.datasets import load_images, read_folder, read_pack, write_pack
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from latentcat.images import load_square_rgb
from tests.conftest import run_script


def test_prepare_converts_every_mode_and_skips_junk(mixed_folder):
    messages = []
    images = read_folder(mixed_folder, 16, val_fraction=0.0, log=messages.append)
    assert images.train.shape == (7, 3, 16, 16) and images.train.dtype == torch.uint8
    skipped = [m for m in messages if m.startswith("warning: skipped") and "of 10 files" not in m]
    assert len(skipped) == 3
    assert any("notes.txt: not an image" in m for m in skipped)
    assert any("empty.png: file is empty" in m for m in skipped)
    assert any("cut.jpg: image is corrupt or truncated" in m for m in skipped)
    assert "warning: skipped 3 of 10 files" in messages[-1]


def test_split_is_deterministic_and_pack_round_trips(shapes_dir, tmp_path):
    a = read_folder(shapes_dir, 16, val_fraction=0.2, log=lambda *_: None)
    b = read_folder(shapes_dir, 16, val_fraction=0.2, log=lambda *_: None)
    assert a.val_names == b.val_names and 0 < len(a.val_names) < 64
    write_pack(tmp_path / "pack.safetensors", a)
    c = read_pack(tmp_path / "pack.safetensors")
    assert torch.equal(a.train, c.train) and torch.equal(a.val, c.val) and a.train_names == c.train_names
    with pytest.raises(UserError, match="packed at 16 px"):
        load_images(tmp_path / "pack.safetensors", 32)


def test_prepare_command(shapes_dir, tmp_path, mixed_folder):
    result = run_script("train.py", "prepare", shapes_dir, tmp_path / "out", "--resolution", "16")
    assert "wrote" in result.stdout
    assert len(list((tmp_path / "out" / "train").glob("*.png"))) + len(list((tmp_path / "out" / "val").glob("*.png"))) == 64
    assert load_images(tmp_path / "out", 16).train.shape[1:] == (3, 16, 16)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_script("train.py", "prepare", empty, tmp_path / "x", check=False)
    assert result.returncode == 1 and result.stderr.strip() == f"error: {empty}: folder is empty: no images to use"


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"hello, not an image", "not an image file"),
])
def test_bad_image_files(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as err:
        load_square_rgb(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_tiny_and_huge_images(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "tiny.png")
    with pytest.raises(UserError, match="smaller than the 16 px minimum"):
        load_square_rgb(tmp_path / "tiny.png")
    Image.new("L", (3000, 3000)).save(tmp_path / "huge.png")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000 * 1000
    try:
        with pytest.raises(UserError, match="decompression-bomb"):
            load_square_rgb(tmp_path / "huge.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def test_notices_for_converted_and_cropped(mixed_folder):
    img, notes = load_square_rgb(mixed_folder / "palette.png", 16)
    assert img.size == (16, 16) and img.mode == "RGB"
    assert any("converted from P" in n for n in notes) and any("centre-cropped" in n for n in notes)


@pytest.fixture
def generator_file(tmp_path):
    path = tmp_path / "g.safetensors"
    save_generator(path, g.build_generator(g.preset("tiny")))
    return path


def test_bad_generator_files(generator_file, tmp_path):
    data = generator_file.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 100)
    cases = {"truncated.safetensors": "corrupt or truncated", "garbage.safetensors": "corrupt or truncated",
             "missing.safetensors": "no such generator file"}
    for name, message in cases.items():
        with pytest.raises(UserError, match=message) as err:
            load_generator(tmp_path / name)
        assert name in str(err.value) and "\n" not in str(err.value)


def test_generator_config_mismatch(generator_file, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(generator_file), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), "channel_max": 32})
    save_file(tensors, str(tmp_path / "mismatch.safetensors"), metadata=meta)
    with pytest.raises(UserError, match="do not match the stored generator config"):
        load_generator(tmp_path / "mismatch.safetensors")
    meta["kind"] = "encoder"
    save_file(tensors, str(tmp_path / "kind.safetensors"), metadata=meta)
    with pytest.raises(UserError, match="not a generator"):
        load_generator(tmp_path / "kind.safetensors")


def test_sample_command_reproduces_and_summarises(generator_file, tmp_path):
    for out in ("a", "b"):
        run_script("infer.py", "sample", "--generator", generator_file, "--num", "5", "--seed", "3",
                   "--out", tmp_path / out)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["command"] == "sample" and summary["settings"]["seed"] == 3
    assert summary["generator"]["fingerprint"] and len(summary["items"]) == 5 and summary["errors"] == []
    for item in summary["items"]:
        name = item["outputs"]["image"]
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "grid.png").is_file()


def test_sample_never_overwrites_foreign_files(generator_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "grid.png").write_bytes(b"precious")
    result = run_script("infer.py", "sample", "--generator", generator_file, "--out", out, check=False)
    assert result.returncode == 1 and "nothing was overwritten" in result.stderr
    assert (out / "grid.png").read_bytes() == b"precious"


def test_export_writes_fp16(generator_file, tmp_path):
    run_script("train.py", "export", generator_file, tmp_path / "small.safetensors")
    from safetensors import safe_open
    with safe_open(str(tmp_path / "small.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    G = load_generator(tmp_path / "small.safetensors")
    assert next(G.parameters()).dtype == torch.float32


def test_demo_examples_are_made_from_shippable_sources(generator_file, tmp_path):
    from latentcat.examples import write_examples
    from latentcat.sketches import load_sketch
    written = write_examples(tmp_path, generator_file)
    assert sorted(p.name for p in written) == ["chelsea.png", "sample-a.png", "sample-b.png", "scribble.png"]
    assert Image.open(tmp_path / "photos" / "chelsea.png").size == (300, 300)
    sketch, mask, _ = load_sketch(tmp_path / "scribble.png", 64)
    assert 0.1 < float(mask.mean()) < 0.6  # strokes, not a filled square nor nothing
