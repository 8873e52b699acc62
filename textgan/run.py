"""`Run`: corpus + nets + variant built from one `RunConfig`, stepped as a stream of events, saved and resumed.

The run owns the loop (data batches, pre-training phase, logging cadence, NaN guard, checkpoints); the variant
owns the math. All randomness of a run flows from its own generators (data order, noise, sampling), saved in the
checkpoint, so k steps + save + load + m steps equals k + m steps bit for bit on the CPU.
"""

from __future__ import annotations

import dataclasses
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from . import __version__
from .checkpoint import CheckpointError, decode_state, encode_state, read_json, recover_run_dir, write_json, write_run_dir
from .checks import check_param_count
from .config import MAX_BATCH, RunConfig
from .corpora import PAD, UNK, Corpus, build_corpus, portable_spec
from .device import resolve_device
from .events import Event, Failed, Metrics, Samples, Saved, Scalars
from .history import History
from .metrics import ReferenceIndex, distinct_n, nll_gen, self_bleu, unique_ratio
from .nets import build_critic, build_generator, spec_of
from .rundir import (FORMAT, NET_FILES, check_target, read_history, read_metrics, read_samples, read_step,
                     rebuild_corpus, validate_run_dir)
from .variants import AdversarialVariant, get_variant, variant_config

__all__ = ["Run", "RunConfig", "MAX_BATCH"]


class Run:
    """A live training run. `steps(n)` yields events; `save`/`load` checkpoint it exactly."""

    def __init__(self, config: RunConfig, corpus: Corpus | None = None) -> None:
        config.check()
        self.config = config
        self.device = resolve_device(config.device)
        self.corpus = corpus if corpus is not None else build_corpus(config.corpus)
        n_train = self.corpus.train.shape[0]
        if 0 < n_train < config.batch_size:
            raise ValueError(f"batch size {config.batch_size} is larger than the {n_train} training sentences; "
                             f"use a batch size of at most {n_train}")
        variant_cls = get_variant(config.variant)
        cfg = variant_config(variant_cls, config.variant_config)
        gen_spec, critic_spec = variant_cls.fit_specs(*config.net_specs(), self.corpus)
        c = self.corpus
        with torch.device("meta"):  # sizes first: a config may ask for nets no machine can hold
            check_param_count({"generator": build_generator(gen_spec, c.vocab_size, c.seq_len, c.start_id),
                               "critic": build_critic(critic_spec, c.vocab_size, c.seq_len)
                               if critic_spec is not None else None})
        # Weights from the run's seed without disturbing (or depending on) the global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.gen = build_generator(gen_spec, c.vocab_size, c.seq_len, c.start_id).to(self.device)
            self.critic = (build_critic(critic_spec, c.vocab_size, c.seq_len).to(self.device)
                           if critic_spec is not None else None)
        self.rng = torch.Generator(self.device).manual_seed(config.seed)
        self.data_rng = torch.Generator().manual_seed(config.seed + 1)
        # What nets draw from torch's global RNG (dropout) comes from this run's own stream, swapped in around each
        # update: same seed, same run, whatever else the process does.
        self._global_rng = torch.Generator().manual_seed(config.seed + 2).get_state()
        self.cuda_rng_state = (torch.Generator(self.device).manual_seed(config.seed + 3).get_state()
                               if self.device.type == "cuda" else None)
        """The CUDA RNG's state for this run's stream (None off CUDA): whoever moves the run onto a GPU sets it."""
        self.dir: Path | None = Path(config.out) if config.out else None
        """The run directory: where it was created or loaded from (or last saved to). Periodic saves go here."""
        self._own_dirs: set[Path] = set()  # directories this run object has written: it may replace them
        self.notes: list[str] = []
        """Things a user should know about this run that are not errors (e.g. an inexact resume)."""
        self.variant = variant_cls(self.gen, self.critic, c, cfg, self.device, rng=self.rng)
        self.step = 0
        self.history = History()
        """Logged rows: all in history.csv when saved, a bounded thinned copy in memory (see textgan.history)."""
        self.last_samples: list[str] = []
        self.last_metrics: dict[str, float] = {}
        self.failed: str | None = None
        self.train_on_device: Tensor | None = None
        """The training set's copy on `device`, made on the first batch; whoever moves the run clears it."""

    # ---- training ------------------------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """'pretrain' while the variant's MLE pre-training lasts, then 'train'."""
        return "pretrain" if self.step < getattr(self.variant.cfg, "pretrain_steps", 0) else "train"

    def _batch(self, n_batches: int = 1) -> Tensor:
        """`n_batches` stacked random training batches `(n*B, L)`, drawn with replacement from the run's RNG."""
        train = self.corpus.train
        if train.shape[0] == 0:
            raise RuntimeError(f"this run has no training data: its text corpus ({self.corpus.spec.get('path')!r}) "
                               "is never read from a path inside a run directory. Pass the file again to continue "
                               "training (CLI: --corpus FILE --resume; Python: Run.load(dir, text_file=FILE))")
        if self.train_on_device is None:
            self.train_on_device = train.to(self.device)
        idx = torch.randint(0, train.shape[0], (n_batches * self.config.batch_size,), generator=self.data_rng)
        return self.train_on_device[idx.to(self.device)]

    @contextmanager
    def _run_rng(self, seed: int | None = None):
        """Torch's global RNG, for the duration, is this run's own stream (or, given `seed`, a throw-away stream
        seeded with it); the process's global RNG is restored afterwards."""
        cuda = self.device.type == "cuda"
        devices = [self.device.index if self.device.index is not None else torch.cuda.current_device()] if cuda else []
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
                yield
                return
            torch.set_rng_state(self._global_rng)
            if cuda:
                torch.cuda.set_rng_state(self.cuda_rng_state, self.device)
            yield
            self._global_rng = torch.get_rng_state()
            if cuda:
                self.cuda_rng_state = torch.cuda.get_rng_state(self.device)

    def train_step(self) -> dict[str, Tensor]:
        """One iteration of the current phase; returns the variant's 0-d tensors (not yet synchronised)."""
        with self._run_rng():
            if self.phase == "pretrain":
                out = self.variant.pretrain_step(self._batch())
            else:
                out = self.variant.step(self._batch(self.variant.batches_per_step))
        self.step += 1
        return out

    def partial_step(self, which: str) -> dict[str, float]:
        """One critic update or one generator update alone (the app's fine-grained Step); not counted as a step."""
        v = self.variant
        if not isinstance(v, AdversarialVariant) or self.phase == "pretrain":
            raise ValueError(f"{v.name} in phase {self.phase!r} has no separate critic/generator updates")
        with self._run_rng():
            out = v.critic_step(self._batch()) if which == "critic" else v.gen_step(self.config.batch_size)
        return {k: float(t) for k, t in out.items()}

    def steps(self, n: int) -> Iterator[Event]:
        """Train `n` iterations, yielding Scalars / Samples / Metrics / Saved / Failed events as they happen."""
        cfg = self.config
        if self.failed:
            yield Failed(self.step, f"run already failed: {self.failed}")
            return
        for _ in range(n):
            phase = self.phase
            try:
                out = self.train_step()
            except (torch.cuda.OutOfMemoryError, MemoryError) as e:
                yield self._fail(_oom_message(self.step + 1, cfg.batch_size, e))
                return
            except RuntimeError as e:  # the CPU allocator reports exhaustion as a RuntimeError
                if "allocate" not in str(e) and "out of memory" not in str(e):
                    raise
                yield self._fail(_oom_message(self.step + 1, cfg.batch_size, e))
                return
            if self.step % cfg.log_every == 0 or self.step == 1:
                values = {k: float(v) for k, v in out.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    yield self._fail(f"{bad[0]} became {values[bad[0]]} at step {self.step}; lower the learning "
                                     "rates or change the variant's settings")
                    return
                values["phase"] = 0.0 if phase == "pretrain" else 1.0
                self.history.record({"step": self.step, **values})
                yield Scalars(self.step, values)
            if cfg.sample_every and self.step % cfg.sample_every == 0:
                yield self.samples_event()
            if cfg.eval_every and self.step % cfg.eval_every == 0:
                yield Metrics(self.step, self.evaluate())
            if cfg.save_every and self.dir is not None and self.step % cfg.save_every == 0:
                bad = self.non_finite()
                if bad:  # checked before every save, not only at logged steps: the last good checkpoint stays
                    yield self._fail(f"the weights of the {bad} are not finite (NaN or infinite) at step {self.step}; lower the "
                                     "learning rates or change the variant's settings")
                    return
                yield Saved(self.step, self.save())

    def non_finite(self) -> str | None:
        """'generator' or 'critic' when a weight of that net is NaN or infinite, else None (one device sync)."""
        nets = [("generator", self.gen)] + ([("critic", self.critic)] if self.critic is not None else [])
        flags = torch.stack([torch.stack([p.isfinite().all() for p in net.parameters()]).all() for _, net in nets])
        for (name, _), ok in zip(nets, flags.tolist()):
            if not ok:
                return name
        return None

    def _fail(self, message: str) -> Failed:
        self.failed = message
        return Failed(self.step, message)

    # ---- sampling and evaluation ---------------------------------------------------------------------------

    def _sample_rng(self, seed: int | None) -> torch.Generator:
        # Display/eval sampling never touches the training RNG: same seed -> same samples, and exact resume
        # does not depend on how often a UI asked for samples.
        s = seed if seed is not None else self.config.seed * 1_000_003 + self.step
        return torch.Generator(self.device).manual_seed(s)

    @torch.no_grad()
    def sample_tokens(self, n: int, seed: int | None = None, temperature: float = 1.0) -> Tensor:
        """`(n, L)` generated ids."""
        if not 0 <= temperature <= 100:
            raise ValueError(f"temperature={temperature} must be in [0, 100] (0 = greedy)")
        rng = self._sample_rng(seed)
        with self._run_rng(seed=int(rng.initial_seed()) % 2**63):
            return self._sample_tokens(n, rng, temperature)

    def _sample_tokens(self, n: int, rng: torch.Generator, temperature: float) -> Tensor:
        return torch.cat([self.gen.sample(min(1024, n - i), temperature=temperature, rng=rng)
                          for i in range(0, n, 1024)]) if n > 0 else torch.zeros(0, self.corpus.seq_len, dtype=torch.long)

    def sample_texts(self, n: int, seed: int | None = None, temperature: float = 1.0) -> list[str]:
        return self.corpus.decode_batch(self.sample_tokens(n, seed, temperature))

    def samples_event(self) -> Samples:
        ids = self.sample_tokens(self.config.show_samples)
        self.last_samples = self.corpus.decode_batch(ids)
        return Samples(self.step, self.last_samples, ids.tolist())

    @torch.no_grad()
    def evaluate(self, n: int | None = None, seed: int | None = None, temperature: float = 1.0,
                 record: bool = True) -> dict[str, float]:
        """Metrics on fresh samples: the corpus's own (mode precision/coverage/entropy, NLL-oracle), distinct-2,
        unique ratio, BLEU-2..4 against the whole test split and Self-BLEU-4 (when there are 2+ samples) on text
        corpora, and NLL-gen (the generator on up to 1000 test rows, PAD positions excluded) for autoregressive
        generators, with `eval/unk_share`: the share of those scored tokens that are `<unk>` (whose NLL flatters
        the generator), so the two are always read together. On text corpora also `eval/nll_gen_train`, the
        published convention: NLL-gen on (the first 1000 rows of) the training file.
        `record=False` leaves the run's history and latest metrics untouched (comparisons, sweeps)."""
        samples = self.sample_tokens(n or self.config.eval_samples, seed, temperature)
        seqs = [self.corpus.strip(row) for row in samples.cpu()]
        values = {f"eval/{k}": v for k, v in self.corpus.evaluate(samples).items()}
        values["eval/distinct2"] = distinct_n(seqs, 2)
        values["eval/unique"] = unique_ratio(seqs)
        if "eval/bleu4" in self.corpus.metrics and self.corpus.test.shape[0]:
            for order, value in self._reference_index().bleu(seqs, (2, 3, 4)).items():
                values[f"eval/bleu{order}"] = value
            if len(seqs) >= 2:  # each sentence is scored against the others
                values["eval/self_bleu4"] = self_bleu(seqs[:1000], 4)
        test = self.corpus.test
        if getattr(self.gen, "autoregressive", False) and test.shape[0]:
            pad = PAD if self.corpus.has_specials else None
            scored = test[:1000]
            with self._run_rng(seed=self.config.seed):
                values["eval/nll_gen"] = nll_gen(self.gen, scored.to(self.device), pad_id=pad)
            if self.corpus.has_specials:
                values["eval/unk_share"] = float((scored[scored != PAD] == UNK).float().mean())
        train = self.corpus.train
        if getattr(self.gen, "autoregressive", False) and self.corpus.name == "text" and train.shape[0]:
            # the published convention (RelGAN, TextGAN-PyTorch): NLL-gen on the training file, here its first 1000
            with self._run_rng(seed=self.config.seed):
                values["eval/nll_gen_train"] = nll_gen(self.gen, train[:1000].to(self.device),
                                                       pad_id=PAD if self.corpus.has_specials else None)
        if not record:
            return values
        self.last_metrics = values
        self.history.record({"step": self.step, **values})  # merged into this step's row when there is one
        return values

    def _reference_index(self):
        """BLEU's n-gram index over the test split, built once per run."""
        if getattr(self, "_bleu_index", None) is None:
            self._bleu_index = ReferenceIndex([self.corpus.strip(r) for r in self.corpus.test], max_n=4)
        return self._bleu_index

    # ---- checkpoints ---------------------------------------------------------------------------------------

    def _rng_state(self) -> dict[str, Tensor]:
        state = {"run": self.rng.get_state(), "data": self.data_rng.get_state(), "torch": self._global_rng}
        if self.cuda_rng_state is not None:
            state["cuda"] = self.cuda_rng_state
        return state

    def check_target(self, path: str | Path, overwrite: bool = False) -> Path:
        """`path` if this run may save there, else a ValueError saying why not (`rundir.check_target`): a new or
        empty directory, the run's own directory (`self.dir`), any directory this run object saved to, and with
        `overwrite=True` another run directory."""
        own = set(self._own_dirs) | ({self.dir.resolve()} if self.dir is not None else set())
        return check_target(path, own, overwrite)

    def save(self, path: str | Path | None = None, overwrite: bool = False) -> Path:
        """Write the run directory atomically (see checkpoint.write_run_dir) and return its path.

        Without `path`, into the run's own directory. The target is checked first (`check_target`): a save
        replaces only a directory of this run, unless `overwrite=True` lets it replace another run directory. The
        saved directory becomes the run's directory."""
        target = path if path is not None else self.dir
        if target is None:
            raise ValueError("no directory to save to: pass a path or set RunConfig.out")
        target = self.check_target(target, overwrite)
        if self.failed:
            raise RuntimeError(f"not saving a failed run over the last good checkpoint ({self.failed})")
        bad = self.non_finite()
        if bad:
            raise RuntimeError(f"not saving: the weights of the {bad} are not finite (NaN or infinite); the last "
                               "good checkpoint is kept")
        gen_spec, critic_spec = spec_of(self.gen), (spec_of(self.critic) if self.critic is not None else None)
        run_dict = {**self.config.to_dict(), "generator": gen_spec, "critic": critic_spec,
                    "corpus": portable_spec(self.corpus.spec)}
        run_dict.pop("out")  # a run directory is where it is, never a path written inside it
        config = {"format": FORMAT, "textgan_version": __version__, "step": self.step, "run": run_dict,
                  "variant_paper": self.variant.paper, "corpus_info": self.corpus.describe()}
        tensors, skeleton = encode_state({"variant": self.variant.state_dict(), "rng": self._rng_state()})

        def weights(module):
            return lambda p: save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, str(p))

        files = {
            "config.json": write_json(config),
            NET_FILES["generator"]: weights(self.gen),
            "state.safetensors": lambda p: save_file(tensors, str(p)),
            "state.json": write_json({"step": self.step, "state": skeleton,
                                      "variant_config": dataclasses.asdict(self.variant.cfg)}),
            "vocab.json": write_json(self.corpus.vocab),
            "history.csv": self.history.write_csv,
            "samples.txt": lambda p: p.write_text("".join(s + "\n" for s in self.last_samples), encoding="utf-8"),
            "metrics.json": write_json({"step": self.step, **self.last_metrics}),
        }
        if self.critic is not None:
            files[NET_FILES["critic"]] = weights(self.critic)
        # A generator may add its own entries, e.g. the GPT-2 generator's `hf/` folder (a plain transformers model).
        export = getattr(self.gen, "export_files", None)
        if export is not None:
            files.update(export())
        if self.corpus.tokenizer is not None:
            files["tokenizer.json"] = lambda p: self.corpus.tokenizer.save(str(p))
        written = write_run_dir(target, files)
        self.dir = Path(target)
        self._own_dirs.add(written.resolve())
        return written

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", corpus: Corpus | None = None,
             text_file: str | Path | None = None, test_file: str | Path | None = None) -> "Run":
        """Rebuild a saved run, validated first (see rundir.validate_run_dir), ready to sample or resume.

        The run's directory is `path`: a path inside its files is never used. A text corpus is recorded by file
        name and content hash, never read from a path in config.json: pass its file as `text_file` (and
        `test_file`, when it had one) to continue training; the content must match. Without it the corpus is
        rebuilt from vocab.json alone: sampling, decoding and evaluation that needs no data work; training asks
        for the corpus.
        """
        root = Path(path)
        if recover_run_dir(root):
            pass  # a save killed between its renames: the newest complete copy is back in place
        config = validate_run_dir(root)
        rc = RunConfig.from_dict({**config["run"], "device": device, "out": None})
        if corpus is None and text_file is not None:
            if rc.corpus.get("kind") != "text":
                raise ValueError(f"this run was trained on the {rc.corpus.get('kind')!r} corpus, not a text file")
            corpus = build_corpus({**rc.corpus, "path": str(text_file),
                                   "test_path": str(test_file) if test_file else None})
        if corpus is None:
            corpus = rebuild_corpus(root, rc.corpus, config["corpus_info"])
        if corpus.vocab_size != config["corpus_info"]["vocab_size"] or corpus.seq_len != config["corpus_info"]["seq_len"]:
            raise CheckpointError(f"the rebuilt corpus ({corpus.vocab_size} tokens, length {corpus.seq_len}) does not "
                                  f"match the checkpoint ({config['corpus_info']['vocab_size']}, "
                                  f"{config['corpus_info']['seq_len']})")
        run = cls(rc, corpus=corpus)
        run.dir = root
        run.gen.load_state_dict(load_file(str(root / NET_FILES["generator"]), device=str(run.device)))
        if run.critic is not None:
            run.critic.load_state_dict(load_file(str(root / NET_FILES["critic"]), device=str(run.device)))
        if (root / "state.json").is_file() and (root / "state.safetensors").is_file():
            meta = read_json(root / "state.json", dict)
            try:
                state = decode_state(meta["state"], load_file(str(root / "state.safetensors")))
                run.variant.cfg = variant_config(type(run.variant), meta.get("variant_config", {}))
                run.variant.load_state_dict(state["variant"])
                rng = state["rng"]
                run.rng.set_state(rng["run"].to(torch.uint8))
                run.data_rng.set_state(rng["data"].to(torch.uint8))
                run._global_rng = rng["torch"].to(torch.uint8)
                if "cuda" in rng and run.device.type == "cuda":
                    run.cuda_rng_state = rng["cuda"].to(torch.uint8)
            except CheckpointError:
                raise
            except (KeyError, TypeError, ValueError, RuntimeError) as e:
                raise CheckpointError(f"state.json / state.safetensors do not hold this run's state: {e}") from None
        else:
            missing = [n for n in ("state.json", "state.safetensors") if not (root / n).is_file()]
            run.notes.append(f"{' and '.join(missing)} missing: the optimizer and random-number state start "
                             "afresh, so continuing is not an exact resume")
        run.step = read_step(config)
        run.history = read_history(root)
        run.last_samples = read_samples(root)
        run.last_metrics = read_metrics(root)
        return run


def _oom_message(step: int, batch_size: int, error: BaseException) -> str:
    where = "GPU" if isinstance(error, torch.cuda.OutOfMemoryError) else "memory"
    return (f"out of {where} at step {step} with batch size {batch_size}: lower the batch size or the net sizes "
            "(the last saved checkpoint is kept)")
