"""What the lab refuses and the small checks its modules share: the one exception type the UI shows as is."""

from __future__ import annotations

import math
import re
from typing import Any


class LabError(ValueError):
    """A request the lab refuses (bad input, wrong state); the message is shown to the user as is."""



def as_int(v: Any, what: str) -> int:
    """`v` as a whole number, or a LabError naming the field `what`."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise LabError(f"{what}={v!r} is not a number") from None
    if not math.isfinite(f) or f != int(f):
        raise LabError(f"{what}={v!r} must be a whole number")
    return int(f)


def slug(s: str) -> str:
    """`s` made safe as one path component (letters, digits, `_.-`; at most 40 characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-.")[:40] or "run"


