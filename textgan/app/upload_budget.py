"""Gradio's own upload route (`/gradio_api/upload`) is outside the table of doors: any caller may post files to it,
and Gradio keeps each for an hour (`main.UPLOADS_KEPT_S`). This ASGI middleware charges an upload's bytes to the
caller's network address and to the server, per hour, before Gradio reads the body, so the upload cache stays
bounded whoever calls it."""

from __future__ import annotations

import threading
import time
from typing import Any

from textgan.lab import quota as Q

from .common import forwarded_address

class UploadBudget:
    """Bytes one network address, and the server in all, may post to Gradio's upload route per hour (as long as
    Gradio keeps an upload)."""

    def __init__(self, app: Any, per_address: int, per_server: int, capacity: int = 20_000) -> None:
        self.app, self.per_address, self.per_server = app, per_address, per_server
        self._lock = threading.Lock()
        self._by_address = Q.HourWindows(capacity)
        self._server = Q.HourWindow()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                not str(scope.get("path", "")).rstrip("/").endswith("/upload"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        size = headers.get("content-length", "").strip()
        if not size.isdigit():
            await _refuse(send, 411, "an upload must state its size (Content-Length)")
            return
        peer = (scope.get("client") or (None,))[0]
        refusal = self.charge(forwarded_address(headers, peer) or "unknown", int(size))
        if refusal:
            await _refuse(send, 429, refusal)
            return
        await self.app(scope, receive, send)

    def charge(self, address: str, nbytes: int) -> str | None:
        """Record `nbytes` uploaded by `address` now; or the reason it is refused (the hour's share is used)."""
        now = time.monotonic()
        with self._lock:
            mine = self._by_address[address]
            used = mine.used(now)
            if used + nbytes > self.per_address:
                return (f"uploads from your network address are limited to {Q.mb(self.per_address)} of uploads an "
                        f"hour on this server ({Q.mb(used)} used): try again in "
                        f"{max(1, round(mine.wait_s(now) / 60))} min")
            if self._server.used(now) + nbytes > self.per_server:
                return (f"this server has taken its {Q.mb(self.per_server)} of uploads for this hour: try again "
                        "later")
            mine.add(now, nbytes)
            self._server.add(now, nbytes)
            return None


async def _refuse(send: Any, status: int, message: str) -> None:
    body = message.encode()  # plain text: Gradio's file box shows it as "HTTP 429: <message>"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
