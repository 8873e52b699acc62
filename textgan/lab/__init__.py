"""The lab: the UI-agnostic controller behind the app (and notebooks). Nothing here imports gradio, so every
control is tested without a browser; the app (`app.py`, `textgan/app/`) talks to the engine only through this package and
`textgan.plots`.

Where things live:
- `forms.py`    the Train form -> a checked RunConfig (presets, variant defaults, net and corpus specs)
- `session.py`  **where a session trains**: one live Run per browser session on a worker thread, its controls
                (pause / resume / step / stop / reset / save / load) and `snapshot()` for the UI's poll; its
                training loop is `session_loop.py`, its saves and autosaves `session_store.py` (`autosaves.py`),
                what polls read `session_view.py`
- `session_policy.py` `SessionPolicy` (a session's budget and folders, handed to it by its lab) and `SessionHost`
                (what a session asks of its lab): a session never imports the server
- `server.py`   `Lab`: the visitors of one server (one session each), the slots they queue for, and `Lab.admit`,
                the one place a visitor is charged before work (`charge_disk`, `allow` for uploads, pulls, pushes)
- `quota.py`    `Policy` (every limit, from the operator's environment), the `Ledger` of what each visitor used,
                visitor keys and ids, model and save sizes
- `slots.py`    `Slots`: the training slots as a first-come, first-served queue with a place and a wait
- `compare.py`  comparing runs: quick metrics, best-per-column table, side-by-side samples, saved runs
- `multi.py`    `Sweep`: the Compare tab's "Train and compare" (several variants, same corpus and seed), on the
                experiments engine's in-process backend
- `experiments.py` experiment directories (`python -m textgan sweep`) the Compare tab opens
- `sharing.py`  push / pull a run on the Hugging Face Hub for the Hub tab
- `errors.py`   `LabError`: a refusal whose message the UI shows as is

The UI side: `textgan/app/train_tab.py` (the Train tab), `textgan/app/compare_tab.py` (**where the Compare tab is wired**),
`textgan/app/hub_tab.py`; `textgan/app/main.py` composes them.
"""

from . import forms, sharing
from .compare import (HIGHER_IS_BETTER, LOWER_IS_BETTER, PRECISION_FLOOR, QD_TEMPERATURES, direction, history_frame,
                      list_checkpoints, load_run, mark_best, metrics_table, mode_counts, quick_metrics, side_by_side,
                      temperature_sweep)
from .errors import LabError, as_int, shown, shown_path, slug, without_server_paths
from .experiments import list_experiments, open_experiment
from .forms import (LIVE_CADENCE, MAX_UPLOAD_BYTES, SIZE_FIELDS, check_upload, corpus_spec, form_config, form_net,
                    make_config, net_kinds, net_size, net_spec, presets, size_field, variant_defaults, variant_info)
from .multi import Sweep
from .server import Lab
from .session import HIST_SAMPLES, Session
from .session_store import saved_corpus
from .sharing import pull_run, push_run, visitor_token

_as_int, _slug = as_int, slug  # the names the app and notebooks used before the split

__all__ = ["HIGHER_IS_BETTER", "HIST_SAMPLES", "LIVE_CADENCE", "LOWER_IS_BETTER", "MAX_UPLOAD_BYTES", "PRECISION_FLOOR",
           "QD_TEMPERATURES", "SIZE_FIELDS", "Lab", "LabError", "Session", "Sweep", "as_int", "check_upload",
           "corpus_spec", "direction", "form_config", "form_net", "forms", "history_frame", "list_checkpoints",
           "list_experiments", "load_run", "make_config", "mark_best", "metrics_table", "mode_counts", "net_kinds",
           "net_size", "net_spec", "open_experiment", "presets", "pull_run", "push_run", "quick_metrics",
           "saved_corpus", "sharing", "shown", "shown_path", "side_by_side", "size_field", "slug", "temperature_sweep",
           "variant_defaults",
           "variant_info", "visitor_token", "without_server_paths"]
