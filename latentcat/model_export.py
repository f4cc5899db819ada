"""train.py export: a generator or encoder file in fp16 for shipping. The source is loaded as the model it says
it is before anything is written (a latent, a training checkpoint or a broken file is refused), and an existing
file is never replaced."""
from pathlib import Path

from latentcat.checkpoints import load_tensors, save_tensors
from latentcat.encoder_files import KIND as ENCODER
from latentcat.encoder_files import read_encoder
from latentcat.errors import UserError
from latentcat.generator_files import KIND as GENERATOR
from latentcat.generator_files import load_generator


def export_half(src, dst) -> dict[str, str]:
    """Write the model in `src` to the new file `dst` with its floating tensors in fp16; returns its metadata."""
    if Path(dst).exists():
        raise UserError("already exists; export never replaces a file: choose a new name", dst)
    tensors, metadata = load_tensors(src, "model")
    kind = metadata.get("kind")
    if kind == GENERATOR:
        load_generator(src)
    elif kind == ENCODER:
        read_encoder(src)
    else:
        raise UserError(f"holds a {kind or 'unknown'} file, not a generator or an encoder", src)
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_tensors(dst, half, {k: v for k, v in metadata.items() if k not in ("format", "format_version")})
    return metadata
