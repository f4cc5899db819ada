"""sample: draw random cats from a generator, reproducibly (a seed always gives the same images)."""
import math
from dataclasses import dataclass

from generators import sample_images, seeded_z
from latentcat.images import image_grid, to_pil
from latentcat.outputs import Summary

# psi in [0, 1] pulls samples toward the mean; [-1, 0) mirrors them across it (StyleGAN's "anti" faces); up to 2
# exaggerates them to twice their distance. Further out renders wash out (psi = -5) or break.
TRUNCATION_RANGE = (-1.0, 2.0)


@dataclass(frozen=True)
class SampleOptions:
    num: int = 16
    seed: int = 0
    truncation: float = 0.7   # StyleGAN2 truncation psi (1 = none); ignored by the DCGAN

    def __post_init__(self):
        if self.num < 1:
            raise ValueError(f"the number of samples must be positive, got {self.num}")
        low, high = TRUNCATION_RANGE
        if not (math.isfinite(self.truncation) and low <= self.truncation <= high):
            raise ValueError(f"--truncation must be a number from {low} to {high} (1: none, 0: the mean), got "
                             f"{self.truncation}")


def run(session, paths, options: SampleOptions, out) -> Summary:
    G = session.G
    images = sample_images(G, seeded_z(G.z_dim, options.num, options.seed), options.truncation)
    summary = Summary("sample", {"num": options.num, "seed": options.seed, "truncation": options.truncation},
                      session.generator_info())
    for i, img in enumerate(images):
        name = out.png(f"seed{options.seed:04d}-{i:04d}.png", to_pil(img))
        summary.items.append({"index": i, "outputs": {"image": name}})
    summary.extra["grid"] = out.png("grid.png", image_grid(images))
    return summary
