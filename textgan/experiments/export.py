"""What a paper takes from a sweep besides the HTML report: the summary as Markdown and LaTeX tables (mean ± 95 %
CI over seeds) and every report figure as SVG and PNG.

Static images need kaleido (`pip install "textgan[report]"`), which drives a Chromium already on the machine (it
downloads none here). Without it, or when it fails, each figure is written as Plotly JSON instead
(`plotly.io.read_json` redraws it, and kaleido can export it later), and the report says so. Images are asked
for by the CLI (`sweep`, `report`; `--no-images` skips them); library callers (the app on a Space) get JSON unless
they pass `images=True`, so no browser starts inside a server.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from .results import fresh

log = logging.getLogger(__name__)

FIGURES_DIR = "figures"
SUMMARY_MD, SUMMARY_TEX = "summary.md", "summary.tex"
IMAGE_FORMATS = ("svg", "png")
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def latex_escape(text: str) -> str:
    """Text as LaTeX text: the specials escaped, and | < > named (OT1, LaTeX's default font encoding, sets them
    as — ¡ ¿)."""
    return re.sub(r"[\\&%$#_{}~^|<>]", lambda m: _LATEX_SPECIAL[m[0]], str(text))


def markdown_table(rows) -> str:
    """A DataFrame of display strings as a GitHub Markdown table (pipes in cells escaped)."""
    cols = list(rows.columns)

    def cell(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and v != v) else str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def latex_table(rows, caption: str = "") -> str:
    """The same rows as a LaTeX `table` (booktabs rules); "±" becomes `$\\pm$`, other specials are escaped."""
    cols = list(rows.columns)

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return latex_escape(v).replace("±", r"$\pm$")

    body = [" & ".join(cell(c) for c in cols) + r" \\", r"\midrule"]
    body += [" & ".join(cell(v) for v in r) + r" \\" for r in rows.itertuples(index=False)]
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (len(cols) - 1) + "}",
                      r"\toprule", *body, r"\bottomrule", r"\end{tabular}",
                      *([r"\caption{" + cell(caption) + "}"] if caption else []), r"\end{table}"]) + "\n"


def write_summary_tables(exp: Path, rows, caption: str) -> list[Path]:
    """summary.md and summary.tex next to the HTML report."""
    paths = [exp / SUMMARY_MD, exp / SUMMARY_TEX]
    if rows.empty:
        texts = ["No evaluations yet.\n", "% no evaluations yet\n"]
    else:
        texts = [markdown_table(rows), latex_table(rows, caption)]
    for path, text in zip(paths, texts):
        tmp = fresh(path.with_name(f".{path.name}.tmp"))
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths


def write_figures(exp: Path, figs: dict[str, Any], images: bool = False) -> str:
    """Every figure into exp/figures/: SVG and PNG when kaleido works, else Plotly JSON. Returns a one-line note
    for the report saying which."""
    folder = exp / FIGURES_DIR
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ValueError(f"{folder} is a link or a file: the report writes its figures only in a folder of {exp}")
    folder.mkdir(exist_ok=True)
    names = list(figs)
    why = "no images asked for"
    if images:
        try:
            import kaleido  # noqa: F401  (plotly's engine for static images)
            import plotly.io as pio

            jobs = [(figs[n], fresh(folder / f"{n}.{fmt}")) for fmt in IMAGE_FORMATS for n in names]
            pio.write_images([f for f, _ in jobs], [p for _, p in jobs], width=900)  # one browser for all
            _drop_stale(folder, {p.name for _, p in jobs})
            return f"figures/: {len(names)} figures as SVG and PNG"
        except ImportError:
            why = 'kaleido is not installed (pip install "textgan[report]")'
        except Exception as e:  # kaleido found no browser, or the browser failed: the JSON still goes out
            why = f"kaleido failed ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})"
        log.warning("static figures not written: %s; writing Plotly JSON instead", why)
    for n in names:
        figs[n].write_json(str(fresh(folder / f"{n}.json")))
    _drop_stale(folder, {f"{n}.json" for n in names})
    return f"figures/: {len(names)} figures as Plotly JSON ({why})"


def _drop_stale(folder: Path, written: set[str]) -> None:
    """Remove the figures of an earlier build that this one did not write (images before --no-images, a metric no
    longer there): a paper would take them for the current ones. Only our own names go; other files stay."""
    for p in folder.iterdir():
        ours = p.stem == "frontier" or p.stem.startswith("curve_")
        if ours and p.suffix.lstrip(".") in (*IMAGE_FORMATS, "json") and p.name not in written and not p.is_dir():
            p.unlink()


def figure_name(title: str) -> str:
    """A file name for a figure: its metric or role, lower case, no path characters."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:80] or "figure"
