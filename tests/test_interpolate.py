"""infer.py interpolate: a morph between two photos or saved latents whose ends are the reconstructions."""
import numpy as np
import torch
from PIL import Image

from generators import fingerprint
from inversion.code import Code
from latentcat.generator_files import load_generator
from latentcat.latent_files import write_code
from tests.conftest import infer, infer_here, one_line, summary


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


def test_a_nan_latent_is_reported_as_that_input_and_frames_need_two(gen, photos, tmp_path):
    G = load_generator(gen)
    good, bad = tmp_path / "good.latent.safetensors", tmp_path / "bad.latent.safetensors"
    write_code(good, Code(G.mapping(torch.randn(1, G.z_dim)), "w", generator=fingerprint(G)))
    latent = G.mapping(torch.randn(1, G.z_dim))
    latent[0, 0] = float("nan")
    write_code(bad, Code(latent, "w", generator=fingerprint(G)))
    result = infer_here("interpolate", good, bad, "--frames", "3", "--out", tmp_path / "o", gen=gen)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    s = summary(tmp_path / "o")
    assert s["errors"] == [{"input": str(bad), "error": "holds NaN or infinite values"}]
    assert not (tmp_path / "o" / "frames").exists()  # no black frames
    one_line(infer_here("interpolate", good, good, "--frames", "1", "--out", tmp_path / "f", gen=gen),
             "--frames must be at least 2")
