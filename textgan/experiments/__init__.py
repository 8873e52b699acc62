"""Many runs at once: sweeps of variants × seeds × settings, on Ray Tune or in this process, and their reports.

    spec = SweepSpec.from_dict({...})        # or load_spec("sweep.yaml"); every error before anything starts
    run_on_ray(spec, "experiments/x")        # Ray Tune: local Ray, or address= a cluster; search="optuna"
    run_in_process(spec, "experiments/x")    # the same trials one after another, no Ray (the app on a Space);
                                             # Ctrl-C keeps what finished, resume=True goes on
    write_report("experiments/x")            # report.html (+ summary.md/.tex, figures/) from the tables

Modules: spec (what to run), trial (one trial, any backend), local / ray_tune (backends), search (Tune search
algorithms), results (the tables; Student's t is `textgan.stats`), samples (each trial's samples for the report),
temperature (quality-diversity sweeps), report and export (HTML, Markdown/LaTeX tables, static figures),
local_cluster (a throwaway Ray cluster of several nodes on this machine: the cluster test and
`bench/sweep.py two-nodes`).

Importing this package starts nothing; Ray and plotly are imported only by the functions that use them.
"""

from .local import run_in_process
from .ray_tune import run_on_ray
from .report import write_report
from .spec import Budget, SpecError, SweepSpec, Trial, load_spec
from .temperature import temperature_sweep

__all__ = ["Budget", "SpecError", "SweepSpec", "Trial", "load_spec", "run_in_process", "run_on_ray",
           "temperature_sweep", "write_report"]
