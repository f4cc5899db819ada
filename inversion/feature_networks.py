"""Frozen ImageNet-style feature networks for perceptual losses and metrics, with named layers.

A feature network maps images [N, 3, H, W] in [-1, 1] to a list of feature maps (one per selected layer)
and turns two such lists into per-layer distance maps [N, 1, h, w], so losses can mask and average them.

Backbones:
- `vgg16`: torchvision's ImageNet VGG16 (downloaded, or a state dict given); distance = mean squared feature
  difference.
- `stlpips-vgg`, `stlpips-alex`: shift-tolerant LPIPS (Ghildyal & Liu 2022); weights ship in `stlpips-pytorch`.
- `lpips-vgg`, `lpips-alex`: LPIPS (Zhang et al. 2018); its linear heads ship in `lpips`, its trunk is torchvision's.
"""
import contextlib
import io
import warnings

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

MIN_SIDE = 32  # smallest input the trunks accept
MAX_SIDE = 256  # larger images are read at this size, as NVlabs' projector reads its VGG16 input
DEFAULT_PERCEPTUAL = "stlpips-alex"  # loss default: works offline, 3x cheaper than the VGG on a CPU
BACKBONES = ("vgg16", "stlpips-vgg", "stlpips-alex", "lpips-vgg", "lpips-alex")

# torchvision vgg16.features index of each conv; its ReLU output (index + 1) is the feature we use.
VGG16_CONVS = {"conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12,
               "conv3_3": 14, "conv4_1": 17, "conv4_2": 19, "conv4_3": 21, "conv5_1": 24, "conv5_2": 26,
               "conv5_3": 28}
# The five taps LPIPS reads, in order, for each trunk.
LPIPS_TAPS = {"vgg": ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"),
              "alex": ("conv1", "conv2", "conv3", "conv4", "conv5")}
# Image2StyleGAN's perceptual layers.
VGG16_DEFAULT_LAYERS = ("conv1_1", "conv1_2", "conv3_2", "conv4_2")

OFFLINE_HINT = ("pass the ImageNet weights as a file ({flag} FILE, a torchvision state dict in .safetensors or .pth), "
                "or use --perceptual stlpips-vgg or stlpips-alex, whose weights ship with the package")


def layer_names(backbone: str) -> tuple[str, ...]:
    """Every layer name `backbone` accepts."""
    if backbone == "vgg16":
        return tuple(VGG16_CONVS)
    return LPIPS_TAPS[backbone.split("-")[1]]


def default_layers(backbone: str) -> tuple[str, ...]:
    return VGG16_DEFAULT_LAYERS if backbone == "vgg16" else layer_names(backbone)


def check_layers(backbone: str, layers) -> tuple[str, ...]:
    """Validate a layer selection (None means the backbone's default); a bad name is a one-line error."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown perceptual network {backbone!r}; choose one of {', '.join(BACKBONES)}")
    layers = tuple(layers) if layers else default_layers(backbone)
    unknown = [name for name in layers if name not in layer_names(backbone)]
    if unknown:
        raise ValueError(f"{backbone} has no layer {unknown[0]!r}; its layers are {', '.join(layer_names(backbone))}")
    return layers


def torchvision_trunk(name: str, state: dict[str, torch.Tensor] | None, flag: str) -> nn.Module:
    """torchvision's vgg16 or alexnet `.features` with ImageNet weights: from `state`, else downloaded."""
    build = {"vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet}[name]
    if state is not None:
        model = build(weights=None)
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        try:
            model.features.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"{flag}: not {name} ImageNet weights: {str(e).splitlines()[0][:200]}") from None
        return model.features
    try:
        return build(weights="IMAGENET1K_V1").features
    except (OSError, RuntimeError) as e:
        raise ValueError(f"could not download torchvision's ImageNet {name} weights ({str(e).splitlines()[0][:120]}): "
                         + OFFLINE_HINT.format(flag=flag)) from None


class FeatureNetwork(nn.Module):
    """Base: frozen, eval mode; `features(x)` -> list of maps; `distances(fx, fy)` -> list of [N, 1, h, w]."""

    name: str
    layers: tuple[str, ...]

    def freeze(self):
        self.eval().requires_grad_(False)
        return self

    def train(self, mode: bool = True):
        return super().train(False)  # always eval: dropout or batch statistics must never change a loss

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    @staticmethod
    def resized(x: torch.Tensor) -> torch.Tensor:
        """The trunks' padding needs >= 32 px: smaller images (tiny test models) are upsampled bilinearly; images
        above 256 px are area-downsampled to 256, so a 1024 px generator costs what a 256 px one does here."""
        if x.shape[-1] > MAX_SIDE:
            return F.interpolate(x, size=(MAX_SIDE, MAX_SIDE), mode="area")
        if x.shape[-1] >= MIN_SIDE:
            return x
        return F.interpolate(x, size=(MIN_SIDE, MIN_SIDE), mode="bilinear", align_corners=False)

    def distances(self, fx: list[torch.Tensor], fy: list[torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError


class VGG16Features(FeatureNetwork):
    """torchvision VGG16 ReLU outputs at named convs; distance = squared difference averaged over channels."""

    def __init__(self, layers, weights: dict | None = None):
        super().__init__()
        self.name, self.layers = "vgg16", layers
        trunk = torchvision_trunk("vgg16", weights, "--vgg-weights")
        last = max(VGG16_CONVS[name] for name in layers) + 2
        self.trunk = trunk[:last]
        self.taps = {VGG16_CONVS[name] + 1: i for i, name in enumerate(layers)}
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
        self.freeze()

    def features(self, x):
        x = ((self.resized(x) + 1) / 2 - self.mean) / self.std
        out = [None] * len(self.layers)
        for i, module in enumerate(self.trunk):
            x = module(x)
            if i in self.taps:
                out[self.taps[i]] = x
        return out

    def distances(self, fx, fy):
        return [(a - b).square().mean(dim=1, keepdim=True) for a, b in zip(fx, fy)]


def unit_normalize(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """LPIPS's channel-wise unit normalisation of a feature map."""
    return f / (f.square().sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPSFeatures(FeatureNetwork):
    """An LPIPS-style model (trunk + scaling layer + per-tap linear heads) exposed as named taps."""

    def __init__(self, name: str, model: nn.Module, layers):
        super().__init__()
        self.name, self.layers = name, layers
        self.model = model
        taps = LPIPS_TAPS[name.split("-")[1]]
        self.tap_index = [taps.index(layer) for layer in layers]
        self.freeze()

    def features(self, x):
        outs = self.model.net(self.model.scaling_layer(self.resized(x)))
        return [unit_normalize(outs[i]) for i in self.tap_index]

    def distances(self, fx, fy):
        return [self.model.lins[i]((a - b).square()) for i, a, b in zip(self.tap_index, fx, fy)]


def _stlpips_model(trunk: str) -> nn.Module:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from stlpips_pytorch import stlpips
    except ImportError as e:
        raise ValueError(f"the stlpips-pytorch package (and IPython, torchsummary) are needed for "
                        f"stlpips-{trunk}: pip install stlpips-pytorch ipython torchsummary ({e})") from None
    return stlpips.LPIPS(net=trunk, variant="shift_tolerant", pretrained=True, verbose=False)


def _lpips_model(trunk: str, weights: dict | None) -> nn.Module:
    import lpips
    with warnings.catch_warnings():  # lpips still passes torchvision's deprecated `pretrained=`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=trunk, pretrained=True, pnet_rand=True, verbose=False)  # heads; trunk below
    flag = "--vgg-weights" if trunk == "vgg" else "--alexnet-weights"
    features = torchvision_trunk("vgg16" if trunk == "vgg" else "alexnet", weights, flag)
    slices = [model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5]
    for sl in slices:  # the lpips slices hold modules named by their index in torchvision's `.features`
        for key in list(sl._modules):
            sl._modules[key] = features[int(key)]
    return model


def build_feature_network(backbone: str, layers=None, vgg_weights: dict | None = None,
                          alexnet_weights: dict | None = None, device="cpu") -> FeatureNetwork:
    """The named backbone with the selected layers (None: its default), frozen, on `device`; the VGG16 and
    AlexNet trunks take ImageNet state dicts, or download them where none is given."""
    layers = check_layers(backbone, layers)
    if backbone == "vgg16":
        net = VGG16Features(layers, vgg_weights)
    elif backbone.startswith("stlpips-"):
        net = LPIPSFeatures(backbone, _stlpips_model(backbone.split("-")[1]), layers)
    else:
        trunk = backbone.split("-")[1]
        net = LPIPSFeatures(backbone, _lpips_model(trunk, vgg_weights if trunk == "vgg" else alexnet_weights),
                            layers)
    return net.to(device)


def metric_backbone_for(loss_backbone: str | None) -> str:
    """A perceptual metric network other than the one optimised, so the metric is not the loss itself."""
    return "stlpips-alex" if loss_backbone in ("stlpips-vgg", "lpips-vgg", "vgg16") else "stlpips-vgg"
