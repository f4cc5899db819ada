"""The README's top picture, made by the commands themselves: photo | encoder | tuned | edited.

    python docs/hero.py --out docs/hero.png
runs, on the demo's photo of chelsea (scikit-image) with the shipped models: `infer.py directions` (SeFa),
`infer.py edit --steps 0` (the encoder's code alone, strength 0) and `infer.py edit` with the default tuned
recipe (50 w+ steps, 50 tuning steps), whose strength 0 is the tuned reconstruction and --strength the edit made
with the photo's own tuned generator. The cells are cut out of each edit's grid.png and shown 3x larger.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from latentcat.examples import write_examples  # noqa: E402
from latentcat.images import save_png  # noqa: E402
from latentcat.shipped import SHIPPED_GENERATOR  # noqa: E402

PADDING = 2  # rows_grid's padding around each cell


def infer(*args) -> None:
    subprocess.run([sys.executable, str(ROOT / "infer.py"), *map(str, args), "--no-progress"], check=True)


def cells(grid: Path, count: int, side: int) -> list[Image.Image]:
    """The first `count` cells of a one-row grid.png."""
    image = Image.open(grid).convert("RGB")
    return [image.crop((PADDING + k * (side + PADDING), PADDING, PADDING + k * (side + PADDING) + side,
                        PADDING + side)) for k in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "hero.png"))
    parser.add_argument("--index", type=int, default=1, help="which SeFa direction")
    parser.add_argument("--strength", type=float, default=4.0)
    parser.add_argument("--side", type=int, default=64, help="the generator's resolution")
    parser.add_argument("--scale", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_examples(tmp / "examples", SHIPPED_GENERATOR)
        photo = tmp / "examples" / "photos" / "chelsea.png"
        infer("directions", "--method", "sefa", "--num", "4", "--out", tmp / "sefa")
        infer("edit", photo, "--steps", "0", "--directions", tmp / "sefa", "--strengths", "0", "--out", tmp / "enc")
        infer("edit", photo, "--steps", "50", "--lr", "0.02", "--tune-generator", "50", "--directions", tmp / "sefa",
              "--index", args.index, f"--strengths=0,{args.strength:g}", "--out", tmp / "tuned")
        framed, encoder = cells(tmp / "enc" / "grid.png", 2, args.side)
        _, tuned, edited = cells(tmp / "tuned" / "grid.png", 3, args.side)
    big = args.side * args.scale
    row = Image.new("RGB", (4 * big + 3 * 4, big), "white")
    for k, cell in enumerate((framed, encoder, tuned, edited)):
        row.paste(cell.resize((big, big), Image.Resampling.NEAREST), (k * (big + 4), 0))
    save_png(args.out, row)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
