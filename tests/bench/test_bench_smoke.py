"""The benchmark's own parts: generated workloads are valid projects, and the harness computes what it prints.

No timing is asserted here: the figures come from `make bench`, never from the test suite.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

run = importlib.import_module("run")
workloads = importlib.import_module("workloads")
ENVMAN = Path(sys.executable).parent / "envman"


def _envman(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENVMAN), *args], cwd=root, capture_output=True, text=True, timeout=120, check=False)


def test_ten_variable_project_passes_ledger_verify(tmp_path: Path) -> None:
    """A 10-variable workload with extra versions and ledger padding is accepted by `envman ledger verify`."""
    wl = workloads.build_project(tmp_path / "p", versions=5, ledger_entries=40)
    r = _envman(wl.root, "ledger", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok: 40 entries" in r.stdout
    assert _envman(wl.root, "get", "production", "AI_REQUEST_TIMEOUT_MS").stdout.strip() == "1005"
    assert len(list((wl.root / "environments" / "versions" / "production").glob("*.toml"))) == 5


def test_workload_secrets_decrypt_to_the_generated_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret of a generated project decrypts, with the environment's key, to the value the generator reports."""
    from envman.ops import Project, show

    wl = workloads.build_project(tmp_path / "p", variables=12)
    assert wl.secrets == frozenset(wl.values) and len(wl.values) == 12
    for name, value in wl.key_environ().items():
        monkeypatch.setenv(name, value)
    _, rows = show(Project.open(wl.root), "production", reveal=True)
    assert {r.name: r.value for r in rows} == wl.values


def test_fingerprint_cache_is_reused(tmp_path: Path) -> None:
    """Fingerprints come from the cache on a second build (scrypt is the slow part of generating workloads)."""
    cache = tmp_path / "cache"
    workloads.build_project(tmp_path / "a", variables=3, cache=cache)
    (cached,) = cache.glob("fingerprints-*.json")
    table = json.loads(cached.read_text())
    assert len(table) == 3
    wl = workloads.build_project(tmp_path / "b", variables=3, cache=cache)
    assert sorted(json.loads(cached.read_text())) == sorted(table)
    assert _envman(wl.root, "ledger", "verify").returncode == 0


def test_age_keypair_has_age_shape() -> None:
    """The generated age identity looks like age-keygen's output (bech32, right prefixes and lengths)."""
    recipient, identity = workloads.age_keypair()
    assert recipient.startswith("age1") and len(recipient) == 62
    assert identity.startswith("AGE-SECRET-KEY-1") and len(identity) == 74 and identity == identity.upper()


def test_bech32_matches_the_reference_vector() -> None:
    """bech32 encoding matches BIP-173's test vector for an empty payload."""
    assert workloads._bech32("a", b"") == "a12uel5l"


def test_generated_files_read_the_same_with_the_fast_reader(tmp_path: Path) -> None:
    """envman's fast TOML reader returns exactly what tomllib returns for the manifest and profiles it wrote."""
    from envman.profile import read_simple_toml

    wl = workloads.build_project(tmp_path / "p", versions=3)
    files = [wl.root / "envman.toml", *sorted((wl.root / "environments").rglob("*.toml"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = read_simple_toml(text)
        assert fast is not None, f"{path.name} fell back to tomllib"
        assert fast == tomllib.loads(text)


@pytest.mark.parametrize("text", [
    'a = "x" # comment\n', "a = 1.5\n", "a = 'literal'\n", 'a = "x"\r\n', "[a]\n[a]\n", 'a = "1"\na = "2"\n',
    "[ a ]\n", 'a = "\\q"\n', 'a = "\\ud800"\n', "a = 01\n", "a = +1\n", 'a = ["x", 1]\n', 'a = ["a, b"]\n',
    "a.b = 1\n", 'a = "x"y"\n', "a = 1979-05-27\n", " a = 1\n", "a = {b = 1}\n", 'a = "tab\x01"\n',
])
def test_fast_reader_declines_what_it_does_not_know(text: str) -> None:
    """Anything outside the plain subset is left to tomllib (None), never read differently."""
    from envman.profile import read_simple_toml

    assert read_simple_toml(text) is None


@pytest.mark.parametrize("text", [
    '[x.y]\nname = "v"\n', '# c\n\n[t]\nk = true\nn = -12\nz = 0\n', 'a = ["p", "q"]\nb = []\n',
    'e = "\\"q\\" \\\\ \\t \\u00e9 \\U0001F600 …"\n', "[a.b]\nk = 1\n[a]\nj = 2\n",
])
def test_fast_reader_agrees_with_tomllib(text: str) -> None:
    """On the plain subset the fast reader's result equals tomllib's."""
    from envman.profile import read_simple_toml

    assert read_simple_toml(text) == tomllib.loads(text)


def test_interleave_runs_a_then_b_after_warmup() -> None:
    """Runs alternate A, B, A, B...; warm-up runs are made and discarded."""
    calls: list[str] = []

    def a(i: int) -> float:
        calls.append(f"a{i}")
        return float(i)

    def b(i: int) -> float:
        calls.append(f"b{i}")
        return 10.0 + i

    xs, ys = run.interleave(a, b, runs=3, warmup=1)
    assert calls == ["a-1", "b-1", "a0", "b0", "a1", "b1", "a2", "b2"]
    assert xs == [0.0, 1.0, 2.0] and ys == [10.0, 11.0, 12.0]


def test_stats_and_ratio_on_fake_timings() -> None:
    """Median, min and max per side; the ratio is of the medians; the target decides PASS/MISS."""
    envman = run.Stats.of([12.0, 10.0, 50.0, 11.0])  # an outlier must not move the median much
    yard = run.Stats.of([10.0, 9.0, 11.0])
    assert (envman.median, envman.min, envman.max, envman.n) == (11.5, 10.0, 50.0, 4)
    row = run.Row("P1a", "get", "import click", 1.3, envman=envman, yardstick=yard)
    assert row.ratio == pytest.approx(1.15)
    assert row.status == "PASS"
    row.target = 1.1
    assert row.status == "MISS"
    row.target = None
    assert row.status == "info"
    assert run.Row("P3", "export", "sops", 1.5, note="command missing").status == "n/a"
    assert run.Row("P3", "export", "sops", 1.5, error="exit 2").status == "ERROR"


def test_results_round_trip_and_table_lists_every_row() -> None:
    """Rows survive the JSON file, and the printed table has a line for every row, n/a ones included."""
    rows = [
        run.Row("P1a", "get", "import click", 1.3, envman=run.Stats.of([2.0]), yardstick=run.Stats.of([1.0])),
        run.Row("P3a", "export", "sops -d", 1.5, note="command missing"),
    ]
    again = [run.Row.from_dict(json.loads(json.dumps(r.as_dict()))) for r in rows]
    assert [r.as_dict() for r in again] == [r.as_dict() for r in rows]
    text = run.render_table(again)
    assert "P1a" in text and "MISS" in text and "n/a (command missing)" in text


def test_report_renders_markdown_from_results(tmp_path: Path) -> None:
    """bench/report.py turns a results file into a page with every row and the reproduction command."""
    report = importlib.import_module("report")
    rows = [run.Row("P6", "ledger verify", "sha256sum", 10, envman=run.Stats.of([30.0]), yardstick=run.Stats.of([5.0]))]
    data = {"meta": {"time_utc": "2026-01-01T00:00:00Z", "smoke": False, "runs": 10, "machine": "test", "load_average": [0.1],
                     "python_version": "3.11", "git_commit": "abc", "tools": {}, "sizes": {}, "seconds": 1},
            "rows": [r.as_dict() for r in rows]}
    page = report.render(data)
    assert "| P6 |" in page and "6.00" in page and "make bench" in page


def _bench(tmp_path: Path) -> object:
    return run.Bench(run.SMOKE, run.Tools(), tmp_path, log=lambda _message: None)


def test_p9_times_envman_and_bao_against_a_dev_server(tmp_path: Path) -> None:
    """P9 starts `bao server -dev`, moves a project there with envman, checks both sides print the value, times them."""
    if os.environ.get("ENVMAN_SKIP_OPENBAO") == "1":
        pytest.skip("ENVMAN_SKIP_OPENBAO=1: OpenBao tests skipped on request")
    row = run.p9_row(_bench(tmp_path), runs=1, warmup=0)
    assert row.error == "" and row.status == "info", row.error or row.note
    assert row.envman is not None and row.yardstick is not None and row.envman.n == row.yardstick.n == 1


def test_p9_server_that_never_starts_is_the_rows_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `bao` that exits at once makes P9 an ERROR row with the reason, not a crash of the run."""
    monkeypatch.setenv("ENVMAN_BAO", "/bin/false")
    row = run.p9_row(_bench(tmp_path), runs=1, warmup=0)
    assert row.status == "ERROR" and "did not become healthy" in row.error


def test_p9_without_bao_is_not_applicable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the `bao` binary P9 is `n/a` with the reason."""
    monkeypatch.setenv("ENVMAN_BAO", str(tmp_path / "no-such-bao"))
    row = run.p9_row(_bench(tmp_path), runs=1, warmup=0)
    assert row.status == "n/a" and "bao binary missing" in row.note


def _fake_valgrind(folder: Path, collected: int) -> dict[str, str]:
    """An environment whose `valgrind` runs the command and reports ``collected`` instructions, as callgrind does."""
    folder.mkdir()
    script = folder / "valgrind"
    script.write_text(f'#!/bin/sh\nshift 2\n"$@"\nstatus=$?\necho "==1== Collected : {collected}" >&2\nexit $status\n')
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_instruction_counts_are_read_from_callgrind_and_reach_the_report(tmp_path: Path) -> None:
    """Rows marked for counting get [envman, yardstick] instructions; the page shows their ratio."""
    env = _fake_valgrind(tmp_path / "bin", 1500)
    proc = run.Proc((sys.executable, "-c", "pass"), tmp_path, env)
    assert run.count_instructions(proc) == 1500
    failing = run.Proc((sys.executable, "-c", "raise SystemExit(3)"), tmp_path, env)
    with pytest.raises(run.BenchError, match="exited 3"):
        run.count_instructions(failing)
    pair = run.Pair(run.Row("P1a", "get", "import click", 1.3), lambda _i: proc, lambda _i: proc, count=True)
    row = run.measure(pair, runs=1, warmup=0, instructions=True)
    assert row.instructions == [1500, 1500] and not row.error
    assert run.measure(run.Pair(run.Row("P1b", "show", "import click", 1.3), lambda _i: proc, lambda _i: proc),
                       runs=1, warmup=0, instructions=True).instructions is None
    report = importlib.import_module("report")
    data = {"meta": {"time_utc": "2026-01-01T00:00:00Z", "smoke": False, "runs": 1, "machine": "test", "load_average": [0.1],
                     "python_version": "3.11", "git_commit": "abc", "tools": {}, "sizes": {}, "seconds": 1},
            "rows": [json.loads(json.dumps(row.as_dict()))]}
    page = report.render(data)
    assert "## Instructions executed" in page and "| P1a | 0 M | 0 M | 1.00 | ≤ 1.3 |" in page
