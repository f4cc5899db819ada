"""Reading user images safely (any mode, any size, bad files as one-line errors) and writing PNGs atomically."""
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.utils import make_grid

from generators.pixels import float_to_uint8
from latentcat.errors import UserError
from latentcat.files import atomic_path

MIN_SIDE = 16
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"}


def open_image(path) -> Image.Image:
    """Open and fully decode an image, turning every way it can be broken into a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such file", path)
    if path.stat().st_size == 0:
        raise UserError("file is empty (0 bytes)", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                frames = getattr(img, "n_frames", 1)
                img = ImageOps.exif_transpose(img)
                img.info["frames"] = frames  # kept by copies, so load_square_rgb can say which frame it used
                return img
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"image is too large (over {Image.MAX_IMAGE_PIXELS} pixels; decompression-bomb limit)",
                        path) from None
    except UnidentifiedImageError:
        raise UserError("not an image file (unrecognised format)", path) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"image is corrupt or truncated ({e})", path) from None


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB. Transparency is composited over white; 16-bit is rescaled, not clipped."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def center_crop_square(img: Image.Image) -> Image.Image:
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return img.crop((left, top, left + side, top + side))


def open_rgb(path) -> tuple[Image.Image, list[str]]:
    """Open `path` as an 8-bit RGB photo at its own size, with the notices to show the user."""
    img = open_image(path)
    notes = []
    if min(img.size) < MIN_SIDE:
        raise UserError(f"image is {img.size[0]}x{img.size[1]}, smaller than the {MIN_SIDE} px minimum", path)
    if img.info.get("frames", 1) > 1:
        notes.append(f"{path}: animated ({img.info['frames']} frames); using the first frame")
    if img.mode != "RGB":
        notes.append(f"{path}: converted from {img.mode} to RGB")
    return to_rgb(img), notes


def square_rgb(img: Image.Image, resolution: int | None, path, notes: list[str]) -> Image.Image:
    """The photo's centre square (a notice where that cuts it), resized to `resolution` if given."""
    if img.size[0] != img.size[1]:
        notes.append(f"{path}: {img.size[0]}x{img.size[1]} is not square; centre-cropped")
        img = center_crop_square(img)
    if resolution is not None and img.size[0] != resolution:
        if img.size[0] < resolution:
            notes.append(f"{path}: {img.size[0]} px is below the generator's {resolution} px; upscaled (the "
                         "reconstruction will match a blurry photo)")
        img = img.resize((resolution, resolution), Image.LANCZOS)
    return img


def load_square_rgb(path, resolution: int | None = None) -> tuple[Image.Image, list[str]]:
    """Load `path` as a square RGB image (resized to `resolution` if given) and the notices to show the user."""
    img, notes = open_rgb(path)
    return square_rgb(img, resolution, path, notes), notes


def pil_to_uint8(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor [3, H, W]."""
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def to_pil(x: torch.Tensor) -> Image.Image:
    """One image [3, H, W] in [-1, 1] -> PIL RGB."""
    return Image.fromarray(float_to_uint8(x).permute(1, 2, 0).numpy(), "RGB")


def save_png(path, image: Image.Image) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Images [N, 3, H, W] in [-1, 1] -> one PIL grid (nrow defaults to a square-ish layout)."""
    n = images.shape[0]
    nrow = nrow or max(1, int(np.ceil(np.sqrt(n))))
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=padding, pad_value=1.0)
    return to_pil(grid)


def list_files(folder) -> list[Path]:
    """Every non-hidden regular file below `folder`, sorted, so results do not depend on the file system."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".")
                                                                             for part in p.relative_to(folder).parts))
