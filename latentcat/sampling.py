"""Sampling images from a generator: seeded, reproducible, with a summary of exactly what was run."""
import torch

from latentcat.images import image_grid, save_png, to_pil


def sample_latents(z_dim: int, num: int, seed: int) -> torch.Tensor:
    """z for image i depends only on (seed, i): the same seed gives the same images at any --num."""
    return torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(seed * 100003 + i))
                        for i in range(num)])


@torch.no_grad()
def generate(G, z: torch.Tensor, truncation: float, noise_mode: str = "const", batch_size: int = 32) -> torch.Tensor:
    """Images [N, 3, R, R] in [-1, 1]; StyleGAN2 uses fixed noise so a seed always gives the same image."""
    device = next(G.parameters()).device
    out = []
    for chunk in z.split(batch_size):
        chunk = chunk.to(device)
        if hasattr(G, "mapping"):
            out.append(G(chunk, truncation=truncation, noise_mode=noise_mode).cpu())
        else:
            out.append(G(chunk).cpu())
    return torch.cat(out)


def write_samples(out_dir, images: torch.Tensor, seed: int) -> dict:
    """Grid plus one PNG per image; returns the outputs for the summary."""
    items = []
    for i, img in enumerate(images):
        name = f"seed{seed:04d}-{i:04d}.png"
        save_png(out_dir / name, to_pil(img))
        items.append({"index": i, "outputs": {"image": name}})
    save_png(out_dir / "grid.png", image_grid(images))
    return {"grid": "grid.png", "items": items}
