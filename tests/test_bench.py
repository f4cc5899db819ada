"""The FLOP count behind the benchmarks' efficiency figures is the textbook one, also where torch's own
per-module tracking would fail."""
import torch
from torch import nn

from bench.efficiency import count_flops


def test_count_flops_counts_matmuls_and_convolutions_forward_and_backward():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert count_flops(lambda: a @ b) == 2 * 8 * 16 * 4
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    forward = 2 * 2 * 5 * 8 * 8 * 3 * 3 * 3  # 2 x batch x out channels x pixels x (in channels x kernel)
    assert count_flops(lambda: conv(x).sum().backward()) == 3 * forward  # forward, input and weight gradients

    def render_without_grad():  # as the final render of an inversion: a module on a view of a grad-requiring leaf
        with torch.no_grad():
            conv(x[:1])

    assert count_flops(render_without_grad) == forward // 2
