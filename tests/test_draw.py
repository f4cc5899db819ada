"""infer.py draw: scribbles (RGBA or RGB) fitted only where drawn; empty sketches refused."""
import numpy as np
import torch
from PIL import Image

from inversion.draw import START_TRUNCATION, sketch_starts
from inversion.invert import InversionConfig
from tests.conftest import infer, summary, tiny_generator


def sketch_files(folder):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 10:14] = (250, 120, 20, 255)
    Image.fromarray(rgba, "RGBA").save(folder / "strokes.png")
    rgb = np.full((40, 40, 3), 255, np.uint8)
    rgb[10:30, 18:22] = (20, 20, 20)
    Image.fromarray(rgb).save(folder / "lines.png")
    Image.fromarray(np.zeros((32, 32, 4), np.uint8), "RGBA").save(folder / "blank.png")
    Image.fromarray(np.full((32, 32, 3), 255, np.uint8)).save(folder / "white.png")


def test_draw_fits_rgba_and_rgb_sketches_and_refuses_empty_ones(gen, tmp_path):
    sketches = tmp_path / "sketches"
    sketches.mkdir()
    sketch_files(sketches)
    out = tmp_path / "draw"
    result = infer("draw", sketches, "--out", out, gen=gen)
    s = summary(out)
    assert s["settings"]["inversion"]["space"] == "w"  # draw's default: strokes alone would pull w+ off the manifold
    assert s["settings"]["samples"] == 3 and s["settings"]["start_truncation"] == START_TRUNCATION
    assert {e["input"].rsplit("/", 1)[1] for e in s["errors"]} == {"blank.png", "white.png"}
    assert all("mask is empty" in e["error"] for e in s["errors"])
    assert len(s["items"]) == 2
    for item in s["items"]:
        scores = item["metrics"]["masked_l1_all"]
        assert len(scores) == 3 and scores == sorted(scores) and item["metrics"]["masked_l1"] == scores[0]
        assert (out / item["outputs"]["grid"]).is_file() and (out / item["outputs"]["latent"]).is_file()
    assert "no alpha channel" in result.stdout


def test_truncated_starts_lie_between_the_mean_and_the_random_samples():
    """draw's random starts are pulled toward w_avg (typical cats); one start is the mean whatever psi."""
    G = tiny_generator()
    config = InversionConfig(space="w")
    free = sketch_starts(G, config, 3, seed=1, truncation=1).latent
    truncated = sketch_starts(G, config, 3, seed=1, truncation=0.5).latent
    torch.testing.assert_close(truncated - G.w_avg, 0.5 * (free - G.w_avg))
    assert torch.equal(sketch_starts(G, config, 1, truncation=0.5).latent, G.mean_latent("w", 1))  # one: the mean
