"""One settings layer: the form, a URL query, the CLI and a sweep read the same text to the same values, within the
same limits, and refuse the same values with the same message (textgan.config's router, textgan.checks' coercion,
textgan.limits' table)."""

from __future__ import annotations

import pytest

from textgan.checks import choices_of, coerce, field_hints
from textgan.cli import build_parser, main
from textgan.cli_train import RESUME_FIXED, new_run_config
from textgan.config import RunConfig, apply_setting
from textgan.experiments.spec import SpecError, SweepSpec
from textgan.lab import forms
from textgan.lab.errors import LabError
from textgan.limits import LIMITS
from textgan.nets.relax import RELAXATIONS

# (variant, setting, text, the value every surface must read)
SAME = [
    ("seqgan", "rescale", "false", False),
    ("seqgan", "rescale", "true", True),
    ("seqgan", "rescale", "0", False),
    ("wgan-gp", "lr_gen", "1e-3", 0.001),
    ("wgan-gp", "critic_steps", "4", 4),
    ("wgan-gp", "critic_steps", "4.0", 4),
    ("wgan-gp", "relaxation", "softmax", "softmax"),
    ("seqgan", "baseline", "mean", "mean"),
]
# (variant, setting, text, the router's message, which every surface must show)
REFUSED = [
    ("wgan-gp", "lr_gen", "50", "lr_gen=50.0 must be a learning rate in (0, 1]"),
    ("wgan-gp", "lr_gen", "abc", "lr_gen='abc' is not a number"),
    ("wgan-gp", "critic_steps", "1.5", "critic_steps='1.5' must be a whole number"),
    ("wgan-gp", "critic_steps", "0", "critic_steps=0 must be an integer in 1..1000"),
    ("seqgan", "rescale", "maybe", "rescale='maybe' must be true or false"),
    ("wgan-gp", "relaxation", "magic", "relaxation='magic'; choose one of softmax, gumbel, st"),
    ("seqgan", "baseline", "median", "baseline='median'; choose one of none, mean"),
]


def router(variant: str, key: str, text: str):
    config = RunConfig(variant=variant).to_dict()
    return apply_setting(config, key, text)


def cli_value(variant: str, key: str, text: str, tmp_path):
    args = build_parser().parse_args(["train", "--variant", variant, "--set", f"{key}={text}", "--out", str(tmp_path)])
    args.corpus, args.batch_size = "modes", 64
    config = new_run_config(args, tmp_path)
    RunConfig.from_dict(config)
    section, _, name = key.rpartition(".")
    if section:
        return config[section][name]
    return config["variant_config"][key] if key not in config else config[key]


def sweep_value(variant: str, key: str, text: str, where: str = "grid"):
    settings = {key: [text]} if where == "grid" else {key: text}
    trial = SweepSpec.from_dict({"corpus": "modes", "variants": [variant], "budget": 1, where: settings}).trials()[0]
    section, _, name = key.rpartition(".")
    if section:
        return trial.config[section][name]
    return trial.config["variant_config"].get(key, trial.config.get(key))


def query_value(variant: str, key: str, text: str):
    out, notices = forms.form_from_query({"variant": variant, key: text})
    return out.get("hparams", {}).get(key), notices


@pytest.mark.parametrize("variant, key, text, expected", SAME)
def test_every_surface_reads_the_same_text_to_the_same_value(variant, key, text, expected, tmp_path):
    values = {
        "router": router(variant, key, text),
        "form": forms.cast_hparam(variant, key, text),
        "url query": query_value(variant, key, text)[0],
        "cli --set": cli_value(variant, key, text, tmp_path),
        "sweep grid": sweep_value(variant, key, text),
        "sweep run": sweep_value(variant, key, text, "run"),
    }
    for surface, value in values.items():
        assert value == expected and type(value) is type(expected), f"{surface} read {text!r} as {value!r}"


def test_false_is_false_in_the_form():
    """The form's cast turned the string "false" into True for a bool field (fails on the old code)."""
    assert forms.cast_hparam("seqgan", "rescale", "false") is False
    assert forms.make_config({"kind": "modes", "k": 4}, "seqgan", {"rescale": "false"}).variant_config == {}


@pytest.mark.parametrize("variant, key, text, message", REFUSED)
def test_every_surface_refuses_with_the_same_message(variant, key, text, message, tmp_path, capsys):
    with pytest.raises(ValueError) as e:
        router(variant, key, text)
    assert str(e.value) == message
    with pytest.raises(LabError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]").replace(".", r"\.")):
        forms.cast_hparam(variant, key, text)
    _, notices = query_value(variant, key, text)
    assert any(message in n for n in notices), notices
    assert main(["train", "--variant", variant, "--set", f"{key}={text}", "--steps", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    for where in ("grid", "run"):
        with pytest.raises(SpecError) as e:
            sweep_value(variant, key, text, where)
        assert message in str(e.value)


def test_dotted_net_settings_are_read_alike_by_the_cli_and_the_sweep(tmp_path):
    """`--set generator.hidden=48` was refused by the CLI and accepted by the sweep (fails on the old code)."""
    assert cli_value("mle", "generator.hidden", "48", tmp_path) == 48
    args = build_parser().parse_args(["train", "--variant", "mle", "--gen-set", "hidden=48", "--out", str(tmp_path)])
    args.corpus, args.batch_size = "modes", 64
    assert new_run_config(args, tmp_path)["generator"]["hidden"] == 48  # without --generator: the preset's net
    assert sweep_value("mle", "generator.hidden", "48") == 48
    assert sweep_value("wgan-gp", "critic.filters", "24") == 24
    assert router("mle", "generator.hidden", "48") == 48
    out, notices = forms.form_from_query({"variant": "mle", "generator_size": "48"})
    assert out["generator_size"] == 48 and not notices


def test_net_sizes_share_one_limit(tmp_path, capsys):
    """A net size has one bound everywhere (the form said 4,096 and the engine 65,536)."""
    hi = int(LIMITS["net_size"].hi)
    message = f"generator.hidden={hi + 1} must be a positive integer in 1..{hi}"
    with pytest.raises(ValueError, match=message):
        router("mle", "generator.hidden", str(hi + 1))
    assert main(["train", "--variant", "mle", "--gen-set", f"hidden={hi + 1}", "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(SpecError, match=message):
        sweep_value("mle", "generator.hidden", str(hi + 1))
    _, notices = forms.form_from_query({"variant": "mle", "generator_size": str(hi + 1)})
    assert notices and f"1..{hi}" in notices[0]
    with pytest.raises(LabError, match=f"1..{hi}"):
        forms.net_spec("generator", "lstm", hi + 1)
    assert forms.net_spec("generator", "lstm", 5000) == {"kind": "lstm", "hidden": 5000}  # the form said absurd


def test_seeds_share_one_limit(tmp_path, capsys):
    """A seed was 0..2^32-1 in a link and 0..2^63-1 in the engine; a seed near 2^63 then broke sampling
    (seed * 1_000_003 + step overflows torch's 64-bit seed)."""
    hi = int(LIMITS["seed"].hi)
    message = f"seed={hi + 1} must be an integer in 0..{hi}"
    with pytest.raises(ValueError, match=message):
        RunConfig(seed=hi + 1).check()
    assert main(["train", "--seed", str(hi + 1), "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(SpecError, match=message):
        SweepSpec.from_dict({"corpus": "modes", "variants": ["mle"], "budget": 1, "seeds": [hi + 1]})
    with pytest.raises(LabError, match=message):
        forms.make_config({"kind": "modes", "k": 4}, "mle", seed=hi + 1)
    _, notices = forms.form_from_query({"seed": str(hi + 1)})
    assert notices and f"0..{hi}" in notices[0]


def test_a_run_samples_at_the_largest_seed():
    import torch

    from textgan.run import Run

    torch.set_num_threads(1)
    run = Run(RunConfig(corpus={"kind": "modes", "k": 4, "n_train": 64, "n_test": 16}, variant="mle",
                        generator={"kind": "lstm", "emb_dim": 8, "hidden": 8}, batch_size=8,
                        seed=int(LIMITS["seed"].hi)))
    list(run.steps(1))
    assert len(run.sample_texts(2)) == 2


@pytest.mark.parametrize("text, expected", [("false", False), ("False", False), ("0", False), ("off", False),
                                            ("no", False), ("true", True), ("1", True), ("yes", True)])
def test_bool_text(text, expected):
    assert coerce(text, bool, "flag") is expected


@pytest.mark.parametrize("text, hint, expected", [("1e3", int, 1000), ("7", int, 7), ("1", float, 1.0),
                                                  ("none", int | None, None), ("3", int | None, 3),
                                                  ("[2, 3]", list[int], [2, 3]), (3.0, int, 3), (2, float, 2.0)])
def test_coercion_by_type(text, hint, expected):
    value = coerce(text, hint, "x")
    assert value == expected and type(value) is type(expected)


def test_dropdown_choices_come_from_the_types():
    assert forms.choices_for("relaxation") == list(RELAXATIONS)
    assert forms.choices_for("baseline") == ["none", "mean"]
    assert forms.choices_for("lr_gen") is None
    from textgan.variants import VARIANTS

    assert choices_of(field_hints(VARIANTS["seqgan"].Config)["score_precision"]) == ("fp32", "bf16", "auto")


def test_unknown_and_fixed_settings_are_refused_alike(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown setting 'lr_gne' for wgan-gp"):
        router("wgan-gp", "lr_gne", "1")
    with pytest.raises(SpecError, match="unknown setting 'lr_gne' for wgan-gp"):
        sweep_value("wgan-gp", "lr_gne", "1")
    assert main(["train", "--variant", "wgan-gp", "--set", "lr_gne=1", "--out", str(tmp_path / "r")]) == 2
    assert "unknown setting 'lr_gne' for wgan-gp" in capsys.readouterr().err
    with pytest.raises(ValueError, match="generator 'lstm' has no setting 'hiden'"):
        router("mle", "generator.hiden", "3")
    assert main(["train", "--set", "seed=3", "--out", str(tmp_path / "r")]) == 2
    assert "'seed' is set by its own option" in capsys.readouterr().err


def test_resume_fixed_defaults_are_the_parsers():
    defaults = build_parser().parse_args(["train"])
    assert {name: getattr(defaults, name) for name in RESUME_FIXED} == {n: d for n, (_, d) in RESUME_FIXED.items()}


def test_policy_gradient_variants_share_their_settings():
    """SeqGAN's family declares its shared settings once (textgan/variants/policy.py): a variant's Config keeps only
    its own fields and the defaults its paper changes."""
    import dataclasses

    from textgan.variants import VARIANTS
    from textgan.variants.policy import (BaselineConfig, DiscriminatorConfig, PolicyConfig, PolicyGradient,
                                         RolloutConfig)

    shared = {f.name: f.default for base in (PolicyConfig, DiscriminatorConfig, RolloutConfig, BaselineConfig)
              for f in dataclasses.fields(base)}
    family = [n for n, v in VARIANTS.items() if issubclass(v, PolicyGradient)]
    assert set(family) >= {"seqgan", "rankgan", "maligan", "dpgan", "pg-bleu", "leakgan"}
    for name in family:
        cfg = VARIANTS[name].Config
        own = vars(cfg).get("__annotations__", {})
        repeated = [f for f in own if f in shared and getattr(cfg, f) == shared[f]]
        assert not repeated, f"{name} re-declares shared settings with the same default: {repeated}"


def test_corpus_settings_are_read_by_the_corpus_own_keywords(tmp_path, capsys):
    """`--corpus-set k=4` was refused by `train` ("corpus 'modes' has no setting 'k'") and reached a sweep's trials as
    the string "4", failing each with a TypeError; a string k in a spec passed the corpus check (fails on the old
    code). Corpus settings are the corpus's own keywords, typed and bounded like any other setting."""
    from textgan.corpora import CorpusError, check_spec

    assert router("mle", "corpus.k", "4") == 4
    args = build_parser().parse_args(["train", "--variant", "mle", "--corpus", "modes", "--corpus-set", "k=4",
                                      "--out", str(tmp_path)])
    args.batch_size = 64
    assert new_run_config(args, tmp_path)["corpus"]["k"] == 4
    spec = SweepSpec.from_dict({"corpus": {"kind": "modes", "k": "4"}, "variants": ["mle"], "budget": 1})
    assert spec.corpus["k"] == 4 and spec.trials()[0].config["corpus"]["k"] == 4
    with pytest.raises(CorpusError, match="k"):
        check_spec({"kind": "modes", "k": "4"})
    with pytest.raises(ValueError, match="corpus 'modes' has no setting 'size'; it takes .*'k'"):
        router("mle", "corpus.size", "4")
