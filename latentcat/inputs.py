"""What the user hands a command: photos (or folders of them) and saved latents, read into tensors and Codes.

Every unusable input becomes one printed line and an `errors` entry; the others go on.
"""
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from generators.pixels import uint8_to_float
from inversion.code import Code
from latentcat.errors import UserError
from latentcat.framing import Crop, load_framed
from latentcat.images import IMAGE_SUFFIXES, list_files, pil_to_uint8
from latentcat.latent_files import SUFFIX, is_latent_file, load_code


@dataclass
class Input:
    """One user input: a photo or a saved latent, named for its output files by its place and file name."""
    index: int
    path: str
    image: torch.Tensor | None = None   # [3, R, R] in [-1, 1]
    code: Code | None = None            # a Code of one
    crop: Crop | None = None            # where `image` was cut from the photo
    paste_back: bool = False            # also write what is rendered for it pasted back into the photo

    @property
    def stem(self) -> str:
        return Path(self.path).name.removesuffix(SUFFIX).rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        return f"{self.index:03d}-{self.stem}"

    @staticmethod
    def stem_of(name: str) -> str:
        """The photo stem inside an output name that `name` made (NNN-stem)."""
        return re.sub(r"^\d{3,}-", "", name)


def report(errors: list[dict], path, reason: str) -> None:
    """One bad input: a one-line message now, an `errors` entry in the summary."""
    print(f"error: {path}: {reason}", file=sys.stderr)
    errors.append({"input": str(path), "error": reason})


def expand_inputs(paths, latents: bool = False) -> list[str]:
    """Folders stand for the images inside them (sorted; and their latent files, with `latents`); files are kept
    as given."""
    out = []
    for path in paths:
        p = Path(path)
        out += [str(f) for f in list_files(p) if f.suffix.lower() in IMAGE_SUFFIXES or latents and is_latent_file(f)
                ] if p.is_dir() else [str(path)]
    return out


def read_inputs(session, paths, allow_latents: bool = False) -> tuple[list[Input], list[dict]]:
    """Load every path as a photo framed as the session says (or, where allowed, a latent file of this session's
    generator)."""
    inputs, errors = [], []
    for index, path in enumerate(paths):
        try:
            if allow_latents and is_latent_file(path):
                inputs.append(Input(index, str(path), code=load_code(path, session.G, session.fingerprint,
                                                                          session.parent)))
                continue
            framing = session.settings.framing
            img, crop, notes = load_framed(path, session.G.resolution, framing)
            for note in notes:
                print(f"note: {note}")
            inputs.append(Input(index, str(path), image=uint8_to_float(pil_to_uint8(img)), crop=crop,
                                paste_back=framing.paste_back))
        except UserError as e:
            report(errors, path, e.reason)
    return inputs, errors
