"""How good a trained generator is: a Fréchet distance against held-out and training photos, with the
real-vs-real distance as its floor, a nearest-neighbour check that it does not copy its training set, and the
perceptual path length of its latent spaces.

The distance between two real sets of the same sizes tells what "perfect" scores with this many images; the
nearest-neighbour ratio compares how close generated images sit to their nearest training photo with how
close unseen real photos sit: well below 1 would mean the generator reproduces training images. The path
length says how smoothly the images change along a latent path: lower means smoother (and, per StyleGAN2,
usually better images and easier inversion).
"""
import sys
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from generators import sample_images, seeded_z
from generators.pixels import float_to_uint8, uint8_to_float
from inversion.feature_networks import FeatureNetwork
from inversion.latents import slerp
from inversion.losses import PerceptualLoss
from latentcat.fid import FeatureStats, extract_features, frechet_distance, nearest_neighbours
from latentcat.images import image_grid

PPL_EPSILON = 1e-4          # the step along the path (NVlabs' metric)
PPL_SPACES = ("w", "z")
PPL_NETWORKS = ("stlpips-vgg", "stlpips-alex", "lpips-vgg", "lpips-alex")  # full LPIPS distances


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


@torch.no_grad()
def path_length(G, network: FeatureNetwork, space: str, samples: int, seed: int = 0, batch_size: int = 64,
                epsilon: float = PPL_EPSILON) -> float:
    """Perceptual path length (Karras et al. 2019, as NVlabs' metric): for random pairs of latents and t ~ U(0, 1),
    the LPIPS distance (of `network`) between the renders at t and t + epsilon along their path, over epsilon^2;
    the mean of the values between the 1st and 99th percentiles. The path is spherical in z (Gaussian) and
    linear in w, between mapped z; both renders use the generator's fixed noise."""
    if space not in G.latent_spaces:
        raise ValueError(f"this {G.config.arch} generator has no {space} space (it has {', '.join(G.latent_spaces)})")
    device = G.code_mean().device
    ends = seeded_z(G.z_dim, 2 * samples, seed).to(device)
    t = torch.rand(samples, 1, generator=torch.Generator().manual_seed(seed)).to(device)
    distance, values = PerceptualLoss(network), []
    for first in tqdm(range(0, samples, batch_size), desc=f"path length in {space}", unit="batch", file=sys.stderr,
                      leave=False):
        rows = slice(first, min(first + batch_size, samples))
        a, b, ti = ends[rows], ends[samples:][rows], t[rows]
        if space == "z":
            latents = torch.cat([slerp(a, b, ti), slerp(a, b, ti + epsilon)])
        else:
            a, b = G.latent_from_z(a, "w"), G.latent_from_z(b, "w")
            latents = torch.cat([torch.lerp(a, b, ti), torch.lerp(a, b, ti + epsilon)])
        images = G.render(G.codes(latents, space))
        here, there = images.chunk(2)
        values.append((distance(here, there) / epsilon ** 2).double().cpu())
    values = torch.cat(values).numpy()
    low, high = np.percentile(values, 1, method="lower"), np.percentile(values, 99, method="higher")
    return float(values[(values >= low) & (values <= high)].mean())


def path_lengths(G, network: FeatureNetwork, samples: int, seed: int = 0, batch_size: int = 64) -> dict:
    """PPL in every space of w and z that G has, with how it was measured."""
    report = {space: path_length(G, network, space, samples, seed, batch_size)
              for space in PPL_SPACES if space in G.latent_spaces}
    return {**report, "lpips_net": network.name, "samples": samples, "epsilon": PPL_EPSILON,
            "sampling": "t ~ U(0, 1) (full path)", "noise": "the generator's fixed noise maps",
            "filter": "mean between the 1st and 99th percentiles"}
