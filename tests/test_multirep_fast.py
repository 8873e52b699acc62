"""RelGAN's critic fast paths (issue 16) against the slow reference: the one-pass window search kernel
(`nets/winmax.py`) and the fused highway (`nets/highway.py`) give the reference's values, gradients and
second-order gradients (float64), and bf16 stays within a bound of fp32."""

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F

from textgan.nets import build_critic
from textgan.nets import winmax
from textgan.nets.multirep import conv_max_over_time

pytestmark = pytest.mark.skipif(not winmax.kernel_available(), reason="no C compiler: the kernel cannot be built")


def _convs(e, spec, dtype=torch.float64):
    torch.manual_seed(0)
    return torch.nn.ModuleList(torch.nn.Conv2d(1, n, (w, e), stride=(1, e)) for w, n in spec).to(dtype)


def _grads(out, u, params, create_graph=False):
    return torch.autograd.grad((out * u).sum(), params, create_graph=create_graph)


# 40 filters: one block of 32 in registers plus a remainder of 8; 7 and 5: remainder only
@pytest.mark.parametrize("e,spec", [(1, [(2, 40), (3, 7), (5, 5)]), (2, [(3, 40), (2, 5)])])
def test_window_kernel_equals_conv2d_values_and_gradients(e, spec):
    """Kernel vs relu(Conv2d).amax over time, float64: values, first-order gradients through the kernel's own
    backward (the training path) and second-order gradients (a gradient penalty's path)."""
    B, L, R = 5, 9, 3  # 15 rows: the kernel's row pairs end with a lone row
    convs = _convs(e, spec)
    x = torch.randn(B, L, R, e, dtype=torch.float64, requires_grad=True)

    def plain(x):
        outs = [F.relu(c(x.reshape(B, 1, L, R * e))).amax(2) for c in convs]  # (B, F, R) each
        return torch.cat(outs, 1).transpose(1, 2)  # (B, R, F·widths)

    fast = winmax.conv_max_pool(convs, x)
    assert fast.shape == (B, R, sum(n for _, n in spec))
    torch.testing.assert_close(fast, plain(x), rtol=0, atol=1e-12)
    params = [x] + [p for c in convs for p in c.parameters()]
    u = torch.randn_like(fast)
    for a, b in zip(_grads(fast, u, params), _grads(plain(x), u, params)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    g_fast = _grads(winmax.conv_max_pool(convs, x), u, params, create_graph=True)
    g_plain = _grads(plain(x), u, params, create_graph=True)
    gg_fast = torch.autograd.grad(g_fast[0].square().sum(), convs[0].weight)[0]
    gg_plain = torch.autograd.grad(g_plain[0].square().sum(), convs[0].weight)[0]
    torch.testing.assert_close(gg_fast, gg_plain, rtol=0, atol=1e-10)


def test_window_kernel_ties_go_to_the_first_window_and_threads_agree():
    """Repeated tokens make identical windows (ties): the first one wins, as in the per-width reference, and
    splitting the rows over two threads changes nothing (float32, the training dtype)."""
    B, L, R, V = 8, 12, 16, 6
    convs = _convs(1, [(2, 33), (4, 9)], torch.float32)
    embed = torch.randn(V, R)
    tokens = torch.randint(0, V, (B, L))
    tokens[:, 6:] = 0  # padding: many identical windows
    x = embed[tokens].view(B, L, R, 1).requires_grad_()
    ref = torch.cat([conv_max_over_time(c, x) for c in convs], 1).transpose(1, 2)
    params = [x] + [p for c in convs for p in c.parameters()]
    u = torch.randn_like(ref)
    g_ref = _grads(ref, u, params)
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            fast = winmax.conv_max_pool(convs, x)
            torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5)
            for a, b in zip(_grads(fast, u, params), g_ref):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("highway", ["shared", "separate"])
def test_fast_critic_equals_the_reference_path(highway):
    """The whole critic (`fast`, the default) vs its pre-issue-16 path (`fast = False`), float64: scores, every
    parameter's and the input's gradient, and second-order gradients (WGAN-GP differentiates the input gradient)."""
    torch.manual_seed(1)
    V, L = 30, 8
    spec = {"kind": "multirep", "emb_dim": 8, "reps": 4, "widths": [2, 3], "filters": 40, "hidden": 8,
            "highway": highway}
    fast = build_critic(spec, V, L).double()
    ref = copy.deepcopy(fast)
    ref.fast = False
    x = torch.softmax(3 * torch.randn(6, L, V, dtype=torch.float64), -1).requires_grad_()
    u = torch.randn(6, 4, dtype=torch.float64)
    torch.testing.assert_close(fast.scores(x), ref.scores(x), rtol=0, atol=1e-12)
    for a, b in zip(_grads(fast.scores(x), u, [x, *fast.parameters()]),
                    _grads(ref.scores(x), u, [x, *ref.parameters()])):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    (gx_fast,) = torch.autograd.grad(fast(x).sum(), x, create_graph=True)
    (gx_ref,) = torch.autograd.grad(ref(x).sum(), x, create_graph=True)
    gg_fast = torch.autograd.grad(gx_fast.square().sum(), list(fast.parameters()), allow_unused=True)
    gg_ref = torch.autograd.grad(gx_ref.square().sum(), list(ref.parameters()), allow_unused=True)
    for a, b in zip(gg_fast, gg_ref):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_fast_critic_bf16_stays_within_bound_of_fp32():
    """Under bf16 autocast (`critic_bf16`) the fused highway runs its products and elementwise work in bf16:
    scores and gradients stay within a bf16-sized bound of the fp32 reference, and parameters stay fp32."""
    torch.manual_seed(2)
    V, L = 50, 10
    spec = {"kind": "multirep", "emb_dim": 16, "reps": 16, "widths": [2, 3], "filters": 48, "hidden": 16}
    fast = build_critic(spec, V, L)
    ref = copy.deepcopy(fast)
    ref.fast = False
    x = torch.softmax(3 * torch.randn(8, L, V), -1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        s_bf16 = fast.scores(x).float()
    s_fp32 = ref.scores(x)
    assert s_bf16.shape == s_fp32.shape
    scale = s_fp32.abs().max()
    assert (s_bf16 - s_fp32).abs().max() <= 2e-2 * scale + 1e-3
    assert not torch.equal(s_bf16, s_fp32)  # bf16 really ran
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast.scores(x).float().mean().backward()
    ref.scores(x).mean().backward()
    for (name, a), b in zip(fast.named_parameters(), ref.parameters()):
        assert a.dtype == torch.float32 and a.grad.dtype == torch.float32, name
        assert (a.grad - b.grad).norm() <= 0.05 * b.grad.norm() + 1e-6, name


def test_without_the_kernel_the_critic_falls_back_to_the_torch_path(monkeypatch):
    """No C compiler (or a CUDA tensor): the per-width torch path runs and gives the same scores."""
    torch.manual_seed(3)
    spec = {"kind": "multirep", "emb_dim": 8, "reps": 4, "widths": [2, 3], "filters": 8, "hidden": 8}
    critic = build_critic(spec, 20, 7).double()
    x = torch.softmax(torch.randn(3, 7, 20, dtype=torch.float64), -1)
    with_kernel = critic.scores(x)
    monkeypatch.setitem(winmax._state, "lib", None)
    assert not winmax.use_kernel(torch.zeros(3, 7, 4, 2))
    torch.testing.assert_close(critic.scores(x), with_kernel, rtol=0, atol=1e-12)


def test_real_tokens_scored_without_one_hot_rows_equal_the_one_hot_pass():
    """RelGAN's critic step scores real token ids by an embedding lookup: the same scores and gradients (critic
    weights and the fake rows') as one pass over the concatenated one-hot rows, float64."""
    torch.manual_seed(4)
    V, L = 25, 7
    spec = {"kind": "multirep", "emb_dim": 8, "reps": 4, "widths": [2, 3], "filters": 40, "hidden": 8}
    critic = build_critic(spec, V, L).double()
    real = torch.randint(0, V, (3, L))
    fake = torch.softmax(torch.randn(3, L, V, dtype=torch.float64), -1).requires_grad_()
    u = torch.randn(6, 4, dtype=torch.float64)
    looked_up = critic.scores(fake, real=real)
    one_hot = critic.scores(torch.cat([F.one_hot(real, V).double(), fake]))
    torch.testing.assert_close(looked_up, one_hot, rtol=0, atol=1e-12)
    params = [fake, *critic.parameters()]
    for a, b in zip(_grads(looked_up, u, params), _grads(one_hot, u, params)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    torch.testing.assert_close(critic.scores(None, real=real), critic.scores(F.one_hot(real, V).double()),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("relaxation", ["gumbel", "st", "softmax"])
def test_relational_relaxed_with_one_head_product_equals_the_step_path(relaxation):
    """RelGAN's generator step: with gradients on, the head's backward pass runs once on all memories. Same tokens
    for the same noise, exactly the step-by-step path's relaxed vectors, and its parameter gradients (float64)."""
    from textgan.nets import build_generator
    from textgan.nets.autoregressive import AutoregressiveGenerator

    torch.manual_seed(5)
    V, L = 40, 6
    gen = build_generator({"kind": "relational", "emb_dim": 8, "mem_slots": 2, "heads": 2, "head_size": 8},
                          V, L, 1).double()
    out = {}
    for name, fn in (("batched", gen.relaxed), ("steps", lambda *a: AutoregressiveGenerator.relaxed(gen, *a))):
        tokens, soft = fn(5, relaxation, 0.5, torch.Generator().manual_seed(7))
        u = torch.randn(soft.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
        out[name] = (tokens, soft, torch.autograd.grad((soft * u).sum(), list(gen.parameters())))
    assert torch.equal(out["batched"][0], out["steps"][0])
    assert torch.equal(out["batched"][1], out["steps"][1])  # the step's own logits: not merely close
    for a, b in zip(out["batched"][2], out["steps"][2]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    with torch.no_grad():  # without gradients: the step path itself
        assert torch.equal(gen.relaxed(5, relaxation, 0.5, torch.Generator().manual_seed(7))[0], out["steps"][0])


def test_a_failing_compiler_warns_once_and_the_torch_path_runs(monkeypatch):
    """A broken compiler is not silent: one RuntimeWarning naming the way to the quiet fallback, no kernel."""
    monkeypatch.setattr(winmax, "_state", {})
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with pytest.warns(RuntimeWarning, match="TEXTGAN_NO_C_KERNELS"):
        assert winmax._load() is None
    assert not winmax.use_kernel(torch.zeros(2, 5, 3, 1))
    monkeypatch.setattr(winmax, "_state", {})
    monkeypatch.setenv("TEXTGAN_NO_C_KERNELS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert winmax._load() is None  # chosen: quiet
