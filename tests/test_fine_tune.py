"""train.py generator --init-from: a fine-tune starts exactly from its parent, keeps FreezeD's stages and a
warm-up's G as they were, names its parent, and refuses another architecture in one line."""
import dataclasses

import torch

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint, sample_images, seeded_z
from generators.training import GANTrainingConfig
from latentcat.checkpoints import load_tensors
from latentcat.encoder_files import save_encoder
from latentcat.gan_trainer import GANTrainer
from latentcat.generator_files import load_generator, save_generator
from tests.conftest import run_here, tiny_generator
from tests.test_train_generator import run_config

QUIET = {"log": lambda *_: None}


def parent_file(tmp_path):
    path = tmp_path / "parent.safetensors"
    save_generator(path, tiny_generator(seed=3))
    return path


def test_init_from_starts_at_the_parent_and_trains(shapes_dir, tmp_path):
    parent = parent_file(tmp_path)
    G_parent = load_generator(parent)
    z = seeded_z(G_parent.z_dim, 8, seed=0)
    trainer = GANTrainer(run_config(shapes_dir, tmp_path / "run", steps=3, init_from=str(parent)), **QUIET)
    for G in (trainer.G, trainer.G_ema):
        assert torch.equal(sample_images(G.eval(), z), sample_images(G_parent, z))
    trainer.G.train()
    trainer.train()
    tuned = load_generator(tmp_path / "run" / "generator.safetensors")
    assert not torch.equal(sample_images(tuned, z), sample_images(G_parent, z))
    meta = load_tensors(tmp_path / "run" / "generator.safetensors", "generator")[1]
    assert meta["fine_tuned_from"] == fingerprint(G_parent) and meta["init_from"] == "parent.safetensors"


def test_init_from_a_run_folder_takes_its_discriminator(shapes_dir, tmp_path):
    source = GANTrainer(run_config(shapes_dir, tmp_path / "source", steps=2), **QUIET)
    source.train()
    trainer = GANTrainer(run_config(shapes_dir, tmp_path / "run", steps=2, init_from=str(tmp_path / "source")), **QUIET)
    for name in ("G", "D", "G_ema"):
        for key, value in source.modules()[name].state_dict().items():
            assert torch.equal(trainer.modules()[name].state_dict()[key], value), f"{name}.{key}"


def test_frozen_d_stages_and_warm_up_keep_their_weights(shapes_dir, tmp_path):
    trainer = GANTrainer(run_config(shapes_dir, tmp_path, steps=3, init_from=str(parent_file(tmp_path)), freeze_d=1,
                                    d_warmup=3), **QUIET)
    stages = trainer.D.stages()
    before = [[p.clone() for m in stage for p in m.parameters()] for stage in stages]
    G_before = [p.clone() for p in trainer.G.parameters()]
    trainer.train()
    after = [[p for m in stage for p in m.parameters()] for stage in stages]
    assert all(torch.equal(a, b) for a, b in zip(before[0], after[0])), "a frozen D stage changed"
    assert not all(torch.equal(a, b) for a, b in zip(before[1], after[1])), "an unfrozen D stage did not train"
    assert all(torch.equal(a, b) for a, b in zip(G_before, trainer.G.parameters())), "G trained during warm-up"


def test_another_architecture_or_a_whole_frozen_d_is_refused_in_one_line(shapes_dir, tmp_path):
    parent = parent_file(tmp_path)
    common = ("train.py", "generator", "--data", shapes_dir, "--init-from", parent, "--steps", "1", "--out",
              tmp_path / "run")
    for extra, message in ((("--preset", "tiny-32"), "parent.safetensors: is a stylegan2 generator whose "),
                           (("--arch", "dcgan"), "arch stylegan2 (asked dcgan)"),
                           (("--freeze-d", "9"), "would freeze the whole discriminator")):
        result = run_here(*common, *extra)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "run" / "generator.safetensors").exists()


def test_the_parents_encoder_starts_a_fine_tuned_generator(shapes_dir, tmp_path):
    parent = parent_file(tmp_path)
    GANTrainer(run_config(shapes_dir, tmp_path / "run", steps=1, init_from=str(parent)), **QUIET).train()
    fine = tmp_path / "run" / "generator.safetensors"
    G = load_generator(parent)
    encoder, stranger = tmp_path / "encoder.safetensors", tmp_path / "stranger.safetensors"
    config = EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim)
    save_encoder(encoder, WPlusEncoder(config), fingerprint(G))
    save_encoder(stranger, WPlusEncoder(config), fingerprint(tiny_generator(seed=4)))
    photo = next(shapes_dir.glob("*.png"))
    ok = run_here("infer.py", "invert", photo, "--generator", fine, "--encoder", encoder, "--steps", "0",
                  "--no-progress", "--out", tmp_path / "out")
    assert ok.returncode == 0, ok.stderr
    assert "which the --generator in use was fine-tuned from" in ok.stdout + ok.stderr
    refused = run_here("infer.py", "invert", photo, "--generator", fine, "--encoder", stranger, "--steps", "0",
                       "--no-progress", "--out", tmp_path / "out2")
    assert refused.returncode == 1 and "this encoder was trained for generator" in refused.stderr
    latent = tmp_path / "out" / f"000-{photo.stem}.latent.safetensors"  # a parent's latent, re-stamped for G
    from_parent = run_here("infer.py", "invert", photo, "--generator", parent, "--encoder", encoder, "--steps", "0",
                           "--no-progress", "--out", tmp_path / "parent")
    assert from_parent.returncode == 0, from_parent.stderr
    rendered = run_here("infer.py", "invert", photo, "--generator", fine, "--init",
                        tmp_path / "parent" / latent.name, "--steps", "0", "--no-progress", "--out", tmp_path / "grumpy")
    assert rendered.returncode == 0 and "which the --generator in use descends from" in rendered.stdout
    assert load_tensors(tmp_path / "grumpy" / latent.name, "latent")[1]["generator_fingerprint"] == fingerprint(
        load_generator(fine))


def test_the_generator_may_learn_slower_than_the_discriminator(shapes_dir, tmp_path):
    training = GANTrainingConfig(g_lr=0.0002)
    trainer = GANTrainer(run_config(shapes_dir, tmp_path, steps=1, training=training), **QUIET)
    ratio = training.r1_interval / (training.r1_interval + 1)  # D's lr is corrected for lazy R1 (G has no PL)
    assert trainer.opt_g.param_groups[0]["lr"] == 0.0002
    assert trainer.opt_d.param_groups[0]["lr"] == training.lr * ratio


def test_projected_discriminator_trains_its_heads_keeps_its_trunk_and_resumes(shapes_dir, tmp_path):
    """Projected GAN: the ImageNet trunk and the random projections never change; the heads and G learn; a
    resumed run rebuilds the same D; a resume with the other kind of D is refused."""
    cfg = run_config(shapes_dir, tmp_path / "run", steps=2, init_from=str(parent_file(tmp_path)),
                     discriminator="projected", projected_input=64, checkpoint_every=2,
                     training=GANTrainingConfig(r1_interval=0))
    trainer = GANTrainer(cfg, **QUIET)
    frozen = {name: p.clone() for name, p in trainer.D.named_parameters() if not name.startswith("heads.")}
    heads = {name: p.clone() for name, p in trainer.D.named_parameters() if name.startswith("heads.")}
    G_before = [p.clone() for p in trainer.G.parameters()]
    trainer.train()
    now = dict(trainer.D.named_parameters())
    assert frozen and all(torch.equal(now[name], p) for name, p in frozen.items()), "the trunk or a projection moved"
    assert not all(torch.equal(now[name], p) for name, p in heads.items()), "the heads did not train"
    assert not all(torch.equal(a, b) for a, b in zip(G_before, trainer.G.parameters())), "G did not train"
    assert not trainer.D.trunk.training  # ImageNet BatchNorm statistics stay as shipped
    resumed = GANTrainer(dataclasses.replace(cfg, steps=3), resume=True, **QUIET)
    assert resumed.step == 2
    assert all(torch.equal(resumed.D.state_dict()[k], v) for k, v in trainer.D.state_dict().items())
    result = run_here("train.py", "generator", "--data", shapes_dir, "--preset", "tiny", "--steps", "3", "--resume",
                      "--out", tmp_path / "run")
    assert result.returncode == 1 and "trained with the projected discriminator" in result.stderr, result.stderr
