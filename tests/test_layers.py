"""The package's layers, read from the code's own imports (AST: module level and inside functions alike).

No import cycle anywhere: a module that imports another (or a name of it) depends on it, and on the packages
above it, whose `__init__` runs first. Imports inside functions are for optional heavy libraries and the CLI's fast
`--help` only, not a way around a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "textgan"

KNOWN_EDGES: dict[tuple[str, str], str] = {
    # An import that closes a cycle, with why it is still there. Empty: the package has none.
}
"""Imports known to close a cycle, each with why it is still there. A cycle without such an edge fails."""

LAZY_ALLOWED = {"textgan.cli", "textgan.cli_train", "textgan.__main__"}
"""Modules that may import the package's own modules inside functions (the CLI, for a fast `--help`)."""
LAZY_PENDING: tuple[str, ...] = ()
"""Layers whose function-level imports of textgan are not yet moved to the top. Empty: every layer imports at the
top, and this stays empty."""


def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module of the package."""
    out = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports(name: str, path: Path, is_pkg: bool, known: set[str]) -> list[tuple[str, bool]]:
    """(imported module of the package, inside a function?) for each import statement of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            targets = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = ".".join(here[:len(here) - child.level + 1] + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
            for t in targets:
                while t and t not in known:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    found.append((t, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def graph(skip: dict[tuple[str, str], str] | None = None) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """(module -> the modules it depends on, [(module, lazily imported internal module)]), leaving out the imports
    in `skip` (and what they imply about packages above the imported module)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    lazy = []
    for name, (path, is_pkg) in mods.items():
        own = set(_ancestors(name))
        for target, in_function in imports(name, path, is_pkg, set(mods)):
            if (name, target) in (skip or {}):
                continue
            for dep in [target, *_ancestors(target)]:
                if dep not in own and dep != name:
                    edges[name].add(dep)
            if in_function:
                lazy.append((name, target))
    return edges, lazy


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return out


def test_the_package_has_no_import_cycle():
    edges, _ = graph(skip=KNOWN_EDGES)
    found = cycles(edges)
    assert not found, "import cycles (module groups that import each other): " + "; ".join(map(str, found))


def test_known_edges_still_exist():
    """An entry of KNOWN_EDGES whose import is gone is stale: delete it, so the list can only shrink."""
    edges, _ = graph()
    stale = [edge for edge in KNOWN_EDGES if edge[1] not in edges[edge[0]]]
    assert not stale, f"remove these from KNOWN_EDGES, their imports are gone: {stale}"


def test_internal_imports_inside_functions_only_where_allowed():
    _, lazy = graph()
    bad = sorted({(m, t) for m, t in lazy if m not in LAZY_ALLOWED and not m.startswith(LAZY_PENDING)})
    assert not bad, f"import these at the top of the module (no cycle needs them inside a function): {bad}"


LAZY_LIBRARIES = {"gradio", "plotly", "ray", "transformers", "huggingface_hub", "httpx2", "tokenizers", "nltk",
                  "ctypes", "trackio", "kaleido", "optuna", "spaces"}
"""Optional or heavy libraries a function of the engine may import when it is called, not at import time (httpx2 is
huggingface_hub's transport, 0.2 s to import: `textgan.hf` catches its errors)."""
LAZY_MODULES = {"torch.utils.tensorboard"}
"""Optional modules inside a required library (TensorBoard's writer needs the optional `tensorboard` package)."""
PURE_FUNCTIONS = ("textgan.metrics",)
"""Modules importable without torch: their functions import it when called."""


def test_libraries_imported_inside_functions_are_optional_or_heavy():
    bad = []
    for name, (path, _) in modules().items():
        if name in LAZY_ALLOWED or name.startswith(LAZY_PENDING):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    libs = [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and not inner.level:
                    libs = [inner.module or ""]
                else:
                    continue
                for lib in libs:
                    if lib in LAZY_MODULES:
                        continue
                    top = lib.split(".")[0]
                    if top != PACKAGE and top not in LAZY_LIBRARIES and not (top == "torch"
                                                                            and name.startswith(PURE_FUNCTIONS)):
                        bad.append((name, node.name, lib))
    assert not bad, f"import these at the top of the module: {sorted(set(bad))}"


def test_the_checker_sees_cycles_and_function_level_imports(tmp_path, monkeypatch):
    """The checker itself: a two-module cycle through an import inside a function is found."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from ..a import f\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    edges, lazy = graph()
    assert cycles(edges) == [["textgan.a", "textgan.sub.b"]]
    assert ("textgan.a", "textgan.sub.b") in lazy


@pytest.mark.parametrize("module", ["textgan.checkpoint", "textgan.limits", "textgan.tokens", "textgan.metrics",
                                    "textgan.events"])
def test_storage_and_leaves_import_nothing_above_them(module):
    """Storage knows files, not runs: checkpoint (and the leaves) import no other layer of the package."""
    edges, _ = graph()
    above = {m for m in edges[module] if not m.startswith(module) and m != PACKAGE}
    assert not above, f"{module} imports {sorted(above)}"


def test_one_list_of_metrics_per_corpus():
    """Evaluation, the report's curves and the app's figures read the same lists (textgan.metrics.catalog)."""
    import torch

    from textgan import plots
    from textgan.experiments import report
    from textgan.metrics.catalog import CORPUS_METRICS, METRICS
    from textgan.run import Run, RunConfig

    assert report.CURVE_METRICS is CORPUS_METRICS
    assert {key for group in plots.METRIC_GROUPS.values() for key, _ in group} <= set(METRICS)
    assert all(key in METRICS for keys in CORPUS_METRICS.values() for key in keys)
    torch.set_num_threads(1)
    for corpus in ({"kind": "modes", "k": 4, "n_train": 64, "n_test": 16}, {"kind": "oracle", "n_train": 64,
                                                                            "n_test": 16, "seq_len": 6}):
        run = Run(RunConfig(corpus=corpus, variant="mle", generator={"kind": "lstm", "emb_dim": 8, "hidden": 8},
                            batch_size=8))
        values = run.evaluate(16, seed=0)
        assert set(run.corpus.metrics) <= set(values), (corpus["kind"], sorted(values))


def test_no_code_file_over_450_lines_and_no_function_over_80():
    """Issue 24's bound for the package and the app (tests and bench aside): small modules, short functions."""
    too_long = []
    for name, (path, _) in sorted(modules().items()):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 450:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                too_long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    app_py = ROOT / "app.py"
    assert len(app_py.read_text(encoding="utf-8").splitlines()) <= 450
    assert not too_long, too_long
