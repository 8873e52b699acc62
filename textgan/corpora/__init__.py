"""Corpora: text or a synthetic source -> `Corpus` (vocab + padded LongTensor splits), built from a spec dict.

A spec is {"kind": "modes" | "oracle" | "text" | "coco" | "hub", **settings}; runs record it so they can rebuild
their data. `coco` ships with the package (benchmarks.py); `hub` reads a file of a Hub dataset repo (hub.py).
"""

from __future__ import annotations

import inspect
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..checks import check_sizes, check_types
from .base import BOS, EOS, PAD, SPECIALS, UNK, Corpus, CorpusError
from .benchmarks import CocoCorpus
from .hub import HubCorpus
from .modes import ModesCorpus
from .oracle import OracleCorpus
from .text import TextCorpus

KINDS: dict[str, type[Corpus]] = {"modes": ModesCorpus, "oracle": OracleCorpus, "text": TextCorpus,
                                  "coco": CocoCorpus, "hub": HubCorpus}
UNCACHED = (TextCorpus, HubCorpus)
"""Kinds read from files that may change (or from the network) are built afresh; the others are deterministic."""

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "Corpus", "CorpusError", "ModesCorpus", "OracleCorpus",
           "TextCorpus", "CocoCorpus", "HubCorpus", "KINDS", "build_corpus", "check_spec", "portable_spec"]


def check_spec(spec: dict[str, Any]) -> tuple[type[Corpus], dict[str, Any]]:
    """The corpus class and its keyword arguments, or a CorpusError naming what is wrong."""
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        kind = spec.get("kind") if isinstance(spec, dict) else spec
        raise CorpusError(f"unknown corpus kind {kind!r}; choose one of {sorted(KINDS)}")
    cls = KINDS[spec["kind"]]
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        allowed = sorted(p for p in params if p != "self")
        raise CorpusError(f"corpus {spec['kind']!r} has no setting(s) {unknown}; it takes {allowed}")
    try:  # types and sizes before a single row is generated or read
        check_types(cls.__init__, kwargs, f"corpus {spec['kind']!r}")  # its keywords, not its dataclass fields
        check_sizes(kwargs, getattr(cls, "SIZE_LIMITS", {}), f"corpus {spec['kind']!r}")
    except ValueError as e:
        raise CorpusError(str(e)) from None
    return cls, kwargs


def build_corpus(spec: dict[str, Any]) -> Corpus:
    """Build (synthetic and shipped corpora: or reuse, they are deterministic) the corpus a spec describes."""
    cls, kwargs = check_spec(spec)
    if cls in UNCACHED:
        return cls(**kwargs)
    return _synthetic(json.dumps(spec, sort_keys=True))


@lru_cache(maxsize=8)
def _synthetic(key: str) -> Corpus:
    cls, kwargs = check_spec(json.loads(key))
    return cls(**kwargs)


def portable_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A corpus spec as config.json records it: a text file by its name and content hash, never by a local path."""
    if spec.get("kind") != "text":
        return dict(spec)
    out = dict(spec)
    for key in ("path", "test_path"):
        if out.get(key):
            out[key] = Path(str(out[key])).name
    return out
