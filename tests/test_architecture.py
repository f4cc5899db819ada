"""The layering holds: imports only point down (entry points -> latentcat/ -> encoder/ -> inversion/ ->
generators/), and every generator implements the one protocol."""
import ast

import pytest

import generators as g
from generators.protocol import Generator
from tests.conftest import ROOT

LAYERS = {"generators": 0, "inversion": 1, "encoder": 2, "latentcat": 3}


def project_imports(path):
    """The top-level project packages a module imports."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS or top in ("infer", "train", "bench"):
                yield top


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_only_point_down(package):
    upward = [f"{path.relative_to(ROOT)} imports {top}" for path in sorted((ROOT / package).rglob("*.py"))
              for top in project_imports(path) if top not in LAYERS or LAYERS[top] > LAYERS[package]]
    assert not upward, upward


@pytest.mark.parametrize("name", ["tiny", "tiny-dcgan"])
def test_every_generator_implements_the_protocol(name):
    G = g.build_generator(g.preset(name))
    assert isinstance(G, Generator)
    z = g.seeded_z(G.z_dim, 2, seed=0)
    for space in G.latent_spaces:
        images = G.render(G.codes(G.latent_from_z(z, space), space))
        assert images.shape == (2, 3, G.resolution, G.resolution)


def unpickling_calls(path):
    """Calls that would unpickle with the standard unpickler: pickle.load(s), a plain pickle.Unpickler, or a
    torch.load without weights_only=True."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        safe = any(k.arg == "weights_only" and ast.unparse(k.value) == "True" for k in node.keywords)
        if name in ("pickle.load", "pickle.loads", "pickle.Unpickler", "Unpickler", "torch.load") and not (
                name == "torch.load" and safe):
            yield f"{path.relative_to(ROOT)}:{node.lineno} calls {name}"


def test_nothing_unpickles_with_the_standard_unpickler():
    """Project code and tests read pickles only through latentcat's allow-list unpickler (a subclass whose
    find_class refuses all but a few globals) or torch's weights-only loader."""
    files = [p for p in sorted(ROOT.rglob("*.py")) if not {".venv", "node_modules"} & set(p.parts)]
    found = [call for path in files for call in unpickling_calls(path)]
    assert not found, found
