"""Training algorithms, one file each, registered by name. Adding one: a file, a line here, and it is tested."""

from __future__ import annotations

from .base import AdversarialVariant, Variant, check_config, variant_config
from .dpgan import DPGAN
from .gan import GAN
from .leakgan import LeakGAN
from .maligan import MaliGAN
from .mle import MLE
from .relgan import RelGAN
from .pg_bleu import PGBLEU
from .rankgan import RankGAN
from .sentigan import SentiGAN
from .seqgan import SeqGAN
from .wgan import WGAN
from .wgan_gp import WGANGP

VARIANTS: dict[str, type[Variant]] = {
    "mle": MLE,
    "gan": GAN,
    "wgan": WGAN,
    "wgan-gp": WGANGP,
    "seqgan": SeqGAN,
    "relgan": RelGAN,
    "pg-bleu": PGBLEU,
    "maligan": MaliGAN,
    "dpgan": DPGAN,
    "rankgan": RankGAN,
    "leakgan": LeakGAN,
    "sentigan": SentiGAN,
}


def get_variant(name: str) -> type[Variant]:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[name]


__all__ = ["VARIANTS", "Variant", "AdversarialVariant", "get_variant", "check_config", "variant_config"]
