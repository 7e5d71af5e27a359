"""A local OpenAI-compatible API for tests: real HTTP on 127.0.0.1, scripted failures.

Use it as a context manager (``with FakeOpenAI(key=...) as api: api.base_url``), through
the ``fake_openai`` fixture of ``tests/probe/conftest.py``, or standalone::

    python tests/fake_openai.py --port 0 --key sk-test-... [--fail html]

which prints the base URL on one line and serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Literal, Self, get_args

Failure = Literal[
    "unauthorized",  # 401 whatever the key
    "forbidden",  # 403
    "not_found",  # 404 on every path: a wrong base path
    "html",  # 200 text/html on every path: a marketing site
    "redirect",  # 301 to the web site
    "rate_limited",  # 429 with Retry-After
    "server_error",  # 500
    "slow",  # wait `delay` seconds before answering
    "no_stream",  # answer stream=true with plain JSON
    "cut_stream",  # end the stream cleanly, but before data: [DONE]
    "drop_stream",  # close the connection in the middle of the stream
    "slow_stream",  # send one event every `delay` seconds, many of them
]
Step = Literal["models", "chat", "stream"]

FAILURES: tuple[str, ...] = get_args(Failure)
DEFAULT_KEY = "sk-fake-0123456789abcdef0123456789abcdef"
DEFAULT_MODELS = ("deepseek-chat", "deepseek-reasoner", "gpt-4o-mini")
_HTML = (
    b"<!doctype html><html><head><title>ALLTKN - AI API gateway</title></head>"
    b"<body><h1>One key for every model</h1><a href='/pricing'>Pricing</a></body></html>"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; the Authorization header is left out."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, raw text when not JSON, None when empty
    authorized: bool  # whether it carried the expected bearer key


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeOpenAI

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, cut streams) are part of the tests.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like real APIs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests assert on recorded requests, not on stderr

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        api = self.server.api
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = _parse(raw)
        path = self.path.split("?", 1)[0]
        step: Step | None = None
        if method == "GET" and path == api.prefix + "/models":
            step = "models"
        elif method == "POST" and path == api.prefix + "/chat/completions":
            step = "stream" if isinstance(body, dict) and body.get("stream") else "chat"
        authorized = self.headers.get("Authorization") == f"Bearer {api.key}"
        api._record(
            RecordedRequest(
                method=method,
                path=path,
                headers={k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"},
                body=body,
                authorized=authorized,
            )
        )
        failure = api.failure if api._applies(step) else None

        if failure == "slow" and api._stop.wait(api.delay):
            return  # server stopping
        if failure == "html":
            return self._send(200, _HTML, "text/html; charset=utf-8")
        if failure == "not_found" or step is None:
            return self._error(404, f"Invalid URL ({method} {path})", "invalid_request_error")
        if failure == "redirect":
            return self._send(301, b"", "text/plain", {"Location": f"{api.root_url}/"})
        if failure == "unauthorized" or not authorized:
            shown = self.headers.get("Authorization", "") if api.echo_key else "sk-...****"
            extra = {"X-Seen-Authorization": shown} if api.echo_key else {}
            return self._error(401, f"Incorrect API key provided: {shown}", "invalid_api_key", extra)
        if failure == "forbidden":
            return self._error(403, "This key is disabled", "permission_denied")
        if failure == "rate_limited":
            return self._error(429, "Rate limit reached", "rate_limit_exceeded", {"Retry-After": "1"})
        if failure == "server_error":
            return self._error(500, "The upstream channel failed", "server_error")
        if step == "models":
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in api.models]
            return self._json(200, {"object": "list", "data": data})
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self._error(400, "'messages' is required", "invalid_request_error")
        model = str(body.get("model", ""))
        if model not in api.models:
            return self._error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "model_not_found",
            )
        if step == "chat" or failure == "no_stream":
            return self._json(200, _completion(model))
        self._stream(model, failure)

    def _stream(self, model: str, failure: Failure | None) -> None:
        api = self.server.api
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [_chunk(model, {"role": "assistant", "content": ""}, None)]
        events += [_chunk(model, {"content": "po"}, None), _chunk(model, {}, "length")]
        if failure == "slow_stream":
            events = [_chunk(model, {"content": "."}, None)] * 200
        for n, event in enumerate(events):
            if failure == "drop_stream" and n == 2:
                self.close_connection = True  # no terminating chunk: a cut connection
                return
            if failure == "slow_stream" and api._stop.wait(api.delay):
                return
            self._write_chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
        if failure != "cut_stream":
            self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _send(
        self,
        status: int,
        data: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(
        self,
        status: int,
        message: str,
        code: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        error = {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": code,
        }
        self._json(status, {"error": error}, headers)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "po"},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 that can be told to fail in one way."""

    def __init__(
        self,
        key: str = DEFAULT_KEY,
        *,
        models: Iterable[str] = DEFAULT_MODELS,
        prefix: str = "/v1",
        port: int = 0,
    ) -> None:
        self.key = key
        self.models = list(models)
        self.prefix = prefix.rstrip("/")
        self.failure: Failure | None = None
        self.fail_on: frozenset[str] | None = None  # None: every step
        self.delay = 5.0  # seconds, for "slow" and "slow_stream"
        self.echo_key = False  # 401 answers repeat the credential they got, like a careless API
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT, without the API prefix."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root a client is configured with (root URL plus prefix)."""
        return self.root_url + self.prefix

    def fail(
        self,
        failure: Failure | None,
        *,
        on: Iterable[Step] | None = None,
        delay: float | None = None,
    ) -> None:
        """Fail in one way from now on, on the given steps only (default: all)."""
        if failure is not None and failure not in FAILURES:
            raise ValueError(f"unknown failure {failure!r}; one of {', '.join(FAILURES)}")
        self.failure = failure
        self.fail_on = None if on is None else frozenset(on)
        if delay is not None:
            self.delay = delay

    def _applies(self, step: Step | None) -> bool:
        return self.failure is not None and (self.fail_on is None or step in self.fail_on)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any handler that is sleeping on purpose."""
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (for connection-refused tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; print the base URL first so a caller can read it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the bearer key to accept")
    parser.add_argument("--model", action="append", help="a model to offer (repeatable)")
    parser.add_argument("--prefix", default="/v1", help="API path prefix")
    parser.add_argument("--fail", choices=FAILURES, help="fail this way on every step")
    parser.add_argument("--delay", type=float, default=5.0, help="seconds, for slow modes")
    args = parser.parse_args(argv)

    def _exit(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    api = FakeOpenAI(
        args.key,
        models=args.model or DEFAULT_MODELS,
        prefix=args.prefix,
        port=args.port,
    )
    api.fail(args.fail, delay=args.delay)
    with api:
        print(api.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends it quietly
            threading.Event().wait()


if __name__ == "__main__":
    main()
