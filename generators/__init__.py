"""Cat generators: StyleGAN2 (z, w, w+) and the course's vanilla DCGAN (z), with their GAN losses.

Every generator implements `protocol.Generator`; nothing else in latentcat needs to know which one it holds.
"""
from generators.config import PRESETS, DCGANConfig, StyleGAN2Config, generator_config_from_dict, preset
from generators.dcgan import DCGANDiscriminator, DCGANGenerator
from generators.protocol import SPACES, Generator, check_space, fingerprint, sample_images, seeded_z
from generators.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator


def build_generator(config):
    """The generator a config describes (weights freshly initialised)."""
    return {StyleGAN2Config: StyleGAN2Generator, DCGANConfig: DCGANGenerator}[type(config)](config)


def build_discriminator(config):
    """The discriminator that trains against `build_generator(config)`."""
    return {StyleGAN2Config: StyleGAN2Discriminator, DCGANConfig: DCGANDiscriminator}[type(config)](config)


__all__ = [
    "DCGANConfig", "StyleGAN2Config", "PRESETS", "preset", "generator_config_from_dict",
    "StyleGAN2Generator", "StyleGAN2Discriminator", "DCGANGenerator", "DCGANDiscriminator",
    "build_generator", "build_discriminator",
    "Generator", "SPACES", "check_space", "fingerprint", "sample_images", "seeded_z",
]
