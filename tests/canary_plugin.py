"""The suite-wide canary check, and the reliability figures.

Canary: one unique secret per test run (``sk-canary-<random>``). A test that
requests the ``canary`` fixture gets it; while such a test runs, the autouse
guard below records every envman command's output (in-process ``cli`` and the
``envman`` executable), every log record at DEBUG, every ``EnvmanError`` raised
and every exception leaving the CLI's error boundary, and the argv of every
subprocess started. After the test it checks that the canary (or its hidden
middle) appears in none of them — tracebacks are rendered with their locals —
nor in any file left in the test's folders (ledger, profiles, temp files), nor
in new entries of the system temp folder. Outputs of commands that are meant to
print plaintext (``--reveal``, ``export`` to stdout, ``run``) and files the test
declares with ``canary.allow(path)`` are the only exceptions. At session end the
folders of every test under tests/reliability are swept once more.

Figures: reliability tests record counts with the ``figures`` fixture; they are
summed over xdist workers and written to tests/reliability/.results.json when
the session ends (read by docs/scripts/gen_reliability.py).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.figures import RESULTS, add_counts

CANARY_VAR = "PYTEST_ENVMAN_CANARY"  # shares one canary between the xdist controller and its workers
ROOT = Path(__file__).resolve().parents[1]
RELIABILITY_DIR = ROOT / "tests" / "reliability"
_MAX_SCAN = 64 * 1024 * 1024  # larger files are read in chunks; none of envman's files comes near this

_state: dict[str, Any] = {"canary": "", "tests": {}, "current": "", "sweep": [], "leaks": [], "worker": False,
                          "allowed": set(), "swept": 0}


# -- the canary ---------------------------------------------------------------------------

def canary_value() -> str:
    return str(_state["canary"])


def needles(value: str) -> list[bytes]:
    """The canary, its hidden middle (what a masked form leaves out), and its base64 forms."""
    raw = value.encode()
    found = [raw, raw[3:-4]]
    for shift in range(3):
        chunk = raw[shift:]
        chunk = chunk[: len(chunk) - len(chunk) % 3]
        found.append(base64.b64encode(chunk))
        found.append(base64.urlsafe_b64encode(chunk))
    return found


def leaked(data: str | bytes, value: str | None = None) -> bool:
    """True when ``data`` holds the canary in any of its forms."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    return any(n in data for n in needles(value or canary_value()))


def _file_leaks(path: Path, value: str) -> bool:
    try:
        with path.open("rb") as fh:
            while True:
                chunk = fh.read(_MAX_SCAN)
                if not chunk:
                    return False
                if leaked(chunk, value):
                    return True
    except OSError:
        return False


@dataclass
class Canary:
    """The run's canary secret; ``allow(path)`` exempts a file the test wrote or expects to hold it."""

    value: str
    allowed: set[Path] = field(default_factory=set)
    watched: list[Path] = field(default_factory=list)

    def allow(self, path: Path) -> Path:
        self.allowed.add(Path(path).resolve())
        _state["allowed"].add(Path(path).resolve())  # for the session-end sweep too
        return path

    def watch(self, folder: Path) -> Path:
        """Also scan ``folder`` (e.g. a project outside tmp_path) after the test."""
        self.watched.append(Path(folder))
        return folder

    def __str__(self) -> str:
        return self.value


@pytest.fixture
def canary() -> Canary:
    """The run's unique canary secret; tests that use it are checked for leaks of it (see this module's docstring)."""
    return Canary(canary_value())


def _reveals(args: list[str]) -> bool:
    """Commands whose output is meant to hold plaintext."""
    if "--reveal" in args:
        return True
    words = [a for a in args if not a.startswith("-")]
    command = words[0] if words else ""
    if command == "run":
        return True
    if command == "export":
        return "--no-secrets" not in args and "-o" not in args and "--output" not in args and "k8s-configmap" not in args
    return False


@dataclass
class _Watch:
    runs: list[tuple[str, list[str], str, str]] = field(default_factory=list)
    argv: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)


class _Collector(logging.Handler):
    def __init__(self, watch: _Watch) -> None:
        super().__init__(logging.DEBUG)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        self.watch.records.append(record)


def _traceback_leaks(exc: BaseException) -> list[str]:
    """Where the exception, rendered with every frame's locals, shows the canary (the tests' own frames aside).

    With rich installed, rich's traceback with show_locals is rendered too; the standard rendering is
    traceback.TracebackException(capture_locals=True), walked frame by frame to name the local.
    """
    found: list[str] = []
    try:
        from rich.console import Console  # type: ignore[import-not-found,unused-ignore]
        from rich.traceback import Traceback  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        import io

        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True, suppress=[str(ROOT / "tests")]))
        if leaked(console.file.getvalue()):  # type: ignore[attr-defined]
            found.append("rich's traceback with locals")
    te: traceback.TracebackException | None = traceback.TracebackException.from_exception(exc, capture_locals=True)
    seen: set[int] = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        for frame in te.stack:
            if Path(frame.filename).is_relative_to(ROOT / "tests"):  # a test's own frame holds the canary by design
                continue
            found.extend(f"local {name!r} of {frame.name}() in {Path(frame.filename).name}"
                         for name, text in (frame.locals or {}).items() if leaked(text))
        te = te.__cause__ or te.__context__
    return found


def _exception_texts(exc: BaseException) -> list[str]:
    import click

    texts = [str(exc), repr(exc), *map(repr, exc.args), str(getattr(exc, "hint", ""))]
    if isinstance(exc, click.ClickException):
        texts.append(exc.format_message())
    return texts


def _top_level_temp() -> set[str]:
    try:
        return set(os.listdir(tempfile.gettempdir()))
    except OSError:
        return set()


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_file():
        yield folder
        return
    for dirpath, _, names in os.walk(folder):
        for name in names:
            yield Path(dirpath) / name


def _is_keys_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return head.startswith(b"# envman private keys") or head.startswith(b"ENVMAN_PRIVATE_KEY_")


def _scan(folders: list[Path], allowed: set[Path], value: str) -> tuple[int, list[str]]:
    """(files checked, files holding the canary) under ``folders``, skipping allowed files and keys files."""
    checked, found = 0, []
    seen: set[Path] = set()
    for folder in folders:
        if not folder.exists():
            continue
        for path in _files(folder):
            real = path.resolve()
            if real in seen or real in allowed or path.is_symlink() or not path.is_file():
                continue
            seen.add(real)
            checked += 1
            if _file_leaks(path, value) and not _is_keys_file(path):
                found.append(str(path))
    return checked, found


@pytest.fixture(autouse=True)
def _canary_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """The one canary check: a no-op unless the test uses ``canary``; then every channel is watched (see module doc)."""
    path = Path(str(request.node.fspath))
    if "tmp_path" in request.fixturenames and RELIABILITY_DIR in path.parents:
        _state["sweep"].append(request.getfixturevalue("tmp_path"))
    if "canary" not in request.fixturenames:
        yield
        return
    import subprocess

    import envman.cli
    import envman.errors

    value = canary_value()
    watch = _Watch()
    mp = pytest.MonkeyPatch()
    temp_before = _top_level_temp()

    real_init = envman.errors.EnvmanError.__init__

    def error_init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        watch.errors.append(self)

    real_popen = subprocess.Popen.__init__

    def popen_init(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        watch.argv.append(args)
        real_popen(self, args, *rest, **kwargs)

    real_run = subprocess.run

    def run(args: Any, *rest: Any, **kwargs: Any) -> Any:
        done = real_run(args, *rest, **kwargs)
        argv = [str(a) for a in args] if isinstance(args, list | tuple) else [str(args)]
        if argv and Path(argv[0]).name == "envman":
            out, err = done.stdout, done.stderr
            watch.runs.append(("envman", argv[1:], _text(out), _text(err)))
        return done

    group = envman.cli.cli
    real_main = group.main

    def main(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_main(*args, **kwargs)
        except BaseException as exc:
            watch.errors.append(exc)
            raise

    mp.setattr(envman.errors.EnvmanError, "__init__", error_init)
    mp.setattr(subprocess.Popen, "__init__", popen_init)
    mp.setattr(subprocess, "run", run)
    mp.setattr(group, "main", main)
    conftest = sys.modules.get("tests.conftest")
    if conftest is not None and hasattr(conftest, "_run_main"):
        real_run_main = conftest._run_main

        def run_main(args: list[str], input: Any, env: Any) -> Any:
            result = real_run_main(args, input, env)
            watch.runs.append(("cli", list(args), result.stdout, result.stderr))
            return result

        mp.setattr(conftest, "_run_main", run_main)
    handler = _Collector(watch)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        mp.undo()
    funcargs = getattr(request.node, "funcargs", {})
    fixture: Canary | None = funcargs.get("canary")
    allowed = fixture.allowed if fixture is not None else set()
    problems: list[str] = []
    checks = 0
    for kind, args, out, err in watch.runs:
        if _reveals(args):
            continue
        checks += 2
        if leaked(" ".join(args)):
            problems.append(f"argv of `envman {' '.join(args)}` ({kind})")
        for name, text in (("stdout", out), ("stderr", err)):
            if leaked(text):
                problems.append(f"{name} of `envman {' '.join(args[:3])}…` ({kind})")
    for args in watch.argv:
        checks += 1
        if leaked(repr(args)):
            problems.append(f"argv of a subprocess: {type(args).__name__}")
    for exc in watch.errors:
        checks += 1
        if any(leaked(t) for t in _exception_texts(exc)):
            problems.append(f"{type(exc).__name__}: its message or hint")
        frames = _traceback_leaks(exc)
        if frames:
            problems.append(f"{type(exc).__name__} rendered with locals: {', '.join(frames)}")
    for record in watch.records:
        checks += 1
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if leaked(text):
            problems.append(f"log record from {record.name}")
    for when, key, content in getattr(request.node, "_report_sections", []):
        if content and leaked(content):
            problems.append(f"captured {key} of the test's {when}")
    folders = [*(fixture.watched if fixture is not None else [])]
    if funcargs.get("tmp_path") is not None:
        folders.append(funcargs["tmp_path"])
    new_temp = [Path(tempfile.gettempdir()) / n for n in sorted(_top_level_temp() - temp_before) if not n.startswith("pytest-of-")]
    scanned, in_files = _scan(folders + new_temp, allowed, value)
    checks += scanned
    problems.extend(f"file {p}" for p in in_files)
    add_figures("canary", canary_tests=1, canary_checks=checks, leaks=len(problems), commands_watched=len(watch.runs),
                exceptions_rendered=len(watch.errors), log_records=len(watch.records), subprocess_argv=len(watch.argv),
                files_scanned=scanned)
    if problems:
        pytest.fail("the canary secret leaked into: " + "; ".join(problems), pytrace=False)


def _text(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


# -- figures ------------------------------------------------------------------------------
#
# Figures are kept per test (the last run of each test wins), so running part of the
# suite updates only what it ran; docs/scripts/gen_reliability.py sums them per family.
# Counts are summed (tables of counts too); anything else is a fact: the last value wins
# (add_counts, shared with that script through tests/reliability/figures.py).

def add_figures(family: str, **numbers: Any) -> None:
    """Add counts (summed) or facts (last value wins) to a family's figures, for the running test."""
    record = _state["tests"].setdefault(_state["current"] or "session", {})
    add_counts(record.setdefault("figures", {}).setdefault(family, {}), numbers)


class Figures:
    """What a reliability test records for docs/reliability.md: ``figures.add("crash", kills=1)``."""

    def add(self, family: str, **numbers: Any) -> None:
        add_figures(family, **numbers)


@pytest.fixture(scope="session")
def figures() -> Figures:
    """Recorder of the reliability figures (written to tests/reliability/.results.json at session end)."""
    return Figures()


def _merge_tests(into: dict[str, Any], tests: dict[str, Any]) -> None:
    for nodeid, record in tests.items():
        mine = into.setdefault(nodeid, {})
        add_counts(mine.setdefault("figures", {}), record.get("figures", {}))
        for key, value in record.items():
            if key != "figures":
                mine[key] = value


def pytest_configure(config: pytest.Config) -> None:
    value = os.environ.get(CANARY_VAR) or f"sk-canary-{secrets.token_hex(16)}"
    os.environ[CANARY_VAR] = value  # inherited by xdist workers started after this
    _state.update(canary=value, worker=hasattr(config, "workerinput"), tests={}, current="")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Any:
    _state["current"] = item.nodeid
    try:
        return (yield)
    finally:
        _state["current"] = ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Outcomes, counted where every report arrives: the xdist controller (or the only process)."""
    if _state["worker"] or not report.nodeid.startswith("tests/reliability/test_"):
        return
    record = _state["tests"].setdefault(report.nodeid, {})
    record["seconds"] = round(record.get("seconds", 0) + report.duration, 2)
    if report.when == "call" or report.failed or report.skipped:
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        if record.get("outcome") != "failed":
            record["outcome"] = outcome


def sweep_now(folder: Path) -> None:
    """Scan a folder that will be removed before the session ends (the session-end sweep cannot see it)."""
    checked, found = _scan([folder], _state["allowed"], canary_value())
    _state["swept"] += checked
    _state["leaks"].extend(found)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take a worker's figures and sweep results."""
    raw = getattr(node, "workeroutput", {}).get("envman_reliability")
    if raw:
        data = json.loads(raw)
        _merge_tests(_state["tests"], data["tests"])
        _state["leaks"].extend(data["leaks"])
        _state["swept"] += data["swept"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    for folder in dict.fromkeys(Path(p) for p in _state["sweep"]):  # every reliability test's tmp_path, once more
        sweep_now(folder)
    if _state["worker"]:  # hand everything to the controller, which knows the outcomes
        config.workeroutput["envman_reliability"] = json.dumps(  # type: ignore[attr-defined]
            {"tests": _state["tests"], "leaks": _state["leaks"], "swept": _state["swept"]})
        return
    if _state["leaks"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if any(n.startswith("tests/reliability/") for n in _state["tests"]):
        _write_results()  # else no reliability test ran: keep the last results


def _write_results() -> None:
    try:
        old = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    tests = {n: r for n, r in old.get("tests", {}).items() if (ROOT / n.split("::", 1)[0]).exists()}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for nodeid, record in _state["tests"].items():
        if nodeid != "session":
            tests[nodeid] = {**record, "finished": now}
    session = dict(_state["tests"].get("session", {}).get("figures", {}))
    session["sweep"] = {"files": _state["swept"], "leaks": len(_state["leaks"])}
    data = {"format": 2, "tests": tests, "session": {"figures": session, "finished": now}}
    tmp = RESULTS.with_name(RESULTS.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _state["leaks"]:
        terminalreporter.write_line("the canary secret was found in files left by reliability tests:", red=True)
        for path in _state["leaks"]:
            terminalreporter.write_line(f"  {path}", red=True)
