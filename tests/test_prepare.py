"""train.py prepare and reading user images: every mode converts, every broken file gets a one-line error."""
import pytest
import torch
from PIL import Image

from latentcat.datasets import load_images, read_folder, read_pack, write_pack
from latentcat.errors import UserError
from latentcat.images import load_square_rgb
from latentcat.inputs import expand_inputs
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


def test_notices_for_upscaled_and_animated_and_avif_read_in_folders(tmp_path):
    Image.new("RGB", (20, 20), "red").save(tmp_path / "small.png")
    img, notes = load_square_rgb(tmp_path / "small.png", 64)
    assert img.size == (64, 64) and notes == [(f"{tmp_path / 'small.png'}: 20 px is below the generator's 64 px; "
                                               "upscaled (the reconstruction will match a blurry photo)")]
    assert load_square_rgb(tmp_path / "small.png", 16)[1] == []  # downscaling is what every photo gets
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue", "green")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    img, notes = load_square_rgb(tmp_path / "anim.gif", 32)
    assert any("animated (3 frames); using the first frame" in n for n in notes)
    assert img.getpixel((0, 0)) == (255, 0, 0)
    Image.new("RGB", (32, 32), "blue").save(tmp_path / "photo.avif")
    assert expand_inputs([tmp_path]) == [str(tmp_path / name) for name in ("anim.gif", "photo.avif", "small.png")]
    assert load_square_rgb(tmp_path / "photo.avif", 32)[0].size == (32, 32)
