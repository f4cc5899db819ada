"""Framing photos: a perturbed face is framed back where it was, no face means a centre crop and a notice, the
crop travels through summary.json, and paste-back leaves the photo untouched outside its soft mask."""
import numpy as np
import pytest
from PIL import Image

from latentcat.errors import UserError
from latentcat.framing import (DETECTOR, Crop, Face, FramingConfig, centre_crop, crop_for_face, frame,
                               frame_to_photo, load_framed, paste_back, soft_mask)
from latentcat.images import load_square_rgb
from tests.conftest import infer, needs_shared_data, summary


def perturbation(shift=0.0, zoom=1.0, angle=0.0, size=256) -> Crop:
    """The frame that makes a perturbed copy of a size x size photo: its content moved right and down by
    `shift` px, shrunk to `zoom` and turned by `angle` degrees clockwise."""
    return Crop.around((size / 2 - shift,) * 2, size / zoom, -angle, size, (size, size))


def to_original(crop: Crop, made_by: Crop) -> tuple[np.ndarray, float, float]:
    """A crop found in a perturbed copy, in the original photo's coordinates: centre, side, angle."""
    m = frame_to_photo(made_by, made_by.resolution)
    centre = m[:, :2] @ (np.array(crop.centre) - 0.5) + m[:, 2] + 0.5
    return centre, crop.side * made_by.side / made_by.resolution, crop.angle + made_by.angle


def texture(size=256, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size // 8, size // 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.BICUBIC)


@pytest.mark.parametrize("shift, zoom, angle", [(16, 1.0, 0.0), (0, 0.6, 0.0), (8, 0.8, 15.0)])
def test_the_frame_of_a_face_follows_the_face_exactly(shift, zoom, angle):
    """Geometry alone: a face moved by a perturbation is framed onto the same pixels as before."""
    photo = texture()
    face = Face((60.0, 70.0, 130.0, 130.0), 0.0, 5)
    made_by = perturbation(shift, zoom, angle)
    copy = frame(photo, made_by)
    back = np.linalg.inv(np.vstack([frame_to_photo(made_by, 256), [0, 0, 1]]))
    c = back[:2, :2] @ (face.centre - 0.5) + back[:2, 2] + 0.5
    w = face.box[2] * zoom
    moved = Face((c[0] - w / 2, c[1] - w / 2, w, w), angle, 5)
    centre, side, turned = to_original(crop_for_face(moved, 64, copy.size), made_by)
    expected = crop_for_face(face, 64, photo.size)
    assert np.abs(centre - expected.centre).max() < 1e-6 and abs(side - expected.side) < 1e-6 and abs(turned) < 1e-9
    a = np.asarray(frame(photo, expected), dtype=float)
    b = np.asarray(frame(copy, crop_for_face(moved, 64, copy.size)), dtype=float)
    assert np.abs(a - b)[8:-8, 8:-8].mean() < 6  # two resamplings apart


@pytest.mark.parametrize("shift, zoom, angle", [(16, 1.0, 0.0), (32, 1.0, 0.0), (0, 0.6, 0.0), (0, 1.0, 15.0)])
def test_a_perturbed_test_cat_is_framed_back_within_a_few_pixels(shift, zoom, angle):
    """The cascade's boxes come in scale steps: the side is held to 10% (bench/framing_robustness.py measures
    the spread over many cats; this one is detected in every copy)."""
    path = needs_shared_data("afhq-cat/test") / "flickr_cat_000332.jpg"
    photo = Image.open(path).convert("RGB")
    original = crop_for_face(DETECTOR.detect(photo)[0], 64, photo.size)
    made_by = perturbation(shift, zoom, angle)
    copy = frame(photo, made_by)
    found = DETECTOR.detect(copy)
    assert found, "no face found in the perturbed copy"
    centre, side, turned = to_original(crop_for_face(found[0], 64, copy.size), made_by)
    assert np.abs(centre - original.centre).max() < 4 and abs(side / original.side - 1) < 0.1
    assert abs(turned - original.angle) < 3


def test_no_face_means_a_centre_crop_and_a_notice(tmp_path):
    path = tmp_path / "wall.png"
    x = np.linspace(0, 255, 120)
    Image.fromarray(np.stack([np.tile(x, (80, 1))] * 3, axis=-1).astype(np.uint8)).save(path)
    image, crop, notes = load_framed(path, 32, FramingConfig())
    assert any("no cat face found; centre-cropped" in n for n in notes)
    assert crop == centre_crop((120, 80), 32) and crop.face is None and crop.as_dict()["framed"] == "centre"
    assert np.array_equal(np.asarray(image), np.asarray(load_square_rgb(path, 32)[0]))


def test_paste_back_leaves_the_photo_exactly_as_it_was_outside_the_mask():
    photo = texture(300, seed=1).crop((0, 0, 300, 200))
    crop = Crop((120.0, 20.0, 260.0, 160.0), 12.0, 32, photo.size)
    rendered = Image.new("RGB", (32, 32), (255, 0, 0))
    out = np.asarray(paste_back(photo, crop, rendered)).astype(int)
    before = np.asarray(photo).astype(int)
    m = np.linalg.inv(np.vstack([frame_to_photo(crop, 32), [0, 0, 1]]))
    yy, xx = np.mgrid[0:200, 0:300]
    u, v = (m[:2, :2] @ np.stack([xx.ravel(), yy.ravel()]) + m[:2, 2:]).reshape(2, 200, 300)
    mask = soft_mask((u + 0.5) / 32, (v + 0.5) / 32)
    assert (mask == 0).any() and (mask == 1).any()
    assert np.array_equal(out[mask == 0], before[mask == 0])
    assert np.abs(out[mask == 1] - [255, 0, 0]).max() <= 1
    assert (out[(mask > 0.5)] != before[(mask > 0.5)]).any()


@pytest.fixture(scope="module")
def chelsea(tmp_path_factory):
    from latentcat.examples import chelsea
    path = tmp_path_factory.mktemp("chelsea") / "chelsea.png"
    chelsea().save(path)
    return path


def test_the_crop_round_trips_through_summary_json_and_paste_back_fills_the_photo(gen, chelsea, tmp_path):
    infer("invert", chelsea, "--steps", "1", "--paste-back", "--out", tmp_path / "out", gen=gen)
    item = summary(tmp_path / "out")["items"][0]
    _, crop, _ = load_framed(chelsea, 16, FramingConfig())
    assert item["crop"]["framed"] == "face" and Crop.from_dict(item["crop"]) == crop
    assert Image.open(tmp_path / "out" / item["outputs"]["pasted"]).size == (451, 300)


def test_asking_for_a_face_that_is_not_there_is_a_one_line_error(chelsea):
    with pytest.raises(UserError, match="--face 2 asks for more faces than the 1 found"):
        load_framed(chelsea, 64, FramingConfig(face=2))
    with pytest.raises(ValueError, match="--align"):
        FramingConfig(align="maybe")
