"""infer.py invert as a user runs it, on a tiny 16 px generator: outputs, summary fields, starts, and a
one-line error for every bad input."""

import numpy as np
import torch
from PIL import Image

import latentcat.batches
import latentcat.outputs
from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint
from inversion.code import Code
from latentcat.encoder_files import save_encoder
from latentcat.generator_files import load_generator, save_generator
from latentcat.latent_files import load_code, write_code
from tests.conftest import disk_full_at, infer, infer_here, one_line, run_script, summary, tiny_generator


def test_invert_writes_latents_renders_grid_and_full_summary(gen, photos, tmp_path):
    out = tmp_path / "inv"
    infer("invert", photos, "--out", out, "--record-every", "4", "--save-every", "4", "--batch-size", "2",
          gen=gen)
    s = summary(out)
    assert s["command"] == "invert" and s["generator"]["fingerprint"] and s["settings"]["inversion"]["space"] == "w+"
    assert len(s["items"]) == 3 and s["errors"] == []
    for item in s["items"]:
        assert set(item) >= {"input", "outputs", "metrics", "seconds", "steps"}
        assert set(item["metrics"]) == {"mse", "psnr", "ssim", "lpips", "lpips_net"}
        assert item["metrics"]["lpips_net"] == "stlpips-vgg"  # differs from the loss network
        assert item["steps"] == 8 and item["record"]["step"] == [0, 4, 8]
        for name in item["outputs"].values():
            assert (out / name).is_file()
    assert (out / "grid.png").is_file() and (out / "loss.png").is_file() and (out / "metrics.png").is_file()
    assert len(list((out / "frames").glob("*.png"))) == 6
    # a saved latent starts a new run exactly where the old one ended
    latent = out / s["items"][0]["outputs"]["latent"]
    again = tmp_path / "again"
    infer("invert", photos / "a.png", "--init", latent, "--steps", "0", "--out", again, gen=gen)
    before = np.asarray(Image.open(out / s["items"][0]["outputs"]["reconstruction"]))
    after = np.asarray(Image.open(again / summary(again)["items"][0]["outputs"]["reconstruction"]))
    assert np.array_equal(before, after)


def test_init_folder_starts_each_photo_from_its_own_latent_and_reports_photos_without_one(gen, photos, tmp_path):
    first = tmp_path / "first"
    infer("invert", photos / "a.png", photos / "b.png", "--out", first, gen=gen)
    again = tmp_path / "again"
    # c has no latent in `first`; b is listed before a, so names and indices differ from the first run
    infer("invert", photos / "c.png", photos / "b.png", photos / "a.png", "--init", first, "--steps", "0",
          "--out", again, gen=gen)
    s = summary(again)
    assert [e["input"].rsplit("/", 1)[1] for e in s["errors"]] == ["c.png"]
    assert "has no latent for it" in s["errors"][0]["error"]
    for stem, old in (("a", "000-a.png"), ("b", "001-b.png")):
        item = next(i for i in s["items"] if i["input"].endswith(f"{stem}.png"))
        new = np.asarray(Image.open(again / item["outputs"]["reconstruction"]))
        assert np.array_equal(new, np.asarray(Image.open(first / old)))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = infer("invert", photos / "a.png", "--init", empty, "--out", tmp_path / "x", gen=gen, check=False)
    assert result.returncode == 1 and "holds no latent files" in result.stderr and "Traceback" not in result.stderr


def test_bad_photos_are_reported_one_line_each_and_the_rest_inverted(gen, mixed_folder, tmp_path):
    Image.new("RGB", (8, 8)).save(mixed_folder / "small.png")
    # a folder stands for its image files; a named file is always tried
    result = infer("invert", mixed_folder, mixed_folder / "notes.txt", "--out", tmp_path / "o", gen=gen)
    s = summary(tmp_path / "o")
    errors = {e["input"].rsplit("/", 1)[1]: e["error"] for e in s["errors"]}
    assert errors == {"cut.jpg": errors["cut.jpg"], "empty.png": "file is empty (0 bytes)",
                      "notes.txt": "not an image file (unrecognised format)",
                      "small.png": "image is 8x8, smaller than the 16 px minimum"}
    assert "corrupt or truncated" in errors["cut.jpg"]
    assert len(s["items"]) == 7  # every mode converted: RGBA, grey, palette, CMYK, 16-bit, webp, wide jpg
    assert "centre-cropped" in result.stdout and "converted from CMYK" in result.stdout
    assert "Traceback" not in result.stderr


def test_precision_bf16_reaches_the_encoder_and_is_recorded(gen, photos, tmp_path):
    """--precision bf16 reaches the encoder (with no steps, its codes are the encoder's: they differ from fp32's),
    and the result stays close to fp32's."""
    G = load_generator(gen)
    encoder = tmp_path / "encoder.safetensors"
    torch.manual_seed(0)
    save_encoder(encoder, WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim)), fingerprint(G))
    runs = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / precision
        result = infer_here("invert", photos / "a.png", "--encoder", encoder, "--steps", "0", "--precision", precision,
                            "--out", out, gen=gen)
        assert result.returncode == 0, result.stderr
        runs[precision] = summary(out)
        runs[precision]["code"] = load_code(out / runs[precision]["items"][0]["outputs"]["latent"], G, fingerprint(G)).latent
    fp32, bf16 = runs["fp32"], runs["bf16"]
    assert bf16["settings"]["inversion"]["precision"] == "bf16" and bf16["errors"] == []
    assert bf16["settings"]["init"] == "encoder" and not torch.equal(bf16["code"], fp32["code"])
    assert abs(bf16["items"][0]["metrics"]["lpips"] - fp32["items"][0]["metrics"]["lpips"]) < 0.02


def test_nothing_done_is_a_nonzero_exit(gen, tmp_path):
    (tmp_path / "junk.png").write_bytes(b"nope")
    result = infer("invert", tmp_path / "junk.png", "--out", tmp_path / "o", gen=gen, check=False)
    assert result.returncode == 1 and "nothing could be done" in result.stderr
    assert "Traceback" not in result.stderr


def test_nan_during_optimisation_is_reported_not_crashed(gen, photos, tmp_path):
    result = infer("invert", photos / "a.png", "--out", tmp_path / "o", "--lr", "1e30", "--warmup", "0",
                   gen=gen, check=False)
    assert result.returncode == 1, result.stderr
    assert "became NaN or inf" in summary(tmp_path / "o")["errors"][0]["error"]
    assert "Traceback" not in result.stderr


def test_foreign_files_in_out_are_never_overwritten(gen, photos, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "000-a.png").write_bytes(b"precious")
    result = infer("invert", photos / "a.png", "--out", out, gen=gen, check=False)
    assert result.returncode == 1 and "nothing was overwritten" in result.stderr
    assert (out / "000-a.png").read_bytes() == b"precious"


def test_latents_from_another_space_or_generator_are_refused(gen, photos, tmp_path):
    out = tmp_path / "w"
    assert infer_here("invert", photos / "a.png", "--latent", "w", "--out", out, gen=gen).returncode == 0
    latent = out / "000-a.latent.safetensors"
    result = infer_here("invert", photos / "a.png", "--init", latent, "--out", tmp_path / "x", gen=gen)
    assert result.returncode == 1 and "holds a w latent, but --latent is w+" in result.stderr
    other = tmp_path / "other.safetensors"
    save_generator(other, tiny_generator(seed=5))
    result = infer_here("interpolate", latent, latent, "--out", tmp_path / "y", gen=other)
    assert result.returncode == 1 and "belongs to generator" in result.stderr
    assert str(latent) in result.stderr and "Traceback" not in result.stderr


def test_offline_vgg16_fails_with_a_clear_message(gen, photos, tmp_path):
    result = run_script("infer.py", "invert", photos / "a.png", "--generator", gen, "--perceptual", "vgg16",
                        "--vgg-weights", tmp_path / "missing.pth", "--out", tmp_path / "o", check=False)
    assert result.returncode == 1 and "no such weights file" in result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_generator_starts_from_the_shipped_encoder(photos, tmp_path):
    """With no --generator and no --encoder, infer.py uses the shipped pair: the encoder is the start."""
    out = tmp_path / "default"
    run_script("infer.py", "invert", photos / "a.png", "--steps", "0", "--no-progress", "--out", out)
    s = summary(out)
    assert s["settings"]["init"] == "encoder" and s["settings"]["encoder"].endswith("encoder-cat64.safetensors")
    assert s["generator"]["path"].endswith("stylegan2-cat64.safetensors") and s["errors"] == []


def latent_file(gen, path, value: float):
    """A w+ latent for the `gen` generator whose every entry is `value`."""
    G = load_generator(gen)
    write_code(path, Code(torch.full((1, G.num_ws, G.w_dim), value), "w+", generator=fingerprint(G)))
    return path


def test_init_latents_with_nan_or_huge_values_are_reported_not_crashed(gen, photos, tmp_path):
    nan = latent_file(gen, tmp_path / "nan.latent.safetensors", float("nan"))
    one_line(infer_here("invert", photos / "a.png", "--init", nan, "--out", tmp_path / "n", gen=gen),
             nan, "holds NaN or infinite values")
    # finite but absurd: every loss is non-finite from the first step, so there is no gradient at all
    huge = latent_file(gen, tmp_path / "huge.latent.safetensors", 1e30)
    result = infer_here("invert", photos / "a.png", photos / "b.png", "--init", huge, "--out", tmp_path / "h",
                        gen=gen)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = summary(tmp_path / "h")["errors"]
    assert len(errors) == 2 and all("became NaN or inf at step 0" in e["error"] for e in errors)


def interrupted_at_batch(monkeypatch, k: int) -> list:
    """invert_batch as it is, but Ctrl-C arrives during batch k (1-based); returns the batches it was given."""
    real, batches = latentcat.batches.invert_batch, []

    def batch(session, inputs, *rest):
        batches.append([inp.stem for inp in inputs])
        if len(batches) == k:
            raise KeyboardInterrupt
        return real(session, inputs, *rest)

    monkeypatch.setattr(latentcat.batches, "invert_batch", batch)
    return batches


def test_an_interrupted_run_keeps_finished_photos_and_resume_skips_them(gen, photos, tmp_path, monkeypatch):
    out = tmp_path / "o"
    args = ("invert", photos, "--batch-size", "1", "--out", out)
    interrupted_at_batch(monkeypatch, 2)
    result = infer_here(*args, gen=gen)
    assert result.returncode == 130 and "interrupted" in result.stderr
    s = summary(out)
    assert s["finished"] is False and [i["input"] for i in s["items"]] == [str(photos / "a.png")]
    first = s["items"][0]
    assert all((out / name).is_file() for name in first["outputs"].values())

    batches = interrupted_at_batch(monkeypatch, 0)
    infer_here(*args, "--resume", gen=gen)
    assert batches == [["b"], ["c"]]  # a was not inverted again
    s = summary(out)
    assert s["finished"] is True and len(s["items"]) == 3 and s["items"][0] == first
    assert set(s["metrics_mean"]["psnr"]) and (out / "grid.png").is_file()
    one_line(infer_here(*args, "--resume", "--steps", "9", gen=gen), "--resume", "other settings (inversion)")


def test_a_write_error_mid_run_is_one_line_and_keeps_the_photos_written(gen, photos, tmp_path, monkeypatch):
    disk_full_at(monkeypatch, "001-b.png")
    out = tmp_path / "o"
    one_line(infer_here("invert", photos, "--batch-size", "1", "--out", out, gen=gen),
             "could not write 001-b.png (No space left on device)", "what was written before stays")
    assert [i["outputs"]["reconstruction"] for i in summary(out)["items"]] == ["000-a.png"]
    assert (out / "000-a.png").is_file() and (out / "000-a.latent.safetensors").is_file()


def test_compile_flag_reaches_the_inversion_and_is_recorded(gen, photos, tmp_path):
    result = infer_here("invert", photos / "a.png", "--steps", "3", "--perceptual-weight", "0", "--compile",
                        "--out", tmp_path / "c", gen=gen)
    assert result.returncode == 0, result.stderr
    s = summary(tmp_path / "c")
    assert s["settings"]["inversion"]["compile"] is True and s["errors"] == []
