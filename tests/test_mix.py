"""infer.py mix: style crossover extremes are the two reconstructions; arithmetic; bad layers refused."""
import numpy as np
from PIL import Image

from tests.conftest import infer_here, summary


def test_mix_crossover_extremes_and_arithmetic(gen, photos, tmp_path):
    out = tmp_path / "mix"
    assert infer_here("mix", photos / "a.png", photos / "b.png", "--out", out, gen=gen).returncode == 0
    s = summary(out)
    num_ws = s["generator"]["config"]["resolution"].bit_length() * 2 - 4  # 16 px: 6 w+ layers
    assert s["settings"]["layers"] == list(range(num_ws + 1))
    content = np.asarray(Image.open(out / s["items"][0]["outputs"]["reconstruction"]))
    style = np.asarray(Image.open(out / s["items"][1]["outputs"]["reconstruction"]))
    assert np.array_equal(np.asarray(Image.open(out / "mix-layer00.png")), style)
    assert np.array_equal(np.asarray(Image.open(out / f"mix-layer{num_ws:02d}.png")), content)
    assert infer_here("mix", photos / "a.png", photos / "b.png", photos / "c.png", "--arithmetic",
                      "--out", tmp_path / "ar", gen=gen).returncode == 0
    assert (tmp_path / "ar" / "arithmetic.png").is_file()
    bad = infer_here("mix", photos / "a.png", photos / "b.png", "--layer", "99", "--out", tmp_path / "z", gen=gen)
    assert bad.returncode == 1 and "--layer 99 is outside" in bad.stderr
