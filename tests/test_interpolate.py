"""infer.py interpolate: a morph between two photos or saved latents whose ends are the reconstructions."""
import numpy as np
from PIL import Image

from tests.conftest import infer, summary


def test_interpolate_two_photos_writes_gif_and_strip_whose_ends_are_the_reconstructions(gen, photos, tmp_path):
    out = tmp_path / "interp"
    infer("interpolate", photos / "a.png", photos / "b.png", "--frames", "5", "--out", out, gen=gen)
    s = summary(out)
    assert len(s["items"]) == 2 and s["settings"]["space"] == "w+"
    gif = Image.open(out / "interpolation.gif")
    assert gif.n_frames == 5
    assert Image.open(out / "filmstrip.png").size[0] > 4 * Image.open(out / "filmstrip.png").size[1]
    for frame, item in (("frame-000.png", 0), ("frame-004.png", 1)):
        recon = out / s["items"][item]["outputs"]["reconstruction"]
        assert np.array_equal(np.asarray(Image.open(out / "frames" / frame)), np.asarray(Image.open(recon)))
    # saved latents work as inputs too
    latents = [out / s["items"][i]["outputs"]["latent"] for i in (0, 1)]
    infer("interpolate", *latents, "--frames", "3", "--out", tmp_path / "from-latents", gen=gen)
