"""`FormValues`: the Train form as one value, its fields by name. The page sends the form as positional values (a
raw API caller sees the same order); `FormValues.from_inputs` is the one place that reads them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .errors import LabError


@dataclass
class FormValues:
    """What the Train form says, as the page sends it (unchecked: `forms.form_config` checks it field by field).

    The fields are declared in the order the page sends them; the hyperparameters follow them, one per name."""

    corpus: str = "modes"
    """modes, oracle, coco, hub, upload or path."""
    k: Any = 8
    """K, the number of modes (the modes corpus)."""
    upload: str | None = None
    """The uploaded file's path in Gradio's upload cache (the upload corpus)."""
    path: str | None = None
    """A server path (the path corpus) or a Hub dataset OWNER/NAME[:FILE] (the hub corpus)."""
    preset: str | None = "paper"
    variant: str = "wgan-gp"
    batch: Any = None
    """The batch size (None: the preset's)."""
    seed: Any = 0
    device: str = "auto"
    generator: str | None = None
    """The generator's kind (None: the variant's own net)."""
    generator_size: Any = None
    critic: str | None = None
    critic_size: Any = None
    weights: str | None = "uniform"
    """The modes corpus' weights: uniform, skewed or skewed-alike."""
    hparams: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters by name: any variant's (the form shows the union); only the chosen variant's are read."""

    @classmethod
    def from_inputs(cls, values: Sequence[Any], hp_names: Sequence[str]) -> "FormValues":
        """The form from the values the page sends: one per field above in order, then one per `hp_names`."""
        names = input_names()
        if len(values) != len(names) + len(hp_names):
            raise LabError(f"the form sent {len(values)} values; it has {len(names) + len(hp_names)} fields")
        it = iter(values)
        fixed = dict(zip(names, it))  # zip stops at the last name: the rest of `it` are the hyperparameters
        return cls(**fixed, hparams=dict(zip(hp_names, it)))

    def inputs(self, hp_names: Iterable[str]) -> list[Any]:
        """The values in the page's order (the inverse of `from_inputs`), for API callers and tests."""
        return [getattr(self, name) for name in input_names()] + [self.hparams.get(n) for n in hp_names]


def input_names() -> tuple[str, ...]:
    """The form's fields in the order the page sends them (before the hyperparameters)."""
    return tuple(f.name for f in dataclasses.fields(FormValues) if f.name != "hparams")
