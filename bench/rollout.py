"""One adversarial SeqGAN generator step on the oracle setting: batched rollout vs the per-(rollout, prefix) loop.

Oracle configuration (Yu et al. 2017): vocabulary 5,000, length 20, LSTM generator emb/hidden 32, batch 64,
16 rollouts, and SeqGAN's discriminator (embedding 64, widths 1-10, 15, 20; ~1,700 filters; here 150 per width).
"A step" = sample a batch + rollout rewards + policy-gradient update (what TextGAN-PyTorch's `adv_train_generator`
does per step). The reference is the loop structure of TextGAN-PyTorch's rollout (for each rollout, for each
prefix length: replay the prefix and sample the rest, batch B, multinomial sampling, one discriminator call each),
timed in the same process.

    python bench/rollout.py [--device cpu|cuda] [--threads 2] [--repeats 3] [--reference-rollouts 16]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from textgan.nets.critics import CNNCritic, CNNCriticConfig
from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.variants.rollout import critic_logits, pg_loss, rollout_rewards

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
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reference-repeats", type=int, default=1)
    ap.add_argument("--reference-rollouts", type=int, default=R,
                    help="time the reference loop with fewer rollouts and scale linearly to R (it is a loop over R)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=32, hidden=32), V, L, start_id=1).to(device)
    rollout_net = RNNGenerator(RNNGeneratorConfig(emb_dim=32, hidden=32), V, L, start_id=1).to(device)
    rollout_net.load_state_dict(gen.state_dict())
    critic = CNNCritic(CNNCriticConfig(emb_dim=64, widths=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20], filters=150),
                       V, L).to(device)
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    rng = torch.Generator(device).manual_seed(0)

    def batched(net, d, tokens):
        return rollout_rewards(net, tokens, R, lambda x: torch.sigmoid(critic_logits(d, x, V)), rng)

    def reference(net, d, tokens):
        return reference_rewards(net, d, tokens, args.reference_rollouts)

    tokens = gen.sample(B)
    with torch.no_grad():
        t_critic = timed(lambda: critic_logits(critic, tokens.repeat(R * (L - 1), 1), V), device, args.repeats)
    gen_step(gen, opt, critic, rollout_net, batched)  # warm-up
    t_fast = timed(lambda: gen_step(gen, opt, critic, rollout_net, batched), device, args.repeats)
    t_ref = timed(lambda: gen_step(gen, opt, critic, rollout_net, reference), device, args.reference_repeats)
    if args.reference_rollouts != R:
        print(f"reference loop measured with {args.reference_rollouts} rollouts: {t_ref:.3f} s, scaled x"
              f"{R / args.reference_rollouts:g} to {R}")
        t_ref *= R / args.reference_rollouts
    print(f"device={device} threads={args.threads} V={V} L={L} B={B} R={R} "
          f"rollout sequences={B * R * (L - 1)}")
    print(f"discriminator alone on {B * R * (L - 1)} sequences: {t_critic:.3f} s")
    print(f"batched generator step:   {t_fast:.3f} s")
    print(f"reference loop step:      {t_ref:.3f} s")
    print(f"ratio reference/batched:  {t_ref / t_fast:.1f}x")


if __name__ == "__main__":
    main()
