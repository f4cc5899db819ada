"""Generator files: exact round trips, fp16 export, and a one-line error for every broken or mismatched file."""
import json

import pytest
import torch

import generators as g
from generators import fingerprint
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from tests.conftest import run_script


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
