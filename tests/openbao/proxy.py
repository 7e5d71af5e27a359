"""A small reverse proxy on 127.0.0.1 in front of the test OpenBao server.

It records every request envman makes (method and path, never headers, so no
token) and lets a test act at an exact point of a write: ``on_request`` sees
each request before it is forwarded and may return ``"drop"`` to close the
connection unanswered (the server is gone), ``"lose-reply"`` to forward it and
then close the connection without the answer (the request took effect, the
client cannot know), or do anything else first, such as SIGKILL the envman
process that sent it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

Hook = Callable[[str, str], "str | None"]


class RecordingProxy:
    """Forward HTTP requests to ``upstream``, recording them and consulting ``on_request``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.requests: list[tuple[str, str]] = []
        self.on_request: Hook | None = None
        self.down = False  # refuse everything, as a stopped server would
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with proxy._lock:
                    proxy.requests.append((self.command, path))
                    hook = proxy.on_request
                action = hook(self.command, path) if hook is not None else None
                if proxy.down or action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if action == "lose-reply":
                        self.close_connection = True
                        self.connection.close()
                        return
                    self.send_response(resp.status)
                    for key, value in resp.getheaders():
                        if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_LIST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self) -> list[tuple[str, str]]:
        """The requests recorded since the last call."""
        with self._lock:
            out, self.requests = self.requests, []
        return out
