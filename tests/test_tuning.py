"""Generator tuning (PTI / Deep Generative Prior) on a tiny 16 px StyleGAN2, low-rank (the default) and dense: it
fits the photo, one generator per photo stays that photo's, locked blocks stay put, the locality regulariser holds
random renders, the loop reads the device only every few steps, bf16 fits as fp32 does, a low-rank change renders
as its dense weights do, and a tuned generator's file holds only its changes, rebuilds it bit for bit, loads in
every command and refuses a wrong parent."""
import dataclasses

import pytest
import torch

from generators import fingerprint, seeded_z
from generators.layers import LowRankChange, ModulatedConv2d
from inversion.feature_networks import build_feature_network
from inversion.invert import InversionConfig
from inversion.latents import initial_code
from inversion.losses import LossWeights
from inversion.metrics import render_drift
from inversion.optimize import HOST_READ_EVERY
from inversion.tuned_weights import low_rank_product
from inversion.tuning import TuningConfig, tune
from latentcat.checkpoints import load_tensors
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from latentcat.session import SessionSettings, open_session
from latentcat.tuned_files import write_tuned
from tests.conftest import HostReads, infer, infer_here, run_here, summary, tiny_generator

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


def stored(tuned) -> list[torch.Tensor]:
    """Every tensor a tuned generator's change holds."""
    return [*tuned.changes.values(), *(f for pair in tuned.low_rank.values() for f in pair)]


@pytest.mark.parametrize("rank", [8, 0])
def test_tuning_fits_each_photo_and_one_photo_never_moves_another_photos_generator(G, targets, rank):
    both = run(G, targets, rank=rank)
    first = torch.tensor(both.log.losses[0])
    assert torch.all(both.losses < 0.7 * first), (first, both.losses)
    assert both.rows == [0, 1] and len(set(both.fingerprints)) == 2 and fingerprint(G) not in both.fingerprints
    for tuned in both.generators:  # each holds its own change, not a view of the whole batch's (memory, pickling)
        assert bool(tuned.tuned.low_rank) == (rank > 0) and stored(tuned.tuned)
        assert all(c.untyped_storage().nbytes() == c.numel() * c.element_size() for c in stored(tuned.tuned))
    alone = run(G, targets[1:], rank=rank)
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


@pytest.mark.parametrize("up, resample", [(False, "nvlabs"), (True, "nvlabs"), (True, "bilinear")])
def test_a_low_rank_change_renders_as_its_dense_weight_does(up, resample):
    """Each row's samples, convolved beside the shared weight, as the row's changed weight alone renders them."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 6, 3, 5, up=up, resample=resample).requires_grad_(False)
    rows, per_row = 2, 3
    x, w = torch.randn(rows * per_row, 8, 7, 7), torch.randn(rows * per_row, 5)
    conv.change = LowRankChange(torch.randn(rows, 6, 2) * 0.3, torch.randn(rows, 2, 8, 3, 3) * 0.3)
    batched = conv(x, w)
    dense, parent = conv.change.dense(), conv.weight.clone()
    conv.change, expected = None, []
    for row in range(rows):
        conv.weight.copy_(parent + dense[row])
        expected.append(conv(x[row * per_row:(row + 1) * per_row], w[row * per_row:(row + 1) * per_row]))
    torch.testing.assert_close(batched, torch.cat(expected), atol=1e-5, rtol=1e-5)


def test_a_low_rank_product_is_exact_whatever_the_threads():
    """What a tuned file rebuilds does not depend on the machine: fp16 factors multiply exactly in float64."""
    g = torch.Generator().manual_seed(0)
    up, down = torch.randn(64, 8, generator=g).half(), (torch.randn(8, 48, 3, 3, generator=g) * 0.01).half()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = low_rank_product(up, down)
        torch.set_num_threads(2)
        two = low_rank_product(up, down)
    finally:
        torch.set_num_threads(threads)
    exact = (up.double() @ down.double().flatten(1)).reshape(64, 48, 3, 3).float()
    assert torch.equal(one, two) and torch.equal(one, exact)


@pytest.mark.parametrize("rank", [8, 0])
def test_a_tuned_file_holds_the_changes_rebuilds_them_bit_for_bit_and_refuses_a_wrong_parent(G, targets, tmp_path,
                                                                                              rank):
    parent = tmp_path / "parent.safetensors"
    save_generator(parent, G)
    tuned = run(G, targets[:1], from_resolution=16, rank=rank).generators[0]
    write_tuned(tmp_path / "tuned.safetensors", tuned, parent)
    loaded = load_generator(tmp_path / "tuned.safetensors")
    for name, value in tuned.named_parameters():
        assert torch.equal(value, dict(loaded.named_parameters())[name]), name
    code = initial_code(G, "w+", "random", 2, seed=4)
    assert torch.equal(code.render(loaded), code.render(tuned))
    keys = load_tensors(tmp_path / "tuned.safetensors", "generator")[0]
    assert all(k.startswith("low_rank." if rank else "change.") for k in keys)  # rank 0: the format of older files
    size = (tmp_path / "tuned.safetensors").stat().st_size
    assert size < (0.5 if rank else 0.8) * parent.stat().st_size  # only what changed; low rank: a fraction of it
    save_generator(parent, tiny_generator(seed=9))  # the recorded parent replaced by another generator
    with pytest.raises(UserError, match="was not found .*is generator") as err:
        load_generator(tmp_path / "tuned.safetensors")
    assert "\n" not in str(err.value)


def test_a_low_rank_tuned_file_loads_in_every_command(gen, photos, tmp_path):
    """A photo pair tuned together, then its generator file and latents in every command that takes a generator."""
    out = tmp_path / "tuned"
    infer("invert", photos / "a.png", photos / "b.png", "--tune-generator", "3", "--tune-per", "batch", "--out", out,
          gen=gen)
    items = summary(out)["items"]
    tuned, (a, b) = out / items[0]["outputs"]["generator"], [out / item["outputs"]["latent"] for item in items]
    assert all(k.startswith("low_rank.") for k in load_tensors(tuned, "generator")[0])
    dirs, expected = tmp_path / "dirs", fingerprint(load_generator(tuned))
    runs = {"directions": ["--method", "sefa", "--num", "2"],
            "edit": [a, "--directions", dirs, "--strengths", "-1,0,1"],
            "interpolate": [a, b, "--frames", "3"], "mix": [a, b], "invert": [photos / "c.png"],
            "compare": [photos / "c.png", "--methods", "baseline", "--baseline-steps", "2", "--record-every", "1"]}
    for command, args in runs.items():
        folder = dirs if command == "directions" else tmp_path / command
        result = infer_here(command, *args, "--out", folder, "--generator", tuned, gen=gen)
        assert result.returncode == 0, (command, result.stderr)
        assert summary(folder)["generator"]["fingerprint"] == expected, command
    assert run_here("infer.py", "sample", "--generator", tuned, "--num", "2", "--out", tmp_path / "sample").returncode == 0
    session = open_session(SessionSettings(generator=str(tuned), progress=False))  # what the studio opens
    assert session.G.tuned.low_rank and session.fingerprint == expected


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


def test_edit_tunes_a_photo_and_moves_it_along_the_parents_directions(gen, photos, tmp_path):
    """`edit --tune-generator`: directions found with the parent fit the tuned generator (tuning leaves w space
    alone), and strength 0 is the tuned reconstruction."""
    infer_here("directions", "--method", "sefa", "--num", "2", "--out", tmp_path / "dirs", gen=gen)
    out = tmp_path / "edited"
    result = infer_here("edit", photos / "a.png", "--tune-generator", "2", "--directions", tmp_path / "dirs",
                        "--strengths", "0,2", "--out", out, gen=gen)
    assert result.returncode == 0, result.stderr
    item = summary(out)["items"][0]
    assert (out / item["outputs"]["generator"]).is_file() and len(item["outputs"]["edited"]) == 2
