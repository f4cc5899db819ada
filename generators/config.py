"""Architecture configs: one frozen dataclass per generator family, validated on creation, plus named presets."""
import dataclasses
import math
from dataclasses import dataclass


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


@dataclass(frozen=True)
class StyleGAN2Config:
    """StyleGAN2 generator and its residual discriminator (they share the channel schedule)."""

    resolution: int = 64          # output side in pixels, a power of two in [16, 256]
    z_dim: int = 512              # input latent (Z) dimensionality
    w_dim: int = 512              # intermediate latent (W) dimensionality
    mapping_layers: int = 8       # depth of the z -> w MLP
    mapping_lr_mul: float = 0.01  # equalised-lr multiplier of the mapping MLP
    channel_base: int = 16384     # channels at resolution r are min(channel_base // r, channel_max)
    channel_max: int = 512
    mbstd_group: int = 4          # discriminator minibatch-stddev group size
    arch: str = "stylegan2"

    def __post_init__(self):
        if self.arch != "stylegan2":
            raise ValueError(f"StyleGAN2Config.arch must be 'stylegan2', got {self.arch!r}")
        if not (_is_power_of_two(self.resolution) and 16 <= self.resolution <= 256):
            raise ValueError(f"resolution must be a power of two in [16, 256], got {self.resolution}")
        for name in ("z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max", "mbstd_group"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if min(self.channel_base // self.resolution, self.channel_max) < 1:
            raise ValueError("channel_base is too small: the top resolution would get 0 channels")

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    @property
    def num_ws(self) -> int:
        """Number of w vectors synthesis consumes: one per modulated conv and the final toRGB."""
        return 2 * int(math.log2(self.resolution)) - 2


@dataclass(frozen=True)
class DCGANConfig:
    """The course's vanilla DCGAN: z -> transposed convs -> tanh image; a mirrored conv discriminator."""

    resolution: int = 64   # a power of two in [16, 128]
    z_dim: int = 100
    base_channels: int = 32   # channels just before the RGB layer; doubled at each coarser level
    arch: str = "dcgan"

    def __post_init__(self):
        if self.arch != "dcgan":
            raise ValueError(f"DCGANConfig.arch must be 'dcgan', got {self.arch!r}")
        if not (_is_power_of_two(self.resolution) and 16 <= self.resolution <= 128):
            raise ValueError(f"resolution must be a power of two in [16, 128], got {self.resolution}")
        if self.z_dim < 1 or self.base_channels < 1:
            raise ValueError("z_dim and base_channels must be positive")


PRESETS = {
    # Full-size StyleGAN2 for a GPU.
    "stylegan2-64": StyleGAN2Config(resolution=64),
    "stylegan2-128": StyleGAN2Config(resolution=128),
    # A GPU model small enough to ship: 256 channels at every level and 256-d latents, 6.8M parameters
    # (13.6 MB in fp16), the shipped default.
    "stylegan2-64-256": StyleGAN2Config(resolution=64, z_dim=256, w_dim=256, channel_max=256),
    # Sized for CPU training: narrower, shallower mapping.
    "stylegan2-64-cpu": StyleGAN2Config(resolution=64, z_dim=256, w_dim=256, mapping_layers=4,
                                        channel_base=4096, channel_max=128),
    "dcgan-64": DCGANConfig(resolution=64),
    # Tiny models for tests.
    "tiny": StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channel_base=256, channel_max=16),
    "tiny-32": StyleGAN2Config(resolution=32, z_dim=32, w_dim=32, mapping_layers=2, channel_base=512, channel_max=16),
    "tiny-dcgan": DCGANConfig(resolution=16, z_dim=16, base_channels=8),
}


ARCH_PRESETS = {"stylegan2": "stylegan2-64", "dcgan": "dcgan-64"}  # each family's default preset


def preset(name: str, **overrides):
    """A named preset, with some fields replaced (for example resolution=128)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


def generator_config_from_dict(data: dict):
    """Rebuild a config from its stored dict; unknown arch or fields raise ValueError/TypeError."""
    kinds = {"stylegan2": StyleGAN2Config, "dcgan": DCGANConfig}
    arch = data.get("arch")
    if arch not in kinds:
        raise ValueError(f"unknown generator arch {arch!r}")
    return kinds[arch](**data)
