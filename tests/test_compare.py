"""infer.py compare: every method, metric and curve (against steps and against seconds) in the summary."""
import json

import pytest

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint
from latentcat.encoder_files import save_encoder
from tests.conftest import run_here, tiny_generator

METHODS = {"encoder": (0, 0), "encoder-1": (0, 0), "hybrid": (4, 0), "tuned": (2, 3), "baseline": (8, 0),
           "pti": (4, 3)}


def test_compare_writes_every_method_and_both_curve_axes(gen, shapes_dir, tmp_path):
    G = tiny_generator()
    encoder = WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim, iterations=2))
    encoder.w_avg.copy_(G.w_avg)
    save_encoder(tmp_path / "enc.safetensors", encoder, fingerprint(G))
    images = sorted(shapes_dir.glob("*.png"))[:2]
    out = tmp_path / "cmp"
    run_here("infer.py", "compare", *images, "--generator", gen, "--encoder", tmp_path / "enc.safetensors",
               "--methods", ",".join(METHODS), "--refine-steps", "4", "--tuned-refine-steps", "2",
               "--tune-generator", "3", "--baseline-steps", "8", "--pti-steps", "4", "--record-every", "2",
               "--drift-samples", "4", "--perceptual", "stlpips-alex", "--refine-lr", "0.02", "--no-progress",
               "--out", out, check=True)
    s = json.loads((out / "summary.json").read_text())
    assert set(s["methods"]) == set(METHODS)
    assert s["methods"]["hybrid"]["lr"] == 0.02 and s["methods"]["baseline"]["lr"] == 0.1
    for name, (steps, tune_steps) in METHODS.items():
        m = s["methods"][name]
        for key in ("mse", "psnr", "ssim", "lpips"):
            assert set(m[key]) == {"mean", "median"}
        assert m["lpips_net"] == "stlpips-vgg" and m["seconds_per_image"] > 0
        assert (m["steps"], m["tune_steps"]) == (steps, tune_steps)
        assert ("drift_lpips" in m) == (tune_steps > 0)
        if steps + tune_steps:
            assert m["curve"]["step"] == list(range(0, steps + tune_steps + 1, 2)) + \
                ([steps + tune_steps] if (steps + tune_steps) % 2 else [])
            assert len(m["curve"]["seconds"]) == len(m["curve"]["step"]) == len(m["curve"]["psnr"])
            assert m["curve"]["seconds"] == sorted(m["curve"]["seconds"])
    assert len(s["items"]) == 2 and set(s["items"][0]["metrics"]) == set(METHODS)
    for name, (_, tune_steps) in METHODS.items():  # each photo's drift, measured where it was tuned
        drifts = [item["metrics"][name].get("drift_lpips") for item in s["items"]]
        assert all(d is not None and d >= 0 for d in drifts) if tune_steps else drifts == [None, None]
        if tune_steps:
            assert s["methods"][name]["drift_lpips"]["mean"] == pytest.approx(sum(drifts) / 2)
    assert (out / "comparison.png").is_file() and (out / "curve.png").is_file()


def test_compare_without_drift_samples_measures_no_drift(gen, shapes_dir, tmp_path):
    G = tiny_generator()
    encoder = WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim, iterations=1))
    encoder.w_avg.copy_(G.w_avg)
    save_encoder(tmp_path / "enc.safetensors", encoder, fingerprint(G))
    out = tmp_path / "cmp"
    run_here("infer.py", "compare", sorted(shapes_dir.glob("*.png"))[0], "--generator", gen,
             "--encoder", tmp_path / "enc.safetensors", "--methods", "tuned", "--tuned-refine-steps", "1",
             "--tune-generator", "1", "--drift-samples", "0", "--no-progress", "--out", out, check=True)
    s = json.loads((out / "summary.json").read_text())
    assert "drift_lpips" not in s["methods"]["tuned"] and "drift_lpips" not in s["items"][0]["metrics"]["tuned"]
