"""Generator files: exact round trips, fp16 export, and a one-line error for every broken or mismatched file."""
import json

import pytest
import torch

import generators as g
from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint
from inversion.code import Code
from latentcat.checkpoints import load_tensors, read_state_dict, save_tensors
from latentcat.encoder_files import load_encoder, save_encoder
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from latentcat.latent_files import write_code
from tests.conftest import one_line, run_here, run_script


def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    torch.manual_seed(0)
    for name in ("tiny", "tiny-dcgan"):
        G = g.build_generator(g.preset(name))
        save_generator(tmp_path / f"{name}.safetensors", G)
        G2 = load_generator(tmp_path / f"{name}.safetensors")
        for (k, a), b in zip(G.state_dict().items(), G2.state_dict().values()):
            assert torch.equal(a, b), k
        assert fingerprint(G) == fingerprint(G2)


def test_bad_generator_files(gen, tmp_path):
    data = gen.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 100)
    cases = {"truncated.safetensors": "corrupt or truncated", "garbage.safetensors": "corrupt or truncated",
             "missing.safetensors": "no such generator file"}
    for name, message in cases.items():
        with pytest.raises(UserError, match=message) as err:
            load_generator(tmp_path / name)
        assert name in str(err.value) and "\n" not in str(err.value)


def test_generator_config_mismatch(gen, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(gen), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), "channel_max": 32})
    save_file(tensors, str(tmp_path / "mismatch.safetensors"), metadata=meta)
    with pytest.raises(UserError, match="do not match the stored generator config"):
        load_generator(tmp_path / "mismatch.safetensors")
    meta["kind"] = "encoder"
    save_file(tensors, str(tmp_path / "kind.safetensors"), metadata=meta)
    with pytest.raises(UserError, match="not a generator"):
        load_generator(tmp_path / "kind.safetensors")


def test_export_writes_fp16(gen, tmp_path):
    run_script("train.py", "export", gen, tmp_path / "small.safetensors")
    from safetensors import safe_open
    with safe_open(str(tmp_path / "small.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    G = load_generator(tmp_path / "small.safetensors")
    assert next(G.parameters()).dtype == torch.float32


def test_export_refuses_an_existing_file_and_anything_but_a_model(gen, tmp_path):
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"the user's file")
    one_line(run_here("train.py", "export", gen, existing), existing, "already exists")
    assert existing.read_bytes() == b"the user's file"
    G = load_generator(gen)
    latent = tmp_path / "a.latent.safetensors"
    write_code(latent, Code(G.mapping(torch.randn(1, G.z_dim)), "w", generator=fingerprint(G)))
    one_line(run_here("train.py", "export", latent, tmp_path / "x.safetensors"), latent,
             "holds a latent file, not a generator or an encoder")
    broken = tmp_path / "broken.safetensors"
    tensors, meta = load_tensors(gen, "generator")
    save_tensors(broken, {k: v for k, v in tensors.items() if "mapping" not in k}, meta)
    one_line(run_here("train.py", "export", broken, tmp_path / "y.safetensors"), broken, "weights do not match")
    assert not (tmp_path / "x.safetensors").exists() and not (tmp_path / "y.safetensors").exists()
    encoder = tmp_path / "encoder.safetensors"
    save_encoder(encoder, WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim)), fingerprint(G))
    assert run_here("train.py", "export", encoder, tmp_path / "e16.safetensors").returncode == 0
    load_encoder(tmp_path / "e16.safetensors", G, fingerprint(G))


class Payload:
    """Any Python object: a pickle holding one is refused by torch's weights-only loader."""


def test_weights_files_torch_refuses_are_one_line_naming_the_file(tmp_path):
    pickled = tmp_path / "pickled.pth"
    torch.save({"conv1.weight": torch.zeros(1), "extra": Payload()}, pickled)
    with pytest.raises(UserError) as err:
        read_state_dict(pickled)
    message = str(err.value)
    assert message.startswith(f"{pickled}: holds a pickled Python object (") and "Payload" in message
    assert message.endswith("or as .safetensors") and "\n" not in message and "\x1b" not in message
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a readable weights file: expected a torchvision state dict"):
        read_state_dict(tmp_path / "junk.pth")
