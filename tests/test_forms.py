"""The Train form as a value (`FormValues`): read once from what the page sends, checked into the same RunConfig
as the engine's own settings, and the same page (every input, in the same order) as before it was a value. Also:
the form's and the app's modules stay short, and the Compare tab's curves come from the metrics catalog."""

from __future__ import annotations

import ast
from pathlib import Path

import gradio as gr
import pytest

from textgan import lab as L
from textgan.config import RunConfig
from textgan.lab import forms
from textgan.lab.forms import FormValues
from textgan.metrics.catalog import COMPARE_CURVES, METRICS, TRAINING, plain_name
from textgan.presets import preset_config
from textgan.variants import get_variant

ROOT = Path(__file__).resolve().parent.parent
FORM_MODULES = ["textgan/lab/forms.py", "textgan/lab/form_values.py", "textgan/lab/form_variant.py",
                "textgan/lab/form_nets.py", "textgan/lab/form_corpus.py", "textgan/lab/share_link.py"]
SHORT_FILES = [*FORM_MODULES, *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "textgan/app").glob("*.py")))]


def test_the_page_s_values_are_read_by_name_and_back():
    hp_names = ["lr_gen", "relaxation"]
    form = FormValues("upload", 5, upload="/tmp/x.txt", preset="demo", variant="gan", batch=32, seed=7,
                      generator="lstm", generator_size=48, critic="cnn", critic_size=None, weights="skewed",
                      hparams={"lr_gen": 0.002, "relaxation": "st"})
    values = form.inputs(hp_names)
    assert values[:2] == ["upload", 5] and values[-2:] == [0.002, "st"]  # the page's order: corpus first, then K
    assert FormValues.from_inputs(values, hp_names) == form
    with pytest.raises(L.LabError, match="the form sent 17 values; it has 16 fields"):
        FormValues.from_inputs([*values, 1], hp_names)


@pytest.mark.parametrize("form, expected", [
    (FormValues(), RunConfig(corpus={"kind": "modes", "k": 8}, generator={"kind": "conv", "channels": 512},
                             critic={"kind": "conv", "channels": 512})),  # the WGAN-GP paper's nets
    (FormValues("oracle", variant="gan", seed=3, batch=16, hparams={"lr_gen": "0.002", "gp_weight": 5}),
     RunConfig(corpus={"kind": "oracle"}, variant="gan", variant_config={"lr_gen": 0.002}, seed=3, batch_size=16)),
    (FormValues(k=4, weights="skewed-alike", variant="mle", generator="lstm", generator_size=48),
     RunConfig(corpus={"kind": "modes", "k": 4, "weights": "skewed", "patterns": "alike"}, variant="mle",
               generator={"kind": "lstm", "emb_dim": 32, "hidden": 48})),  # the paper's net, resized
])
def test_form_config_builds_the_run_the_engine_builds_from_the_same_settings(form, expected):
    """The paper preset's nets unless the form changes them (a size alone keeps the rest of the net), only the chosen
    variant's hyperparameters count (gp_weight is WGAN-GP's), text is cast by the one coercion, and a net equal to
    the variant's own is recorded as None."""
    got = forms.form_config(form, upload_dir="unused")
    cadence = {k: getattr(got, k) for k in forms.LIVE_CADENCE}
    assert cadence == forms.LIVE_CADENCE
    assert got.to_dict() == RunConfig(**{**expected.to_dict(), **cadence}).to_dict()


@pytest.mark.parametrize("field, value, message", [
    ("seed", "x", "seed"), ("k", "many", "K"), ("generator_size", 10**6, "generator size"),
    ("weights", "zipf", "mode weights"), ("corpus", "nfs", "unknown corpus choice"),
])
def test_a_bad_field_is_refused_by_name(field, value, message):
    with pytest.raises(L.LabError, match=message):
        forms.form_config(FormValues(**{"generator": "lstm", field: value}), upload_dir="unused")


def test_the_train_tab_sends_the_form_in_form_values_order_and_its_defaults_describe_a_run(tmp_path):
    """The tab's inputs, as the page sends them, are FormValues' fields then the hyperparameters; the values the
    page starts with read back into a valid run: the default variant under the first preset."""
    from textgan.app import train_tab
    from textgan.app.common import AppContext

    ctx = AppContext(L.Lab(checkpoints=tmp_path, max_training=1, torch_threads=1))
    with gr.Blocks() as demo:
        tab = train_tab.build(ctx, demo)
    names = forms.input_names()
    assert tab.form[:len(names)] == [tab.parts[n] for n in names]
    assert [c.label for c in tab.form[len(names):]] == tab.hp_names
    form = tab.read([c.value for c in tab.form])
    assert form.variant == forms.default_config().variant and form.preset == forms.presets()[0]
    config, preset = tab.config(form, "visitor"), preset_config(form.preset, form.variant)
    own = get_variant(form.variant)
    assert config.variant_config == forms.variant_changes_of(form.variant, preset.variant_config)
    assert (config.generator or own.default_generator) == (preset.generator or own.default_generator)
    assert (config.critic or own.default_critic) == (preset.critic or own.default_critic)
    assert config.batch_size == preset.batch_size


def test_the_compare_tab_s_curves_are_the_catalog_s():
    """One list: the curve picker offers the catalog's curves under their plain names (as it did before)."""
    from textgan.app import compare_tab

    assert not hasattr(compare_tab, "CURVES") and not hasattr(compare_tab, "CURVE_NAMES")
    assert all(key in METRICS or key in TRAINING for key in COMPARE_CURVES)
    assert {key: plain_name(key) for key in COMPARE_CURVES} == {
        "loss/gen": "generator loss", "loss/critic": "critic loss", "wasserstein": "Wasserstein estimate",
        "grad_norm/gen": "generator gradient norm", "eval/modes/effective": "effective modes",
        "eval/modes/coverage": "modes covered", "eval/modes/precision": "valid share",
        "eval/modes/divergence": "JS divergence from the true weights", "eval/modes/entropy": "mode entropy",
        "eval/nll_gen": "NLL-gen (test sentences)", "eval/unk_share": "unk share"}
    assert plain_name("eval/bleu4") == "BLEU-4" and plain_name("no/such") == "no/such"


def test_the_compare_table_s_column_names_are_the_catalog_s():
    """The metrics table's plain column names come from the catalog too (lab/compare kept a fourth list): every
    catalog metric has one, short enough for 1280 px, one per metric, and the hover text maps each back."""
    import pandas as pd

    from textgan.lab.compare import PLAIN, plain_table, raw_keys

    assert set(PLAIN) - {"BLEU references"} == {key.removeprefix("eval/") for key in METRICS}
    assert len(set(PLAIN.values())) == len(PLAIN) and max(len(v) for v in PLAIN.values()) <= 16
    shown = plain_table(pd.DataFrame({"run": ["a"], "modes/effective": [3.1], "modes/precision": [0.9]}))
    assert list(shown.columns) == ["run", "effective modes", "valid"]
    assert raw_keys(shown.columns) == {"effective modes": "modes/effective", "valid": "modes/precision"}


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize("path", SHORT_FILES)
def test_the_form_and_app_modules_are_short_with_imports_at_the_top(path):
    """No file over 450 lines, no function over 80, and no function imports a module of the package (the app may
    import gradio at the top: it is the app's own dependency)."""
    text = (ROOT / path).read_text(encoding="utf-8")
    tree = ast.parse(text)
    assert len(text.splitlines()) <= 450, path
    long = [f"{f.name} ({f.end_lineno - f.lineno + 1} lines)" for f in _functions(tree)
            if f.end_lineno - f.lineno + 1 > 80]
    assert not long, f"{path}: {long}"
    lazy = [f"{f.name}: {ast.unparse(node)}" for f in _functions(tree) for node in ast.walk(f)
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("textgan"))
            or isinstance(node, ast.Import) and any(a.name.startswith("textgan") for a in node.names)]
    assert not lazy, f"{path} imports inside functions: {lazy}"
