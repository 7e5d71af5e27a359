"""Write docs/reliability.md from the figures the reliability suite recorded in its last run.

    python docs/scripts/gen_reliability.py          # rewrite the page
    python docs/scripts/gen_reliability.py --check  # exit 1 if the page differs from the recorded figures

The suite (tests/reliability/, part of `make test`) writes
tests/reliability/.results.json when a session that ran it ends — one entry per
test family, replaced each time that family runs — through the plugin in
tests/canary_plugin.py. Only counts that do not depend on timing go into the
page (timings and race-dependent splits stay in the JSON), so regenerating after
an unchanged green run gives the same page.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so `tests.reliability.figures` imports when this runs as a script
    sys.path.insert(0, str(ROOT))

from tests.reliability.figures import RESULTS, add_counts  # noqa: E402 - shared with tests/canary_plugin.py

OUTPUT = ROOT / "docs" / "reliability.md"

HEADER = """\
# Reliability figures

What the reliability suite (`tests/reliability/`) did in its last run, and what
it found. Every number below is counted by the tests themselves and written to
`tests/reliability/.results.json`; this page is generated from that file by
`docs/scripts/gen_reliability.py` — nothing here is typed by hand.
"""

REPRODUCE = """\
## Reproduce

The suite is part of `make test`. To run only it and regenerate this page:

```sh
.venv/bin/python -m pytest tests/reliability -n 2 --dist loadfile
.venv/bin/python docs/scripts/gen_reliability.py
```

Knobs (environment variables): `RELIABILITY_SEED` changes the crash points
(default 20261123, so a rerun kills at the same points), `RELIABILITY_BAO_SETS`
the sets per OpenBao writer (default 100), `RELIABILITY_FUZZ_CLI` the generated
command lines per command test (default 700). The disk tests mount a small tmpfs
when run as root and otherwise report that they ran the simulation only.
Concurrency and crash tests keep their projects on `/dev/shm` when it is a
tmpfs: they test locking and the order of writes, not the disk's speed.
"""


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def families(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per family: the figures summed over its tests' last runs, and how those runs ended."""
    out: dict[str, dict[str, Any]] = {}
    for nodeid, record in sorted(data.get("tests", {}).items()):
        for family, numbers in record.get("figures", {}).items():
            add_counts(out.setdefault(family, {"figures": {}, "outcomes": {}})["figures"], numbers)
        stem = Path(nodeid.split("::", 1)[0]).stem
        if nodeid.startswith("tests/reliability/test_reliability_") and "outcome" in record:
            outcomes = out.setdefault(stem.removeprefix("test_reliability_"), {"figures": {}, "outcomes": {}})["outcomes"]
            outcomes[record["outcome"]] = outcomes.get(record["outcome"], 0) + 1
    return out


def _status(entry: dict[str, Any]) -> str:
    outcomes = entry.get("outcomes", {})
    if not outcomes:
        return "not run yet"
    words = {"passed": "passed", "failed": "**failed**", "xfailed": "known findings (xfail)", "skipped": "skipped"}
    parts = [f"{n} {words.get(k, k)}" for k, n in sorted(outcomes.items(), key=lambda kv: list(words).index(kv[0])
                                                             if kv[0] in words else 9)]
    total = sum(outcomes.values())
    return f"{total} test{'s' * (total != 1)}: " + ", ".join(parts)


def _table(rows: list[tuple[str, Any, Any]]) -> list[str]:
    lines = ["| what | cases | failures |", "|---|---:|---:|"]
    lines += [f"| {what} | {_n(cases)} | {_n(bad)} |" for what, cases, bad in rows]
    return lines


def render(data: dict[str, Any]) -> str:
    """The page for the recorded figures."""
    fam = families(data)
    out = [HEADER]

    def section(title: str, key: str, intro: str) -> dict[str, Any]:
        entry = fam.get(key, {})
        out.extend([f"## {title}", "", intro, "", f"Last run: {_status(entry)}.", ""])
        figures: dict[str, Any] = entry.get("figures", {})
        return figures

    f = section("Concurrent writers", "concurrency",
                "Separate processes run envman's entry point in a loop, released together. \"Lost\" counts versions that "
                "are not exactly their predecessor plus the one change their writer reported.")
    if f:
        out += _table([
            (f"{f.get('files_writers')} processes × {f.get('files_sets', 0) // max(1, f.get('files_writers', 1))} `set` on one "
             "environment: versions written / lost", f.get("files_versions_found"), f.get("files_lost")),
            (f"mixed: {f.get('mix_sets')} sets, {f.get('mix_rotations')} rotations (value on stdin), "
             f"{f.get('mix_commands', 0) - f.get('mix_sets', 0) - f.get('mix_rotations', 0)} promotes at once: commands / lost",
             f.get("mix_commands"), f.get("mix_lost")),
            ("deadlocks (a writer still running after 300 s)", f.get("files_writers"), f.get("files_deadlocks")),
        ])
        out += ["", "A promote whose plan is overtaken by another writer is refused whole (check-and-set) and re-run; "
                "how often that happens depends on timing and is left out of this page.", ""]
    f = section("Concurrent writers on OpenBao", "openbao",
                "The same race against a real `bao server -dev`: check-and-set instead of a file lock; a refused "
                "write is re-run by its writer.")
    if f:
        out += _table([(f"{f.get('writers')} processes × {f.get('sets', 0) // max(1, f.get('writers', 1))} `set`: "
                        "versions written / lost", f.get("versions_found"), f.get("lost"))])
        out.append("")
    f = section("Writers killed (SIGKILL)", "crash",
                "A fork server runs each writing command in a child that kills itself at a random file system step "
                "(before or after it, halfway through a write, or halfway through the ledger line). After each kill: "
                "every file parses, the ledger is the committed prefix, each committed version's file is intact, each "
                "profile is a committed version; `ledger verify` reports an interrupted write, never tampering; then "
                "`envman repair` or the next writer restores a state that verifies clean.")
    if f:
        out += _table([
            ("writers killed / corrupted files or lost committed entries", f.get("kills"),
             f.get("corruptions", 0) + f.get("committed_entries_lost", 0)),
            ("of which a second writer killed before any repair", f.get("double_kills"), 0),
            ("kills that left an inconsistency / not named by `check` (E010)", f.get("inconsistent_after_kill"),
             f.get("inconsistent_after_kill", 0) - f.get("named_by_check", 0)),
            ("torn last ledger lines / not truncated", f.get("torn_ledger_lines"), 0),
            ("restored by `envman repair` / by the next writer", f"{_n(f.get('repaired'))} / {_n(f.get('rolled_forward'))}", 0),
        ])
        points = f.get("kill_points", {})
        commands = f.get("killed_commands", {})
        if points:
            out += ["", "Where they died: " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(points.items())) + "."]
        if commands:
            out += ["", "Which commands: " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(commands.items())) + "."]
        out += ["", f"Seed {f.get('seed')}; the ledger held {_n(f.get('ledger_entries'))} entries at the end.", ""]
    f = section("Disk full, read-only folder, files deleted", "disk",
                "ENOSPC at every write of a change (simulated), a real 1 MiB tmpfs filled up, the project folder read-only "
                "(simulated EROFS and a tmpfs remounted read-only: `chmod` does not stop root), and each file of a project "
                "deleted in turn.")
    if f:
        real = "ran" if f.get("real_tmpfs") else "skipped (no mount here)"
        ro = "ran" if f.get("real_read_only") else "skipped (no mount here)"
        out += _table([
            ("ENOSPC at the k-th write (simulated): cases / data lost", f.get("simulated_enospc_cases"), f.get("simulated_enospc_data_lost")),
            (f"real full tmpfs ({real}): cases / data lost", f.get("real_enospc_cases", 0), f.get("real_enospc_data_lost", 0)),
            ("read-only (simulated): readers that worked + writers refused in one line", (f.get("simulated_erofs_readers_ok", 0)
             + f.get("simulated_erofs_writers_refused", 0)), 0),
            (f"read-only tmpfs ({ro}): readers + writers", f.get("real_erofs_readers_ok", 0) + f.get("real_erofs_writers_refused", 0), 0),
            ("a file deleted: command runs / tracebacks", f.get("deleted_file_commands"), f.get("deleted_file_tracebacks")),
        ])
        out += [""]
    f = section("Tampering", "tamper",
                "Generated from one project with a real history: every variable, every pair of environments, every ledger "
                "position. Detected means `ledger verify` exits 1 naming the entry or file, `check` reports an E010 error, "
                "and a moved ciphertext is also refused by `get --reveal` naming the variable.")
    if f:
        lines = ["| kind | cases | detected |", "|---|---:|---:|"]
        for kind, numbers in sorted(f.get("by_kind", {}).items()):
            lines.append(f"| {kind} | {_n(numbers.get('cases'))} | {_n(numbers.get('detected'))} |")
        lines.append(f"| **all** | **{_n(f.get('cases'))}** | **{_n(f.get('detected'))}** |")
        out += [*lines, ""]
    f = section("Bad input", "fuzz",
                "Generated with hypothesis: parsers called directly, commands through the real entry point in-process. A "
                "failure is any exception other than envman's own refusal, a refusal that is not one line, or a refused "
                "command that changed a file.")
    if f:
        targets = f.get("by_target", {})
        commands = sum(v for k, v in targets.items() if k.startswith(("command:", "stdin:")))
        lines = ["| target | cases |", "|---|---:|"]
        lines += [f"| {k} | {_n(v)} |" for k, v in sorted(targets.items()) if not k.startswith(("command:", "stdin:"))]
        lines.append(f"| commands with generated arguments, stdin and .env files | {_n(commands)} |")
        lines.append(f"| **all** (tracebacks: {_n(f.get('tracebacks'))}) | **{_n(f.get('cases'))}** |")
        out += [*lines, ""]
    leaks = fam.get("leaks", {})
    canary = dict(fam.get("canary", {}).get("figures", {}))
    sweep = data.get("session", {}).get("figures", {}).get("sweep", {})
    out += ["## Leaks", "", "One canary secret per run goes through every command. The plugin in `tests/canary_plugin.py` "
            "watches each test that uses it: command output (except `--reveal`, `export` to stdout and `run`), log records "
            "at DEBUG, every exception rendered with its frames' locals, subprocess argv, and every file left in the test's "
            "folders and the temp folder; at the end of the session every reliability test's folder is swept again.", "",
            f"Last run: {_status(leaks)}.", ""]
    if canary:
        out += _table([
            ("tests using the canary: checks made / leaks", canary.get("canary_checks"), canary.get("leaks")),
            ("of which exceptions rendered with their locals", canary.get("exceptions_rendered"), 0),
            ("files swept at session end / holding the canary", sweep.get("files"), sweep.get("leaks")),
            ("files written 0600 under umask 022 and 000 / not 0600", leaks.get("figures", {}).get("plaintext_files_checked_0600"), 0),
            ("unsafe keychain backends (keyrings.alt, null, fail) / used", leaks.get("figures", {}).get("unsafe_keychains_refused"), 0),
        ])
        out += [""]
    out.append(REPRODUCE)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    try:
        data = json.loads(RESULTS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"{RESULTS.relative_to(ROOT)} does not exist: run the reliability suite first", file=sys.stderr)
        return 2
    text = render(data)
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
