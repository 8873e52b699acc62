"""Live training sessions for the app (and notebooks): one `Run` per browser session on a worker thread.

UI-agnostic on purpose: nothing here imports gradio, so the controller is tested without a browser. The UI calls
`Session.start / pause / resume / step / stop / reset` and polls `Session.snapshot()`, which hands back copies
(a pandas history, the latest samples with their mode labels, a status line) and never a live object.

Threads: the worker is the only thread that trains; every touch of the run (a step, a save, a hyperparameter
change, sampling for Compare) holds `Session._run_lock`, so they interleave between iterations, never inside one.
A `Lab` keeps the sessions of one server keyed by the browser's session hash, and a semaphore caps how many train
at once so a shared Space stays responsive; a session that waits for a slot says so ("server busy, queued").
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from .events import Failed, Metrics, Samples, Saved, Scalars

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Uploaded corpora above this size are refused (a Space has little disk and 2 CPU cores)."""
HIST_SAMPLES = 256
"""Samples drawn (with their own RNG, never the training one) for the live per-mode histogram."""
LIVE_CADENCE = {"sample_every": 20, "eval_every": 20, "eval_samples": 256, "show_samples": 16}
"""The app's cadence: often enough that the sample table and the metrics figure move every few seconds."""


class LabError(ValueError):
    """A request the lab refuses (bad input, wrong state); the message is shown to the user as is."""


# ---- building configs from a form ------------------------------------------------------------------------

def variant_defaults(name: str) -> dict[str, Any]:
    """The paper-default hyperparameters of a registered variant, as a plain dict."""
    from .variants import get_variant

    return dataclasses.asdict(get_variant(name).Config())


def presets() -> tuple[str, ...]:
    """The named starting points the form offers: 'demo' (tuned to learn `modes` in a minute on a CPU, from
    textgan.presets) first when it exists, and 'paper' (each variant's published defaults)."""
    try:
        from .presets import PRESETS
    except ImportError:
        return ("paper",)
    return tuple(sorted(PRESETS, key=lambda p: p != "demo"))


def variant_info(name: str, preset: str = "paper") -> dict[str, Any]:
    """What the form shows for a variant under a preset: its one-line summary and paper, hyperparameters,
    generator and critic specs, batch size."""
    from .run import RunConfig
    from .variants import get_variant

    v = get_variant(name)
    info = {"paper": v.paper, "summary": v.summary, "defaults": variant_defaults(name), "generator": dict(v.default_generator),
            "critic": dict(v.default_critic) if v.needs_critic and v.default_critic else None,
            "needs_critic": v.needs_critic, "batch_size": RunConfig().batch_size}
    if preset != "paper":
        if preset not in presets():
            raise LabError(f"unknown preset {preset!r}; choose one of {presets()}")
        from .presets import preset_config

        rc = preset_config(preset, name)
        info["defaults"].update(rc.variant_config)
        info["generator"] = dict(rc.generator or info["generator"])
        if info["critic"] is not None:
            info["critic"] = dict(rc.critic or info["critic"])
        info["batch_size"] = rc.batch_size
    return info


def form_net(role: str, kind: str | None, size: Any, base: dict[str, Any] | None) -> dict[str, Any] | None:
    """The net spec for the form's (kind, size) pair: `base` (the preset's spec) when they match it, `base` with
    the new size when only the size changed, else a fresh spec of that kind."""
    if not kind:
        return base
    if base is not None and base.get("kind") == kind:
        if size is None or _as_int(size, f"{role} size") == net_size(role, base):
            return dict(base)
        return {**base, **net_spec(role, kind, size)}
    return net_spec(role, kind, size)


SIZE_FIELDS = ("hidden", "channels", "filters", "head_size", "emb_dim")
"""The form has one "size" control per net: it sets the first of these fields the net's config has."""


def net_kinds(role: str) -> list[str]:
    """The registered generator or critic kinds (textgan.nets), for the form's choices."""
    from .nets import CRITICS, GENERATORS

    return list(GENERATORS if role == "generator" else CRITICS)


def size_field(role: str, kind: str) -> str | None:
    """The config field the form's size sets for a net kind (None when it has no such field)."""
    from .nets import CRITICS, GENERATORS

    registry = GENERATORS if role == "generator" else CRITICS
    if kind not in registry:
        raise LabError(f"unknown {role} kind {kind!r}; choose one of {sorted(registry)}")
    names = {f.name for f in dataclasses.fields(registry[kind][1])}
    return next((f for f in SIZE_FIELDS if f in names), None)


def net_spec(role: str, kind: str, size: int | None = None) -> dict[str, Any]:
    """A net spec {"kind", <size field>} for the form's (kind, size) pair; size None keeps the net's default."""
    field_name = size_field(role, kind)
    spec: dict[str, Any] = {"kind": kind}
    if size is not None and field_name is not None:
        size = _as_int(size, f"{role} size")
        if not 1 <= size <= 4096:
            raise LabError(f"{role} size {size} is absurd; choose 1..4096")
        spec[field_name] = size
    return spec


def net_size(role: str, spec: dict[str, Any]) -> int | None:
    """The size a spec has (explicit or its config default), for showing in the form."""
    from .nets import CRITICS, GENERATORS, net_config

    field_name = size_field(role, spec["kind"])
    if field_name is None:
        return None
    _, cfg = net_config(GENERATORS if role == "generator" else CRITICS, spec, role)
    return getattr(cfg, field_name)


def check_upload(path: str | Path) -> None:
    """Refuse uploads a text corpus cannot be: missing, empty, over the size limit, binary or not UTF-8."""
    p = Path(path)
    if not p.is_file():
        raise LabError(f"uploaded file {p.name!r} was not received; upload it again")
    size = p.stat().st_size
    if size == 0:
        raise LabError(f"{p.name} is empty: a corpus needs one sentence per line")
    if size > MAX_UPLOAD_BYTES:
        raise LabError(f"{p.name} is {size / 1e6:.1f} MB, over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB upload limit; "
                       "use a smaller file, or run the CLI on a local path")
    head = p.read_bytes()[:65536]
    if b"\x00" in head:
        raise LabError(f"{p.name} looks like a binary file (it contains NUL bytes); upload plain UTF-8 text, "
                       "one sentence per line")
    try:
        p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise LabError(f"{p.name} is not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8 and upload "
                       "again") from None


def corpus_spec(kind: str, k: int = 8, path: str | None = None, upload: str | None = None,
                upload_dir: str | Path = "checkpoints/uploads", level: str = "word") -> dict[str, Any]:
    """The corpus spec for the form's choice. An upload is checked, then copied under `upload_dir` (named by its
    content hash) so a run that records its path can be rebuilt after the browser's temp file is gone."""
    if kind == "modes":
        k = _as_int(k, "K (number of modes)")
        return {"kind": "modes", "k": k}
    if kind == "oracle":
        return {"kind": "oracle"}
    if kind == "upload":
        if not upload:
            raise LabError("choose a .txt file to upload first (one sentence per line)")
        check_upload(upload)
        data = Path(upload).read_bytes()
        dest = Path(upload_dir) / f"{_slug(Path(upload).stem)}-{hashlib.sha256(data).hexdigest()[:10]}.txt"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            tmp = dest.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        return {"kind": "text", "path": str(dest), "level": level}
    if kind == "path":
        if not path or not str(path).strip():
            raise LabError("type the path of a local text file (one sentence per line)")
        p = Path(str(path).strip()).expanduser()
        if not p.is_file():
            raise LabError(f"no file at {p}: give the path of a text file on the server")
        check_upload(p)
        return {"kind": "text", "path": str(p), "level": level}
    raise LabError(f"unknown corpus choice {kind!r}; choose modes, oracle, upload or path")


def make_config(corpus: dict[str, Any], variant: str = "wgan-gp", hparams: dict[str, Any] | None = None,
                generator: dict[str, Any] | None = None, critic: dict[str, Any] | None = None,
                batch_size: int | None = None, seed: int = 0, device: str = "auto", **cadence: int):
    """A checked RunConfig with the app's live cadence; raises LabError with the engine's message on bad input."""
    from .run import RunConfig
    from .variants import get_variant

    try:
        v = get_variant(variant)
        changes = _variant_changes(variant, hparams or {})
        cfg = v.Config(**{**dataclasses.asdict(v.Config()), **changes})
        from .variants.base import check_config

        check_config(cfg)
        base = RunConfig()
        rc = RunConfig(corpus=corpus, variant=variant, variant_config=changes, generator=generator, critic=critic,
                       batch_size=base.batch_size if batch_size is None else _as_int(batch_size, "batch size"),
                       seed=_as_int(seed, "seed"), device=device, **{**LIVE_CADENCE, **cadence})
        rc.check()
        return rc
    except LabError:
        raise
    except (ValueError, TypeError) as e:
        raise LabError(str(e)) from None


def _variant_changes(variant: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """Form values that differ from the paper defaults, cast to the field's type; unknown names are errors."""
    defaults = variant_defaults(variant)
    out = {}
    for name, value in hparams.items():
        if value is None or value == "":
            continue
        if name not in defaults:
            raise LabError(f"{variant} has no setting {name!r}; it takes {sorted(defaults)}")
        value = _cast(variant, name, value, defaults)
        if value != defaults[name]:
            out[name] = value
    return out


def _cast(variant: str, name: str, value: Any, defaults: dict[str, Any] | None = None) -> Any:
    """A form value cast to the type of the variant's field `name`."""
    defaults = defaults or variant_defaults(variant)
    if name not in defaults:
        raise LabError(f"{variant} has no setting {name!r}; it takes {sorted(defaults)}")
    d = defaults[name]
    if isinstance(d, bool):
        return bool(value)
    if isinstance(d, int):
        return _as_int(value, name)
    if isinstance(d, float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise LabError(f"{name}={value!r} is not a number") from None
        if not math.isfinite(value):
            raise LabError(f"{name}={value} is not a finite number")
    return value


def _as_int(v: Any, what: str) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise LabError(f"{what}={v!r} is not a number") from None
    if not math.isfinite(f) or f != int(f):
        raise LabError(f"{what}={v!r} must be a whole number")
    return int(f)


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-.")[:40] or "run"


# ---- a session ----------------------------------------------------------------------------------------------

class Session:
    """One live run, its worker thread, its control flags and its history.

    States: idle (no run), queued (waiting for a training slot), training, paused, stopped (worker ended, the
    model kept), failed (NaN/inf or an error; the message says which), closed.
    """

    def __init__(self, config=None, lab: "Lab | None" = None, name: str = "session") -> None:
        self.config = config
        self.lab = lab
        self.name = name
        self.run = None
        self.state = "idle"
        self.message = ""
        self.speed = 0.0
        """Cap on iterations per second (0 = as fast as possible)."""
        self.max_steps: int | None = None
        """Stop by itself after this many steps (None = train until stopped)."""
        self._rows: list[dict[str, float]] = []
        self._samples: list[tuple[str, int | None]] = []
        self._hist: tuple[int, list[int], int] | None = None  # (step, counts per mode, invalid count)
        self._version = 0
        self.run_id = 0
        """Bumped when the run is replaced (reset, load): the UI resets the figures' zoom then."""
        self._lock = threading.Lock()  # guards rows, samples, state, message
        self._run_lock = threading.RLock()  # held around every use of self.run
        self.loaded = False
        """True when the run was opened from a checkpoint (the form does not describe it), False when built from it."""
        self._wake = threading.Condition()
        self._paused = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._holds_slot = False
        self._started_at: float | None = None
        self.first_scalars_s: float | None = None
        """Seconds from start() to the first Scalars event (what bench/app.py measures)."""

    # ---- control -------------------------------------------------------------------------------------------

    def configure(self, config) -> None:
        """Set the config of the next run; refused while a run exists (Reset first)."""
        if self.run is not None:
            raise LabError("this session already has a run: press Reset to start over with new settings")
        config.check()
        self.config = config
        self.loaded = False

    def prepare(self) -> None:
        """Build the run now (corpus, nets) so bad settings are reported to the caller rather than by the worker."""
        with self._run_lock:
            self._ensure_run()
        self._set_state(self.state, f"built {self.run.config.variant} on {self.run.corpus.name}")

    def start(self, max_steps: int | None = None) -> None:
        """Train in the background: a new run from `config` when there is none, else continue the current one."""
        if self.state == "closed":
            raise LabError("this session is closed")
        if self.state == "failed":
            raise LabError(f"the run failed ({self.message}); press Reset to start again")
        if self._thread is not None and self._thread.is_alive():
            self.resume()
            return
        if self.run is None and self.config is None:
            raise LabError("no run settings: configure the session first")
        self.max_steps = max_steps
        self._paused, self._stop = False, False
        self._started_at = time.perf_counter()
        self._set_state("queued" if self.lab is not None and not self.lab.has_free_slot() else "training",
                        "starting")
        self._thread = threading.Thread(target=self._work, name=f"textgan-{self.name}", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise LabError("nothing is training: press Train first")
        self._paused = True
        self._set_state("paused", f"paused at step {self.step_count}")

    def resume(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self.start(self.max_steps)
            return
        with self._wake:
            self._paused = False
            self._wake.notify_all()
        self._set_state("training", "")

    def stop(self, wait: float = 10.0) -> None:
        """End the worker; the model stays (save it, compare it, or Train to continue)."""
        self._stop = True
        with self._wake:
            self._wake.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(wait)
        if self.state not in ("failed", "closed", "idle"):
            self._set_state("stopped", f"stopped at step {self.step_count}")

    def reset(self) -> None:
        """Stop and discard the run and its history (settings stay, so Train starts afresh)."""
        self.stop()
        with self._run_lock, self._lock:
            self.run = None
            self._rows, self._samples, self._hist = [], [], None
            self.state, self.message = "idle", "reset: press Train to start a new run"
            self.run_id += 1
            self.first_scalars_s = None
            self._version += 1

    def close(self) -> None:
        """Stop and free everything (the browser tab went away)."""
        self.stop(wait=30.0)
        with self._run_lock:
            self.run = None
        self._set_state("closed", "closed")

    def step(self, what: str = "iteration") -> str:
        """One iteration, or one critic or generator update alone, while paused/stopped (GAN Lab's Step)."""
        if self.state in ("training", "queued"):
            raise LabError("pause first: Step runs single updates of a paused run")
        if self.state == "failed":
            raise LabError(f"the run failed ({self.message}); press Reset to start again")
        with self._run_lock:
            self._ensure_run()
            if what == "iteration":
                for ev in self.run.steps(1):
                    self._handle(ev)
                msg = f"one iteration: step {self.run.step}"
            elif what in ("critic", "generator"):
                try:
                    values = self.run.partial_step(what)
                except ValueError as e:
                    raise LabError(str(e)) from None
                self._record({"step": self.run.step, **values})
                msg = f"one {what} update at step {self.run.step}: " + ", ".join(
                    f"{k}={v:.4g}" for k, v in values.items() if k.startswith("loss"))
            else:
                raise LabError(f"unknown step {what!r}; choose iteration, critic or generator")
        if self.state in ("idle", "stopped"):
            self._set_state("paused" if self._alive() else "stopped", msg)
        else:
            self._set_state(self.state, msg)
        return msg

    def set_speed(self, steps_per_s: float | None) -> None:
        """Cap the training speed (iterations per second); 0 or None = full speed."""
        s = float(steps_per_s or 0)
        if not math.isfinite(s) or s < 0:
            raise LabError(f"speed {steps_per_s!r} must be >= 0 iterations per second (0 = full speed)")
        self.speed = s

    def update_hyperparameters(self, **changes: Any) -> dict[str, Any]:
        """Change the variant's settings (learning rates apply at once) and the batch size, keeping the model.

        Only while paused or stopped, so a change lands between iterations. Returns what was applied.
        """
        if self.state in ("training", "queued"):
            raise LabError("pause first: hyperparameters change while the run is paused")
        changes = {k: v for k, v in changes.items() if v is not None and v != ""}
        with self._run_lock:
            if self.run is None:
                raise LabError("no run yet: set the values in the form and press Train")
            batch = changes.pop("batch_size", None)
            if batch is not None:
                batch = _as_int(batch, "batch size")
                self._check_batch(batch, self.run.corpus)
            current = dataclasses.asdict(self.run.variant.cfg)
            variant = self.run.config.variant
            variant_changes = {k: v for k, v in ((k, _cast(variant, k, v)) for k, v in changes.items())
                               if current[k] != v}
            try:
                if variant_changes:
                    # Checked on a copy first: Variant.update assigns before it checks, so a refused value would
                    # otherwise stay in the live config.
                    from .variants.base import check_config

                    check_config(dataclasses.replace(self.run.variant.cfg, **variant_changes))
                    self.run.variant.update(**variant_changes)
            except ValueError as e:
                raise LabError(str(e)) from None
            applied = dict(variant_changes)
            if batch is not None and batch != self.run.config.batch_size:
                self.run.config.batch_size = batch
                applied["batch_size"] = batch
        self._set_state(self.state, "applied " + (", ".join(f"{k}={v}" for k, v in applied.items()) or "nothing"
                                                  " (no value changed)"))
        return applied

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the run directory atomically (between iterations; training goes on). Another run's directory is
        replaced only with `overwrite=True` (see Run.check_target)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("nothing to save: train a run first")
            try:
                out = self.run.save(path, overwrite=overwrite)
            except (RuntimeError, ValueError, OSError) as e:
                raise LabError(f"not saved: {e}") from None
        self._set_state(self.state, f"saved step {self.run.step} to {out}")
        return out

    def load(self, path: str | Path) -> None:
        """Continue a saved run in this session (replaces the current one)."""
        from .checkpoint import CheckpointError
        from .run import Run

        self.stop()
        try:
            run = Run.load(path, device=self.config.device if self.config else "auto")
        except (CheckpointError, ValueError, OSError) as e:
            raise LabError(f"cannot open {path}: {e}") from None
        with self._run_lock, self._lock:
            self.run, self.config, self.loaded = run, run.config, True
            self._rows = [dict(r) for r in run.history]
            self._samples = [(s, None) for s in run.last_samples]
            self._hist = None
            self.run_id += 1
            self.state, self.message = "stopped", f"loaded {Path(path).name} at step {run.step}: press Train to continue"
            self._version += 1

    # ---- what the UI polls ------------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return self.run.step if self.run is not None else 0

    @property
    def version(self) -> int:
        """Bumped on every change of the history, samples or status: a poll that sees the same value can skip."""
        return self._version

    def snapshot(self, max_points: int = 2000) -> dict[str, Any]:
        """Copies for the UI: status, message, step, the history DataFrame (thinned to about `max_points`
        rows, evaluation rows always kept), latest samples [(text, label)], and the mode histogram."""
        import pandas as pd

        with self._lock:
            rows = list(self._rows)
            samples = list(self._samples)
            hist = self._hist
            state, message, version = self.state, self.message, self._version
        if len(rows) > max_points:
            stride = math.ceil(len(rows) / max_points)
            rows = [r for i, r in enumerate(rows) if i % stride == 0 or i == len(rows) - 1
                    or any(k.startswith("eval/") for k in r)]
        df = pd.DataFrame(rows)
        if "step" in df:
            df = df.groupby("step", as_index=False, sort=True).last()
        corpus = self.run.corpus if self.run is not None else None
        k = getattr(corpus, "k", None)
        return {
            "state": state, "message": message, "version": version, "step": self.step_count, "run_id": self.run_id,
            "history": df,
            "samples": [(t, _label(m)) for t, m in samples],
            "hist": None if hist is None or k is None else {
                "step": hist[0], "counts": hist[1], "invalid": hist[2], "weights": list(corpus.weights)},
            "status": self.status_line(state, message),
        }

    def status_line(self, state: str | None = None, message: str | None = None) -> str:
        state = state or self.state
        message = self.message if message is None else message
        line = f"{state} · step {self.step_count}"
        if self.run is not None:
            line += f" · {self.run.config.variant} on {self.run.corpus.name} · {_device_label(self.run.device)}"
        if state == "queued" and self.lab is not None:
            line += f" · server busy: {self.lab.training_count()} of {self.lab.max_training} training slots in use, queued"
        if message:
            line += f" · {message}"
        return line

    # ---- the worker -----------------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._thread is not threading.current_thread()

    def _set_state(self, state: str, message: str | None = None) -> None:
        with self._lock:
            self.state = state
            if message is not None:
                self.message = message
            self._version += 1

    def _check_batch(self, batch: int, corpus) -> None:
        n = int(corpus.train.shape[0])
        if n and batch > n:
            raise LabError(f"batch size {batch} is larger than the corpus ({n} training sentences); "
                           f"choose at most {n}")

    def _ensure_run(self) -> None:
        if self.run is not None:
            return
        from .corpora import CorpusError
        from .run import Run

        try:
            from .corpora import build_corpus

            corpus = build_corpus(self.config.corpus)
            self._check_batch(self.config.batch_size, corpus)
            run = Run(self.config, corpus=corpus)
        except LabError:
            raise
        except (CorpusError, ValueError) as e:
            raise LabError(str(e)) from None
        with self._lock:
            self.run = run
            self._rows = []
            self._version += 1

    def _acquire_slot(self) -> bool:
        if self.lab is None or self._holds_slot:
            return True
        while not self._stop:
            if self.lab._slots.acquire(timeout=0.2):
                self._holds_slot = True
                return True
            if self.state != "queued":
                self._set_state("queued", "server busy, queued: training starts when a slot frees")
        return False

    def _release_slot(self) -> None:
        if self._holds_slot and self.lab is not None:
            self._holds_slot = False
            self.lab._slots.release()

    def _work(self) -> None:
        try:
            if self.lab is not None and self.lab.torch_threads:
                import torch

                if torch.get_num_threads() != self.lab.torch_threads:
                    torch.set_num_threads(self.lab.torch_threads)
            if not self._acquire_slot():
                return
            if self.state == "queued":
                self._set_state("training", "a slot freed: training")
            with self._run_lock:
                self._ensure_run()
            if self.state != "paused":
                self._set_state("training", "")
            while not self._stop:
                if self._paused:
                    self._release_slot()  # a paused run does not keep others waiting
                    with self._wake:
                        while self._paused and not self._stop:
                            self._wake.wait(0.5)
                    if self._stop or not self._acquire_slot():
                        break
                    if self.state == "queued":
                        self._set_state("training", "a slot freed: training")
                    continue
                if self.max_steps is not None and self.run.step >= self.max_steps:
                    self._set_state("stopped", f"done: {self.run.step} steps")
                    break
                t0 = time.perf_counter()
                with self._run_lock:
                    for ev in self.run.steps(1):
                        self._handle(ev)
                if self.state == "failed":
                    break
                if self.speed > 0:
                    delay = 1.0 / self.speed - (time.perf_counter() - t0)
                    if delay > 0:
                        with self._wake:
                            self._wake.wait(delay)
        except LabError as e:
            self._set_state("failed", str(e))
        except Exception as e:  # anything else: keep the server up and tell the user what happened
            traceback.print_exc()
            self._set_state("failed", f"{type(e).__name__}: {e}")
        finally:
            self._release_slot()

    def _handle(self, ev) -> None:
        if isinstance(ev, Scalars):
            if self.first_scalars_s is None and self._started_at is not None:
                self.first_scalars_s = time.perf_counter() - self._started_at
            self._record({"step": ev.step, **ev.values})
        elif isinstance(ev, Metrics):
            self._record({"step": ev.step, **ev.values})
        elif isinstance(ev, Samples):
            self._on_samples(ev)
        elif isinstance(ev, Saved):
            self._set_state(self.state, f"saved {ev.path}")
        elif isinstance(ev, Failed):
            self._set_state("failed", f"{ev.message} (the last saved checkpoint is kept)")

    def _record(self, row: dict[str, float]) -> None:
        with self._lock:
            if self._rows and self._rows[-1]["step"] == row["step"]:
                self._rows[-1] = {**self._rows[-1], **row}
            else:
                self._rows.append(row)
            self._version += 1

    def _on_samples(self, ev: Samples) -> None:
        corpus = self.run.corpus
        labels: list[int | None] = [None] * len(ev.texts)
        hist = None
        if hasattr(corpus, "classify_ids"):
            import torch

            if ev.ids:
                labels = corpus.classify_ids(torch.tensor(ev.ids)).tolist()
            ids = self.run.sample_tokens(HIST_SAMPLES, seed=10_007 + ev.step)
            modes = corpus.classify_ids(ids).tolist()
            counts = [0] * corpus.k
            for m in modes:
                if m >= 0:
                    counts[m] += 1
            hist = (ev.step, counts, sum(m < 0 for m in modes))
        with self._lock:
            self._samples = list(zip(ev.texts, labels))
            if hist is not None:
                self._hist = hist
            self._version += 1

    # ---- comparing ------------------------------------------------------------------------------------------

    def with_run(self, fn: Callable[[Any], Any]) -> Any:
        """Call fn(run) between iterations (for sampling or evaluating the live model)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("this session has no run yet")
            return fn(self.run)


def _label(mode: int | None) -> str:
    if mode is None:
        return ""
    return "invalid" if mode < 0 else f"mode {mode}"


def _device_label(device) -> str:
    from .device import describe_device

    return describe_device(device)


# ---- comparing runs -----------------------------------------------------------------------------------------

def quick_metrics(run, n: int = 500, seed: int = 0, temperature: float = 1.0) -> dict[str, float]:
    """The run's quick evaluation at a fixed seed and temperature, leaving the run's history untouched.
    Text corpora also get BLEU-4 against the test split and Self-BLEU-4 on at most 300 samples."""
    values = run.evaluate(n=n, seed=seed, temperature=temperature, record=False)
    if run.corpus.name == "text" and run.corpus.test.shape[0]:
        from .metrics import bleu, self_bleu

        toks = [run.corpus.tokens(r) for r in run.sample_tokens(min(n, 300), seed, temperature)]
        refs = [run.corpus.tokens(r) for r in run.corpus.test[:2000]]
        values["eval/bleu4"] = float(bleu(toks, refs, 4))
        values["eval/self_bleu4"] = float(self_bleu(toks, 4))
    return values


LOWER_IS_BETTER = ("nll", "self_bleu", "invalid")


def metrics_table(runs: dict[str, Any], n: int = 500, seed: int = 0, temperature: float = 1.0):
    """One row per run (index: its name): step, variant and its quick metrics; `df.attrs["best"]` maps each
    metric column to the name of the best run (higher is better except NLL and Self-BLEU)."""
    import pandas as pd

    rows = {}
    for name, run in runs.items():
        m = quick_metrics(run, n, seed, temperature)
        rows[name] = {"variant": run.config.variant, "step": run.step,
                      **{k.removeprefix("eval/"): round(v, 4) for k, v in m.items()}}
    df = pd.DataFrame.from_dict(rows, orient="index")
    best = {}
    for col in (df.columns if len(df) > 1 else ()):  # a best of one means nothing
        if col in ("variant", "step") or not pd.api.types.is_numeric_dtype(df[col]) or df[col].isna().all():
            continue
        lower = any(s in col for s in LOWER_IS_BETTER)
        best[col] = df[col].idxmin() if lower else df[col].idxmax()
    df.attrs["best"] = best
    return df


def mark_best(df):
    """The metrics table for display: the best value of each column gets a ★."""
    out = df.astype(object).copy()
    for col, name in df.attrs.get("best", {}).items():
        out.loc[name, col] = f"★ {df.loc[name, col]}"
    out.insert(0, "run", out.index)
    return out.reset_index(drop=True)


def side_by_side(runs: dict[str, Any], n: int = 8, seed: int = 0, temperature: float = 1.0):
    """Samples of every run drawn with the same seed and temperature, one column per run; on `modes` each
    sentence carries its mode ("[mode 3]" or "[invalid]")."""
    import pandas as pd

    cols = {}
    for name, run in runs.items():
        ids = run.sample_tokens(n, seed=seed, temperature=temperature)
        texts = run.corpus.decode_batch(ids)
        if hasattr(run.corpus, "classify_ids"):
            texts = [f"{t}  [{_label(m)}]" for t, m in zip(texts, run.corpus.classify_ids(ids).tolist())]
        cols[name] = texts
    return pd.DataFrame(cols)


def mode_counts(run, n: int = 500, seed: int = 0, temperature: float = 1.0) -> dict[str, Any]:
    """Per-mode counts of `n` fresh samples of a `modes` run, for `plots.mode_histogram(**mode_counts(run))`."""
    corpus = run.corpus
    if not hasattr(corpus, "classify_ids"):
        raise LabError(f"the {corpus.name!r} corpus has no modes to count")
    modes = corpus.classify_ids(run.sample_tokens(n, seed=seed, temperature=temperature)).tolist()
    counts = [0] * corpus.k
    for m in modes:
        if m >= 0:
            counts[m] += 1
    return {"counts": counts, "weights": list(corpus.weights), "invalid": sum(m < 0 for m in modes), "step": run.step}


def list_checkpoints(root: str | Path = "checkpoints") -> list[str]:
    """Run directories under `root` (those holding a config.json and generator weights), newest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    dirs = [p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")
            and (p / "config.json").is_file() and (p / "generator.safetensors").is_file()]
    return [str(p) for p in sorted(dirs, key=lambda p: p.stat().st_mtime, reverse=True)]


def load_run(path: str | Path, device: str = "auto"):
    """Run.load with a LabError carrying the checkpoint's message."""
    from .checkpoint import CheckpointError
    from .run import Run

    try:
        return Run.load(path, device=device)
    except (CheckpointError, ValueError, OSError) as e:
        raise LabError(f"cannot open {path}: {e}") from None


class Sweep:
    """Train the same corpus and seed with several variants (the Compare tab's one click), each with its own
    settings under `preset`, saving each under `out_root/<name>`: one after another on a CPU, all at once on a GPU
    (`concurrent=None` decides by the device). Runs on its own thread, each run takes a training slot; poll
    `.status`, `.done` and `.results` ({name: run dir, or "" when that run failed})."""

    def __init__(self, base, variants: list[str], steps: int, out_root: str | Path = "checkpoints",
                 lab: "Lab | None" = None, tag: str = "cmp", preset: str = "paper",
                 concurrent: bool | None = None) -> None:
        if not 1 <= len(variants) <= 4:
            raise LabError(f"choose 1 to 4 variants to train (got {len(variants)})")
        steps = _as_int(steps, "steps")
        if not 1 <= steps <= 100_000:
            raise LabError(f"steps={steps} must be in 1..100000")
        self.base, self.steps = base, steps
        self.configs = {}
        for variant in variants:
            info = variant_info(variant, preset)
            cfg = dataclasses.replace(base, variant=variant, variant_config=_variant_changes(variant, info["defaults"]),
                                      generator=info["generator"], critic=info["critic"])
            self.configs[f"{tag}-{variant}-{_slug(str(base.corpus.get('kind')))}-s{base.seed}"] = cfg
        self.out_root, self.lab = Path(out_root), lab
        self.concurrent = concurrent
        self.results: dict[str, str] = {}
        self.status = "waiting"
        self.done = False
        self.error: str | None = None
        self.sessions: dict[str, Session] = {}
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="textgan-sweep", daemon=True)

    def start(self) -> "Sweep":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        for s in list(self.sessions.values()):
            s.stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self) -> str:
        parts = []
        for name, s in self.sessions.items():
            v = s.config.variant
            parts.append(f"{v}: queued (server busy)" if s.state == "queued" else
                         f"{v}: failed ({s.message})" if s.state == "failed" else f"{v}: {s.step_count}/{self.steps}")
        return "training " + ", ".join(parts)

    def _finish(self, name: str, s: Session) -> None:
        if s.state == "failed" or s.run is None:
            self.results[name] = ""
        else:
            self.results[name] = str(s.save(self.out_root / name, overwrite=True))  # a rerun of the same comparison

    def _work(self) -> None:
        try:
            concurrent = self.concurrent
            if concurrent is None:
                from .device import resolve_device

                concurrent = resolve_device(self.base.device).type == "cuda"
            batches = [list(self.configs)] if concurrent else [[n] for n in self.configs]
            for names in batches:
                if self._stop:
                    break
                for name in names:
                    s = self.sessions[name] = Session(self.configs[name], lab=self.lab, name=name)
                    s.start(max_steps=self.steps)
                while any(self.sessions[n]._thread.is_alive() for n in names):
                    self.status = self._progress()
                    time.sleep(0.2)
                for name in names:
                    self._finish(name, self.sessions[name])
            failed = [self.configs[n].variant for n, p in self.results.items() if not p]
            self.status = ("done: " + ", ".join(Path(p).name for p in self.results.values() if p)
                           + (f"; failed: {', '.join(failed)} ({self._progress()})" if failed else ""))
        except Exception as e:  # surface, never crash the server
            traceback.print_exc()
            self.error = f"{type(e).__name__}: {e}"
            self.status = f"failed: {self.error}"
        finally:
            for s in self.sessions.values():
                s.run = None  # saved; free the memory
            self.done = True


# ---- the lab: sessions of one server ------------------------------------------------------------------------

class Lab:
    """Sessions keyed by the browser's session hash, with at most `max_training` runs training at once."""

    def __init__(self, max_training: int = 2, checkpoints: str | Path = "checkpoints",
                 torch_threads: int | None = None) -> None:
        self.max_training = max_training
        self.torch_threads = torch_threads
        """torch's intra-op threads for the whole process, set when the first run starts (None = torch's choice).
        On a few shared CPU cores, 1 is much faster: two spinning threads per op on an oversubscribed machine cost
        up to 100x (measured: a tiny GAN step 9 ms with 1 thread, 900 ms with 2 under load), and one thread leaves
        a core to the web server."""
        self.checkpoints = Path(checkpoints)
        self._slots = threading.BoundedSemaphore(max_training)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def session(self, key: str) -> Session:
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.state == "closed":
                s = self._sessions[key] = Session(lab=self, name=_slug(key)[:12] or "session")
            return s

    def get(self, key: str) -> Session | None:
        return self._sessions.get(key)

    def close(self, key: str) -> None:
        """Stop and free a session's run (its tab closed)."""
        with self._lock:
            s = self._sessions.pop(key, None)
        if s is not None:
            s.close()

    def close_all(self) -> None:
        for key in list(self._sessions):
            self.close(key)

    def has_free_slot(self) -> bool:
        return self.training_count() < self.max_training

    def training_count(self) -> int:
        """Runs holding a training slot now (sessions and Compare sweeps alike)."""
        return self.max_training - self._slots._value  # BoundedSemaphore keeps its free count in _value

    def __len__(self) -> int:
        return len(self._sessions)

