"""Where a visitor's upload may come from: Gradio's upload cache, and nowhere else on the server.

A raw API call can name any path as the "uploaded" file (`{"path": "/any/where.txt"}`), and Gradio hands it to the
handler as it is. So the lab accepts an upload only when the path, with every symbolic link resolved, is a file
inside the upload cache, the folder Gradio itself writes uploads to (`GRADIO_TEMP_DIR`, else `<tmp>/gradio`;
gradio.utils.get_upload_folder, restated here because the lab never imports gradio).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import LabError


def upload_cache() -> Path:
    """Gradio's upload folder, resolved (read when called: the operator may set GRADIO_TEMP_DIR at launch)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def confined_upload(path: str | Path, cache: str | Path | None = None) -> Path:
    """The real path of an uploaded file when it lies inside the upload cache (`cache`, default `upload_cache()`),
    else a LabError that says nothing about the file named (whether it exists, what it holds)."""
    root = Path(cache).resolve() if cache is not None else upload_cache()
    name = Path(str(path)).name
    try:
        real = Path(str(path)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
        real = None
    if real is None or not real.is_relative_to(root) or not real.is_file():
        raise LabError(f"the uploaded file {name!r} was not received: upload it again with the file box "
                       "(this server reads uploads only from its upload folder)")
    return real
