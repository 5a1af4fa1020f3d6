"""Linear layers for search on a CPU: oneDNN, with each weight packed once, not per call.

A search calls a model's layers once per step on a few rows (5 beams of one sentence) to a
few hundred (64 sentences × 5 beams). torch's CPU build sends ``F.linear`` to MKL's sgemm,
which copies the weight into its blocked layout at every call and is known to take slower
code paths on processors that are not Intel's. oneDNN, also inside torch, picks its
kernels by instruction set and keeps a weight packed in its blocked layout between calls.
Measured on the project's AMD EPYC (Zen 2) machine, a 256 → 8,000 output layer, 2 threads,
three rounds (``bench/packed_linear.py``):

=====  ===================  ======================
rows   ``F.linear`` (MKL)   oneDNN, packed weight
=====  ===================  ======================
1      17–19 GFLOP/s        21–26 GFLOP/s
5      16–25                76–81
40     54–63                120–133
160    84–86                125–135
320    96–101               129–135
=====  ===================  ======================

In a translator's beam search that made one sentence at a time 1.86 times as fast and
batches of 64 1.10 times, with the same translations (docs/benchmarks.md). Products
agree with ``F.linear`` up to float32 rounding (sums accumulated in another order), so
only searches take this path: :func:`linear` is ``F.linear`` wherever autograd records,
off the CPU, for other dtypes, off x86-64 (where it was not measured), and where this
torch build lacks the two oneDNN operators (those torch's own compiler uses for frozen CPU
models: not a documented API, hence the fallback). Each packed weight is a second copy of
that weight, kept while the weight lives.

>>> layer = torch.nn.Linear(4, 3)
>>> x = torch.randn(2, 4)
>>> with torch.inference_mode():
...     torch.allclose(linear(x, layer.weight, layer.bias), layer(x), atol=1e-6)
True
"""

from __future__ import annotations

import platform

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

__all__ = ["applies", "linear"]

# Each weight's packed copy and the version of the weight it was packed from: an
# optimiser step or load_state_dict changes weights in place, which bumps the version.
_packed: WeakIdKeyDictionary = WeakIdKeyDictionary()  # weight -> (version, address, packed)
# switched off for good by the first failure
_usable = torch.backends.mkldnn.is_available() and platform.machine().lower() in ("x86_64", "amd64")


def applies(inputs: Tensor) -> bool:
    """Whether :func:`linear` takes the oneDNN path for ``inputs`` (and float32 weights)."""
    return (
        _usable
        and not torch.is_grad_enabled()
        and inputs.device.type == "cpu"
        and inputs.dtype == torch.float32
        and inputs.numel() > 0
    )


def linear(inputs: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear(inputs, weight, bias)``; in search on a CPU (no autograd, float32), through
    oneDNN."""
    global _usable
    if not applies(inputs) or weight.dtype != torch.float32:
        return F.linear(inputs, weight, bias)
    try:
        packed = _packed_weight(weight)
        rows = inputs.reshape(-1, inputs.size(-1)).contiguous()
        outputs = torch.ops.mkldnn._linear_pointwise(rows, packed, bias, "none", [], "")
    except (AttributeError, NotImplementedError, RuntimeError):  # operators missing or refused
        _usable = False
        return F.linear(inputs, weight, bias)
    return outputs.view(*inputs.shape[:-1], outputs.size(-1))


def _packed_weight(weight: Tensor) -> Tensor:
    key = (weight._version, weight.data_ptr())
    cached = _packed.get(weight)
    if cached is None or cached[:2] != key:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
        _packed[weight] = cached = (*key, packed)
    return cached[2]
