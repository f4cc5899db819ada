"""Generator tuning (PTI / Deep Generative Prior) on a tiny 16 px StyleGAN2: it fits the photo, one generator per
photo stays that photo's, locked blocks stay put, the locality regulariser holds random renders, the loop reads the
device only every few steps, bf16 fits as fp32 does, and a tuned generator's file holds only its changes, rebuilds
it bit for bit and refuses a wrong parent."""
import dataclasses

import pytest
import torch

from generators import fingerprint, seeded_z
from inversion.feature_networks import build_feature_network
from inversion.invert import InversionConfig
from inversion.latents import initial_code
from inversion.losses import LossWeights
from inversion.metrics import render_drift
from inversion.optimize import HOST_READ_EVERY
from inversion.tuning import TuningConfig, tune
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from latentcat.tuned_files import write_tuned
from tests.conftest import HostReads, infer, summary, tiny_generator

PIXEL_ONLY = InversionConfig(weights=LossWeights(perceptual=0.0))


@pytest.fixture(scope="module")
def G():
    return tiny_generator()


@pytest.fixture(scope="module")
def targets(G):
    """Two targets the untuned generator cannot render exactly (random images)."""
    return torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1


def run(G, targets, config=PIXEL_ONLY, network=None, **tuning):
    pivot = initial_code(G, "w+", "mean", len(targets))
    return tune(G, targets, config, TuningConfig(**{"steps": 20, "lr": 0.01, **tuning}), pivot, network,
                progress=False)


def weights(G) -> dict:
    return {k: v.clone() for k, v in G.named_parameters()}


def test_tuning_fits_each_photo_and_one_photo_never_moves_another_photos_generator(G, targets):
    both = run(G, targets)
    first = torch.tensor(both.log.losses[0])
    assert torch.all(both.losses < 0.7 * first), (first, both.losses)
    assert both.rows == [0, 1] and len(set(both.fingerprints)) == 2 and fingerprint(G) not in both.fingerprints
    for tuned in both.generators:  # each holds its own change, not a view of the whole batch's (memory, pickling)
        assert all(c.untyped_storage().nbytes() == c.numel() * c.element_size() for c in tuned.tuned.changes.values())
    alone = run(G, targets[1:])
    for name, value in alone.generators[0].named_parameters():  # photo 0 in the batch changed nothing of photo 1's
        torch.testing.assert_close(value, dict(both.generators[1].named_parameters())[name], atol=2e-4, rtol=1e-3)


def test_one_generator_per_batch_is_shared(G, targets):
    shared = run(G, targets, per="batch")
    assert shared.rows == [0, 0] and len(shared.generators) == 1
    assert shared.code_of(0).generator == shared.code_of(1).generator == shared.fingerprints[0]


def test_locked_blocks_do_not_change(G, targets):
    before = weights(G)
    result = run(G, targets[:1], steps=1, schedule="progressive")  # step 0 unlocks the coarsest block only
    after = dict(result.generators[0].named_parameters())
    blocks = G.blocks()
    assert any(not torch.equal(after[n], before[n]) for n in blocks[0][1])
    for _, names in blocks[1:]:
        assert all(torch.equal(after[n], before[n]) for n in names)
    partial = dict(run(G, targets[:1], from_resolution=16).generators[0].named_parameters())
    assert all(torch.equal(partial[n], before[n]) for _, names in blocks[:2] for n in names)
    assert all(torch.equal(partial[n], before[n]) for n in before if n.startswith("mapping."))


@pytest.mark.parametrize("samples", [1, 4])
def test_locality_regulariser_holds_random_renders(G, targets, samples):
    network = build_feature_network("stlpips-alex")
    z = seeded_z(G.z_dim, 8, seed=1)
    free = run(G, targets[:1], steps=30, lr=0.03).generators[0]
    held = run(G, targets[:1], steps=30, lr=0.03, locality_weight=100.0, locality_reach=1.0,
               locality_samples=samples).generators[0]
    with torch.no_grad():
        parent_renders = G.sample(z)
    assert render_drift(parent_renders, held, z, network) < 0.5 * render_drift(parent_renders, free, z, network)


def test_tuning_reads_the_device_only_every_few_steps(G, targets, monkeypatch):
    """No host sync per step, with every per-step feature: the code tuned too, blocks unlocked progressively,
    the locality regulariser, the perceptual loss and the early-stop test (a threshold no row reaches)."""
    network = build_feature_network("stlpips-alex")
    reads, counts = HostReads(monkeypatch), []
    for steps in (10, 30):
        reads.count = 0
        run(G, targets, InversionConfig(), network, steps=steps, tune_latent=True, schedule="progressive",
            locality_weight=1.0, stop_lpips=0.0)
        counts.append(reads.count)
    assert counts[1] - counts[0] <= 20 // HOST_READ_EVERY, counts


def test_bf16_tuning_fits_as_fp32_does_and_keeps_fp32_weights(G, targets):
    fp32 = run(G, targets)
    bf16 = run(G, targets, dataclasses.replace(PIXEL_ONLY, precision="bf16"))
    assert all(p.dtype == torch.float32 for p in bf16.generators[0].parameters())
    assert not torch.equal(bf16.losses, fp32.losses)
    torch.testing.assert_close(bf16.losses, fp32.losses, rtol=0.05, atol=0)


def test_a_tuned_file_holds_the_changes_rebuilds_them_bit_for_bit_and_refuses_a_wrong_parent(G, targets, tmp_path):
    parent = tmp_path / "parent.safetensors"
    save_generator(parent, G)
    tuned = run(G, targets[:1], from_resolution=16).generators[0]
    write_tuned(tmp_path / "tuned.safetensors", tuned, parent)
    loaded = load_generator(tmp_path / "tuned.safetensors")
    for name, value in tuned.named_parameters():
        assert torch.equal(value, dict(loaded.named_parameters())[name]), name
    code = initial_code(G, "w+", "random", 2, seed=4)
    assert torch.equal(code.render(loaded), code.render(tuned))
    assert (tmp_path / "tuned.safetensors").stat().st_size < 0.8 * parent.stat().st_size  # only what changed
    save_generator(parent, tiny_generator(seed=9))  # the recorded parent replaced by another generator
    with pytest.raises(UserError, match="was not found .*is generator") as err:
        load_generator(tmp_path / "tuned.safetensors")
    assert "\n" not in str(err.value)


def test_invert_with_tuning_writes_each_photo_its_generator_and_the_pair_reproduces_it(gen, photos, tmp_path):
    out = tmp_path / "tuned"
    infer("invert", photos / "a.png", photos / "b.png", "--tune-generator", "4", "--record-every", "4",
          "--out", out, gen=gen)
    s = summary(out)
    assert s["settings"]["tuning"]["steps"] == 4
    for item in s["items"]:
        assert item["tune_steps"] == 4 and item["record"]["step"] == [0, 4, 8, 12]
        assert len(item["record"]["seconds"]) == 4 and (out / item["outputs"]["generator"]).is_file()
    item = s["items"][1]
    again = tmp_path / "again"
    infer("invert", item["input"], "--generator", out / item["outputs"]["generator"], "--init",
          out / item["outputs"]["latent"], "--steps", "0", "--out", again, gen=gen)
    assert summary(again)["generator"]["fingerprint"] == fingerprint(load_generator(out / item["outputs"]["generator"]))
    assert (again / summary(again)["items"][0]["outputs"]["reconstruction"]).read_bytes() == \
        (out / item["outputs"]["reconstruction"]).read_bytes()
