"""Architecture configs: one frozen dataclass per generator family, validated on creation, plus named presets."""
import dataclasses
import math
from dataclasses import dataclass


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


RESAMPLING = ("nvlabs", "bilinear")  # how StyleGAN2 upsamples (generators/layers.py: upsample)
MAX_CHANNELS = 1024               # widest feature map a StyleGAN2 config may ask for (NVlabs' largest is 512)
MAX_LATENT_DIM = 1024             # largest z and w
MAX_MAPPING_LAYERS = 16
MAX_GENERATOR_PARAMETERS = 100_000_000  # NVlabs' 1024 px generator has 30 M


@dataclass(frozen=True)
class StyleGAN2Config:
    """StyleGAN2 generator and its residual discriminator (they share the channel schedule).

    The bounds are checked before any network is built, so a file claiming a gigantic network is refused, not
    allocated."""

    resolution: int = 64          # output side in pixels, a power of two in [16, 1024]
    z_dim: int = 512              # input latent (Z) dimensionality
    w_dim: int = 512              # intermediate latent (W) dimensionality
    mapping_layers: int = 8       # depth of the z -> w MLP
    mapping_lr_mul: float = 0.01  # equalised-lr multiplier of the mapping MLP
    channel_base: int = 16384     # channels at resolution r are min(channel_base // r, channel_max)...
    channel_max: int = 512
    channel_widths: tuple[int, ...] | None = None  # ...unless given here, one per resolution from 4 px up
    conv_clamp: float | None = None  # clamp conv and toRGB outputs to +-this (NVlabs: 256 with fp16 layers)
    num_fp16_res: int = 0         # the top resolutions that run in fp16 on CUDA (fp32 elsewhere, as NVlabs)
    resample: str = "nvlabs"      # upsampling: NVlabs' (zero borders) or "bilinear" (files written before it)
    mbstd_group: int = 4          # discriminator minibatch-stddev group size
    arch: str = "stylegan2"

    def __post_init__(self):
        if self.arch != "stylegan2":
            raise ValueError(f"StyleGAN2Config.arch must be 'stylegan2', got {self.arch!r}")
        if not (isinstance(self.resolution, int) and _is_power_of_two(self.resolution)
                and 16 <= self.resolution <= 1024):
            raise ValueError(f"resolution must be a power of two in [16, 1024], got {self.resolution}")
        for name, top in (("z_dim", MAX_LATENT_DIM), ("w_dim", MAX_LATENT_DIM),
                          ("mapping_layers", MAX_MAPPING_LAYERS), ("channel_base", MAX_CHANNELS * 1024),
                          ("channel_max", MAX_CHANNELS), ("mbstd_group", 64)):
            value = getattr(self, name)
            if not (isinstance(value, int) and 1 <= value <= top):
                raise ValueError(f"{name} must be an integer in [1, {top}], got {value!r}")
        if self.channel_widths is not None:
            object.__setattr__(self, "channel_widths", tuple(self.channel_widths))
            if len(self.channel_widths) != len(self.resolutions):
                raise ValueError(f"channel_widths needs one width per resolution from 4 to {self.resolution} px "
                                 f"({len(self.resolutions)}), got {len(self.channel_widths)}")
        widths = [self.channels(r) for r in self.resolutions]
        if not all(isinstance(c, int) and 1 <= c <= MAX_CHANNELS for c in widths):
            raise ValueError(f"channel widths must be integers in [1, {MAX_CHANNELS}], got {widths}")
        if not 0 <= self.num_fp16_res <= len(self.resolutions):
            raise ValueError(f"num_fp16_res must be in [0, {len(self.resolutions)}], got {self.num_fp16_res}")
        if self.resample not in RESAMPLING:
            raise ValueError(f"resample must be one of {', '.join(RESAMPLING)}, got {self.resample!r}")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ValueError(f"conv_clamp must be positive or None, got {self.conv_clamp}")
        if not 0 < self.mapping_lr_mul <= 1:
            raise ValueError(f"mapping_lr_mul must be in (0, 1], got {self.mapping_lr_mul}")
        if self.num_parameters() > MAX_GENERATOR_PARAMETERS:
            raise ValueError(f"this generator would have {self.num_parameters() / 1e6:.0f} M parameters, more than "
                             f"the {MAX_GENERATOR_PARAMETERS / 1e6:.0f} M latentcat builds")

    @property
    def resolutions(self) -> list[int]:
        """The synthesis blocks' resolutions, 4 px up to `resolution`."""
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    def channels(self, res: int) -> int:
        if self.channel_widths is not None:
            return self.channel_widths[int(math.log2(res)) - 2]
        return min(self.channel_base // res, self.channel_max)

    def uses_fp16(self, res: int) -> bool:
        """NVlabs' rule: fp16 in the top `num_fp16_res` resolutions, never below 8 px."""
        return self.num_fp16_res > 0 and res >= max(2 * self.resolution // 2 ** self.num_fp16_res, 8)

    def num_parameters(self) -> int:
        """The generator's parameter count, from the config alone (what building it would allocate)."""
        w = self.w_dim
        total = self.z_dim * w + (self.mapping_layers - 1) * w * w + self.mapping_layers * w
        previous = 0
        for res in self.resolutions:
            c = self.channels(res)
            convs = [(c, c)] if res == 4 else [(previous, c), (c, c)]
            total += c * 16 if res == 4 else 0
            total += sum(i * o * 9 + (w + 1) * i + o + 1 for i, o in convs) + (w + 1) * c + 3 * c + 3
            previous = c
        return total

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
    # NVlabs stylegan2-ada-pytorch's paper256 and paper512 configurations (fp16 in the top 4 resolutions on CUDA).
    "paper256": StyleGAN2Config(resolution=256, channel_base=16384, num_fp16_res=4, conv_clamp=256, mbstd_group=8),
    "paper512": StyleGAN2Config(resolution=512, channel_base=32768, num_fp16_res=4, conv_clamp=256, mbstd_group=8),
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
    if arch == "stylegan2" and "resample" not in data:  # written before NVlabs' layers: it was trained bilinear
        data = {**data, "resample": "bilinear"}
    return kinds[arch](**data)
