"""evaluate: how good trained generators are (a Fréchet distance against held-out and training photos next to
the real-vs-real floor, a nearest-neighbour check against memorisation, and the perceptual path length in w and
z). The paths are generator files."""
from dataclasses import dataclass
from pathlib import Path

from inversion.feature_networks import build_feature_network
from latentcat.datasets import load_images, read_folder
from latentcat.errors import UserError, user_facing
from latentcat.fid import METRIC_NAMES, load_feature_net
from latentcat.generator_files import describe_generator, load_generator
from latentcat.generator_report import evaluate_generator, path_lengths, real_floor, real_sets
from latentcat.outputs import Summary
from latentcat.session import device_from


@dataclass(frozen=True)
class EvaluateOptions:
    real: str                          # held-out photos
    train_data: str | None = None      # the generators' training data (its train split is used)
    feature_net: str = "effnet-lite0"  # effnet-lite0 (offline: FID-EffNetLite0) or inception (downloads: FID)
    samples: int = 5000
    neighbours: int = 8                # samples shown in each nearest-*.png
    seed: int = 0
    batch_size: int = 64
    device: str = "cpu"
    ppl_samples: int = 1000            # path pairs per latent space (0: no PPL; NVlabs uses 50,000)
    ppl_net: str = "stlpips-vgg"       # the LPIPS network of the path length (its weights ship: works offline)

    def __post_init__(self):
        if self.ppl_samples < 0 or self.ppl_samples == 1:
            raise ValueError(f"--ppl-samples must be 0 (no PPL) or at least 2, got {self.ppl_samples}")


def run(session, paths: list[str], options: EvaluateOptions, out) -> Summary:
    o = options
    device = device_from(o.device)
    generators = {path: load_generator(path, device) for path in paths}
    resolutions = {G.resolution for G in generators.values()}
    if len(resolutions) > 1:
        raise UserError(f"generators have different resolutions ({sorted(resolutions)}): evaluate them separately")
    resolution = resolutions.pop()
    real = read_folder(o.real, resolution, val_fraction=0.0).train
    train = load_images(o.train_data, resolution).train if o.train_data else None
    net = load_feature_net(o.feature_net, device)
    metric = METRIC_NAMES[o.feature_net]
    reference = real_sets(net, real, train, o.batch_size)
    ppl_net = user_facing(build_feature_network, o.ppl_net, device=o.device) if o.ppl_samples else None
    summary = Summary("evaluate", {"samples": o.samples, "seed": o.seed, "real": o.real, "train_data": o.train_data,
                                   "feature_net": o.feature_net, "ppl_samples": o.ppl_samples,
                                   "ppl_net": o.ppl_net if o.ppl_samples else None})
    summary.extra.update(metric=metric, counts={"generated": o.samples,
                                                **{k: v.count for k, v in reference.stats.items()}})
    for i, (path, G) in enumerate(generators.items(), 1):
        report, grid = evaluate_generator(G, net, metric, reference, train, o.samples, o.seed, o.neighbours,
                                          o.batch_size)
        if ppl_net is not None:
            report["ppl"] = path_lengths(G, ppl_net, o.ppl_samples, o.seed, o.batch_size)
        if grid is not None:
            report["nearest_grid"] = out.png(f"nearest-{i}-{Path(path).name.removesuffix('.safetensors')}.png", grid)
        summary.items.append({"generator": describe_generator(path, G), **report})
        print(f"{path}: " + ", ".join(f"{metric} {k} {v:.1f}" for k, v in report[metric].items()))
        if "nearest_train_photo" in report:
            print(f"  nearest training photo, generated/test distance ratio "
                  f"{report['nearest_train_photo']['ratio_generated_to_test']:.2f} "
                  f"(about 1 or more: no memorisation; well below 1: copies of training photos)")
        if "ppl" in report:
            print(f"  perceptual path length ({o.ppl_net}, {o.ppl_samples} samples): " +
                  ", ".join(f"{space} {report['ppl'][space]:.2f}" for space in ("w", "z") if space in report["ppl"]))
    floor = real_floor(metric, reference)
    for name, value in floor.items():
        print(f"real floor: {name} {value:.1f}")
    summary.extra.update(real_floor=floor, note=f"{metric} depends on the set sizes and the feature network: "
                                                "compare numbers only at the same counts (a set smaller than the "
                                                "feature dimension has a singular covariance, which biases it)")
    return summary
