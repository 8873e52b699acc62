"""The multi-representation critic's convolutions + relu + max over time in one pass, with its own backward.

`conv_max_pool(convs, x)` gives `(B, R, F·widths)`: for each row (a sentence's representation) and filter, relu of
the best window's output and, for the backward pass, the index of that window (the first one on ties, as argmax).
On a CPU a small C kernel (`winmax.c`, compiled once per process into a temporary folder) keeps a row's inputs
and running maxima in the core's cache; torch's eager ops would write and re-read every window's output (~750 MB
per RelGAN critic pass, the old path's main cost). Its backward sends each output's gradient to the winning
window's inputs and kernel directly (no gathers, no recompute). Where the kernel cannot run (no C compiler, CUDA,
other dtypes, sequences over 256 windows) `nets/multirep.conv_max_over_time` does the same per width.

Second-order gradients (a gradient penalty) go through the differentiable recompute of `conv_max_over_time`
with the saved window indices, so `create_graph=True` still works. Dimension letters as in `multirep.py`.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import torch
import torch.nn as nn
from torch import Tensor

from .native import compile_library, ptr, row_ranges, run_parallel

_SOURCE = Path(__file__).with_name("winmax.c")
_lock = threading.Lock()
_state: dict = {}


def _declare(lib: ctypes.CDLL) -> None:
    vp, n, arr = ctypes.c_void_p, ctypes.c_long, ctypes.POINTER(ctypes.c_long)
    for t in ("f32", "f64"):
        fwd, bwd = getattr(lib, f"winmax_fwd_{t}"), getattr(lib, f"winmax_bwd_{t}")
        fwd.argtypes = [vp] * 3 + [n] * 6 + [arr] * 3 + [vp] * 2
        bwd.argtypes = [vp] * 5 + [n] * 6 + [arr] * 3 + [vp] * 3
        fwd.restype = bwd.restype = ctypes.c_int


def _load() -> ctypes.CDLL | None:
    """Compile `winmax.c` (once per process) and load it; None when there is no compiler or it fails."""
    with _lock:
        if "lib" not in _state:
            _state["lib"] = compile_library(_SOURCE, _declare, "critic's window-search")
        return _state["lib"]


def kernel_available() -> bool:
    return _load() is not None


class _Layout:
    """Filters of all widths side by side: kernel `(w_max·e, F·widths)` zero below each filter's w·e rows."""

    def __init__(self, convs: nn.ModuleList, e: int, dtype: torch.dtype) -> None:
        widths = [c.weight.shape[2] for c in convs]
        sizes = [c.weight.shape[0] for c in convs]
        self.widths, self.sizes, self.e = widths, sizes, e
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self.groups = [(ctypes.c_long * len(sizes))(*v) for v in
                       (starts, [s + n for s, n in zip(starts, sizes)], widths)]
        self.total = sum(sizes)
        self.rows_k = max(widths) * e
        self.dtype = dtype


def _kernel_matrix(layout: _Layout, weights: list[Tensor]) -> Tensor:
    k = weights[0].new_zeros(layout.rows_k, layout.total, dtype=layout.dtype)
    col = 0
    for w, n, width in zip(weights, layout.sizes, layout.widths):
        k[: width * layout.e, col: col + n] = w.detach().reshape(n, width * layout.e).t()
        col += n
    return k


class _WindowMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, convs, x, *params):  # params: weight, bias of each conv
        B, L, R, e = x.shape
        lib = _load()
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        layout = _Layout(convs, e, dtype)
        weights, biases = list(params[0::2]), list(params[1::2])
        xs = x.detach().to(dtype).permute(0, 2, 1, 3).contiguous()  # (B, R, L, e): one row per representation
        k = _kernel_matrix(layout, weights)
        bias = torch.cat([b.detach() for b in biases]).to(dtype)
        rows, F = B * R, layout.total
        out = torch.empty(B, R, F, dtype=dtype)
        idx = torch.empty(B, R, F, dtype=torch.uint8)
        fwd = lib.winmax_fwd_f64 if dtype == torch.float64 else lib.winmax_fwd_f32
        ptrs = [ptr(xs), ptr(k), ptr(bias)]
        run_parallel([lambda a=a, b=b: fwd(*ptrs, a, b, L, e, F, len(layout.widths), *layout.groups, ptr(out),
                                           ptr(idx))
                      for a, b in row_ranges(rows)], "winmax")
        ctx.layout, ctx.convs, ctx.x_dtype = layout, convs, x.dtype
        ctx.save_for_backward(x, out, idx, xs, k, *params)  # xs, k: the backward kernel reads them as they are
        ctx.mark_non_differentiable(idx)
        return out, idx

    @staticmethod
    def backward(ctx, grad, _grad_idx):
        x, out, idx, xs, k, *params = ctx.saved_tensors
        layout: _Layout = ctx.layout
        if torch.is_grad_enabled():  # create_graph: differentiate through the gather recompute instead
            return (None, *_differentiable_grads(ctx.convs, layout, x, idx, params, grad))
        B, L, R, e = x.shape
        dtype = out.dtype
        lib = _load()
        rows, F = B * R, layout.total
        need_x, need_params = ctx.needs_input_grad[1], any(ctx.needs_input_grad[2:])
        grad = grad.to(dtype).contiguous()
        gx = torch.empty(B, R, L, e, dtype=dtype) if need_x else None
        ranges = row_ranges(rows)
        gks = [torch.zeros(layout.rows_k, F, dtype=dtype) for _ in ranges] if need_params else [None] * len(ranges)
        gbs = [torch.zeros(F, dtype=dtype) for _ in ranges] if need_params else [None] * len(ranges)
        bwd = lib.winmax_bwd_f64 if dtype == torch.float64 else lib.winmax_bwd_f32
        head = [ptr(xs), ptr(k), ptr(out), ptr(idx), ptr(grad)]
        run_parallel([lambda a=a, b=b, gk=gk, gb=gb: bwd(*head, a, b, L, e, F, len(layout.widths), *layout.groups,
                                                          ptr(gx), ptr(gk), ptr(gb))
                      for (a, b), gk, gb in zip(ranges, gks, gbs)], "winmax")
        grads: list[Tensor | None] = [None, None]
        grads[0] = gx.permute(0, 2, 1, 3).to(ctx.x_dtype) if need_x else None
        if need_params:
            gk, gb = sum(gks[1:], gks[0]), sum(gbs[1:], gbs[0])
            col = 0
            for w, n, width in zip(params[0::2], layout.sizes, layout.widths):
                grads.append(gk[: width * e, col: col + n].t().reshape(w.shape).to(w.dtype))
                grads.append(gb[col: col + n].to(w.dtype))
                col += n
        else:
            grads += [None] * len(params)
        return (None, grads[0], *grads[2:])


def _recompute(layout: _Layout, x: Tensor, idx: Tensor, params: list[Tensor]) -> Tensor:
    """relu(bias + the winning window · kernel) `(B, R, F·widths)`, differentiably, for the saved indices."""
    B, L, R, e = x.shape
    outs, col = [], 0
    idx = idx.long().transpose(1, 2)  # (B, F·widths, R)
    for w, b, n, width in zip(params[0::2], params[1::2], layout.sizes, layout.widths):
        kernel = w.view(n, width, e)
        i0 = idx[:, col: col + n]
        z = b.view(1, n, 1)
        for i in range(width):
            rows = torch.gather(x, 1, (i0 + i).unsqueeze(-1).expand(B, n, R, e))  # (B, F, R, e)
            z = z + torch.einsum("bfrj,fj->bfr", rows, kernel[:, i])
        outs.append(torch.relu(z))
        col += n
    return torch.cat(outs, 1).transpose(1, 2)


def _differentiable_grads(convs, layout, x, idx, params, grad) -> list[Tensor | None]:
    with torch.enable_grad():
        inputs = [x, *params]
        wanted = [t for t in inputs if t.requires_grad]
        h = _recompute(layout, x, idx, list(params))
        got = iter(torch.autograd.grad(h, wanted, grad, create_graph=True, allow_unused=True))
        return [next(got) if t.requires_grad else None for t in inputs]


def use_kernel(x: Tensor) -> bool:
    """Whether `conv_max_pool` runs the C kernel for this input."""
    return x.device.type == "cpu" and x.shape[1] <= 256 and kernel_available()


def conv_max_pool(convs: nn.ModuleList, x: Tensor) -> Tensor:
    """relu(max over time of each conv) for `x` `(B, L, R, e)` and `(w, e)` kernels with stride e: `(B, R, F·widths)`
    (float32, or float64 for float64 input)."""
    params = [p for c in convs for p in (c.weight, c.bias)]
    with torch.autocast(x.device.type, enabled=False):
        out, _ = _WindowMax.apply(convs, x, *params)
    return out
