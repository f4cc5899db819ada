"""infer.py compare: every method, metric and curve in the summary."""
import json

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint
from latentcat.encoder_files import save_encoder
from tests.conftest import run_script, tiny_generator


def test_compare_writes_every_field(gen, shapes_dir, tmp_path):
    G = tiny_generator()
    save_encoder(tmp_path / "enc.safetensors", WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws,
                                                                          w_dim=G.w_dim)), fingerprint(G))
    images = sorted(shapes_dir.glob("*.png"))[:3]
    out = tmp_path / "cmp"
    run_script("infer.py", "compare", *images, "--generator", gen, "--encoder", tmp_path / "enc.safetensors",
               "--refine-steps", "4", "--baseline-steps", "8", "--record-every", "2", "--perceptual", "stlpips-alex",
               "--refine-lr", "0.02", "--no-progress", "--out", out)
    s = json.loads((out / "summary.json").read_text())
    assert set(s["methods"]) == {"encoder", "hybrid", "baseline"}
    assert s["methods"]["hybrid"]["lr"] == 0.02 and s["methods"]["baseline"]["lr"] == 0.1
    for name, steps in (("encoder", 0), ("hybrid", 4), ("baseline", 8)):
        m = s["methods"][name]
        for key in ("mse", "psnr", "ssim", "lpips"):
            assert set(m[key]) == {"mean", "median"}
        assert m["lpips_net"] == "stlpips-vgg" and m["seconds_per_image"] > 0 and m["steps"] == steps
    assert s["methods"]["hybrid"]["curve"]["step"] == [0, 2, 4]
    assert s["methods"]["baseline"]["curve"]["step"] == [0, 2, 4, 6, 8]
    assert len(s["items"]) == 3 and set(s["items"][0]["metrics"]) == {"encoder", "hybrid", "baseline"}
    assert (out / "comparison.png").is_file() and (out / "curve.png").is_file()
