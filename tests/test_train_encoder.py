"""train.py encoder on a tiny 16 px StyleGAN2: the encoder learns, it helps the optimiser, it trains
data-parallel, its checkpoints round-trip and resume exactly, bad encoder files are refused."""
import subprocess
import sys

import pytest
import torch

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from encoder.training import EncoderTrainingConfig, synthetic_pairs
from generators import fingerprint
from inversion.code import Code
from inversion.invert import InversionConfig, invert
from inversion.latents import initial_code
from inversion.losses import LossWeights
from inversion.optimize import OptimizerConfig
from latentcat.encoder_files import load_encoder, save_encoder
from latentcat.encoder_trainer import EncoderRunConfig, EncoderTrainer
from latentcat.errors import UserError
from tests.conftest import ROOT, run_script, tiny_generator

QUIET = dict(log=lambda *_: None)


def run_config(gen, data, out, steps, **kw):
    G = tiny_generator()
    model = EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim, head=kw.pop("head", "pyramid"),
                          progressive=kw.pop("progressive", False), iterations=kw.pop("iterations", 1))
    training = EncoderTrainingConfig(lr=kw.pop("lr", 1e-4), perceptual_weight=0.0,
                                     synthetic_ratio=kw.pop("synthetic_ratio", 0.5),
                                     progressive_every=kw.pop("progressive_every", 0))
    return EncoderRunConfig(generator=str(gen), data=str(data), out=str(out), model=model, training=training,
                            steps=steps, batch_size=8, log_every=5, val_every=kw.pop("val_every", 1000),
                            checkpoint_every=kw.pop("checkpoint_every", 1000), **kw)


def start_loss(G, E, targets, init):
    config = InversionConfig(weights=LossWeights(perceptual=0.0), optimizer=OptimizerConfig(steps=0))
    return invert(G, targets, config, init, progress=False).losses


def test_trained_encoder_starts_closer_than_the_mean_and_helps_refinement(gen, shapes_dir, tmp_path):
    trainer = EncoderTrainer(run_config(gen, shapes_dir, tmp_path, steps=300, lr=1e-3, synthetic_ratio=1.0), **QUIET)
    trainer.train()
    G = tiny_generator()
    E = load_encoder(tmp_path / "encoder.safetensors", G, fingerprint(G))
    torch.manual_seed(999)  # held-out generated images
    targets, _ = synthetic_pairs(G, 8, 0.0)
    with torch.no_grad():
        guess = Code(E(targets), "w+")
    mean = initial_code(G, "w+", "mean", 8)
    assert start_loss(G, E, targets, guess).mean() < 0.7 * start_loss(G, E, targets, mean).mean()
    config = InversionConfig(weights=LossWeights(perceptual=0.0), optimizer=OptimizerConfig(steps=20))
    hybrid = invert(G, targets, config, guess, progress=False).losses
    baseline = invert(G, targets, config, mean, progress=False).losses
    assert hybrid.mean() <= baseline.mean()


def test_iterative_encoder_with_more_passes_is_no_worse_than_with_one(gen, shapes_dir, tmp_path):
    trainer = EncoderTrainer(run_config(gen, shapes_dir, tmp_path, steps=150, lr=1e-3, synthetic_ratio=1.0,
                                        iterations=2), **QUIET)
    trainer.train()
    G = tiny_generator()
    E = load_encoder(tmp_path / "encoder.safetensors", G, fingerprint(G))
    assert E.config.iterations == 2
    torch.manual_seed(999)  # held-out generated images
    targets, _ = synthetic_pairs(G, 8, 0.0)
    with torch.no_grad():
        losses = [start_loss(G, E, targets, Code(codes, "w+")).mean() for codes in E.passes(targets, G.render)]
    # At this size the second pass's gain is within what CPUs' different numerics move (measured: -6% at
    # 150 steps, +1.4% at 200 on one machine): "no worse" allows that much.
    assert len(losses) == 2 and losses[-1] <= 1.05 * losses[0], losses


def test_resume_equals_uninterrupted_and_files_round_trip(gen, shapes_dir, tmp_path):
    straight = EncoderTrainer(run_config(gen, shapes_dir, tmp_path / "a", steps=6), **QUIET)
    straight.train()
    first = EncoderTrainer(run_config(gen, shapes_dir, tmp_path / "b", steps=3), **QUIET)
    first.train()
    resumed = EncoderTrainer(run_config(gen, shapes_dir, tmp_path / "b", steps=6), resume=True, **QUIET)
    assert resumed.step == 3
    resumed.train()
    for (k, a), b in zip(straight.unwrapped.state_dict().items(), resumed.unwrapped.state_dict().values()):
        assert torch.equal(a, b), f"{k} differs after resume"
    G = tiny_generator()
    E = load_encoder(tmp_path / "a" / "encoder.safetensors", G, fingerprint(G))
    for (k, a), b in zip(straight.unwrapped.state_dict().items(), E.state_dict().values()):
        assert torch.equal(a.cpu(), b), k


def test_progressive_encoder_unlocks_layers(gen, shapes_dir, tmp_path):
    trainer = EncoderTrainer(run_config(gen, shapes_dir, tmp_path, steps=4, progressive=True, progressive_every=2),
                             **QUIET)
    trainer.train_step()
    with torch.no_grad():
        ws = trainer.unwrapped.eval()(torch.zeros(1, 3, 16, 16))
    assert torch.equal(ws[0, 1:], ws[0, :1].expand(ws.shape[1] - 1, -1))  # one shared w at the start
    trainer.train()
    assert int(trainer.unwrapped.active_ws) == 2  # the last step trained (index 3) had 1 + 3 // 2 layers


def test_pool_head_and_shapes():
    E = WPlusEncoder(EncoderConfig(resolution=64, num_ws=10, w_dim=32, head="pool"))
    assert E(torch.zeros(2, 3, 64, 64)).shape == (2, 10, 32)


def test_two_process_encoder_training_keeps_replicas_identical(gen, shapes_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "train.py", "encoder", "--generator", str(gen), "--data", str(shapes_dir), "--steps", "4",
         "--batch-size", "4", "--perceptual-weight", "0", "--checkpoint-every", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout
    assert "step 2: 2 replicas identical" in result.stdout and "step 4: 2 replicas identical" in result.stdout


def test_bad_encoder_files_are_refused_in_one_line(gen, tmp_path):
    G = tiny_generator()
    E = WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim))
    save_encoder(tmp_path / "other.safetensors", E, "0123456789abcdef")
    with pytest.raises(UserError, match="trained for generator 0123456789abcdef"):
        load_encoder(tmp_path / "other.safetensors", G, fingerprint(G))
    E32 = WPlusEncoder(EncoderConfig(resolution=32, num_ws=8, w_dim=G.w_dim))
    save_encoder(tmp_path / "res32.safetensors", E32, fingerprint(G))
    with pytest.raises(UserError, match="reads 32 px"):
        load_encoder(tmp_path / "res32.safetensors", G, fingerprint(G))
    data = (tmp_path / "other.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:len(data) // 3])
    result = run_script("infer.py", "invert", tmp_path / "x.png", "--generator", gen, "--encoder",
                        tmp_path / "cut.safetensors", "--out", tmp_path / "o", check=False)
    assert result.returncode == 1 and "cut.safetensors" in result.stderr and "Traceback" not in result.stderr


def test_backbone_weights_that_do_not_fit_are_one_line_naming_the_file(gen, shapes_dir, tmp_path):
    weights = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, weights)
    with pytest.raises(UserError) as err:
        EncoderTrainer(run_config(gen, shapes_dir, tmp_path / "run", steps=1, backbone_weights=str(weights)), **QUIET)
    message = str(err.value)
    assert message.startswith(f"{weights}: not torchvision resnet18 weights: ") and "missing" in message
    assert "\n" not in message
