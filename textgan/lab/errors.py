"""What the lab refuses and the small checks its modules share: the one exception type the UI shows as is."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
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


_MARKUP = {c: f"&#{ord(c)};" for c in "&<>[]`*#$\\@"}
"""Characters that start HTML or Markdown: tags and entities, links and images, code, emphasis, headings, math,
escapes and autolinked e-mail addresses. Each becomes its numeric character reference, which both render as the
character itself. Autolinked URLs are broken at `://` and `www.` (below)."""
_AUTOLINK = (("://", ":&#47;&#47;"), ("www.", "www&#46;"), ("WWW.", "WWW&#46;"))


def shown(value: object) -> str:
    """Text a visitor supplied (a query value, a file name, a repo id, a message quoting them), made safe to put
    in a Markdown or HTML component: it shows as the characters typed, never as a link, an image, a tag or
    formatting. The one escape of the app; apply it once, where Markdown shows the text, and never to the app's
    own Markdown."""
    text = "".join(_MARKUP.get(c, c) for c in str(value))
    for plain, broken in _AUTOLINK:
        text = text.replace(plain, broken)
    return text


def shown_path(path: str | Path, root: str | Path) -> str:
    """`path` as a visitor may see it: relative to the checkpoints folder `root` (its own name when outside it),
    never the server's absolute path."""
    p, r = Path(path).absolute(), Path(root).absolute()
    for a, b in ((p, r), (p.resolve(), r.resolve())):
        if a.is_relative_to(b):
            return str(a.relative_to(b)) or "."
    return p.name


def without_server_paths(message: str, root: str | Path) -> str:
    """`message` with the checkpoints folder's absolute path (as given and resolved) cut from every path in it."""
    r = Path(root)
    for form in sorted({str(r.absolute()), str(r.resolve())}, key=len, reverse=True):
        message = message.replace(form + os.sep, "").replace(form, ".")
    return message


def slug(s: str) -> str:
    """`s` made safe as one path component (letters, digits, `_.-`; at most 40 characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-.")[:40] or "run"


