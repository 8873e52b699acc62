"""The multi-representation critic's highway layer as one autograd function with a hand-written backward.

    [t | g] = h Wᵀ + b,   gate = sigmoid(g)   (g = t when the projection is shared),   y = h + gate · (relu(t) − h)

On RelGAN's critic this runs on B·R = 8,192 rows × 1,200 features per pass: autograd's version allocates about ten
39 MB temporaries per step and, under bf16 autocast, mixes bf16 and fp32 operands (slow casts in every op). Here
all products and elementwise work run in one precision (`dtype`: fp32, or bf16 for `critic_bf16`), the backward
writes its gradients into few buffers, and the products are plain 2-D matmuls. `reference` is the same layer in
autograd ops: the exactness tests compare the two, and second-order gradients (`create_graph=True`) go through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def reference(h: Tensor, weight: Tensor, bias: Tensor, shared: bool) -> Tensor:
    """The highway in autograd ops (`h` `(.., F)`; also the CNN critic's, with `shared=False`). The mix
    h + gate·(relu(t) − h) is one `lerp`: in fp32 2.3x faster than four elementwise passes on (8,192 × 1,716)."""
    if shared:
        t = F.linear(h, weight, bias)
        gate = torch.sigmoid(t)
    else:
        t, g = F.linear(h, weight, bias).chunk(2, -1)
        gate = torch.sigmoid(g)
    return torch.lerp(h, F.relu(t), gate)


class _Highway(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, bias, shared: bool, dtype: torch.dtype):
        n = h.shape[1]
        hp, wp = h.to(dtype), weight.to(dtype)
        tg = torch.addmm(bias.to(dtype), hp, wp.t())  # (N, F) or (N, 2F)
        t, g = (tg, tg) if shared else (tg[:, :n], tg[:, n:])
        gate = torch.sigmoid(g)
        y = torch.relu(t)
        torch.lerp(hp, y, gate, out=y)  # h + gate·(relu(t) − h) in one pass
        ctx.shared, ctx.in_dtypes = shared, (h.dtype, weight.dtype, bias.dtype)
        ctx.save_for_backward(h, weight, bias, hp, wp, tg, gate)
        return y

    @staticmethod
    def backward(ctx, dy):
        h, weight, bias, hp, wp, tg, gate = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiate the autograd version instead
            with torch.enable_grad():
                inputs = [h, weight, bias]
                wanted = [x for x in inputs if x.requires_grad]
                y = reference(h, weight, bias, ctx.shared)
                got = iter(torch.autograd.grad(y, wanted, dy, create_graph=True))
                return (*[next(got) if x.requires_grad else None for x in inputs], None, None)
        n = h.shape[1]
        shared = ctx.shared
        t = tg if shared else tg[:, :n]
        dy = dy.to(gate.dtype)
        dtg = torch.empty_like(tg)  # d loss / d [t | g]
        dt, dg = (dtg, torch.empty_like(gate)) if shared else (dtg[:, :n], dtg[:, n:])
        aten = torch.ops.aten
        dyg = dy * gate
        aten.threshold_backward.grad_input(dyg, t, 0, grad_input=dt)  # through the transform: dy·gate where t > 0
        torch.clamp(t, min=0, out=dg)  # through the gate: dy·(relu(t) − h)·gate·(1 − gate)
        dg.sub_(hp).mul_(dy)
        aten.sigmoid_backward.grad_input(dg, gate, grad_input=dg)
        if shared:
            dt.add_(dg)
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        dh = dw = db = None
        if need_h:
            dh = torch.sub(dy, dyg, out=dyg).addmm_(dtg, wp).to(ctx.in_dtypes[0])  # dy·(1 − gate) + d[t|g] W
        if need_w:
            dw = (dtg.t().contiguous() @ hp).to(ctx.in_dtypes[1])  # oneDNN: ~25 % faster than a transposed view
        if need_b:
            db = dtg.sum(0).to(ctx.in_dtypes[2])
        return dh, dw, db, None, None


def highway(h: Tensor, weight: Tensor, bias: Tensor, shared: bool) -> Tensor:
    """The highway on `h` `(N, F)`; in bf16 (output too) where autocast asks for it, else in `h`'s dtype."""
    kind = h.device.type
    dtype = torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else h.dtype
    with torch.autocast(kind, enabled=False):
        return _Highway.apply(h, weight, bias, shared, dtype)
