"""Reading scribbles: the colours the user drew and the mask of where they drew.

- RGBA (or any mode with transparency): alpha is the stroke mask.
- RGB or greyscale: strokes are whatever differs from the background (the border's median colour) by more
  than a threshold.
Downscaling keeps stroke colours pure: colours are averaged over stroke pixels only, and the mask becomes the
stroke coverage of each output pixel (a soft weight in [0, 1]).
"""
import numpy as np
import torch
from PIL import Image

from latentcat.errors import UserError
from latentcat.images import MIN_SIDE, center_crop_square, open_image, to_rgb

BACKGROUND_THRESHOLD = 40  # max channel difference (0-255) from the background that still counts as background


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def _stroke_mask(rgb: np.ndarray, threshold: int) -> np.ndarray:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    return (np.abs(rgb.astype(np.int16) - background).max(axis=2) > threshold).astype(np.float32)


def load_sketch(path, resolution: int, threshold: int = BACKGROUND_THRESHOLD):
    """(colours [3, R, R] in [-1, 1], mask [1, R, R] in [0, 1], notices); an empty mask is a UserError."""
    return sketch_from_image(open_image(path), resolution, path, threshold)


def sketch_from_image(img: Image.Image, resolution: int, name, threshold: int = BACKGROUND_THRESHOLD):
    """`load_sketch` for an image already decoded (a page's canvas); `name` names it in messages."""
    notes = []
    if min(img.size) < MIN_SIDE:
        raise UserError(f"sketch is {img.size[0]}x{img.size[1]}, smaller than the {MIN_SIDE} px minimum", name)
    if img.size[0] != img.size[1]:
        notes.append(f"{name}: {img.size[0]}x{img.size[1]} is not square; centre-cropped")
        img = center_crop_square(img)
    if _has_alpha(img):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        rgb, mask = rgba[..., :3], rgba[..., 3] / 255
    else:
        rgb = np.asarray(to_rgb(img), dtype=np.float32)
        mask = _stroke_mask(rgb.astype(np.uint8), threshold)
        notes.append(f"{name}: no alpha channel; strokes are the pixels that differ from the background")
    coverage = _resize(mask, resolution)
    if coverage.max() <= 0:
        raise UserError("the sketch's mask is empty: nothing was drawn (transparent, or all background)", name)
    colours = np.stack([_resize(rgb[..., c] * mask, resolution) for c in range(3)], axis=-1)
    colours = colours / np.maximum(coverage, 1e-6)[..., None]
    sketch = torch.from_numpy(np.clip(colours, 0, 255)).permute(2, 0, 1) / 127.5 - 1
    return sketch.float(), torch.from_numpy(coverage)[None].float(), notes


def _resize(channel: np.ndarray, resolution: int) -> np.ndarray:
    """Area-average a float channel to resolution x resolution."""
    if channel.shape[0] == resolution:
        return channel.astype(np.float32)
    return np.array(Image.fromarray(channel.astype(np.float32), "F").resize((resolution, resolution), Image.BOX),
                      dtype=np.float32)


def sketch_preview(sketch: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The strokes over white, for grids."""
    return sketch * mask + (1 - mask)
