"""One adversarial SeqGAN generator step on the oracle setting: batched rollout vs the per-(rollout, prefix) loop,
and the batched rollout's fast settings vs its baseline, timed in the same process.

Oracle configuration (Yu et al. 2017): vocabulary 5,000, length 20, LSTM generator emb/hidden 32, batch 64,
16 rollouts, and SeqGAN's discriminator at the paper's size: embedding 64, widths 1-10, 15, 20 with 143 filters
each = 1,716 features (the paper: 1,720, 100-200 per width; the convolutions' FLOPs agree within 6 %), then a
highway with separate transform and gate, each 1,716 -> 1,716, as in the paper's code (TextGAN-PyTorch shares one
matrix for both, half of that). `--filters` changes the filters per width.
"A step" = sample a batch + rollout rewards + policy-gradient update (what TextGAN-PyTorch's `adv_train_generator`
does per step). The reference is the loop structure of TextGAN-PyTorch's rollout (for each rollout, for each
prefix length: replay the prefix and sample the rest, batch B, multinomial sampling, one discriminator call each).
"baseline" is the batched step as before issue 16: one-level inverse-CDF sampling, logits in fresh memory every
step, fp32 scoring; "fast sampling" adds the two-level sampler and the generator head writing into a reused buffer;
"fast" adds bf16 scoring where the hardware makes it fast, with the shared prefix windows (SeqGAN's
`score_precision='auto'`).
Wall time and this process's CPU time are printed: on a loaded machine CPU time is the steadier measure.

    python bench/rollout.py [--device cpu|cuda] [--threads 2] [--repeats 3] [--reference-rollouts 16|0]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from textgan.nets.critics import CNNCritic, CNNCriticConfig
from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.device import fast_bf16
from textgan.variants.rollout import cnn_rollout_logits, critic_logits, pg_loss, rollout_rewards

V, L, B, R = 5000, 20, 64, 16


@torch.no_grad()
def reference_rewards(gen, critic, tokens, n_rollouts):
    """TextGAN-PyTorch's loop: R × (L−1) separate generations of batch B, each replaying its prefix."""
    Bn, Ln = tokens.shape
    rewards = torch.zeros(Ln, Bn, device=tokens.device)
    for _ in range(n_rollouts):
        for t in range(1, Ln + 1):
            seq = tokens.clone()
            if t < Ln:
                token = torch.full((Bn,), gen.start_id, dtype=torch.long, device=tokens.device)
                state = None
                for j in range(t):
                    logits, state = gen.step(token, state)
                    token = tokens[:, j]
                for j in range(t, Ln):
                    logits, state = gen.step(token, state)
                    token = torch.multinomial(F.softmax(logits, -1), 1).squeeze(1)
                    seq[:, j] = token
            rewards[t - 1] += torch.sigmoid(critic(F.one_hot(seq, V).float()))
    return rewards.t() / n_rollouts  # (B, L)


class StepOnly(torch.nn.Module):
    """The rollout network seen through `step` only: the rollout's plain path (new logits every step)."""

    def __init__(self, gen):
        super().__init__()
        self.gen, self.start_id = gen, gen.start_id

    def step(self, token, state):
        return self.gen.step(token, state)

    def cat_states(self, a, b):
        return self.gen.cat_states(a, b)

    def repeat_state(self, s, r):
        return self.gen.repeat_state(s, r)


def gen_step(gen, opt, critic, rollout_net, rewards_fn):
    tokens = gen.sample(B)
    rewards = rewards_fn(rollout_net, critic, tokens)
    loss = pg_loss(gen.log_prob(tokens), rewards)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats):
    """(best wall seconds, best CPU seconds of this process) over `repeats` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--filters", type=int, default=143, help="filters per width (12 widths; 143 -> 1,716)")
    ap.add_argument("--reference-repeats", type=int, default=1)
    ap.add_argument("--skip-critic-alone", action="store_true", help="do not time the discriminator by itself")
    ap.add_argument("--reference-rollouts", type=int, default=R,
                    help="time the reference loop with fewer rollouts and scale linearly to R (it is a loop over "
                         "R); 0 skips it")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=32, hidden=32), V, L, start_id=1).to(device)
    rollout_net = RNNGenerator(RNNGeneratorConfig(emb_dim=32, hidden=32), V, L, start_id=1).to(device)
    rollout_net.load_state_dict(gen.state_dict())
    critic = CNNCritic(CNNCriticConfig(emb_dim=64, widths=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20],
                                       filters=args.filters), V, L).to(device)
    n_params = sum(p.numel() for p in critic.parameters())
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    rng = torch.Generator(device).manual_seed(0)
    bf16 = fast_bf16(device)

    def scorer(low_precision):
        def score(x):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=low_precision):
                return torch.sigmoid(critic_logits(critic, x, V).float())
        return score

    def shared(low_precision):
        def score_rollouts(seqs, tokens):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=low_precision):
                return torch.sigmoid(cnn_rollout_logits(critic, seqs, tokens).float())
        return score_rollouts

    def batched(method, low_precision, plain=False, share=False):
        def rewards(net, d, tokens):
            net = StepOnly(net) if plain else net
            return rollout_rewards(net, tokens, R, scorer(low_precision), rng, method=method,
                                   score_rollouts=shared(low_precision) if share else None)
        return rewards

    def reference(net, d, tokens):
        return reference_rewards(net, d, tokens, args.reference_rollouts)

    tokens = gen.sample(B)
    rows = tokens.repeat(R * (L - 1), 1)
    t_critic = t_critic_bf16 = None
    with torch.no_grad():
        if not args.skip_critic_alone:
            t_critic = timed(lambda: scorer(False)(rows), device, args.repeats)
            t_critic_bf16 = timed(lambda: scorer(True)(rows), device, args.repeats) if bf16 else None
    ways = {"baseline (icdf, plain head, fp32 scores)": batched("icdf", False, plain=True),  # before issue 16
            "fast sampling (icdf2, buffered head), fp32 scores": batched("auto", False),
            "fast sampling, fp32 scores with shared prefix windows (SeqGAN's default)": batched("auto", False,
                                                                                                share=True),
            f"fast (icdf2, buffered head, shared prefix windows, scores in {'bf16' if bf16 else 'fp32'}: SeqGAN's "
            "score_precision='auto')": batched("auto", bf16, share=True)}
    for way in ways.values():
        gen_step(gen, opt, critic, rollout_net, way)  # warm-up
    times = {name: ([], []) for name in ways}
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        for name, way in ways.items():
            w, c = timed(lambda: gen_step(gen, opt, critic, rollout_net, way), device, 1)
            times[name][0].append(w)
            times[name][1].append(c)
    print(f"device={device} threads={args.threads} V={V} L={L} B={B} R={R} rollout sequences={B * R * (L - 1)}; "
          f"critic {args.filters * 12} filters, {n_params / 1e6:.2f} M parameters; fast bf16 here: {bf16}")
    if t_critic:
        print(f"discriminator alone on {B * R * (L - 1)} sequences: fp32 {t_critic[0]:.3f} s wall "
              f"({t_critic[1]:.3f} s CPU)" + (f", bf16 {t_critic_bf16[0]:.3f} s wall ({t_critic_bf16[1]:.3f} s CPU)"
                                              if t_critic_bf16 else ""))
    best = {}
    for name, (w, c) in times.items():
        best[name] = (min(w), min(c))
        print(f"batched step, {name}: {min(w):.3f} s wall, {min(c):.3f} s CPU (best of {args.repeats})")
    (bw, bc), (sw, sc), _, (fw, fc) = best.values()
    print(f"ratio baseline/fast sampling: {bw / sw:.2f}x wall, {bc / sc:.2f}x CPU; baseline/fast: {bw / fw:.2f}x wall, "
          f"{bc / fc:.2f}x CPU")
    if args.reference_rollouts:
        t_ref, c_ref = timed(lambda: gen_step(gen, opt, critic, rollout_net, reference), device,
                             args.reference_repeats)
        if args.reference_rollouts != R:
            print(f"reference loop measured with {args.reference_rollouts} rollouts: {t_ref:.3f} s, scaled x"
                  f"{R / args.reference_rollouts:g} to {R}")
            t_ref *= R / args.reference_rollouts
            c_ref *= R / args.reference_rollouts
        print(f"reference loop step: {t_ref:.3f} s wall, {c_ref:.3f} s CPU; ratio reference/fast {t_ref / fw:.1f}x "
              "wall")


if __name__ == "__main__":
    main()
