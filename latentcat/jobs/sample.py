"""sample: draw random cats from a generator, reproducibly (a seed always gives the same images)."""
from dataclasses import dataclass

from generators import sample_images, seeded_z
from latentcat.images import image_grid, to_pil
from latentcat.outputs import Summary


@dataclass(frozen=True)
class SampleOptions:
    num: int = 16
    seed: int = 0
    truncation: float = 0.7   # StyleGAN2 truncation psi (1 = none); ignored by the DCGAN

    def __post_init__(self):
        if self.num < 1:
            raise ValueError(f"the number of samples must be positive, got {self.num}")


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
