"""A session's run directories: Save (asking before replacing another directory), the autosave that keeps an
unsaved run before Reset or a closed tab discards it, and Load (bounded before anything is read).

`SavedRun` is one side of `session.Session` (it needs the session's `run`, `policy`, `lab`, `name`, its run lock
and its view): the session's saves in one place, apart from its controls and its training loop."""

from __future__ import annotations

import logging
from pathlib import Path

from ..checkpoint import CheckpointError, read_json
from ..run import Run
from .autosaves import new_autosave_dir
from .errors import LabError, shown_path
from .quota import folder_bytes, save_bytes, step_units

log = logging.getLogger(__name__)


class SavedRun:
    """Save, autosave and load for a `Session`; remembers where the run was last written or read."""

    _saved_step: int | None = None  # the step last written to (or read from) a run directory
    _saved_dir: Path | None = None  # ... and that directory
    _asked_overwrite: Path | None = None  # a Save that was refused once because its directory exists

    @property
    def unsaved(self) -> bool:
        """True when the run has steps that no run directory holds."""
        run = self.run
        return run is not None and run.step > 0 and run.step != self._saved_step

    def forget_saves(self) -> None:
        """A new run: a Save asks again before replacing the old one's directory."""
        self._saved_step = self._saved_dir = None

    def save_as(self, path: str | Path) -> Path:
        """The Save button: like `save`, but a directory that exists and is not where this session last saved is
        replaced only when asked twice in a row (the first request is refused with a message saying so)."""
        target = Path(path)
        if target.exists() and target.resolve() != self._saved_dir and target.resolve() != self._asked_overwrite:
            self._asked_overwrite = target.resolve()
            raise LabError(f"{target.name} already exists: press Save again to replace it, or type another name")
        self._asked_overwrite = None
        return self.save(target, overwrite=target.exists())  # asked twice, or where this session last saved

    def autosave(self) -> Path | None:
        """Keep an unsaved run before it is discarded (Reset, a closed or reloaded tab) in a new autosave directory
        of the visitor's folder; returns it, or None when there was nothing to keep (or no lab, or the save
        failed)."""
        if self.policy is None or not self.unsaved or self.run.failed:
            return None
        run = self.run
        target = new_autosave_dir(self.policy.folder, f"{run.config.variant}-{run.corpus.name}",
                                  self.policy.autosaves_kept)
        try:
            return self.save(target)
        except LabError as e:
            log.warning("autosave of %s skipped: %s", self.name, e)
            return None

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the run directory atomically (between iterations; training goes on). Another run's directory is
        replaced only with `overwrite=True` (see Run.check_target)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("nothing to save: train a run first")
            if self.lab is not None:
                self.lab.charge_disk(self.name, max(0, save_bytes(self.run) - folder_bytes(Path(path))))
            try:
                out = self.run.save(path, overwrite=overwrite)
            except (RuntimeError, ValueError, OSError) as e:
                raise LabError(f"not saved: {e}") from None
            self._saved_step, self._saved_dir = self.run.step, Path(out).resolve()
        shown = shown_path(out, self.policy.checkpoints) if self.policy is not None else out  # never the server's
        self.set_state(self.state, f"saved step {self.run.step} to {shown}")
        return out

    def load(self, path: str | Path) -> None:
        """Continue a saved run in this session (replaces the current one)."""
        self.stop()
        if self.policy is not None:
            check_saved_size(Path(path), self.policy.max_params)
        corpus = saved_corpus(Path(path))
        if self.lab is not None:
            self.lab.allow_corpus(self.name, corpus)  # reopening downloads a hub: corpus again
        try:
            run = Run.load(path, device=self.config.device if self.config else "auto",
                           text_file=self._stored_upload(path, corpus))
        except (CheckpointError, ValueError, OSError) as e:
            raise LabError(f"cannot open {path}: {e}") from None
        if self.lab is not None:
            nets = [n for n in (run.gen, run.critic) if n is not None]
            self.step_units = step_units(sum(q.numel() for n in nets for q in n.parameters()), run.config.batch_size)
        with self._run_lock:
            self.run, self.config, self.loaded = run, run.config, True
            self._saved_step, self._saved_dir = run.step, Path(path).resolve()
            self.view.new_run("stopped", f"loaded {Path(path).name} at step {run.step}: press Train to continue",
                              [(s, None) for s in run.last_samples])

    def _stored_upload(self, path: str | Path, corpus: dict) -> Path | None:
        """The lab's stored copy of the upload a text run (its `corpus` spec) was trained on, so a saved run continues
        training: in the uploads of the folder the run was saved in (a visitor's), else in the checkpoints folder's
        (where uploads were kept before); None when there is none."""
        if self.policy is None:
            return None
        uploads = self.policy.uploads.name
        return stored_upload(corpus, [Path(path).parent / uploads, self.policy.checkpoints / uploads])


def check_saved_size(path: Path, cap: int) -> None:
    """Refuse a saved run whose weights hold more than `cap` parameters, before loading any (float32 weights: 4
    bytes a parameter)."""
    size = sum(f.stat().st_size for f in (path / "generator.safetensors", path / "critic.safetensors")
               if f.is_file())
    if size // 4 > cap:
        raise LabError(f"cannot open {path.name}: its nets hold about {size // 4:,} parameters, over this "
                       f"server's {cap:,} for app runs (open it with the CLI on your own machine)")


def saved_corpus(path: Path) -> dict:
    """The corpus spec the saved run in `path` names ({} when its config cannot be read: Run.load says why)."""
    try:
        spec = read_json(path / "config.json", dict).get("run", {}).get("corpus", {})
    except (CheckpointError, AttributeError):
        return {}
    return spec if isinstance(spec, dict) else {}


def stored_upload(corpus: dict, folders: list[Path]) -> Path | None:
    """The copy, in the first of `folders` that has one, of the text file a run's `corpus` spec was trained on, or
    None."""
    name = Path(str(corpus.get("path") or "")).name if corpus.get("kind") == "text" else ""
    if not name.endswith(".txt"):
        return None
    return next((folder / name for folder in folders if (folder / name).is_file()), None)
