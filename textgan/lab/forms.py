"""The Train form: `form_config` turns a `FormValues` (the form by name) into a checked RunConfig; every refusal is
a LabError whose message names the field.

The form's vocabulary lives in one module per job, and this module is where the lab, the app and the notebooks
find all of it:
- `form_values.py`  `FormValues`, the form as a value, read once from what the page sends
- `form_variant.py` presets, a variant's defaults and hyperparameter fields, `make_config`
- `form_nets.py`    net specs from the form's (kind, size) pairs
- `form_corpus.py`  corpus specs from the corpus choice (uploads checked and stored, server paths confined)
- `share_link.py`   the form in a link's query parameters, and back
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import RunConfig
from ..variants import get_variant
from .form_corpus import (MAX_UPLOAD_BYTES, MODE_WEIGHT_LABELS, MODE_WEIGHTS, check_upload, confined_path,
                          corpus_roots, corpus_spec, form_weights, modes_settings, stored_upload)
from .form_nets import SIZE_FIELDS, form_net, net_kinds, net_size, net_spec, size_field
from .form_values import FormValues, input_names
from .form_variant import (LIVE_CADENCE, cast_hparam, check_hparam, choices_for, default_config, describe_config,
                           device_choices, device_note, hp_fields, make_config, presets, run_identity,
                           variant_blurb, variant_changes_of, variant_defaults, variant_info, variant_names)
from .share_link import MAX_QUERY_PARAMS, MAX_QUERY_VALUE, SHARED_CORPORA, form_from_query, share_query


def form_config(form: FormValues, upload_dir: str | Path = "checkpoints/uploads",
                reserve: Callable[[int], None] | None = None) -> RunConfig:
    """The RunConfig the Train form describes (an upload stored in `upload_dir`, charged with `reserve`).
    `form.hparams` may hold every variant's fields (the form's union): only the chosen variant's are read. Nets equal
    to the variant's own defaults are recorded as None (= "the variant's own")."""
    corpus = corpus_spec(form.corpus, k=form.k, path=form.path, upload=form.upload, upload_dir=upload_dir,
                         weights=form.weights, reserve=reserve)
    info = variant_info(form.variant, form.preset or "paper")
    hp = {name: value for name, value in form.hparams.items() if name in info["defaults"]}
    gen = form_net("generator", form.generator, form.generator_size, info["generator"])
    critic = form_net("critic", form.critic, form.critic_size, info["critic"]) if info["needs_critic"] else None
    v = get_variant(form.variant)
    gen = None if gen == v.default_generator else gen
    critic = None if critic == v.default_critic else critic
    return make_config(corpus, form.variant, hp, gen, critic, form.batch, form.seed, form.device)


__all__ = ["FormValues", "LIVE_CADENCE", "MAX_QUERY_PARAMS", "MAX_QUERY_VALUE", "MAX_UPLOAD_BYTES", "MODE_WEIGHTS",
           "MODE_WEIGHT_LABELS", "SHARED_CORPORA", "SIZE_FIELDS", "cast_hparam", "check_hparam", "check_upload",
           "choices_for", "confined_path", "corpus_roots", "corpus_spec", "default_config", "describe_config",
           "device_choices", "device_note", "form_config", "form_from_query", "form_net", "form_weights",
           "hp_fields", "input_names", "make_config", "modes_settings", "net_kinds", "net_size", "net_spec",
           "presets", "run_identity", "share_query", "size_field", "stored_upload", "variant_blurb",
           "variant_changes_of", "variant_defaults", "variant_info", "variant_names"]
