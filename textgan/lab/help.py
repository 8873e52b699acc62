"""Words for every control and metric: one line of help each (the app shows them as Gradio `info=` and in the
"how to read this" notes), and the short "what is mode collapse" note.

Hyperparameter help comes from the variants' own Config docstrings (the string under each field), so a new
variant documents its form by documenting its Config; fields without one fall back to COMMON.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import lru_cache

from ..variants import VARIANTS, get_variant

STOP_AFTER = ("Train stops by itself after this many steps (0 = until you press Stop); a lesson sets its own, and a "
              "link to these settings carries it.")

CONTROLS = {
    "corpus": "modes: K known grammars (collapse measured exactly); the others: benchmarks or your own text.",
    "k": "How many modes (grammars) the modes corpus has; every sentence belongs to exactly one.",
    "weights": "How often each mode occurs in the real data: uniform, or skewed (Zipf: mode 0 is K times as common "
               "as mode K-1), to see rare modes dropped; 'one sentence pattern' gives every mode the same pattern, "
               "so only rarity tells them apart.",
    "upload": "A UTF-8 .txt file, one sentence per line (at most 20 MB).",
    "path": "A text file already on the server (only paths the operator allows).",
    "preset": "demo: a CPU minute; paper: published settings.",
    "variant": "The training algorithm (see the line below).",
    "seed": "Same seed + same settings = the same run, step for step (on the CPU).",
    "device": "Where tensors live: auto picks a GPU when there is one, else the CPU.",
    "batch": "Real sentences per critic update (and generated ones per generator update).",
    "generator": "The network that writes sentences, token by token (lstm, gru, ...) or all at once (conv).",
    "generator size": "Its width (hidden units or channels): larger learns more, runs slower.",
    "critic": "The network that scores sentences as real or fake (the discriminator).",
    "critic size": "Its width (filters, hidden units or channels).",
    "step": "What one Step button press does while paused: one whole iteration, one critic update or one "
            "generator update.",
    "speed": "Slow training down to watch single steps (0 = as fast as the machine allows).",
    "save": "Saved runs appear in the Compare tab and can be pushed to the Hub.",
}

COMMON = {
    "lr_gen": "Generator learning rate: too high and it jumps to text the critic spots at once.",
    "lr_critic": "Critic learning rate: too high and the critic wins, leaving the generator no gradient.",
    "critic_steps": "Critic updates per generator update.",
    "pretrain_steps": "Maximum-likelihood steps before adversarial training (0 = adversarial from the start).",
    "pretrain_lr": "Learning rate of the maximum-likelihood warm start.",
    "relaxation": "How discrete words reach the critic with a gradient: gumbel (Gumbel-softmax), softmax, or st "
                  "(straight-through).",
    "tau": "Temperature of the relaxation: lower is closer to real one-hot words, with noisier gradients.",
    "beta1": "Adam's first-moment decay (momentum).",
    "beta2": "Adam's second-moment decay.",
    "gp_lambda": "Weight of the gradient penalty that keeps the critic 1-Lipschitz (WGAN-GP).",
    "clip": "Weight clipping bound of the WGAN critic.",
    "rollouts": "Monte-Carlo completions per prefix to estimate each word's reward.",
}

METRICS = {
    "effective modes": "exp(entropy) of the valid samples' modes: 8.0 = all 8 modes equally often, 1.0 = one mode. "
                       "The headline: it falls as the generator collapses.",
    "covered": "Modes holding a fair share: at least 1/4 of their true weight among the valid samples "
               "(one stray sample is not coverage).",
    "JS divergence": "Jensen-Shannon divergence (bits) between the generated mode shares and the true weights: "
                     "0 = the right mix, 1 = nothing in common.",
    "precision": "Share of samples that are a valid sentence of some mode; the rest are 'invalid' (no grammar "
                 "makes them).",
    "mode entropy": "Entropy of the modes of the valid samples divided by log K (1 = uniform).",
    "critic loss": "Cross-entropy critics: about 1.39 when they cannot tell real from fake, near 0 when they always "
                   "can (the critic is winning). Wasserstein critics: minus the estimate below, plus the penalty.",
    "generator loss": "What the generator minimises; it rises when the critic spots its sentences.",
    "Wasserstein estimate": "The critic's mean score on real minus on generated sentences: an estimate of how far "
                            "apart the two distributions are (lower = closer), only meaningful while the critic "
                            "stays Lipschitz.",
    "gradient norms": "Size of each network's gradient (log scale). A generator gradient that falls by orders of "
                      "magnitude means it has stopped learning.",
    "critic score": "The critic's raw output, higher = looks real (0 = undecided for cross-entropy critics); "
                    "[brackets] mark the word that most makes it call a sentence fake (gradient x input).",
}

MODE_COLLAPSE = (
    "**What is mode collapse?** The real data here is a mix of K *modes*: K small grammars, each writing its own "
    "kind of sentence. A generator that has *collapsed* writes valid sentences from only one or a few of them: "
    "every sentence may look real, yet the variety is gone. It happens because the generator is only rewarded for "
    "fooling the critic *now*, and one convincing kind of sentence fools it as well as eight. Watch the **effective "
    "number of modes** (8 = all modes equally, 1 = one mode) and the mode-share plot, where collapse shows as "
    "colours vanishing. An *invalid* sample is one that no grammar makes (e.g. 'sleeps sleeps sleeps'): that is a "
    "failure of quality, not collapse."
)


@lru_cache(maxsize=None)
def field_help(variant: str) -> dict[str, str]:
    """One line per Config field of a variant: its docstring in the source, else COMMON, else ''."""
    cls = get_variant(variant).Config
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if "__dataclass_fields__" in vars(k)]):  # shared configs first
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
            body = tree.body[0].body  # the class body
            for node, nxt in zip(body, body[1:]):
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr) \
                        and isinstance(getattr(nxt, "value", None), ast.Constant) and isinstance(nxt.value.value, str):
                    docs[node.target.id] = " ".join(nxt.value.value.split())
        except (OSError, TypeError, SyntaxError, IndexError):  # no source (frozen app): fall back to COMMON
            pass
    names = [f.name for f in __import__("dataclasses").fields(cls)]
    return {n: docs.get(n) or COMMON.get(n, "") for n in names}


def hp_help(name: str) -> str:
    """Help for a hyperparameter by name, from the first variant that documents it, else COMMON."""
    for v in VARIANTS:
        text = field_help(v).get(name)
        if text:
            return text
    return COMMON.get(name, "")
