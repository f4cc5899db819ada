"""The demo's inputs, made on the spot from what the project may ship: a photo from scikit-image
(`chelsea`, public domain, whole: the commands find and frame her face), two of the shipped generator's own
samples, and a scribble drawn here.

    python -m latentcat.examples OUT_DIR [--generator CKPT]
writes OUT_DIR/photos/{chelsea,sample-a,sample-b}.png and OUT_DIR/scribble.png (RGBA: alpha = strokes).
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from generators import sample_images, seeded_z
from latentcat.generator_files import load_generator
from latentcat.images import save_png, to_pil

SAMPLE_SEEDS = {"sample-a": 3, "sample-b": 11}


def chelsea() -> Image.Image:
    from skimage import data
    return Image.fromarray(np.asarray(data.chelsea()))


def scribble(size: int = 256) -> Image.Image:
    """A cat face in a few coloured strokes on a transparent background, like a user's quick drawing."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    s = size / 256
    fur, eyes, nose = (196, 140, 90, 255), (120, 170, 60, 255), (230, 120, 130, 255)
    draw.ellipse([40 * s, 60 * s, 216 * s, 230 * s], outline=fur, width=int(14 * s))          # head
    draw.polygon([(52 * s, 110 * s), (60 * s, 20 * s), (110 * s, 70 * s)], fill=fur)       # left ear
    draw.polygon([(204 * s, 110 * s), (196 * s, 20 * s), (146 * s, 70 * s)], fill=fur)     # right ear
    draw.ellipse([80 * s, 115 * s, 112 * s, 140 * s], fill=eyes)                           # eyes
    draw.ellipse([144 * s, 115 * s, 176 * s, 140 * s], fill=eyes)
    draw.polygon([(116 * s, 165 * s), (140 * s, 165 * s), (128 * s, 180 * s)], fill=nose)  # nose
    return img


def write_examples(out_dir, generator_path) -> list[Path]:
    out = Path(out_dir)
    written = []
    save_png(out / "photos" / "chelsea.png", chelsea())
    written.append(out / "photos" / "chelsea.png")
    G = load_generator(generator_path)
    for name, seed in SAMPLE_SEEDS.items():
        image = sample_images(G, seeded_z(G.z_dim, 1, seed), truncation=0.7)[0]
        save_png(out / "photos" / f"{name}.png", to_pil(image))
        written.append(out / "photos" / f"{name}.png")
    save_png(out / "scribble.png", scribble())
    written.append(out / "scribble.png")
    return written


def main():
    default = Path(__file__).resolve().parents[1] / "checkpoints" / "stylegan2-cat64.safetensors"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", metavar="OUT_DIR", help="folder for the example inputs")
    parser.add_argument("--generator", default=str(default), metavar="CKPT", help="generator for the samples")
    args = parser.parse_args()
    for path in write_examples(args.out, args.generator):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
