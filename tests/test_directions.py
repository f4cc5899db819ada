"""Semantic directions on a tiny StyleGAN2: SeFa, GANSpace and the difference of two sets find what they should;
an edit moves only the chosen layers, is the identity at strength 0, and refuses another generator's directions;
`infer.py directions`, `edit` and `directions-grid` write what they promise."""
import numpy as np
import pytest
import torch
from PIL import Image

from generators.layers import ModulatedConv2d
from inversion.code import Code
from inversion.directions import ganspace, mean_difference, move, sefa, sweep
from inversion.latents import initial_code
from latentcat.direction_files import load_directions, write_directions
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, save_generator
from latentcat.latent_files import write_code
from tests.conftest import infer, infer_here, run_here, summary, tiny_generator


@pytest.fixture(scope="module")
def G():
    return tiny_generator()


def unit_rows(weight):
    return weight / weight.norm(dim=1, keepdim=True)


def affine(module):
    return (module.affine.weight * module.affine.weight_gain).double()


def assert_same_eigenvectors(found, expected_vectors, expected_values, num):
    """Columns of `expected_vectors` (ascending, as eigh gives them) vs the rows of `found`, up to sign."""
    order = expected_values.argsort(descending=True)[:num]
    cosines = (found.vectors[:, 0].double() @ expected_vectors[:, order]).diagonal().abs()
    torch.testing.assert_close(cosines, torch.ones(num, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(found.scores.double(), expected_values[order], atol=1e-4, rtol=1e-5)


def test_sefa_directions_are_orthonormal_eigenvectors_of_the_normalised_affine_weights(G):
    every = sefa(G)
    V = every.vectors[:, 0].double()
    torch.testing.assert_close(V @ V.T, torch.eye(G.w_dim, dtype=torch.float64), atol=1e-5, rtol=0)
    assert torch.equal(every.vectors, every.vectors[:, :1].expand_as(every.vectors))  # one w direction for all layers
    A = torch.cat([unit_rows(affine(m)) for m in G.modules() if isinstance(m, ModulatedConv2d)])
    assert_same_eigenvectors(every, *reversed(torch.linalg.eigh(A.T @ A)), num=G.w_dim)
    first = sefa(G, layers=[0], num=4)  # w+ layer 0 is read by the first block's conv only
    A0 = unit_rows(affine(G.synthesis.blocks[0].conv1.conv))
    assert_same_eigenvectors(first, *reversed(torch.linalg.eigh(A0.T @ A0)), num=4)
    assert first.layers == (0,) and len(first) == 4


def test_ganspace_finds_a_planted_dominant_direction_of_w():
    G = tiny_generator()
    g = torch.Generator().manual_seed(0)
    planted, across = torch.rand(G.w_dim, generator=g) + 0.5, torch.randn(G.w_dim, generator=g)
    last = G.mapping.layers[-1]  # w varies most along `planted` (positive, so the leaky ReLU keeps its direction)
    with torch.no_grad():
        last.weight += torch.outer(planted, across) / last.weight_gain
    found = ganspace(G, samples=1000, seed=0, num=3)
    assert float(found.vectors[0, 0] @ planted / planted.norm()).__abs__() > 0.99
    assert found.scores[0] > 10 * found.scores[1]
    assert found.settings["total_variance"] >= float(found.scores.sum())


def test_difference_of_two_sets_recovers_the_vector_between_them(G):
    g = torch.Generator().manual_seed(0)
    shift = torch.randn(G.num_ws, G.w_dim, generator=g) * 3
    base = G.w_avg.expand(2, 200, G.num_ws, -1) + torch.randn(2, 200, G.num_ws, G.w_dim, generator=g)
    fingerprint = initial_code(G, "w", "mean", 1).generator
    positive, negative = Code(base[0] + shift, "w+", generator=fingerprint), Code(base[1], "w+", generator=fingerprint)
    found = mean_difference(G, positive, negative)
    cosines = torch.nn.functional.cosine_similarity(found.vectors[0], shift, dim=1)
    assert cosines.min() > 0.99, cosines
    torch.testing.assert_close(found.layer_scores[0], shift.norm(dim=1), rtol=0.05, atol=0)


def test_an_edit_moves_only_the_chosen_layers_and_strength_zero_is_the_identity(G):
    directions = sefa(G, num=3)
    code = initial_code(G, "w", "random", 2, seed=3)
    same = move(G, code, directions, 1, 0.0)
    assert torch.equal(same.latent, code.as_wplus(G).latent)
    assert torch.equal(same.render(G), code.render(G))
    moved = move(G, code, directions, 1, 2.5, layers=[1, 3])
    before = code.as_wplus(G).latent
    untouched = [0, 2, 4, 5]
    assert torch.equal(moved.latent[:, untouched], before[:, untouched])
    torch.testing.assert_close(moved.latent[:, [1, 3]] - before[:, [1, 3]],
                               2.5 * directions.vectors[1, [1, 3]].expand(2, -1, -1))
    assert len(sweep(G, code[0], directions, 0, [-1, 0, 1])) == 3
    other = tiny_generator(seed=1)
    with pytest.raises(ValueError, match="belong to generator"):
        move(G, code, sefa(other), 0, 1.0)


def test_a_directions_file_is_refused_for_another_generator_in_one_line(G, tmp_path):
    path = tmp_path / "dirs.safetensors"
    found = sefa(G, layers=[0, 1], num=2)
    write_directions(path, found)
    again = load_directions(path, G, found.generator)
    assert torch.equal(again.vectors, found.vectors) and again.layers == (0, 1) and again.method == "sefa"
    with pytest.raises(UserError, match="belong to generator") as refused:
        load_directions(path, G, "0123456789abcdef")
    assert "\n" not in str(refused.value)


def test_directions_edit_and_grid_commands(gen, photos, tmp_path):
    assert infer_here("directions", "--method", "sefa", "--layers", "0-2", "--num", "4", "--out", tmp_path / "dirs",
                      gen=gen).returncode == 0
    s = summary(tmp_path / "dirs")
    assert [item["index"] for item in s["items"]] == [0, 1, 2, 3] and s["settings"]["layers"] == [0, 1, 2]
    assert abs(sum(s["items"][0]["layer_shares"]) - 1) < 1e-3
    latent = tmp_path / "c.latent.safetensors"
    G = load_generator(gen)
    write_code(latent, initial_code(G, "w", "random", 1, seed=5))
    out = tmp_path / "edit"
    assert infer_here("edit", photos / "a.png", latent, "--directions", tmp_path / "dirs", "--index", "1",
                      "--strengths", "-2,0,2", "--layers", "1-3", "--out", out, gen=gen).returncode == 0
    s = summary(out)
    assert s["settings"]["layers"] == [1, 2, 3] and s["settings"]["strengths"] == [-2, 0, 2] and not s["errors"]
    photo, saved = s["items"]
    strip = np.asarray(Image.open(out / photo["outputs"]["strip"]))
    reconstruction = np.asarray(Image.open(out / photo["outputs"]["reconstruction"]))
    R = len(reconstruction)  # the strip's tiles sit 2 px apart: strength 0 is the middle one, the input itself
    assert np.array_equal(strip[2:2 + R, R + 4:2 * R + 4], reconstruction)
    assert Image.open(out / saved["outputs"]["gif"]).n_frames > 3 and len(saved["outputs"]["edited"]) == 3
    grid = tmp_path / "grid"
    assert run_here("infer.py", "directions-grid", tmp_path / "dirs", "--generator", gen, "--top", "2", "--samples", "2",
                    "--out", grid).returncode == 0
    assert len(summary(grid)["items"]) == 2 and (grid / "grid.png").is_file()
    assert summary(grid)["items"][0]["pixel_change"] > 0
    other = tmp_path / "other.safetensors"
    save_generator(other, tiny_generator(seed=1))
    refused = infer("edit", photos / "a.png", "--directions", tmp_path / "dirs", "--out", tmp_path / "x",
                    "--generator", other, gen=gen, check=False)
    assert refused.returncode == 1 and "belong to generator" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_difference_command_encodes_both_sets(gen, photos, tmp_path):
    positive, negative = tmp_path / "pos", tmp_path / "neg"
    for folder, names in ((positive, "ab"), (negative, "c")):
        folder.mkdir()
        for name in names:
            (folder / f"{name}.png").write_bytes((photos / f"{name}.png").read_bytes())
    out = tmp_path / "diff"
    infer("directions", "--method", "difference", "--positive", positive, "--negative", negative, "--steps", "4",
          "--out", out, gen=gen)
    s = summary(out)
    assert s["sets"]["positive"]["count"] == 2 and s["sets"]["negative"]["count"] == 1
    assert len(s["items"]) == 1 and s["items"][0]["score"] > 0 and (out / "means.png").is_file()
    unencoded = infer("directions", "--method", "difference", "--positive", positive, "--negative", negative,
                      "--steps", "0", "--out", tmp_path / "none", gen=gen, check=False)
    assert unencoded.returncode == 1 and "needs each photo's own code" in unencoded.stderr
