"""train.py import and --generator FILE.pkl|.pt: NVlabs and rosinality generators render exactly what their own
code renders, files round-trip, and hostile or unsupported files are refused in one line without running
anything."""
import argparse
import os

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from encoder.config import EncoderConfig
from encoder.training import EncoderTrainingConfig
from generators import fingerprint
from latentcat import foreign
from latentcat.encoder_trainer import EncoderRunConfig, EncoderTrainer
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from tests.conftest import ROOT, infer, run_script, summary, tiny_generator
from tests.foreign_files import Net, dump, lively, nvlabs_generator, nvlabs_snapshot, rosinality_checkpoint

FIXTURES = ROOT.parent / "shared" / "fixtures" / "foreign-generators"
FIXTURE_FILES = ["nvlabs-sg2ada-32px.pkl", "nvlabs-sg2ada-64px-fp16.pkl", "rosinality-sg2-64px.pt"]
TOLERANCE = 1e-3  # max |diff| on renders that reach about +-17


def fixture(name: str):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the foreign generator fixtures are not on this machine")
    return path


def reference(path) -> dict[str, torch.Tensor]:
    return load_file(str(path).rsplit(".", 1)[0] + ".reference.safetensors")


@torch.no_grad()
def largest_differences(G, ref: dict[str, torch.Tensor]) -> dict[str, float]:
    """max |latentcat - reference| for the mapping and every reference render."""
    if "latent_avg" in ref:  # rosinality: the renders truncate toward the reference's mean_latent(4096)
        G.mapping.w_avg.copy_(ref["latent_avg"])
    ws = ref["ws"] if ref["ws"].ndim == 3 else G.broadcast(ref["ws"])
    psi07 = ref["ws_psi07"] if "ws_psi07" in ref else G.w_avg.lerp(ws, 0.7)
    diffs = {"ws": G.broadcast(G.mapping(ref["z"])) - ws, "ws_psi07": G.broadcast(G.mapping(ref["z"], 0.7)) - psi07}
    for key, codes, mode in (("img_const", ws, "const"), ("img_noise_none", ws, "none"),
                             ("img_psi07_const", psi07, "const"), ("img_mixed_const", ref["ws_mixed"], "const")):
        if key in ref:
            diffs[key] = G.synthesis(codes, noise_mode=mode) - ref[key]
    return {key: d.abs().max().item() for key, d in diffs.items()}


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixtures_render_their_references(name):
    path = fixture(name)
    diffs = largest_differences(load_generator(path, log=lambda *_: None), reference(path))
    assert len(diffs) >= 5 and max(diffs.values()) <= TOLERANCE, diffs


def test_import_writes_a_generator_file_that_renders_the_reference(tmp_path):
    path = fixture("nvlabs-sg2ada-64px-fp16.pkl")
    result = run_script("train.py", "import", path, "--out", tmp_path / "gen.safetensors")
    assert "resolution: 64" in result.stdout and "discriminator: True" in result.stdout
    assert "mapping_layers: 8" in result.stdout and "fp16" in result.stdout
    with safe_open(str(tmp_path / "gen.safetensors"), "pt") as f:
        meta = f.metadata()
    assert meta["source_format"] == "nvlabs-stylegan2-ada-pytorch" and meta["kind"] == "generator"
    G = load_generator(tmp_path / "gen.safetensors")
    assert G.config.num_fp16_res == 2 and G.config.conv_clamp == 256
    assert meta["fingerprint"] == fingerprint(G) == fingerprint(load_generator(path, log=lambda *_: None))
    assert max(largest_differences(G, reference(path)).values()) <= TOLERANCE


def test_rosinality_without_latent_avg_gets_a_recorded_estimate():
    path = fixture("rosinality-sg2-64px.pt")
    imported = foreign.import_generator(path)
    assert imported.w_avg_source.startswith(f"mean of {foreign.W_AVG_SAMPLES} mapped z")
    assert any("w_avg" in note for note in imported.notes)
    # the reference's mean_latent(4096) and the importer's estimate agree to sampling error
    assert (imported.G.w_avg - reference(path)["latent_avg"]).abs().max() < 0.1


def test_invert_and_compare_run_on_an_imported_generator(shapes_dir, photos, tmp_path):
    path = fixture("nvlabs-sg2ada-64px-fp16.pkl")
    out = infer("invert", photos / "a.png", "--out", tmp_path / "inv", "--steps", "2", gen=path)
    assert "converted in memory" in out.stdout and summary(tmp_path / "inv")["items"]
    model = EncoderConfig(resolution=64, num_ws=10, w_dim=96)
    EncoderTrainer(EncoderRunConfig(generator=str(path), data=str(shapes_dir), out=str(tmp_path / "enc"), model=model,
                                    training=EncoderTrainingConfig(perceptual_weight=0.0), steps=2, batch_size=4),
                   log=lambda *_: None).train()
    save_generator(tmp_path / "gen.safetensors", foreign.import_generator(path).G)
    infer("compare", photos, "--out", tmp_path / "cmp", "--encoder", tmp_path / "enc" / "encoder.safetensors",
          "--methods", "encoder,hybrid,baseline", "--refine-steps", "2", "--baseline-steps", "2",
          gen=tmp_path / "gen.safetensors")
    assert set(summary(tmp_path / "cmp")["methods"]) == {"encoder", "hybrid", "baseline"}


@pytest.mark.parametrize("fmt", ["nvlabs snapshot", "nvlabs generator", "rosinality"])
def test_round_trip_through_each_format_is_exact(fmt, tmp_path):
    G = lively(tiny_generator(name="tiny-32"))
    path = tmp_path / ("g.pt" if fmt == "rosinality" else "g.pkl")
    if fmt == "rosinality":
        torch.save(rosinality_checkpoint(G, latent_avg=True), path)
    else:
        dump(nvlabs_snapshot(G) if fmt == "nvlabs snapshot" else nvlabs_generator(G), path)
    H = foreign.import_generator(path).G
    assert fingerprint(H) == fingerprint(G)
    ws = G.broadcast(G.mapping(torch.randn(3, G.z_dim)))
    assert torch.equal(H.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const"))


class RunsAShellCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def refused(path, *words) -> str:
    with pytest.raises(UserError) as err:
        foreign.import_generator(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and all(w in message for w in words), message
    return message


def test_a_pickle_that_runs_a_shell_command_is_refused(tmp_path):
    marker = tmp_path / "ran"
    G = tiny_generator()
    dump(RunsAShellCommand(marker), tmp_path / "bare.pkl")
    dump(nvlabs_snapshot(G, augment_pipe=RunsAShellCommand(marker)), tmp_path / "snapshot.pkl")
    torch.save({**rosinality_checkpoint(G), "args": RunsAShellCommand(marker)}, tmp_path / "checkpoint.pt")
    for name in ("bare.pkl", "snapshot.pkl", "checkpoint.pt"):
        refused(tmp_path / name, "refused", "posix.system", "never runs code")
    assert not marker.exists()


def test_embedded_class_source_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    G = lively(tiny_generator())
    dump(nvlabs_snapshot(G), tmp_path / "g.pkl", module_src=f"open({str(marker)!r}, 'w').write('ran')\n")
    H = foreign.import_generator(tmp_path / "g.pkl").G
    assert not marker.exists() and fingerprint(H) == fingerprint(G)


def test_claims_of_a_gigantic_network_are_refused_before_anything_is_built(tmp_path, monkeypatch):
    monkeypatch.setattr(foreign, "StyleGAN2Generator", lambda *_: pytest.fail("built a network"))
    G = tiny_generator()
    for name, key, value, words in (("res.pkl", "img_resolution", 2 ** 20, ["1048576 px"]),
                                    ("wide.pkl", "w_dim", 10 ** 6, ["w_dim", "[1, 1024]"])):
        snapshot = nvlabs_snapshot(G)
        snapshot["G_ema"].state[key] = value
        dump(snapshot, tmp_path / name)
        refused(tmp_path / name, *words)
    snapshot = nvlabs_snapshot(G)  # a tensor claiming far more values than the file stores
    snapshot["G_ema"].state["_modules"]["mapping"].state["_buffers"]["w_avg"] = torch.zeros(1).expand(10 ** 6, 10 ** 6)
    dump(snapshot, tmp_path / "view.pkl")
    refused(tmp_path / "view.pkl", "claiming more values")
    checkpoint = rosinality_checkpoint(G)
    checkpoint["g_ema"]["to_rgb1.bias"] = torch.zeros(1).expand(10 ** 6, 10 ** 6)
    torch.save(checkpoint, tmp_path / "view.pt")
    refused(tmp_path / "view.pt", "claiming more values")


def _reconstruct_network(state):  # the global TensorFlow StyleGAN pickles name; never called
    raise AssertionError("tests never unpickle with the standard unpickler")


class TensorFlowNetwork:
    def __reduce__(self):
        return _reconstruct_network, ({"name": "G"},)


def test_unsupported_models_are_named(tmp_path):
    G = tiny_generator()
    conditional = nvlabs_snapshot(G)
    conditional["G_ema"].state["c_dim"] = 10
    sg3 = nvlabs_snapshot(G)
    sg3["G_ema"].state["_modules"]["synthesis"].add("input", Net("SynthesisInput"))
    for name, snapshot, words in (("cond.pkl", conditional, ["conditional", "c_dim = 10"]),
                                  ("sg3.pkl", sg3, ["StyleGAN3"])):
        dump(snapshot, tmp_path / name)
        refused(tmp_path / name, *words)

    dump({"G": TensorFlowNetwork()}, tmp_path / "tf.pkl", extra_globals={
        "dnnlib.tflib": {}, "dnnlib.tflib.network": {"_reconstruct_network": _reconstruct_network}})
    refused(tmp_path / "tf.pkl", "TensorFlow")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    refused(tmp_path / "junk.pt", "not a readable")
    torch.save({"state": {}, "args": argparse.Namespace(size=64)}, tmp_path / "other.pt")
    refused(tmp_path / "other.pt", "no rosinality g_ema")


def test_sample_takes_a_foreign_file_and_a_missing_one_is_one_line(tmp_path):
    G = lively(tiny_generator())
    dump(nvlabs_snapshot(G), tmp_path / "g.pkl")
    out = run_script("infer.py", "sample", "--generator", tmp_path / "g.pkl", "--out", tmp_path / "s", "--num", "2")
    assert "converted in memory" in out.stdout
    assert summary(tmp_path / "s")["generator"]["fingerprint"] == fingerprint(G)
    refused(tmp_path / "missing.pkl", "no such generator file")
    refused(tmp_path / "missing.pt", "no such generator file")
