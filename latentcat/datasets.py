"""Turning a folder of cat photos into square training images at one resolution, packed or as PNGs.

A packed dataset is one safetensors file holding uint8 tensors `train` and `val` [N, 3, R, R]:
small enough to carry to an accelerator machine, and loaded without decoding a single JPEG.
"""
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from generators.pixels import uint8_to_float
from latentcat.errors import UserError
from latentcat.files import atomic_path
from latentcat.images import list_files, load_square_rgb, pil_to_uint8, save_png, to_pil

PACK_FORMAT = "latentcat-dataset"


@dataclass
class ImageSet:
    """Square uint8 images [N, 3, R, R] split into train and val, with their source names."""

    train: torch.Tensor
    val: torch.Tensor
    train_names: list[str]
    val_names: list[str]

    @property
    def resolution(self) -> int:
        return int(self.train.shape[-1])


def is_val(name: str, val_fraction: float) -> bool:
    """Deterministic split: a file's name, not its order or the random seed, decides its side."""
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return digest % 10000 < val_fraction * 10000


def read_folder(src, resolution: int, val_fraction: float = 0.05, log=print) -> ImageSet:
    """Load every image below `src`; skip corrupt or non-image files with a warning each and a count."""
    src = Path(src)
    if not src.is_dir():
        raise UserError("not a folder", src)
    files = list_files(src)
    if not files:
        raise UserError("folder is empty: no images to use", src)
    parts = {"train": ([], []), "val": ([], [])}
    skipped = 0
    for path in tqdm(files, desc=f"reading {src.name}", unit="img", file=sys.stderr, leave=False):
        try:
            img, _ = load_square_rgb(path, resolution)
        except UserError as e:
            log(f"warning: skipped {e}")
            skipped += 1
            continue
        name = str(path.relative_to(src))
        images, names = parts["val" if is_val(name, val_fraction) else "train"]
        images.append(pil_to_uint8(img))
        names.append(name)
    if skipped:
        log(f"warning: skipped {skipped} of {len(files)} files in {src}")
    if not parts["train"][0]:
        raise UserError("no usable images (all were corrupt, not images, or went to the validation split)", src)
    empty = torch.zeros(0, 3, resolution, resolution, dtype=torch.uint8)
    stack = lambda imgs: torch.stack(imgs) if imgs else empty  # noqa: E731
    return ImageSet(stack(parts["train"][0]), stack(parts["val"][0]), parts["train"][1], parts["val"][1])


def write_pack(path, images: ImageSet) -> None:
    meta = {"format": PACK_FORMAT, "resolution": str(images.resolution),
            "train_names": json.dumps(images.train_names), "val_names": json.dumps(images.val_names)}
    with atomic_path(path) as tmp:
        save_file({"train": images.train.contiguous(), "val": images.val.contiguous()}, str(tmp), metadata=meta)


def write_folder(out, images: ImageSet) -> None:
    """PNGs in out/train and out/val, named after their sources."""
    for split, tensor, names in (("train", images.train, images.train_names), ("val", images.val, images.val_names)):
        for x, name in zip(tensor, names):
            save_png(Path(out) / split / (Path(name).with_suffix(".png").as_posix().replace("/", "__")),
                     to_pil(uint8_to_float(x)))


def read_pack(path) -> ImageSet:
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise UserError(f"not a readable packed dataset ({e})", path) from None
    if meta.get("format") != PACK_FORMAT or set(tensors) != {"train", "val"}:
        raise UserError("not a latentcat packed dataset (make one with `train.py prepare`)", path)
    return ImageSet(tensors["train"], tensors["val"], json.loads(meta["train_names"]), json.loads(meta["val_names"]))


def load_images(data, resolution: int, val_fraction: float = 0.05, log=print) -> ImageSet:
    """A packed file, a prepared folder (train/ and val/), or any folder of photos, at `resolution`."""
    data = Path(data)
    if data.is_file():
        images = read_pack(data)
        if images.resolution != resolution:
            raise UserError(f"packed at {images.resolution} px, but training needs {resolution} px", data)
        return images
    if (data / "train").is_dir() and (data / "val").is_dir():
        train = read_folder(data / "train", resolution, 0.0, log)
        val_files = list_files(data / "val")
        val = read_folder(data / "val", resolution, 0.0, log) if val_files else None
        return ImageSet(train.train, val.train if val else train.val, train.train_names,
                        val.train_names if val else [])
    return read_folder(data, resolution, val_fraction, log)


def sample_real(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    """A random training batch from device-resident uint8 images [N, 3, R, R], with random x-flips, in [-1, 1]."""
    idx = torch.randint(data.shape[0], (batch_size,), device=data.device)
    x = uint8_to_float(data[idx])
    flip = torch.rand(batch_size, 1, 1, 1, device=data.device) < 0.5
    return torch.where(flip, x.flip(3), x)
