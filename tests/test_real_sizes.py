"""Resolutions up to 1024 px: a 1024 px generator samples and inverts through the commands, and the networks
that read images (the perceptual loss, the encoder) read a copy of at most 256 px, as NVlabs' projector and pSp do."""
import torch
import torch.nn.functional as F
from PIL import Image

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import StyleGAN2Config, build_generator
from inversion.feature_networks import build_feature_network
from latentcat.generator_files import save_generator
from tests.conftest import infer, run_here, summary


def test_a_1024_px_generator_samples_and_inverts(photos, tmp_path):
    torch.manual_seed(0)
    config = StyleGAN2Config(resolution=1024, z_dim=16, w_dim=16, mapping_layers=2, channel_base=2048, channel_max=8)
    save_generator(tmp_path / "big.safetensors", build_generator(config))
    run_here("infer.py", "sample", "--generator", tmp_path / "big.safetensors", "--num", "1", "--out", tmp_path / "s",
             check=True)
    assert Image.open(tmp_path / "s" / "seed0000-0000.png").size == (1024, 1024)
    infer("invert", photos / "a.png", "--steps", "1", "--batch-size", "1", "--out", tmp_path / "i",
          gen=tmp_path / "big.safetensors")
    item = summary(tmp_path / "i")["items"][0]
    assert Image.open(tmp_path / "i" / item["outputs"]["reconstruction"]).size == (1024, 1024)


def test_the_perceptual_loss_reads_at_most_256_px():
    network = build_feature_network("stlpips-alex")
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    for a, b in zip(network.features(x), network.features(F.interpolate(x, size=(256, 256), mode="area"))):
        assert torch.equal(a, b)


def test_the_encoder_uses_every_stage_above_64_px_and_reads_at_most_256_px():
    assert EncoderConfig(resolution=64, num_ws=10, w_dim=8).depth == 3
    config = EncoderConfig(resolution=512, num_ws=16, w_dim=8)
    assert config.depth == 4 and config.input_side == 256
    E = WPlusEncoder(config).eval()
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    with torch.no_grad():
        assert torch.equal(E(x), E(F.interpolate(x, size=(256, 256), mode="area")))
