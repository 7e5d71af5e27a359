"""Live probe of an OpenAI-compatible endpoint: list models, one chat call, one stream.

The probe behind ``envman verify``. It never raises for network trouble: every
failure becomes a failed :class:`StepResult` that names the step, the likely cause
and what to do. The API key is masked in every field, message and log record.
httpx is imported only when a probe actually runs, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from envman.errors import InvalidValue, ProbeFailed

if TYPE_CHECKING:
    import httpx

__all__ = ["ProbeReport", "ProbeRoutes", "StepResult", "latency_bucket", "probe"]

log = logging.getLogger(__name__)

_MAX_BODY = 8 * 1024 * 1024  # a big provider's model list fits; a runaway body does not
_ERROR_CHARS = 300
_PROMPT = "ping"
_ENDPOINT_SUFFIXES = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/responses",
    "/models",
)


@dataclass(frozen=True)
class ProbeRoutes:
    """Paths appended to the base URL; change them for providers with other routes."""

    models: str = "/models"
    chat: str = "/chat/completions"


_DEFAULT_ROUTES = ProbeRoutes()


@dataclass(frozen=True)
class StepResult:
    """What one probe step observed; safe to print, log and store (the key is masked)."""

    step: str  # models | chat | stream
    route: str  # "GET /models", "POST /chat/completions"
    model: str
    status: int | None  # None when no HTTP answer arrived
    latency: str  # see latency_bucket()
    ok: bool
    cause: str  # short machine-readable code, "ok" on success
    message: str  # one line: the step, the likely cause, what to do
    started_at: str  # UTC, ISO 8601
    key_id: str  # the masked key, so a record says which key was tried
    error: str = ""  # the provider's or the network's own words, key masked


@dataclass(frozen=True)
class ProbeReport:
    """The steps a probe ran, in order; it stops after the first failure."""

    base_url: str
    model: str
    key_id: str
    timeout_ms: int
    steps: tuple[StepResult, ...]

    @property
    def failed_step(self) -> StepResult | None:
        """The step that failed, or None when every step passed."""
        return next((s for s in self.steps if not s.ok), None)

    @property
    def ok(self) -> bool:
        """True when every step ran and passed."""
        return bool(self.steps) and self.failed_step is None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``--json`` output and the ledger."""
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def raise_for_failure(self) -> None:
        """Raise :class:`ProbeFailed` carrying the failed step's message, if any."""
        failed = self.failed_step
        if failed is not None:
            message, _, hint = failed.message.partition("; ")
            raise ProbeFailed(message, hint)


def latency_bucket(ms: float) -> str:
    """Coarse latency class recorded instead of exact timings."""
    if ms < 250:
        return "<250ms"
    if ms < 1000:
        return "<1s"
    if ms < 5000:
        return "<5s"
    return "slower"


def _mask_tail(secret: str) -> str:
    # Short values would be half revealed by their last four characters.
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


class _Scrubber:
    """Replaces the key with its masked form in any text."""

    def __init__(self, secret: str, masked: str) -> None:
        self._secret = secret
        self._masked = masked

    def __call__(self, text: str) -> str:
        return text.replace(self._secret, self._masked) if self._secret else text


class _ScrubFilter(logging.Filter):
    """Masks the key in records of the loggers it is attached to."""

    def __init__(self, scrub: _Scrubber) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self._scrub(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


@contextlib.contextmanager
def _scrubbed_logs(scrub: _Scrubber) -> Iterator[None]:
    # Logger filters do not apply to records propagated from child loggers, so
    # the filter goes on every httpx/httpcore logger, not only the parents.
    names = [log.name, "httpx", "httpcore"] + [
        name
        for name, obj in logging.root.manager.loggerDict.items()
        if isinstance(obj, logging.Logger) and name.startswith(("httpx.", "httpcore."))
    ]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    flt = _ScrubFilter(scrub)
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(text: str, limit: int = _ERROR_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _key_problem(api_key: str) -> tuple[str, str] | None:
    if not api_key:
        return "key_missing", "no key to send; set one with `envman rotate ENV VAR`"
    if not (api_key.isascii() and api_key.isprintable()) or any(c.isspace() for c in api_key):
        return "key_format", (
            "the key holds spaces, line breaks or non-ASCII characters and cannot be sent"
            " in a header (often a copy-paste slip); set it again with `envman rotate ENV VAR`"
        )
    return None


def _base_url_hint(base: str) -> str:
    import re
    from urllib.parse import urlsplit

    path = urlsplit(base).path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            return f" (it ends in {suffix}; remove that suffix)"
    if not re.search(r"/v\d+[a-z]*(/|$)", path):
        return " (it may be missing /v1)"
    return ""


class _DeadlineExceeded(Exception):
    """The whole request took longer than the environment's timeout."""


@dataclass
class _Outcome:
    ok: bool
    cause: str
    message: str
    error: str = ""


@dataclass
class _Context:
    base: str
    model: str
    timeout_ms: int
    scrub: _Scrubber
    offered: list[str] | None = None  # model ids from GET /models, once fetched


def _read_body(resp: httpx.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise _DeadlineExceeded
        if size > _MAX_BODY:
            break
    return b"".join(chunks)


def _looks_html(resp: httpx.Response, text: str) -> bool:
    ctype = resp.headers.get("content-type", "").lower()
    return "text/html" in ctype or text.lstrip().startswith("<")


def _model_ids(payload: Any) -> list[str] | None:
    items = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return None
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def _error_code(text: str) -> str:
    try:
        payload = json.loads(text)
    except ValueError:
        return ""
    err = payload.get("error") if isinstance(payload, dict) else None
    return str(err.get("code") or "") if isinstance(err, dict) else ""


def _suggest(model: str, offered: list[str]) -> str:
    import difflib

    picks = difflib.get_close_matches(model, offered, n=3, cutoff=0.3) or sorted(offered)[:3]
    return ", ".join(picks) if picks else "none"


def _classify_status(step: str, req: str, resp: httpx.Response, text: str, ctx: _Context) -> _Outcome:
    """Name the likely cause of a non-2xx answer (or a 2xx web page)."""
    status = resp.status_code
    error = _one_line(ctx.scrub(text))
    if status in (401, 403):
        what = "refused (revoked, disabled or not allowed here)" if status == 403 else "wrong or revoked"
        return _Outcome(
            False,
            "auth",
            f"{status} on {req}: the key is {what}; set a new one with `envman rotate ENV VAR`",
            error,
        )
    if status == 429:
        wait = resp.headers.get("retry-after")
        after = f" (Retry-After: {_one_line(wait, 20)})" if wait else ""
        return _Outcome(
            False,
            "rate_limited",
            f"429 on {req}: rate limited or out of quota{after}; wait and retry, or check the account's balance and limits",
            error,
        )
    if status < 500 and _looks_html(resp, text):
        return _Outcome(
            False,
            "html_page",
            f"{req} returned an HTML page ({status}): the base URL"
            " is a web site, not the API root; set the API address from the provider's"
            " docs with `envman set ENV VAR`",
            error,
        )
    if 300 <= status < 400:
        where = _one_line(ctx.scrub(resp.headers.get("location", "elsewhere")), 120)
        return _Outcome(
            False,
            "redirect",
            f"{status} on {req} redirects to {where}: the base URL"
            " is not the API root (or uses http where https is required); set the"
            " exact API root with `envman set ENV VAR`",
            error,
        )
    if step == "models" and status == 404:
        return _Outcome(
            False,
            "not_found_base_url",
            f"404 on {req}: the base URL is not the API"
            f" root{_base_url_hint(ctx.base)}; set the API root (such as"
            " https://api.alltkn.com/api/v1) with `envman set ENV VAR`",
            error,
        )
    if (
        step != "models"
        and status in (400, 404, 422, 503)
        and (_error_code(text) == "model_not_found" or (ctx.offered is not None and ctx.model not in ctx.offered))
    ):
        offered = _suggest(ctx.model, ctx.offered or [])
        return _Outcome(
            False,
            "model_not_offered",
            f"{status} on {req}: model '{ctx.model}' is"
            f" not offered here (offered: {offered}); set the default model with"
            " `envman set ENV VAR`",
            error,
        )
    if status == 404:
        return _Outcome(
            False,
            "not_found_route",
            f"404 on {req}: the model list works but this route does not; check the base URL and the provider's chat route",
            error,
        )
    if status == 402:
        return _Outcome(
            False,
            "quota",
            f"402 on {req}: payment required (balance or quota used up); top up or raise the limit in the provider's console",
            error,
        )
    if status >= 500:
        return _Outcome(
            False,
            "server_error",
            f"{status} on {req}: the provider failed; retry"
            " later, and if it persists send status, model, time and error text to"
            " its support",
            error,
        )
    return _Outcome(
        False,
        "rejected",
        f"{status} on {req}: the request was rejected; read the error text and check the model name and the provider's docs",
        error,
    )


def _judge_models(req: str, resp: httpx.Response, text: str, ctx: _Context) -> _Outcome:
    try:
        ids = _model_ids(json.loads(text))
    except ValueError:
        ids = None
    if ids is None:
        return _Outcome(
            False,
            "bad_response",
            f"{resp.status_code} on {req} is not a model list; check that the base URL is the API root",
            _one_line(ctx.scrub(text)),
        )
    ctx.offered = ids
    listed = "listed" if ctx.model in ids else "not listed"
    return _Outcome(
        True,
        "ok",
        f"{req}: {resp.status_code}, {len(ids)} models offered, '{ctx.model}' {listed}",
    )


def _judge_chat(req: str, resp: httpx.Response, text: str, ctx: _Context) -> _Outcome:
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        return _Outcome(
            False,
            "bad_response",
            f"{resp.status_code} on {req} is not a chat completion; check that the base URL is the API root",
            _one_line(ctx.scrub(text)),
        )
    answered = _one_line(str(payload.get("model") or ctx.model), 80)
    return _Outcome(True, "ok", f"{req}: {resp.status_code}, answered by {ctx.scrub(answered)}")


def _judge_stream(req: str, resp: httpx.Response, ctx: _Context, deadline: float, events: list[int]) -> _Outcome:
    for line in resp.iter_lines():
        if time.monotonic() > deadline:
            raise _DeadlineExceeded
        if not line.startswith("data:"):
            continue  # SSE comments, event names, keep-alives
        data = line[5:].strip()
        if data == "[DONE]":
            return _Outcome(
                True,
                "ok",
                f"{req} (stream): {resp.status_code}, {events[0]} events then [DONE]",
            )
        events[0] += 1
        try:
            chunk = json.loads(data)
        except ValueError:
            return _Outcome(
                False,
                "bad_response",
                f"the stream on {req} sent an event that is not JSON; check that the base URL is the API root",
                _one_line(ctx.scrub(data)),
            )
        if isinstance(chunk, dict) and chunk.get("error"):
            return _Outcome(
                False,
                "stream_error",
                f"the stream on {req} carried an error event; read the error text, then retry or report it to the provider",
                _one_line(ctx.scrub(data)),
            )
    return _incomplete(req, events[0])


def _incomplete(req: str, events: int) -> _Outcome:
    return _Outcome(
        False,
        "stream_incomplete",
        f"the stream on {req} ended before data: [DONE]"
        f" after {events} events: a proxy, gateway or the provider cut it; check"
        " proxy buffering and timeouts between here and the provider",
    )


def _exchange(
    client: httpx.Client,
    step: str,
    method: str,
    req: str,
    url: str,
    body: dict[str, Any] | None,
    ctx: _Context,
) -> tuple[int | None, _Outcome]:
    """Send one request and judge the answer; network failures become outcomes."""
    import httpx

    deadline = time.monotonic() + ctx.timeout_ms / 1000
    status: int | None = None
    events = [0]
    try:
        with client.stream(method, url, json=body) as resp:
            status = resp.status_code
            ctype = resp.headers.get("content-type", "").lower()
            if step == "stream" and resp.is_success and "text/event-stream" in ctype:
                return status, _judge_stream(req, resp, ctx, deadline, events)
            text = _read_body(resp, deadline).decode("utf-8", "replace")
            if not resp.is_success or _looks_html(resp, text):
                return status, _classify_status(step, req, resp, text, ctx)
            if step == "models":
                return status, _judge_models(req, resp, text, ctx)
            if step == "stream":
                return status, _Outcome(
                    False,
                    "stream_unsupported",
                    f"{req} with stream=true"
                    f" answered {ctype or 'no content type'}, not"
                    " text/event-stream: the endpoint or a proxy does not"
                    " stream; check proxy settings, or verify with --no-stream"
                    " if the app never streams",
                    _one_line(ctx.scrub(text)),
                )
            return status, _judge_chat(req, resp, text, ctx)
    except (_DeadlineExceeded, httpx.TimeoutException) as exc:
        return status, _Outcome(
            False,
            "timeout",
            f"no complete answer within {ctx.timeout_ms} ms"
            f" on {req}: the network is slow or blocked, or the timeout is too"
            " low; check connectivity or raise the timeout with"
            " `envman set ENV VAR`",
            _describe(exc, ctx),
        )
    except httpx.ConnectError as exc:
        return status, _connect_failure(exc, req, url, ctx)
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if step == "stream" and status is not None:
            outcome = _incomplete(req, events[0])
            outcome.error = _describe(exc, ctx)
            return status, outcome
        return status, _Outcome(
            False,
            "dropped",
            f"the connection closed during {req}: the server or a proxy dropped it; retry, and check proxies in between",
            _describe(exc, ctx),
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return status, _Outcome(
            False,
            "bad_url",
            f"the base URL cannot be used for {req}; set a full https:// API root with `envman set ENV VAR`",
            _describe(exc, ctx),
        )
    except httpx.HTTPError as exc:
        return status, _Outcome(
            False,
            "network",
            f"{req} failed on the network; check connectivity, firewall and proxy settings",
            _describe(exc, ctx),
        )


def _describe(exc: BaseException, ctx: _Context) -> str:
    if isinstance(exc, _DeadlineExceeded):
        return f"total time exceeded {ctx.timeout_ms} ms"
    return _one_line(ctx.scrub(f"{type(exc).__name__}: {exc}"))


def _connect_failure(exc: Exception, req: str, url: str, ctx: _Context) -> _Outcome:
    import socket
    import ssl
    from urllib.parse import urlsplit

    # httpx wraps httpcore which wraps the OS error: the real reason is down the chain.
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    parts = urlsplit(url)
    host = parts.hostname or "?"
    error = _describe(chain[-1], ctx)
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return _Outcome(
            False,
            "tls",
            f"TLS with {host} failed on {req}; check the URL scheme"
            " (https on a plain-http port?), the system clock and any proxy that"
            " intercepts TLS",
            error,
        )
    if any(isinstance(e, socket.gaierror) for e in chain):
        return _Outcome(
            False,
            "dns",
            f"cannot resolve host '{host}' on {req}: the host name is"
            " misspelled or DNS is unreachable; check the base URL with"
            " `envman set ENV VAR`",
            error,
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return _Outcome(
            False,
            "refused",
            f"{host}:{port} refused the connection on {req}: nothing listens there; check the base URL's host and port",
            error,
        )
    return _Outcome(
        False,
        "connect",
        f"cannot connect to {host} on {req}; check the network, firewall and proxy settings",
        error,
    )


def probe(
    base_url: str,
    api_key: str,
    model: str,
    timeout_ms: int,
    *,
    routes: ProbeRoutes = _DEFAULT_ROUTES,
    stream: bool = True,
    mask: Callable[[str], str] = _mask_tail,
) -> ProbeReport:
    """Run GET models, a one-token chat call and (unless ``stream=False``) a streamed one."""
    if timeout_ms <= 0:
        raise InvalidValue(
            f"timeout must be a positive number of ms, got {timeout_ms}",
            "set the environment's timeout with `envman set ENV VAR`",
        )
    key_id = mask(api_key) if api_key else "(none)"
    if api_key and api_key in key_id:  # a mask that reveals the key is not a mask
        key_id = "…"
    scrub = _Scrubber(api_key, key_id)
    base = base_url.strip().rstrip("/")
    ctx = _Context(base=scrub(base), model=model, timeout_ms=timeout_ms, scrub=scrub)
    chat_body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": _PROMPT}],
        "max_tokens": 1,
    }
    plan: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("models", "GET", routes.models, None),
        ("chat", "POST", routes.chat, chat_body),
    ]
    if stream:
        plan.append(("stream", "POST", routes.chat, {**chat_body, "stream": True}))

    def result(
        step: str,
        req: str,
        status: int | None,
        started: str,
        t0: float,
        outcome: _Outcome,
    ) -> StepResult:
        return StepResult(
            step=step,
            route=scrub(req),
            model=model,
            status=status,
            latency=latency_bucket((time.perf_counter() - t0) * 1000),
            ok=outcome.ok,
            cause=outcome.cause,
            message=scrub(outcome.message),
            started_at=started,
            key_id=key_id,
            error=scrub(outcome.error),
        )

    steps: list[StepResult] = []
    problem = _key_problem(api_key)
    if problem is not None:
        step, method, route, _ = plan[0]
        steps.append(
            result(
                step,
                f"{method} {route}",
                None,
                _now(),
                time.perf_counter(),
                _Outcome(False, problem[0], f"{method} {route} not sent: {problem[1]}"),
            )
        )
        return ProbeReport(ctx.base, model, key_id, timeout_ms, tuple(steps))

    import httpx

    with (
        _scrubbed_logs(scrub),
        httpx.Client(
            timeout=timeout_ms / 1000,
            follow_redirects=False,  # a redirect means a wrong base URL; report it, don't chase it
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": "envman-probe",
            },
        ) as client,
    ):
        for step, method, route, body in plan:
            path = route if route.startswith("/") else "/" + route
            req = f"{method} {path}"
            started, t0 = _now(), time.perf_counter()
            status, outcome = _exchange(client, step, method, req, base + path, body, ctx)
            steps.append(result(step, req, status, started, t0, outcome))
            log.debug("probe step %s: %s", step, steps[-1].message)
            if not outcome.ok:
                break
    return ProbeReport(ctx.base, model, key_id, timeout_ms, tuple(steps))
