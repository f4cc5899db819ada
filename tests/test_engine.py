"""The inversion engine on a tiny random StyleGAN2 (16 px): recovery, masks, optimisers, batching, NaNs, host
reads per step, bf16, edits."""
import pytest
import torch
from torch.func import vmap

from generators import build_generator
from generators.config import preset
from inversion.code import Code
from inversion.edits import crossover, interpolation_frames
from inversion.feature_networks import build_feature_network
from inversion.invert import InversionConfig, invert
from inversion.latents import initial_code
from inversion.losses import InversionLoss, LossWeights
from inversion.optimize import HOST_READ_EVERY, OptimizerConfig, optimize
from inversion.precision import in_precision
from tests.conftest import HostReads, tiny_generator

PIXEL_ONLY = LossWeights(pixel=1.0, perceptual=0.0)


@pytest.fixture(scope="module")
def G():
    return tiny_generator()


@pytest.fixture(scope="module")
def known(G):
    """Targets rendered from known w+ codes (random w per layer, so only w+ can fit them exactly)."""
    torch.manual_seed(1)
    ws = initial_code(G, "w+", "random", 3, seed=7).latent
    ws = ws + 0.5 * (ws - G.w_avg).std() * torch.randn_like(ws)
    with torch.no_grad():
        return ws, G.render(ws)


def mse(a, b):
    return (a - b).square().mean(dim=(1, 2, 3))


def run(G, targets, optimizer="adam", steps=100, space="w+", init="mean", weights=PIXEL_ONLY, precision="fp32",
        compile=False, **kw):
    config = InversionConfig(space=space, weights=weights, optimizer=OptimizerConfig(name=optimizer, steps=steps),
                             precision=precision, compile=compile)
    return invert(G, targets, config, initial_code(G, space, init, len(targets)), progress=False, **kw)


def test_inverting_a_generated_image_recovers_it(G, known):
    _, targets = known
    with torch.no_grad():
        start = mse(initial_code(G, "w+", "mean", 3).render(G), targets)
    config = InversionConfig(space="w+", weights=PIXEL_ONLY,
                             optimizer=OptimizerConfig(name="lbfgs", steps=500, lbfgs_history=50))
    result = invert(G, targets, config, initial_code(G, "w+", "mean", 3), progress=False)
    assert torch.all(mse(result.images, targets) * 100 < start), (start, mse(result.images, targets))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize("space", ["z", "w", "w+"])
def test_both_optimizers_lower_the_loss_in_every_space(G, known, optimizer, space):
    _, targets = known
    result = run(G, targets, optimizer, steps=30, space=space, init="random" if space == "z" else "mean")
    first = torch.tensor(result.log.losses[0])
    assert not result.log.failures
    assert torch.all(result.losses < 0.8 * first), (first, result.losses)


def test_adam_batch_equals_one_by_one(G, known):
    _, targets = known
    batched = run(G, targets, "adam", steps=40)
    for i in range(len(targets)):
        alone = run(G, targets[i:i + 1], "adam", steps=40)
        torch.testing.assert_close(alone.code.latent[0], batched.code.latent[i], atol=2e-4, rtol=1e-3)


def test_lbfgs_batch_is_one_joint_problem_that_still_improves_every_image(G, known):
    """Documented behaviour: a batch shares LBFGS's line search, so results differ from one-by-one runs,
    yet every image improves; a batch of one is exactly a one-image run."""
    _, targets = known
    batched = run(G, targets, "lbfgs", steps=30)
    first = torch.tensor(batched.log.losses[0])
    assert torch.all(batched.losses < 0.8 * first)
    alone = run(G, targets[:1], "lbfgs", steps=30)
    again = run(G, targets[:1], "lbfgs", steps=30)
    torch.testing.assert_close(alone.code.latent, again.code.latent, atol=0, rtol=0)
    assert not torch.allclose(alone.code.latent[0], batched.code.latent[0], atol=1e-6)


def test_lbfgs_line_search_shortens_a_step_that_overshoots():
    """Rosenbrock from (-1.5, 2): LBFGS's first full steps overshoot the curved valley. The strong-Wolfe line
    search must shorten them; a step that is only accepted or dropped stays stuck at the start for good."""
    x = torch.tensor([[-1.5, 2.0]], requires_grad=True)

    def rosenbrock(step):
        return (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2

    optimize([x], rosenbrock, OptimizerConfig(name="lbfgs", steps=100), progress=False)
    torch.testing.assert_close(x.detach(), torch.ones(1, 2), atol=1e-3, rtol=0)


def test_optimised_noise_stays_normalised_and_helps(G, known):
    _, targets = known
    config = InversionConfig(space="w+", optimize_noise=True, weights=LossWeights(perceptual=0.0, noise=1e3),
                             optimizer=OptimizerConfig(steps=60))
    result = invert(G, targets, config, initial_code(G, "w+", "mean", 3), progress=False)
    assert result.code.noise is not None and len(result.code.noise) == G.num_ws - 1
    for n in result.code.noise:
        assert n.shape[0] == 3
        torch.testing.assert_close(n.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    assert torch.all(result.losses < torch.tensor(result.log.losses[0]))


class NaNAfter:
    """Wraps G: from the k-th render on, image `row` comes out NaN (as an fp16 overflow would)."""

    def __init__(self, G, k: int, row: int):
        self.G, self.k, self.row, self.calls = G, k, row, 0

    def __getattr__(self, name):
        return getattr(self.G, name)

    def render(self, codes, noise=None):
        self.calls += 1
        img = self.G.render(codes, noise)
        if self.calls >= self.k:
            img = img.clone()
            img[self.row] = float("nan")
        return img


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_nan_stops_only_that_image(G, known, optimizer):
    _, targets = known
    broken = NaNAfter(G, k=5, row=1)
    result = run(broken, targets, optimizer, steps=20)
    assert set(result.log.failures) == {1}
    assert "NaN" in result.log.failures[1]
    assert torch.isfinite(result.code.latent).all()
    first = torch.tensor(result.log.losses[0])
    for i in (0, 2):
        assert result.losses[i] < first[i]


def test_the_adam_loop_reads_the_device_only_every_few_steps(G, known, monkeypatch):
    """No host sync per step: 20 more steps of an inversion with every per-step feature (perceptual loss,
    optimised noise, latent jitter, a NaN stopping one image) add at most one host read per HOST_READ_EVERY
    steps (the progress bar's loss and whether any image is left)."""
    _, targets = known
    network = build_feature_network("stlpips-alex")
    reads, counts = HostReads(monkeypatch), []
    for steps in (10, 30):
        config = InversionConfig(optimize_noise=True, weights=LossWeights(perceptual=1.0),
                                 optimizer=OptimizerConfig(steps=steps, latent_noise=0.05))
        reads.count = 0
        result = invert(NaNAfter(G, k=5, row=1), targets, config, initial_code(G, "w+", "mean", 3),
                        network=network, progress=False)
        counts.append(reads.count)
    assert set(result.log.failures) == {1} and len(result.log.losses) == 30
    assert counts[1] - counts[0] <= 20 // HOST_READ_EVERY, counts


def test_bf16_inversion_keeps_fp32_latents_and_reaches_the_fp32_loss(G, known):
    """bf16 autocast really changes the arithmetic (the codes differ from fp32's), yet the codes stay fp32 and
    the loss lands within a few percent of fp32's."""
    _, targets = known
    fp32, bf16 = (run(G, targets, steps=30, precision=precision) for precision in ("fp32", "bf16"))
    assert bf16.code.latent.dtype == bf16.images.dtype == bf16.losses.dtype == torch.float32
    assert not bf16.log.failures and not torch.equal(bf16.code.latent, fp32.code.latent)
    assert torch.all(bf16.losses < 0.2 * torch.tensor(bf16.log.losses[0]))
    torch.testing.assert_close(bf16.losses, fp32.losses, rtol=0.05, atol=0)


def test_compiled_step_follows_the_eager_trajectory(G, known):
    """--compile changes how the step is computed, not what: the same losses step by step (float rounding
    aside), masks included, and the gradient really flows through the compiled render and loss."""
    _, targets = known
    masks = torch.ones_like(targets[:, :1])
    masks[..., :8] = 0
    eager, compiled = (run(G, targets, steps=12, masks=masks, compile=c) for c in (False, True))
    assert compiled.log.losses[-1][0] < 0.5 * compiled.log.losses[0][0]
    torch.testing.assert_close(torch.tensor(compiled.log.losses), torch.tensor(eager.log.losses), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(compiled.code.latent, eager.code.latent, rtol=1e-4, atol=1e-5)


def test_bf16_renders_the_same_under_vmap_as_without(G, known):
    """autocast misses convolutions under torch.func.vmap (generator tuning renders with it): in_precision
    applies its rule there too, so a vmapped render is autocast's, bit for bit."""
    ws, _ = known
    plain = in_precision("bf16", ws.device, G.render, ws)
    vmapped = in_precision("bf16", ws.device, lambda: vmap(lambda w: G.render(w[None]))(ws).flatten(0, 1))
    assert torch.equal(vmapped, plain) and not torch.allclose(plain, G.render(ws), atol=1e-3)


def test_the_bf16_perceptual_loss_is_close_to_fp32_and_its_gradient_flows(known):
    """The loss network's trunk in bf16, its distances and means in fp32: values within a few percent."""
    _, targets = known
    network = build_feature_network("stlpips-alex")
    loss = InversionLoss(LossWeights(pixel=0.0, perceptual=1.0), targets, network=network)
    images = (targets + 0.3 * torch.randn_like(targets)).requires_grad_(True)
    fp32, _ = loss(images)
    bf16, terms = loss(images, precision="bf16")
    assert bf16.dtype == terms["perceptual"].dtype == torch.float32
    torch.testing.assert_close(bf16, fp32.detach(), rtol=0.05, atol=0)
    bf16.sum().backward()
    assert images.grad.dtype == torch.float32 and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0


def test_stop_ends_the_optimisation_keeping_the_steps_done(G, known):
    _, targets = known
    seen = []
    result = run(G, targets, steps=20, on_step=lambda step, render: seen.append(step), stop=lambda: len(seen) == 3)
    assert result.log.stopped and result.log.steps == 3 and seen == [0, 1, 2]
    assert len(result.log.losses) == 3 and result.images.shape == targets.shape
    assert not run(G, targets, steps=2).log.stopped


def test_masked_losses_give_exactly_zero_gradient_outside_the_mask():
    net = build_feature_network("stlpips-alex")
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 4:24] = 1
    images = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    loss = InversionLoss(LossWeights(pixel=1.0, perceptual=1.0), target, mask, net)
    total, terms = loss(images)
    assert set(terms) == {"pixel", "perceptual"} and total.shape == (2,)
    total.sum().backward()
    outside = images.grad * (1 - mask)
    assert torch.count_nonzero(outside) == 0
    assert torch.count_nonzero(images.grad * mask) > 0


@pytest.mark.parametrize("side", [32, 64])
def test_the_perceptual_network_reads_images_at_the_chosen_side_and_a_mask_still_holds(side):
    """--perceptual-upsample: both images resized before the network (never the pixel term); at the images' own
    side nothing changes, and masked pixels still get exactly no gradient."""
    net = build_feature_network("stlpips-alex")
    seen = []
    read = net.features
    net.features = lambda x: (seen.append(x.shape[-1]), read(x))[1]
    torch.manual_seed(0)
    target, mask = torch.rand(2, 3, 32, 32) * 2 - 1, torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 4:24] = 1
    images = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    resized = InversionLoss(LossWeights(pixel=0.0), target, mask, net, perceptual_side=side)(images)[0]
    as_is = InversionLoss(LossWeights(pixel=0.0), target, mask, net)(images)[0]
    assert seen and all(s == side for s in seen[:2]) and seen[-1] == 32
    assert torch.allclose(resized, as_is) == (side == 32)
    resized.sum().backward()
    assert torch.count_nonzero(images.grad * (1 - mask)) == 0 and torch.count_nonzero(images.grad * mask) > 0


def test_zero_weights_skip_their_terms(known):
    _, targets = known
    total, terms = InversionLoss(LossWeights(pixel=0.0, perceptual=0.0, latent_change=1.0), targets)(
        targets, latent=torch.ones(3, 4), init=torch.zeros(3, 4))
    assert set(terms) == {"latent_change"}
    torch.testing.assert_close(total, torch.ones(3))


def test_interpolation_ends_are_the_two_reconstructions(G, known):
    ws, _ = known
    for a, b in [(Code(ws[:1], "w+"), Code(ws[1:2], "w+")),
                 (Code(torch.randn(1, G.z_dim), "z"), Code(torch.randn(1, G.z_dim), "z"))]:
        frames = interpolation_frames(G, a, b, 7)
        assert frames.shape == (7, 3, 16, 16)
        torch.testing.assert_close(frames[0], a.render(G)[0])
        torch.testing.assert_close(frames[-1], b.render(G)[0])


def test_crossover_extremes_are_pure_style_and_pure_content(G, known):
    ws, _ = known
    content, style = Code(ws[:1], "w+"), Code(ws[1:2], "w+")
    torch.testing.assert_close(crossover(G, content, style, 0), style.render(G))
    torch.testing.assert_close(crossover(G, content, style, G.num_ws), content.render(G))
    middle = crossover(G, content, style, G.num_ws // 2)
    assert not torch.allclose(middle, style.render(G))


def test_config_validation_is_one_clear_message():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        OptimizerConfig(name="sgd")
    with pytest.raises(ValueError, match="loss weight pixel"):
        LossWeights(pixel=-1)
    with pytest.raises(ValueError, match="latent space"):
        InversionConfig(space="s")
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        InversionConfig(precision="fp16")


def test_dcgan_inverts_in_z_only():
    torch.manual_seed(0)
    D = build_generator(preset("tiny-dcgan")).eval().requires_grad_(False)
    assert D.latent_spaces == ("z",)
    with torch.no_grad():
        for conv in D.modules():
            if isinstance(conv, torch.nn.ConvTranspose2d):
                conv.weight.mul_(25)  # DCGAN's N(0, 0.02) init renders near-constant images: make it expressive
        targets = D(torch.randn(2, D.z_dim))
    result = run(D, targets, "lbfgs", steps=40, space="z")
    assert torch.all(result.losses < 0.5 * torch.tensor(result.log.losses[0]))
    with pytest.raises(ValueError, match="latent spaces z, not 'w'"):
        run(D, targets, space="w")


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_batch_whose_every_loss_is_nan_from_the_start_stops_cleanly(G, known, optimizer):
    _, targets = known
    result = run(NaNAfter(G, k=1, row=slice(None)), targets, optimizer, steps=5)
    assert set(result.log.failures) == {0, 1, 2} and all("step 0" in f for f in result.log.failures.values())
    torch.testing.assert_close(result.code.latent, initial_code(G, "w+", "mean", 3).latent)
