"""The model card (README.md) of a pushed run, built from the run directory's own files.

Metadata goes in the YAML header through `huggingface_hub.ModelCardData` (library_name, tags, metrics, the corpus) so
the Hub can index it; the body says what the model is, how it was trained, how well it does, what it writes, and
the exact code to load it. Nothing here reads a token or the environment.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

# Variant registry name -> the paper it implements, for runs whose config.json has no "variant_paper".
PAPERS: dict[str, str] = {
    "mle": "Maximum-likelihood (teacher forcing) baseline; no adversarial training",
    "gan": "Goodfellow et al., *Generative Adversarial Nets*, NeurIPS 2014",
    "wgan": "Arjovsky et al., *Wasserstein GAN*, ICML 2017",
    "wgan-gp": "Gulrajani et al., *Improved Training of Wasserstein GANs*, NeurIPS 2017",
    "seqgan": "Yu et al., *SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient*, AAAI 2017",
    "maligan": "Che et al., *Maximum-Likelihood Augmented Discrete Generative Adversarial Networks*, 2017",
    "rankgan": "Lin et al., *Adversarial Ranking for Language Generation*, NeurIPS 2017",
    "leakgan": "Guo et al., *Long Text Generation via Adversarial Training with Leaked Information*, AAAI 2018",
    "relgan": "Nie et al., *RelGAN: Relational Generative Adversarial Networks for Text Generation*, ICLR 2019",
    "dpgan": "Xu et al., *Diversity-Promoting GAN (DP-GAN)*, EMNLP 2018",
    "sentigan": "Wang & Wan, *SentiGAN: Generating Sentimental Texts via Mixture Adversarial Networks*, IJCAI 2018",
    "pg-bleu": "Policy gradient with BLEU as the reward (the SeqGAN paper's non-adversarial baseline)",
}
MAX_SAMPLES = 8
MAX_CURVE_ROWS = 10


def build_card(run_dir: str | Path, *, repo_id: str | None = None):
    """A `huggingface_hub.ModelCard` for the run in `run_dir` (config.json required; the rest used when present)."""
    from huggingface_hub import ModelCard

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    metrics = _read_metrics(run_dir / "metrics.json")
    name = repo_id or run_dir.name
    lines = (_summary(config, name) + _metrics_section(metrics) + _samples_section(_read_samples(run_dir / "samples.txt"))
             + _usage_section(name) + _curves_section(*_read_history(run_dir / "history.csv")))
    data = _card_data(config, metrics, repo_id)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def _names(config: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    """(variant, corpus, generator kind, critic kind) as config.json records them."""
    rc: dict[str, Any] = config.get("run", {})
    corpus_spec = rc.get("corpus", {}) or {}
    corpus = str(config.get("corpus_info", {}).get("name") or corpus_spec.get("kind") or "unknown")
    return (str(rc.get("variant", "unknown")), corpus, (rc.get("generator") or {}).get("kind"),
            (rc.get("critic") or {}).get("kind"))


def _card_data(config: dict[str, Any], metrics: dict[str, Any], repo_id: str | None):
    """The card's YAML front matter: tags, metrics, the Hub dataset it was trained on, textgan's own record."""
    from huggingface_hub import ModelCardData

    variant, corpus, gen_kind, _ = _names(config)
    corpus_spec = config.get("run", {}).get("corpus", {}) or {}
    tags = ["textgan", "text-gan", "gan", "text-generation", variant, f"corpus-{_slug(corpus)}"]
    tags += [f"generator-{_slug(gen_kind)}"] if gen_kind else []
    return ModelCardData(
        library_name="textgan",
        pipeline_tag="text-generation",
        tags=list(dict.fromkeys(tags)),
        metrics=sorted({k.split("/")[-1] for k in metrics if "/share/" not in k}) or None,  # not per-mode shares
        # A corpus loaded from a Hub dataset can be linked; synthetic ones are described by `textgan.corpus`.
        datasets=[corpus_spec[k] for k in ("dataset", "repo_id", "repo") if isinstance(corpus_spec.get(k), str)] or None,
        model_name=repo_id.split("/")[-1] if repo_id else None,
        textgan={"variant": variant, "corpus": corpus_spec, "step": config.get("step"),
                 "version": config.get("textgan_version"), "format": config.get("format")},
    )


def _summary(config: dict[str, Any], name: str) -> list[str]:
    """The title, the paper and the table of what the run is."""
    rc: dict[str, Any] = config.get("run", {})
    info: dict[str, Any] = config.get("corpus_info", {})
    variant, corpus, gen_kind, critic_kind = _names(config)
    # The run records its variant's paper; the table below covers cards of runs saved without it.
    paper = config.get("variant_paper") or PAPERS.get(variant, "see the textgan variant registry for its paper")
    corpus_spec = rc.get("corpus", {}) or {}
    return [
        f"# {name}",
        "",
        f"A text GAN trained with TextGAN Lab (the `textgan` library): variant **{variant}** "
        f"({paper}).",
        "",
        "| | |",
        "|---|---|",
        f"| variant | `{variant}` |",
        f"| generator | `{gen_kind or '?'}` |",
        f"| critic | `{critic_kind or 'none'}` |",
        f"| corpus | `{corpus}` — `{json.dumps(corpus_spec, sort_keys=True)}` |",
        f"| vocabulary / sequence length | {info.get('vocab_size', '?')} tokens / {info.get('seq_len', '?')} |",
        *_conventions(info),
        f"| training steps | {config.get('step', '?')} (batch size {rc.get('batch_size', '?')}, seed {rc.get('seed', '?')}) |",
        f"| textgan version | {config.get('textgan_version', '?')} |",
        "",
    ]


def _metrics_section(metrics: dict[str, Any]) -> list[str]:
    lines = ["## Metrics", ""]
    if metrics:
        return lines + ["| metric | value |", "|---|---|"] + [f"| `{k}` | {_fmt(v)} |" for k, v in metrics.items()]
    return lines + ["No evaluation was recorded for this run."]


def _samples_section(samples: list[str]) -> list[str]:
    lines = ["", "## Samples", ""]
    return lines + (["```text", *samples, "```"] if samples else ["No samples were recorded for this run."])


def _usage_section(name: str) -> list[str]:
    return [
        "",
        "## Use it",
        "",
        "With `textgan` installed:",
        "",
        "```bash",
        f"python -m textgan pull {name} --out checkpoints/{name.replace('/', '--')}",
        "```",
        "",
        "```python",
        "from textgan.hub import pull",
        "from textgan.run import Run",
        "",
        f'run = Run.load(pull("{name}"))          # validated: safetensors + JSON only, never pickle',
        "print(run.sample_texts(5, seed=0))       # sample",
        "for event in run.steps(100):             # or keep training exactly where it stopped",
        "    print(event)",
        "```",
        "",
        "## Training curves",
        "",
    ]


def _curves_section(header: list[str], rows: list[list[str]]) -> list[str]:
    if header:
        lines = [f"`history.csv` (in this repo) has one row per logged step: {', '.join(f'`{h}`' for h in header)}."]
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in _spread(rows, MAX_CURVE_ROWS)]
    else:
        lines = ["No training history was recorded for this run."]
    return lines + ["", "Files: `config.json` (run config), `*.safetensors` (weights and optimizer state), `vocab.json`, "
                    "`history.csv`, `samples.txt`, `metrics.json`."]


def _conventions(info: dict[str, Any]) -> list[str]:
    """The text conventions a benchmark number depends on (vocabulary split, tokenisation, `<unk>`): named, so a
    reader knows which published tables the run compares with."""
    if "vocab_from" not in info:
        return []
    source = {"train+test": "train + test (no test token is `<unk>`; not the published convention)",
              "train": "train only (Texygen/RelGAN convention; unseen test words become `<unk>`: see eval/unk_share)"}.get(info["vocab_from"],
                                                                                             str(info["vocab_from"]))
    return [f"| vocabulary built from | {source} |",
            f"| tokenisation | `{info.get('tokenize', info.get('level', '?'))}` |"]


def _read_metrics(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text())
    raw = raw.get("values", raw) if isinstance(raw, dict) else {}  # {"step", "values": {...}} or flat
    return {str(k): v for k, v in raw.items() if isinstance(v, (int, float, str)) and k != "step"}


def _read_samples(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = [line.replace("```", "'''") for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[:MAX_SAMPLES]


def _read_history(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the MAX_CURVE_ROWS rows the card shows, streamed: a long history is never held whole."""
    if not path.is_file():
        return [], []
    with path.open(newline="", errors="replace") as f:
        n = sum(1 for _ in csv.reader(f)) - 1
        f.seek(0)
        reader = csv.reader(f)
        header = next(reader, [])
        if n <= 0:
            return header, []
        wanted = set(_spread(list(range(n)), MAX_CURVE_ROWS))
        return header, [row for i, row in enumerate(reader) if i in wanted]


def _spread(rows: list, n: int) -> list:
    """At most `n` rows, evenly spaced, always including the first and the last."""
    if len(rows) <= n:
        return rows
    return [rows[round(i * (len(rows) - 1) / (n - 1))] for i in range(n)]


def _fmt(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value).replace("|", "\\|")
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.4g}"


def _slug(text: Any) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-") or "unknown"
