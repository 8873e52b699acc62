"""Experiment trackers fed from a Run's event stream (`Run.steps()`): trackio and TensorBoard, both optional extras
(`pip install "textgan[track]"`), both offline-capable, both consumers of the same `Scalars` / `Metrics` /
`Samples` / `Failed` events the CLI and the app read.

    with open_trackers(["tensorboard"], name="wgan-gp-s0", config=run.config.to_dict(), log_dir=Path("tb")) as t:
        for event in run.steps(1000):
            t.log(event)

- `tensorboard`: one event file per run under `log_dir/<name>/` (torch's SummaryWriter): every scalar and metric
  at its step, the samples as text.
- `trackio`: a local trackio project (`project`, default "textgan"; stored under TRACKIO_DIR, else the Hugging Face
  cache; `trackio show` opens its dashboard), one run per `name`, the config recorded. Nothing leaves the machine
  unless the user sets trackio's own TRACKIO_SPACE_ID / TRACKIO_SERVER_URL.
A tracker that is not installed is a one-line error naming the install command, before training starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

from .events import Failed, Metrics, Samples, Scalars

log = logging.getLogger(__name__)
TRACKERS = ("trackio", "tensorboard")
INSTALL = 'pip install "textgan[track]"  (or: pip install trackio tensorboard)'


def parse_trackers(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """`"trackio,tensorboard"` (or a list of such) -> ("trackio", "tensorboard"), each checked."""
    if not text:
        return ()
    items = [text] if isinstance(text, str) else list(text)
    names = tuple(dict.fromkeys(n.strip() for item in items for n in str(item).split(",") if n.strip()))
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise ValueError(f"--log-to {','.join(unknown)}: unknown tracker; choose from {', '.join(TRACKERS)}")
    return names


@contextlib.contextmanager
def _needs(package: str) -> Iterator[None]:
    """An optional tracker's import: without its package, one line saying what to install."""
    try:
        yield
    except ImportError as e:
        raise RuntimeError(f"--log-to {package} needs the {package} package ({e}); install it with: "
                           f"{INSTALL}") from None


class TensorBoardSink:
    """Scalars and metrics as TensorBoard scalars, samples as text, a failure as text."""

    def __init__(self, log_dir: Path, name: str, config: dict[str, Any]) -> None:
        with _needs("tensorboard"):
            from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(log_dir=str(Path(log_dir) / name))
        self.writer.add_text("config", "    " + _json(config).replace("\n", "\n    "), 0)

    def log(self, event: Any) -> None:
        if isinstance(event, (Scalars, Metrics)):
            for key, value in event.values.items():
                if _is_number(value):
                    self.writer.add_scalar(key, float(value), event.step)
        elif isinstance(event, Samples):
            self.writer.add_text("samples", "\n\n".join(f"    {t}" for t in event.texts[:20]), event.step)
        elif isinstance(event, Failed):
            self.writer.add_text("failed", event.message, event.step)

    def close(self) -> None:
        self.writer.close()


class TrackioSink:
    """Scalars and metrics logged to a local trackio run at their step; samples as a trackio Table."""

    def __init__(self, project: str, name: str, config: dict[str, Any]) -> None:
        with _needs("trackio"):
            import trackio
        self.trackio = trackio
        with contextlib.redirect_stdout(sys.stderr):  # trackio prints its banner; stdout is the CLI's answer
            self.run = trackio.init(project=project, name=name, config=config, embed=False, auto_log_cpu=False,
                                    auto_log_gpu=False, resume="allow")  # a restarted trial goes on in its run

    def log(self, event: Any) -> None:
        if isinstance(event, (Scalars, Metrics)):
            values = {k: float(v) for k, v in event.values.items() if _is_number(v)}
            if values:
                self.run.log(values, step=event.step)
        elif isinstance(event, Samples) and event.texts:
            table = self.trackio.Table(columns=["sample"], data=[[t] for t in event.texts[:20]])
            self.run.log({"samples": table}, step=event.step)

    def close(self) -> None:
        with contextlib.redirect_stdout(sys.stderr):
            self.trackio.finish()  # module-level: it also clears the current run (no second finish at exit)


class Trackers:
    """Several sinks behind one `log(event)`; a sink that raises while logging is dropped with one warning, so a
    tracker never ends a training run, and is still closed at the end (what it buffered is flushed)."""

    def __init__(self, sinks: list[Any]) -> None:
        self.sinks, self.dropped = list(sinks), []

    def log(self, event: Any) -> None:
        for sink in list(self.sinks):
            try:
                sink.log(event)
            except Exception as e:  # a tracker's disk or server trouble must not stop training
                log.warning("tracker %s stopped logging: %s", type(sink).__name__, e)
                self.sinks.remove(sink)
                self.dropped.append(sink)

    def close(self) -> None:
        for sink in self.sinks + self.dropped:
            try:
                sink.close()
            except Exception as e:
                log.warning("tracker %s did not close cleanly: %s", type(sink).__name__, e)


@contextlib.contextmanager
def open_trackers(kinds: Iterable[str], name: str, config: dict[str, Any], log_dir: Path | None = None,
                  project: str = "textgan") -> Iterator[Trackers]:
    """The trackers named in `kinds`, opened for one run and closed after it (also on an exception)."""
    trackers = Trackers([])
    try:
        for kind in parse_trackers(list(kinds)):
            if kind == "tensorboard":
                trackers.sinks.append(TensorBoardSink(Path(log_dir or "tensorboard"), name, config))
            else:
                trackers.sinks.append(TrackioSink(project, name, config))
        yield trackers
    finally:
        trackers.close()


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return not isinstance(v, bool)


def _json(config: dict[str, Any]) -> str:

    return json.dumps(config, indent=2, default=str)
