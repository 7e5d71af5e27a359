"""The live probe behind `envman verify`, run against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from envman.errors import EXIT_FOUND, InvalidValue, ProbeFailed
from envman.probe import ProbeReport, ProbeRoutes, StepResult, latency_bucket, probe
from tests.fake_openai import FakeOpenAI, free_port

MODEL = "deepseek-chat"
TIMEOUT_MS = 2000
ROOT = Path(__file__).resolve().parents[2]


def run(api: FakeOpenAI, key: str, **kwargs: Any) -> ProbeReport:
    """Probe the fake API with the default model; keyword arguments override."""
    args: dict[str, Any] = {
        "base_url": api.base_url,
        "api_key": key,
        "model": MODEL,
        "timeout_ms": TIMEOUT_MS,
    }
    args.update(kwargs)
    return probe(**args)


def failed(report: ProbeReport) -> StepResult:
    """The failed step, asserting there is one."""
    step = report.failed_step
    assert step is not None, report
    assert not report.ok
    return step


# --- success --------------------------------------------------------------------


def test_success_runs_three_steps(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A healthy API passes models, chat and stream, each with status, latency and time."""
    report = run(fake_openai, api_key)

    assert report.ok and report.failed_step is None
    assert [s.step for s in report.steps] == ["models", "chat", "stream"]
    assert [s.route for s in report.steps] == [
        "GET /models",
        "POST /chat/completions",
        "POST /chat/completions",
    ]
    for step in report.steps:
        assert step.ok and step.cause == "ok" and step.status == 200
        assert step.model == MODEL
        assert step.latency in {"<250ms", "<1s", "<5s", "slower"}
        assert datetime.fromisoformat(step.started_at).utcoffset() is not None
        assert step.key_id == "…" + api_key[-4:]
        assert step.error == ""
    assert "3 models offered, 'deepseek-chat' listed" in report.steps[0].message
    assert "[DONE]" in report.steps[2].message


def test_success_sends_minimal_requests(fake_openai: FakeOpenAI, api_key: str) -> None:
    """The probe sends the bearer key, one short message, max_tokens 1, stream only last."""
    run(fake_openai, api_key)

    got = fake_openai.requests
    assert [(r.method, r.path) for r in got] == [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/chat/completions"),
    ]
    assert all(r.authorized for r in got)
    assert all("authorization" not in r.headers for r in got)
    assert got[0].body is None
    chat, streamed = got[1].body, got[2].body
    assert chat["model"] == streamed["model"] == MODEL
    assert chat["max_tokens"] == streamed["max_tokens"] == 1
    assert len(chat["messages"]) == 1 and chat["messages"][0]["role"] == "user"
    assert "stream" not in chat
    assert streamed["stream"] is True


def test_no_stream_runs_two_steps(fake_openai: FakeOpenAI, api_key: str) -> None:
    """stream=False (`verify --no-stream`) skips the streamed request."""
    report = run(fake_openai, api_key, stream=False)

    assert report.ok
    assert [s.step for s in report.steps] == ["models", "chat"]
    assert len(fake_openai.requests) == 2


def test_custom_routes(api_key: str) -> None:
    """Providers with other paths are probed through ProbeRoutes."""
    with FakeOpenAI(key=api_key, prefix="/openai/v2") as api:
        routes = ProbeRoutes(models="/openai/v2/models", chat="openai/v2/chat/completions")
        report = run(api, api_key, base_url=api.root_url + "/", routes=routes)

    assert report.ok, report.failed_step
    assert report.steps[0].route == "GET /openai/v2/models"
    assert [r.path for r in api.requests] == [
        "/openai/v2/models",
        "/openai/v2/chat/completions",
        "/openai/v2/chat/completions",
    ]


# --- the key --------------------------------------------------------------------


def test_wrong_key_is_401_auth(fake_openai: FakeOpenAI, api_key: str) -> None:
    """401 stops at the models step and tells the user to rotate the key."""
    report = run(fake_openai, "sk-envman-wrong-000000000000000000000000")

    step = failed(report)
    assert len(report.steps) == 1
    assert (step.step, step.status, step.cause) == ("models", 401, "auth")
    assert step.message.startswith("401 on GET /models: the key is wrong or revoked")
    assert "envman rotate" in step.message
    assert "Incorrect API key" in step.error


def test_forbidden_is_403_auth(fake_openai: FakeOpenAI, api_key: str) -> None:
    """403 (a disabled key) is also classified as a key problem."""
    fake_openai.fail("forbidden")
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.status, step.cause) == ("models", 403, "auth")
    assert "envman rotate" in step.message


def test_key_with_line_break_is_refused_before_sending(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A pasted key with a trailing newline is reported, and no request is sent."""
    step = failed(run(fake_openai, api_key + "\n"))

    assert (step.cause, step.status) == ("key_format", None)
    assert fake_openai.requests == []


def test_empty_key_is_refused_before_sending(fake_openai: FakeOpenAI) -> None:
    """An empty key is reported as missing without a request."""
    step = failed(run(fake_openai, ""))

    assert step.cause == "key_missing" and step.key_id == "(none)"
    assert fake_openai.requests == []


# --- the base URL ---------------------------------------------------------------


def test_base_url_missing_v1_is_404(fake_openai: FakeOpenAI, api_key: str) -> None:
    """404 on /models means the base URL is wrong; a missing /v1 is pointed out."""
    step = failed(run(fake_openai, api_key, base_url=fake_openai.root_url))

    assert (step.step, step.status, step.cause) == ("models", 404, "not_found_base_url")
    assert "missing /v1" in step.message and "envman set" in step.message


def test_base_url_ending_in_endpoint_is_404(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A base URL with /chat/completions appended is named as such."""
    base = fake_openai.base_url + "/chat/completions"
    step = failed(run(fake_openai, api_key, base_url=base))

    assert step.cause == "not_found_base_url"
    assert "ends in /chat/completions" in step.message


def test_not_found_everywhere(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A server answering 404 on every path fails the first step as a base URL error."""
    fake_openai.fail("not_found")
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.cause) == ("models", "not_found_base_url")


def test_html_page_is_named(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A 200 text/html answer means the base URL is a web site, not the API root."""
    fake_openai.fail("html")
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.status, step.cause) == ("models", 200, "html_page")
    assert "HTML page" in step.message and "not the API root" in step.message


def test_redirect_is_not_followed(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A redirect is reported as a wrong base URL instead of being chased."""
    fake_openai.fail("redirect")
    step = failed(run(fake_openai, api_key))

    assert (step.status, step.cause) == (301, "redirect")
    assert len(fake_openai.requests) == 1


def test_url_without_scheme_is_bad_url(api_key: str) -> None:
    """A base URL with no scheme fails as bad_url, with nothing sent."""
    step = failed(probe("api.alltkn.com/api/v1", api_key, MODEL, TIMEOUT_MS))

    assert (step.cause, step.status) == ("bad_url", None)


# --- the model ------------------------------------------------------------------


def test_model_not_offered_names_it_and_suggests(fake_openai: FakeOpenAI, api_key: str) -> None:
    """404 on chat for an unlisted model names the model and suggests offered ones."""
    report = run(fake_openai, api_key, model="deepseek-chta")

    assert report.steps[0].ok and "'deepseek-chta' not listed" in report.steps[0].message
    step = failed(report)
    assert (step.step, step.status, step.cause) == ("chat", 404, "model_not_offered")
    assert "'deepseek-chta'" in step.message
    assert "deepseek-chat" in step.message.split("offered:")[1]


# --- provider trouble -----------------------------------------------------------


def test_rate_limited_on_chat(fake_openai: FakeOpenAI, api_key: str) -> None:
    """429 on the chat step stops there, with Retry-After in the message."""
    fake_openai.fail("rate_limited", on=["chat"])
    report = run(fake_openai, api_key)

    step = failed(report)
    assert [s.ok for s in report.steps] == [True, False]
    assert (step.step, step.status, step.cause) == ("chat", 429, "rate_limited")
    assert "Retry-After: 1" in step.message


def test_server_error_on_stream(fake_openai: FakeOpenAI, api_key: str) -> None:
    """500 on the streamed request is a server error at the stream step."""
    fake_openai.fail("server_error", on=["stream"])
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.status, step.cause) == ("stream", 500, "server_error")
    assert "upstream channel failed" in step.error


def test_timeout_names_the_setting(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A server slower than the 300 ms timeout fails in about that time, naming the ms."""
    fake_openai.fail("slow", delay=5)
    t0 = time.monotonic()
    step = failed(run(fake_openai, api_key, timeout_ms=300))

    assert time.monotonic() - t0 < 2
    assert (step.step, step.status, step.cause) == ("models", None, "timeout")
    assert "300 ms" in step.message


def test_slow_stream_hits_total_deadline(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A stream trickling events is cut at the timeout, not after every event."""
    fake_openai.fail("slow_stream", on=["stream"], delay=0.1)
    t0 = time.monotonic()
    step = failed(run(fake_openai, api_key, timeout_ms=400))

    assert time.monotonic() - t0 < 2
    assert (step.step, step.status, step.cause) == ("stream", 200, "timeout")


# --- streaming ------------------------------------------------------------------


def test_stream_ending_before_done(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A stream that ends cleanly but without data: [DONE] is incomplete."""
    fake_openai.fail("cut_stream")
    report = run(fake_openai, api_key)

    step = failed(report)
    assert [s.ok for s in report.steps] == [True, True, False]
    assert (step.step, step.status, step.cause) == ("stream", 200, "stream_incomplete")
    assert "after 3 events" in step.message


def test_stream_connection_dropped(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A connection closed in the middle of the stream is also incomplete."""
    fake_openai.fail("drop_stream")
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.cause) == ("stream", "stream_incomplete")
    assert step.error  # the transport's own words are kept


def test_stream_answered_with_json(fake_openai: FakeOpenAI, api_key: str) -> None:
    """stream=true answered with plain JSON means streaming is not supported on the way."""
    fake_openai.fail("no_stream")
    step = failed(run(fake_openai, api_key))

    assert (step.step, step.status, step.cause) == ("stream", 200, "stream_unsupported")


# --- the network ----------------------------------------------------------------


def test_connection_refused(api_key: str) -> None:
    """A port with nothing listening is reported as refused, naming host and port."""
    port = free_port()
    step = failed(probe(f"http://127.0.0.1:{port}/v1", api_key, MODEL, TIMEOUT_MS))

    assert (step.step, step.status, step.cause) == ("models", None, "refused")
    assert f"127.0.0.1:{port}" in step.message


def test_dns_failure(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    """A host that does not resolve is reported as dns.

    Resolving even a `.invalid` name sends a query to the configured resolver, so
    resolution is simulated: getaddrinfo raises the error the OS gives for an
    unknown host, and nothing leaves the machine.
    """

    def no_such_host(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    step = failed(probe("https://api.alltkn.invalid/api/v1", api_key, MODEL, TIMEOUT_MS))

    assert (step.step, step.status, step.cause) == ("models", None, "dns")
    assert "api.alltkn.invalid" in step.message


@pytest.fixture
def plain_tcp_port() -> Iterator[int]:
    """A 127.0.0.1 port that answers any connection with plain HTTP, then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.close()
    thread.join(2)


def test_tls_failure(plain_tcp_port: int, api_key: str) -> None:
    """https to a plain-http port fails the TLS handshake and is reported as tls."""
    step = failed(probe(f"https://127.0.0.1:{plain_tcp_port}/v1", api_key, MODEL, TIMEOUT_MS))

    assert (step.step, step.status, step.cause) == ("models", None, "tls")
    assert "TLS" in step.message


# --- secrecy --------------------------------------------------------------------


SCENARIOS: list[tuple[str, Any]] = [
    ("success", None),
    ("unauthorized", "unauthorized"),
    ("server_error", "server_error"),
    ("rate_limited", "rate_limited"),
    ("cut_stream", "cut_stream"),
    ("drop_stream", "drop_stream"),
    ("slow", "slow"),
    ("html", "html"),
]


@pytest.mark.parametrize(("name", "failure"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_key_never_leaks(
    fake_openai: FakeOpenAI,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    name: str,
    failure: Any,
) -> None:
    """Canary: the key is in no report field, repr, str, JSON, exception or log record,
    even when the server echoes it back in its error body and headers."""
    fake_openai.echo_key = True
    fake_openai.fail(failure, delay=2)
    caplog.set_level(logging.DEBUG)
    for logger in ("httpx", "httpcore", "envman"):
        caplog.set_level(logging.DEBUG, logger=logger)

    report = run(fake_openai, api_key, timeout_ms=300)

    texts = [repr(report), str(report), json.dumps(report.as_dict(), ensure_ascii=False)]
    texts += [repr(s) for s in report.steps] + [str(s) for s in report.steps]
    try:
        report.raise_for_failure()
    except ProbeFailed as exc:
        texts += [str(exc), repr(exc), exc.message, exc.hint]
    records = caplog.records
    assert any(r.name.startswith("httpcore") for r in records)  # httpx's own logs were seen
    texts += [r.getMessage() for r in records] + [repr(r.args) for r in records]
    assert not [t for t in texts if api_key in t]
    assert fake_openai.requests[0].authorized  # the key was really sent


def test_key_echoed_by_server_is_masked_in_error(fake_openai: FakeOpenAI, api_key: str) -> None:
    """An error body quoting the key keeps its text with the key masked."""
    fake_openai.echo_key = True
    fake_openai.fail("unauthorized")
    step = failed(run(fake_openai, api_key))

    assert f"Bearer …{api_key[-4:]}" in step.error
    assert api_key not in step.error


def test_custom_mask_is_used(fake_openai: FakeOpenAI, api_key: str) -> None:
    """The caller's mask gives the key id and replaces the key in error text."""
    fake_openai.echo_key = True
    fake_openai.fail("unauthorized")
    step = failed(run(fake_openai, api_key, mask=lambda k: k[:3] + "…MASK"))

    assert step.key_id == "sk-…MASK"
    assert "Bearer sk-…MASK" in step.error


def test_mask_that_reveals_the_key_is_overridden(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A mask that returns the key itself is not trusted."""
    report = run(fake_openai, api_key, mask=lambda k: k)

    assert report.key_id == "…"
    assert api_key not in repr(report)


# --- the report -----------------------------------------------------------------


def test_raise_for_failure(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A failed report raises ProbeFailed (exit 1) whose hint says what to do."""
    fake_openai.fail("unauthorized")
    report = run(fake_openai, api_key)

    with pytest.raises(ProbeFailed) as info:
        report.raise_for_failure()
    assert info.value.exit_code == EXIT_FOUND
    assert info.value.hint.startswith("set a new one with `envman rotate")


def test_ok_report_does_not_raise(fake_openai: FakeOpenAI, api_key: str) -> None:
    """A passing report raises nothing and serialises with ok=True."""
    report = run(fake_openai, api_key)

    report.raise_for_failure()
    data = report.as_dict()
    assert data["ok"] is True and len(data["steps"]) == 3
    assert data["base_url"] == fake_openai.base_url


def test_non_positive_timeout_is_refused(api_key: str) -> None:
    """A timeout of 0 ms is a configuration error, raised before any request."""
    with pytest.raises(InvalidValue):
        probe("http://127.0.0.1:9/v1", api_key, MODEL, 0)


@pytest.mark.parametrize(
    ("ms", "bucket"),
    [(0, "<250ms"), (249.9, "<250ms"), (250, "<1s"), (999, "<1s"), (1000, "<5s"), (5000, "slower")],
)
def test_latency_buckets(ms: float, bucket: str) -> None:
    """Latency is recorded as a coarse bucket with these boundaries."""
    assert latency_bucket(ms) == bucket


def test_import_is_cheap() -> None:
    """Importing envman.probe loads no third-party module (httpx comes only with a probe)."""
    code = "import sys, envman.probe; print(sorted(m for m in ('httpx', 'httpcore') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_standalone_fake_server(api_key: str) -> None:
    """`python tests/fake_openai.py --port 0 --key KEY` prints a base URL the probe passes."""
    server = subprocess.Popen(
        [sys.executable, "tests/fake_openai.py", "--port", "0", "--key", api_key],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert probe(base_url, api_key, MODEL, TIMEOUT_MS).ok
    finally:
        server.terminate()
        assert server.wait(5) == 0


def test_network_guard_is_active() -> None:
    """The autouse guard refuses lookups and connections beyond 127.0.0.1 before any packet."""
    with pytest.raises(RuntimeError, match=r"only 127\.0\.0\.1"):
        socket.getaddrinfo("api.alltkn.com", 443)
    with pytest.raises(RuntimeError, match=r"only 127\.0\.0\.1"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
