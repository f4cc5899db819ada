"""--batch-size auto: the memory line fitted from two probe steps, the batch that fills a GPU, and a CPU run."""
from inversion.feature_networks import build_feature_network
from inversion.invert import InversionConfig
from inversion.memory import PROBE_BATCHES, largest_batch, memory_per_photo, probe_step
from inversion.tuning import TuningConfig
from tests.conftest import infer_here, summary, tiny_generator


def test_memory_line_through_two_probe_steps():
    probed = []
    probe = probe_step(tiny_generator(), InversionConfig(), TuningConfig(steps=1),  # a latent and a tuning step
                       build_feature_network("stlpips-alex"))

    def step(batch):
        probed.append(batch)
        probe(batch)

    def peak(run):  # a device whose step costs 1,000 bytes once and 300 a photo
        run()
        return 1000 + 300 * probed[-1]

    assert memory_per_photo(step, peak) == (1000, 300) and tuple(probed) == PROBE_BATCHES


def test_largest_batch_fills_the_headroom_and_stays_in_bounds():
    assert largest_batch(10_000, 1000, 300) == 23          # (0.8 * 10,000 - 1,000) // 300
    assert largest_batch(1000, 1000, 300) == 1              # never below one photo
    assert largest_batch(1e12, 1000, 300) == 256            # nor above what a GPU gains from


def test_auto_batch_on_a_cpu_is_the_cpu_batch(gen, photos, tmp_path):
    out = tmp_path / "auto"
    infer_here("invert", photos, "--batch-size", "auto", "--out", out, gen=gen)
    assert summary(out)["settings"]["batch_size"] == 8
