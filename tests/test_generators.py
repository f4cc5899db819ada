"""StyleGAN2 and DCGAN networks: the entry points agree, shapes are right, noise behaves, autocast is safe."""
import pytest
import torch

import generators as g
from generators.stylegan2 import mix_styles


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return g.build_generator(g.preset("tiny")).eval()


def test_entry_points_agree(G):
    z = torch.randn(3, G.z_dim)
    via_forward = G(z, noise_mode="const")
    via_parts = G.synthesis(G.broadcast(G.mapping(z)), noise_mode="const")
    via_w = G.render(G.codes(G.mapping(z), "w"))
    assert torch.equal(via_forward, via_parts)
    assert torch.equal(via_forward, via_w)


@pytest.mark.parametrize("resolution", [16, 32, 64, 128, 256])
def test_shapes_at_every_resolution(resolution):
    cfg = g.preset("tiny", resolution=resolution, channel_base=resolution * 8)
    G, D = g.build_generator(cfg), g.build_discriminator(cfg)
    assert G.num_ws == cfg.num_ws == 2 * resolution.bit_length() - 4
    ws = torch.randn(2, G.num_ws, G.w_dim)
    img = G.synthesis(ws)
    assert img.shape == (2, 3, resolution, resolution)
    assert D(img).shape == (2,)
    assert len(G.synthesis.noise_shapes) == G.num_ws - 1


def test_noise_modes(G):
    ws = G.broadcast(G.mapping(torch.randn(2, G.z_dim)))
    assert torch.equal(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const"))
    assert torch.equal(G.synthesis(ws, noise_mode="none"), G.synthesis(ws, noise_mode="none"))
    with torch.no_grad():  # noise strengths start at 0: give them weight so noise shows
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
    torch.manual_seed(1)
    a = G.synthesis(ws, noise_mode="random")
    torch.manual_seed(1)
    assert torch.equal(a, G.synthesis(ws, noise_mode="random"))
    assert not torch.equal(a, G.synthesis(ws, noise_mode="random"))
    given = [torch.randn(s) for s in G.synthesis.noise_shapes]
    assert torch.equal(G.synthesis(ws, noise=given), G.synthesis(ws, noise=given))
    zeros = [torch.zeros(s) for s in G.synthesis.noise_shapes]
    assert torch.allclose(G.synthesis(ws, noise=zeros), G.synthesis(ws, noise_mode="none"))


def test_truncation_and_style_mixing(G):
    z = torch.randn(2, G.z_dim)
    assert torch.allclose(G.mapping(z, truncation=0.0), G.w_avg.expand(2, -1))
    a, b = (G.broadcast(G.mapping(torch.randn(2, G.z_dim))) for _ in range(2))
    assert torch.equal(mix_styles(a, b, 0), b)
    assert torch.equal(mix_styles(a, b, G.num_ws), a)
    mixed = mix_styles(a, b, 3)
    assert torch.equal(mixed[:, :3], a[:, :3]) and torch.equal(mixed[:, 3:], b[:, 3:])


def test_bad_ws_shape_is_refused(G):
    with pytest.raises(ValueError, match="ws must be"):
        G.synthesis(torch.randn(2, G.num_ws + 1, G.w_dim))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_is_safe(G, dtype):
    z = torch.randn(4, G.z_dim)
    with torch.autocast("cpu", dtype=dtype):
        img = G(z, noise_mode="const")
        logits = g.build_discriminator(G.config)(img)
    assert torch.isfinite(img).all() and torch.isfinite(logits).all()
    ref = G(z, noise_mode="const")
    assert (img.float() - ref).abs().mean() < 0.05


def test_files_from_before_the_nvlabs_fields_still_load():
    old = {"resolution": 16, "z_dim": 32, "w_dim": 32, "mapping_layers": 2, "mapping_lr_mul": 0.01,
           "channel_base": 256, "channel_max": 16, "mbstd_group": 4, "arch": "stylegan2"}
    config = g.generator_config_from_dict(old)
    assert (config.conv_clamp, config.num_fp16_res, config.channel_widths) == (None, 0, None)
    widths = g.generator_config_from_dict({**old, "channel_widths": [16, 16, 8]})
    assert widths.channel_widths == (16, 16, 8) and widths.channels(16) == 8


def test_fp16_layers_follow_nvlabs_and_run_in_fp32_on_cpu():
    config = g.preset("tiny-32", num_fp16_res=2)
    assert [r for r in config.resolutions if config.uses_fp16(r)] == [16, 32]
    torch.manual_seed(0)
    half = g.build_generator(config).eval()
    full = g.build_generator(g.preset("tiny-32")).eval()
    full.load_state_dict(half.state_dict())
    ws = torch.randn(2, full.num_ws, full.w_dim)
    assert torch.equal(half.synthesis(ws, noise_mode="const"), full.synthesis(ws, noise_mode="const"))


def test_upsampling_is_nvlabs_fir_with_zero_borders():
    """Inside the image the [1, 3, 3, 1] upsampling is bilinear 2x; at the border it sees zeros."""
    from generators.layers import upsample
    x = torch.randn(1, 2, 6, 6)
    bilinear = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(upsample(x)[..., 1:-1, 1:-1], bilinear[..., 1:-1, 1:-1], atol=1e-6)
    ones = upsample(torch.ones(1, 1, 4, 4))
    assert torch.allclose(ones[0, 0, 0, 1:-1], torch.full([6], 0.75)) and ones[0, 0, 0, 0] == 0.75 ** 2


def test_dcgan_shapes():
    for res in (16, 32, 64):
        cfg = g.preset("tiny-dcgan", resolution=res)
        G, D = g.build_generator(cfg), g.build_discriminator(cfg)
        img = G(torch.randn(3, cfg.z_dim))
        assert img.shape == (3, 3, res, res) and img.abs().max() <= 1
        assert D(img).shape == (3,)
        assert G.latent_spaces == ("z",)


def test_config_validation():
    with pytest.raises(ValueError, match="power of two"):
        g.StyleGAN2Config(resolution=48)
    assert g.StyleGAN2Config(resolution=1024, channel_base=32768).num_parameters() < 40e6  # NVlabs' 1024 px
    for bad, message in (({"resolution": 2048}, r"\[16, 1024\]"), ({"channel_max": 4096}, "channel_max"),
                         ({"z_dim": 10 ** 6}, "z_dim"), ({"mapping_layers": 100}, "mapping_layers"),
                         ({"channel_widths": (8, 8)}, "one width per resolution"), ({"num_fp16_res": 9}, "num_fp16"),
                         ({"conv_clamp": -1.0}, "conv_clamp"),
                         ({"resolution": 1024, "channel_base": 2 ** 20, "channel_max": 1024}, "M parameters")):
        with pytest.raises(ValueError, match=message):
            g.StyleGAN2Config(**bad)
    with pytest.raises(ValueError, match="unknown preset"):
        g.preset("nope")
    with pytest.raises(ValueError, match="unknown generator arch"):
        g.generator_config_from_dict({"arch": "biggan"})
