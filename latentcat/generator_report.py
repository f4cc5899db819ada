"""How good a trained generator is: a Fréchet distance against held-out and training photos, with the
real-vs-real distance as its floor, and a nearest-neighbour check that it does not copy its training set.

The distance between two real sets of the same sizes tells what "perfect" scores with this many images; the
nearest-neighbour ratio compares how close generated images sit to their nearest training photo with how
close unseen real photos sit: well below 1 would mean the generator reproduces training images.
"""
from dataclasses import dataclass

import torch

from generators import sample_images, seeded_z
from generators.pixels import float_to_uint8, uint8_to_float
from latentcat.fid import FeatureStats, extract_features, frechet_distance, nearest_neighbours
from latentcat.images import image_grid


def generate_for_metrics(G, num: int, seed: int, batch_size: int = 64) -> torch.Tensor:
    """num uint8 images at truncation 1 with random noise: the generator's own distribution, repeatable."""
    torch.manual_seed(seed)
    return float_to_uint8(sample_images(G, seeded_z(G.z_dim, num, seed), noise_mode="random", batch_size=batch_size))


@dataclass
class RealSets:
    """What every generator is compared with, computed once: features, their statistics, and how far each
    held-out photo sits from its nearest training photo."""

    features: dict
    stats: dict
    test_to_train: torch.Tensor | None


def real_sets(feature_net, real_test: torch.Tensor, train: torch.Tensor | None, batch_size: int = 64) -> RealSets:
    feats = {"test": extract_features(feature_net, real_test, batch_size, "test features")}
    if train is not None:
        feats["train"] = extract_features(feature_net, train, batch_size, "train features")
    test_to_train = nearest_neighbours(feats["test"], feats["train"], k=1)[0][:, 0] if train is not None else None
    return RealSets(feats, {name: FeatureStats.of(f) for name, f in feats.items()}, test_to_train)


def real_floor(metric: str, real: RealSets) -> dict:
    """What two real sets of these sizes score: the best a generator can hope for with this many images."""
    if "train" not in real.stats:
        return {}
    return {f"{metric} test_vs_train": frechet_distance(real.stats["test"], real.stats["train"])}


def evaluate_generator(G, feature_net, metric: str, real: RealSets, train: torch.Tensor | None, samples: int, seed: int,
                       neighbours: int, batch_size: int = 64):
    """Metrics dict and a nearest-neighbour grid (each row: a sample, then its closest training photos)."""
    generated = generate_for_metrics(G, samples, seed, batch_size)
    feats = extract_features(feature_net, generated, batch_size, "generated features")
    stats = FeatureStats.of(feats)
    report = {metric: {f"generated_vs_{name}": frechet_distance(stats, other)
                       for name, other in real.stats.items()}}
    if train is None:
        return report, None
    gen_dist, gen_idx = nearest_neighbours(feats, real.features["train"], k=3)
    test_dist = real.test_to_train
    report["nearest_train_photo"] = {
        "distance": "cosine, in the feature network's space",
        "median_generated": float(gen_dist[:, 0].median()),
        "median_test": float(test_dist.median()),
        "ratio_generated_to_test": float(gen_dist[:, 0].median() / test_dist.median()),
        "closest_generated": float(gen_dist[:, 0].min()),
        "closest_test": float(test_dist.min()),
    }
    rows = [torch.cat([generated[i:i + 1], train[gen_idx[i]]]) for i in range(min(neighbours, samples))]
    return report, image_grid(uint8_to_float(torch.cat(rows)), nrow=4)
