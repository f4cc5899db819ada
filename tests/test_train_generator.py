"""train.py generator: it learns, resume equals uninterrupted, replicas stay identical, kill -9 loses nothing."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import generators as g
from generators import sample_images, seeded_z
from generators.pixels import uint8_to_float
from generators.training import GANTrainingConfig
from latentcat.datasets import load_images
from latentcat.gan_trainer import GANRunConfig, GANTrainer
from latentcat.generator_files import load_generator
from tests.conftest import ROOT, run_script


def run_config(data, out, steps, arch_preset="tiny", **kw):
    training = kw.pop("training", None) or GANTrainingConfig(
        **({"lr": 0.002, "betas": (0.5, 0.999)} if "dcgan" in arch_preset else {}))
    return GANRunConfig(data=str(data), out=str(out), model=g.preset(arch_preset), training=training, steps=steps,
                        batch_size=8, log_every=5, sample_every=1000, checkpoint_every=kw.pop("checkpoint_every", 1000),
                        **kw)


def colour_gap(G, data) -> float:
    """Distance between the mean colour layout of samples and of the data (what a GAN must learn first)."""
    fake = sample_images(G, seeded_z(G.z_dim, 64, seed=123))
    return (fake.mean(0) - uint8_to_float(data).mean(0)).abs().mean().item()


@pytest.mark.parametrize("arch_preset", ["tiny", "tiny-dcgan"])
def test_training_moves_samples_toward_data(shapes_dir, tmp_path, arch_preset):
    data = load_images(shapes_dir, 16).train
    trainer = GANTrainer(run_config(shapes_dir, tmp_path, steps=300, arch_preset=arch_preset), log=lambda *_: None)
    before = colour_gap(trainer.G_ema, data)
    trainer.train()
    after = colour_gap(load_generator(tmp_path / "generator.safetensors"), data)
    assert after < 0.5 * before, (before, after)
    assert (tmp_path / "samples").is_dir() and any((tmp_path / "tensorboard").rglob("events.out.tfevents*"))


def test_resume_equals_uninterrupted(shapes_dir, tmp_path):
    straight = GANTrainer(run_config(shapes_dir, tmp_path / "a", steps=8), log=lambda *_: None)
    straight.train()
    first = GANTrainer(run_config(shapes_dir, tmp_path / "b", steps=4), log=lambda *_: None)
    first.train()
    resumed = GANTrainer(run_config(shapes_dir, tmp_path / "b", steps=8), resume=True, log=lambda *_: None)
    assert resumed.step == 4
    resumed.train()
    for name in ("G", "D", "G_ema"):
        for (k, a), b in zip(straight.modules()[name].state_dict().items(),
                             resumed.modules()[name].state_dict().values()):
            assert torch.equal(a, b), f"{name}.{k} differs after resume"
    straight_state, resumed_state = straight.opt_g.state_dict()["state"], resumed.opt_g.state_dict()["state"]
    assert straight_state.keys() == resumed_state.keys()
    for idx, a in straight_state.items():
        assert torch.equal(a["exp_avg"], resumed_state[idx]["exp_avg"]) and torch.equal(a["step"], resumed_state[idx]["step"])


def test_resume_with_another_architecture_is_refused(shapes_dir, tmp_path):
    GANTrainer(run_config(shapes_dir, tmp_path, steps=2), log=lambda *_: None).train()
    result = run_script("train.py", "generator", "--data", shapes_dir, "--preset", "tiny-32", "--steps", "4",
                        "--out", tmp_path, "--resume", check=False)
    assert result.returncode == 1
    assert "checkpoint was trained with" in result.stderr and "Traceback" not in result.stderr


def test_two_process_data_parallel_keeps_replicas_identical(shapes_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "train.py", "generator", "--data", str(shapes_dir), "--preset", "tiny", "--steps", "6",
         "--batch-size", "4", "--checkpoint-every", "3", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout
    assert "step 3: 2 replicas identical" in result.stdout and "step 6: 2 replicas identical" in result.stdout
    assert sorted(p.name for p in (tmp_path / "checkpoints" / "step-0000006").iterdir()) == [
        "rng-0.safetensors", "rng-1.safetensors", "state.safetensors"]


def test_kill_during_checkpointing_keeps_last_good_checkpoint(shapes_dir, tmp_path):
    """kill -9 at random moments of a run that checkpoints every step: what is left always loads."""
    cmd = [sys.executable, "train.py", "generator", "--data", str(shapes_dir), "--preset", "tiny", "--steps", "10000",
           "--batch-size", "4", "--checkpoint-every", "1", "--sample-every", "10000", "--out", str(tmp_path)]
    latest = tmp_path / "checkpoints" / "latest.json"
    for delay in (0.0, 0.7, 1.3):
        before = latest.stat().st_mtime_ns if latest.exists() else None
        proc = subprocess.Popen(cmd + (["--resume"] if (tmp_path / "checkpoints").exists() else []), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120  # however loaded the machine: this run has written a checkpoint, then dies
        while time.time() < deadline and proc.poll() is None and (
                not latest.exists() or latest.stat().st_mtime_ns == before):
            time.sleep(0.05)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if (tmp_path / "generator.safetensors").exists():
            load_generator(tmp_path / "generator.safetensors")
    trainer = GANTrainer(run_config(shapes_dir, tmp_path, steps=10000), resume=True, log=lambda *_: None)
    assert trainer.step > 0
