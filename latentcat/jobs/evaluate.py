"""evaluate: how good trained generators are (a Fréchet distance against held-out and training photos next to
the real-vs-real floor, and a nearest-neighbour check against memorisation). The paths are generator files."""
from dataclasses import dataclass
from pathlib import Path

from latentcat.datasets import load_images, read_folder
from latentcat.errors import UserError
from latentcat.fid import METRIC_NAMES, load_feature_net
from latentcat.generator_files import describe_generator, load_generator
from latentcat.generator_report import evaluate_generator, real_floor, real_sets
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
    summary = Summary("evaluate", {"samples": o.samples, "seed": o.seed, "real": o.real, "train_data": o.train_data,
                                   "feature_net": o.feature_net})
    summary.extra.update(metric=metric, counts={"generated": o.samples,
                                                **{k: v.count for k, v in reference.stats.items()}})
    for i, (path, G) in enumerate(generators.items(), 1):
        report, grid = evaluate_generator(G, net, metric, reference, train, o.samples, o.seed, o.neighbours,
                                          o.batch_size)
        if grid is not None:
            report["nearest_grid"] = out.png(f"nearest-{i}-{Path(path).name.removesuffix('.safetensors')}.png", grid)
        summary.items.append({"generator": describe_generator(path, G), **report})
        print(f"{path}: " + ", ".join(f"{metric} {k} {v:.1f}" for k, v in report[metric].items()))
        if "nearest_train_photo" in report:
            print(f"  nearest training photo, generated/test distance ratio "
                  f"{report['nearest_train_photo']['ratio_generated_to_test']:.2f} "
                  f"(about 1 or more: no memorisation; well below 1: copies of training photos)")
    floor = real_floor(metric, reference)
    for name, value in floor.items():
        print(f"real floor: {name} {value:.1f}")
    summary.extra.update(real_floor=floor, note=f"{metric} depends on the set sizes and the feature network: "
                                                "compare numbers only at the same counts (a set smaller than the "
                                                "feature dimension has a singular covariance, which biases it)")
    return summary
