"""Semantic directions in w+, and moving codes along them layer by layer.

Three ways to find directions, each a unit vector per w+ layer, best first:
- `sefa` (Shen & Zhou 2021, closed form): the eigenvectors of A^T A, A being the chosen layers' style affine
  weights stacked with each row normalised (as genforce's SeFa); score: the eigenvalue. One w direction, the
  same in every layer; `layer_scores`: how strongly it moves each w+ layer's styles (the mean over the layer's
  style channels of (a_c . d)^2; the eigenvalue is their sum over the chosen layers' channels).
- `ganspace` (Härkönen et al. 2020): principal components of mapped w over seeded samples; score: the variance
  along each.
- `difference` (the course notes): the mean code of a set that has an attribute minus the mean of a set that
  lacks it, normalised per w+ layer; score: the distance between the two means, averaged over the layers
  (`layer_scores`: per layer, so a strength equal to it moves a layer from one mean to the other).

A move adds strength x direction to chosen w+ layers and leaves every other number of the code as it was, so
strength 0 gives the input code back exactly.
"""
import dataclasses
import json
from dataclasses import dataclass, field

import torch

from generators.protocol import fingerprint, seeded_z
from inversion.code import Code
from inversion.latents import initial_code

METHODS = ("sefa", "ganspace", "difference")


@dataclass(frozen=True)
class Directions:
    vectors: torch.Tensor              # [K, num_ws, w_dim]: per w+ layer a unit vector (zero where a set has none)
    scores: torch.Tensor               # [K], best first
    method: str
    layers: tuple[int, ...]            # the w+ layers they were found on: where a move goes by default
    generator: str                     # fingerprint of the generator they belong to
    layer_scores: torch.Tensor | None = None  # [K, num_ws]: how much of each direction lives in each layer
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"direction method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.vectors.ndim != 3 or self.scores.shape != self.vectors.shape[:1]:
            raise ValueError(f"directions must be [K, num_ws, w_dim] with K scores, got {tuple(self.vectors.shape)} "
                             f"and {tuple(self.scores.shape)}")
        if self.layer_scores is not None and self.layer_scores.shape != self.vectors.shape[:2]:
            raise ValueError("layer scores must be [K, num_ws]")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def to_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """Named tensors and string metadata, for a file (see `from_tensors`)."""
        tensors = {"directions": self.vectors, "scores": self.scores}
        if self.layer_scores is not None:
            tensors["layer_scores"] = self.layer_scores
        tensors = {name: t.detach().float().cpu().contiguous() for name, t in tensors.items()}
        return tensors, {"method": self.method, "layers": json.dumps(list(self.layers)),
                         "generator_fingerprint": self.generator, "settings": json.dumps(self.settings)}

    @staticmethod
    def from_tensors(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> "Directions":
        try:
            return Directions(tensors["directions"], tensors["scores"], meta["method"],
                              tuple(int(i) for i in json.loads(meta["layers"])), meta["generator_fingerprint"],
                              tensors.get("layer_scores"), json.loads(meta.get("settings") or "{}"))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"incomplete directions ({type(e).__name__}: {e})") from None


def check_layers(G, layers) -> tuple[int, ...]:
    """A w+ layer selection (None: all of them), sorted and checked against G."""
    if layers is None:
        return tuple(range(G.num_ws))
    bad = [i for i in layers if not 0 <= i < G.num_ws]
    if bad or not layers:
        raise ValueError(f"w+ layer {bad[0]} does not exist: this generator has layers 0-{G.num_ws - 1}" if bad
                         else "choose at least one w+ layer")
    return tuple(sorted(set(layers)))


def require_wplus(G) -> None:
    if "w+" not in G.latent_spaces:
        raise ValueError(f"directions live in w+: they need a StyleGAN2 generator, not a {G.config.arch}")


def _top(eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, num: int | None):
    """The `num` largest eigenpairs of a symmetric matrix (torch.linalg.eigh's output), largest first, each
    vector's sign fixed (largest-magnitude component positive) so a direction is the same on every run."""
    order = eigenvalues.argsort(descending=True)[:num]
    vectors = eigenvectors[:, order].T
    signs = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True)).sign()
    return eigenvalues[order], vectors * signs


def normalized_style_weights(G) -> list[torch.Tensor]:
    """Each w+ layer's style affine weights [C_i, w_dim], every row scaled to unit length (SeFa's A)."""
    return [(w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)).double() for w in G.style_weights()]


@torch.no_grad()
def sefa(G, layers=None, num: int | None = None) -> Directions:
    """SeFa directions of the chosen w+ layers (None: all): unit w vectors, largest eigenvalue first."""
    require_wplus(G)
    layers = check_layers(G, layers)
    weights = normalized_style_weights(G)
    A = torch.cat([weights[i] for i in layers])
    eigenvalues, vectors = _top(*torch.linalg.eigh(A.T @ A), num)
    layer_scores = torch.stack([(w @ vectors.T).square().mean(dim=0) for w in weights], dim=1)  # [K, num_ws]
    return Directions(vectors[:, None].expand(-1, G.num_ws, -1).float().cpu(), eigenvalues.float().cpu(), "sefa",
                      layers, fingerprint(G), layer_scores.float().cpu(), {"num": len(vectors)})


@torch.no_grad()
def ganspace(G, samples: int = 10000, seed: int = 0, layers=None, num: int | None = None,
             batch_size: int = 1000) -> Directions:
    """GANSpace directions: principal components of w = mapping(z) over `samples` seeded z, largest variance
    first; settings record the total variance (score / total: the share of the variance each explains)."""
    require_wplus(G)
    layers = check_layers(G, layers)
    if samples < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {samples}")
    z = seeded_z(G.z_dim, samples, seed).to(G.code_mean().device)
    w = torch.cat([G.latent_from_z(chunk, "w") for chunk in z.split(batch_size)]).double()
    centred = w - w.mean(dim=0)
    covariance = centred.T @ centred / (len(w) - 1)
    variances, vectors = _top(*torch.linalg.eigh(covariance), num)
    return Directions(vectors[:, None].expand(-1, G.num_ws, -1).float().cpu(), variances.float().cpu(), "ganspace",
                      layers, fingerprint(G), None, {"num": len(vectors), "samples": samples, "seed": seed,
                                                     "total_variance": float(covariance.trace())})


@torch.no_grad()
def mean_difference(G, positive: Code, negative: Code, layers=None) -> Directions:
    """The direction from the mean code of `negative` to the mean code of `positive` (each any rows, any space
    of G), normalised per w+ layer; a layer where the means coincide gets a zero vector."""
    require_wplus(G)
    layers = check_layers(G, layers)
    generator = fingerprint(G)
    if {positive.generator, negative.generator} != {generator}:
        raise ValueError(f"both sets must be codes of this generator ({generator}), got "
                         f"{positive.generator} and {negative.generator}")
    means = [c.as_wplus(G).latent.double().mean(dim=0) for c in (positive, negative)]
    difference = means[0] - means[1]                                   # [num_ws, w_dim]
    distances = difference.norm(dim=1)
    vectors = difference / distances.clamp_min(1e-12)[:, None]
    return Directions(vectors[None].float().cpu(), distances[list(layers)].mean()[None].float().cpu(),
                      "difference", layers, generator, distances[None].float().cpu(),
                      {"positive": len(positive), "negative": len(negative)})


def move(G, code: Code, directions: Directions, index: int, strength: float, layers=None) -> Code:
    """`code` (any rows, any space of G) in w+, moved by `strength` along direction `index` on `layers` (None: the
    layers the directions were found on); every other layer, and the noise maps, stay exactly as they were.
    Directions of a tuned generator's parent fit it too: tuning leaves the mapping, and so w space, as it was."""
    parent = getattr(getattr(G, "tuned", None), "parent", None)
    if directions.generator not in (code.generator, parent):
        raise ValueError(f"these directions belong to generator {directions.generator}, not to this code's "
                         f"generator {code.generator}: find directions with the generator in use")
    if not 0 <= index < len(directions):
        raise ValueError(f"direction {index} does not exist: there are {len(directions)} (0-{len(directions) - 1})")
    chosen = list(check_layers(G, directions.layers if layers is None else layers))
    wplus = code.as_wplus(G)
    moved = wplus.latent.clone()
    moved[:, chosen] = wplus.latent[:, chosen] + strength * directions.vectors[index, chosen].to(moved)
    return dataclasses.replace(wplus, latent=moved)


def sweep(G, code: Code, directions: Directions, index: int, strengths, layers=None) -> Code:
    """One row per strength: `code` (a Code of one) moved by each of `strengths`."""
    return Code.cat([move(G, code, directions, index, s, layers) for s in strengths])


@torch.no_grad()
def sample_codes(G, num: int, seed: int, truncation: float = 1.0) -> Code:
    """The w codes of `infer.py sample`'s images for this seed and truncation psi (pulled toward w_avg)."""
    code = initial_code(G, "w", "random", num, seed)
    return dataclasses.replace(code, latent=G.code_mean().lerp(code.latent, truncation))
