"""Benchmark `envman.scan` against `grep -rnF -f patterns` on the same tree.

    python bench/scan_bench.py                       # 100 MB tree, 5 runs, 1,000-commit history
    python bench/scan_bench.py --size-mb 2 --runs 1 --commits 20   # smoke run

The tree looks like a project after a build: source files, minified bundles
with very long lines, source maps, binaries and a dist/ folder, with 50 known
secrets (current and past) planted plain and encoded. grep gets exactly the
patterns envman searches (every encoded form), so both do the same work.
Runs are interleaved and warmed, and the medians are compared.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envman.scan import KnownSecret, ScanStats, encoded_forms, scan_git, scan_paths

ALNUM = string.ascii_letters + string.digits
_VOCABULARY = (
    "const return function import export default async await if else for while class self None true false "
    "null value config request response model user data error timeout http https api url key"
)
WORDS = _VOCABULARY.split()


def fingerprint(value: str) -> str:
    """Cheap stand-in for the real scrypt fingerprint."""
    return "fp1:" + hashlib.sha256(value.encode()).hexdigest()[:24]


def mask(value: str) -> str:
    return value[:3] + "…" + value[-4:]


def make_secrets(rng: random.Random, n: int) -> list[KnownSecret]:
    out = []
    for i in range(n):
        value = "sk-" + "".join(rng.choices(ALNUM, k=rng.randint(32, 48)))
        env = ("test", "staging", "production")[i % 3]
        current = i % 2 == 0
        out.append(KnownSecret(env, f"API_KEY_{i}", 1 + i // 3, current, mask(value), fingerprint(value), value))
    return out


def corpus(rng: random.Random, size: int) -> str:
    """Code-like filler text; files are slices of it at random offsets."""
    parts: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
        if rng.random() < 0.15:
            line += f' = "{"".join(rng.choices(ALNUM, k=rng.randint(8, 40)))}";'
        if rng.random() < 0.03:
            line += " " + base64.b64encode(rng.randbytes(rng.randint(20, 90))).decode()
        parts.append(line)
        total += len(line) + 1
    return "\n".join(parts)


def plant(value: str, rng: random.Random) -> str:
    kind = rng.choice(["plain", "plain", "b64", "url", "json", "hex"])
    if kind == "b64":
        return base64.b64encode(rng.randbytes(rng.randint(0, 2)) + value.encode()).decode()
    if kind == "url":
        return "https://api.example.com/v1?key=" + quote(value, safe="")
    if kind == "json":
        return json.dumps({"apiKey": value})
    if kind == "hex":
        return value.encode().hex()
    return f"API_KEY={value}"


def build_tree(root: Path, size_mb: float, secrets: list[KnownSecret], rng: random.Random) -> int:
    """Write about size_mb of files under root; returns the byte count."""
    target = int(size_mb * 1_000_000)
    text = corpus(rng, min(4_000_000, max(200_000, target // 10)))
    written = 0
    n = 0
    plants = [s.plaintext for s in secrets if s.plaintext] * 2
    rng.shuffle(plants)
    while written < target:
        n += 1
        roll = rng.random()
        if roll < 0.01:  # minified bundle: one very long line
            size, folder, name, one_line = rng.randint(200_000, 2_000_000), "dist/assets", f"chunk-{n}.min.js", True
        elif roll < 0.02:
            size, folder, name, one_line = rng.randint(50_000, 500_000), "dist/assets", f"chunk-{n}.js.map", True
        elif roll < 0.07:
            size, folder, name, one_line = rng.randint(5_000, 300_000), "build/lib", f"mod{n}.pyc", False
        else:
            size, folder, name, one_line = rng.randint(500, 30_000), f"src/pkg{n % 40}", f"file{n}.py", False
        size = min(size, target - written + 1)
        start = rng.randrange(0, max(1, len(text) - size))
        body = text[start : start + size]
        if one_line:
            body = body.replace("\n", ";")
        data = body.encode()
        if name.endswith(".pyc"):
            data = b"\x00\x00\x0d\x0a" + bytes(rng.randbytes(min(size, 4096))) + data
        if plants and rng.random() < 0.05:
            cut = rng.randrange(len(data) + 1)
            data = data[:cut] + b"\n" + plant(plants.pop(), rng).encode() + b"\n" + data[cut:]
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += len(data)
    # whatever was not planted yet goes into one config file, so all 50 are present
    (root / "config.env").write_text("\n".join(plant(v, rng) for v in plants) + "\n")
    return written


def time_grep(root: Path, patterns: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(
        ["grep", "-rnF", "-f", str(patterns), str(root)], capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=False
    ).stdout
    return time.perf_counter() - t0, out.count(b"\n")


def time_envman(root: Path, secrets: list[KnownSecret]) -> tuple[float, int]:
    t0 = time.perf_counter()
    hits = list(scan_paths([root], secrets, fingerprint))
    return time.perf_counter() - t0, len(hits)


def bench_files(args: argparse.Namespace, work: Path) -> None:
    rng = random.Random(args.seed)
    secrets = make_secrets(rng, 50)
    tree = work / "tree"
    size = build_tree(tree, args.size_mb, secrets, rng)
    patterns = work / "patterns.txt"
    forms = {p for s in secrets if s.plaintext for p, _ in encoded_forms(s.plaintext)}
    patterns.write_bytes(b"\n".join(sorted(forms)) + b"\n")
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    print(f"tree: {size / 1e6:.1f} MB, {files} files, {len(secrets)} secrets, {len(forms)} patterns")

    time_grep(tree, patterns)  # warm the page cache for both
    time_envman(tree, secrets)
    g_times, e_times = [], []
    g_hits = e_hits = 0
    for _ in range(args.runs):
        t, g_hits = time_grep(tree, patterns)
        g_times.append(t)
        t, e_hits = time_envman(tree, secrets)
        e_times.append(t)
    g, e = statistics.median(g_times), statistics.median(e_times)
    print(f"grep -rnF -f: median {g:.3f}s ({g_hits} matching lines)")
    print(f"envman scan : median {e:.3f}s ({e_hits} hits)")
    print(f"ratio envman/grep: {e / g:.2f}x (target <= 2.0x)")

    keyless = [KnownSecret(s.env, s.var, s.version, s.current, s.masked, s.fingerprint) for s in secrets]
    stats = ScanStats()
    t0 = time.perf_counter()
    n = sum(1 for _ in scan_paths([tree], keyless, fingerprint, stats=stats))
    print(f"keyless scan: {time.perf_counter() - t0:.3f}s ({n} plain hits, {stats.fingerprints} fingerprint calls)")


def build_history(repo: Path, commits: int, secrets: list[KnownSecret], rng: random.Random) -> None:
    """A linear history through git fast-import: each commit edits a few of 200 files."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    text = corpus(rng, 400_000)
    files = {f"src/m{i}.py": text[i * 1500 : i * 1500 + 1500] for i in range(200)}
    values = [s.plaintext for s in secrets if s.plaintext]
    stream = bytearray()
    for c in range(1, commits + 1):
        stream += b"commit refs/heads/main\n"
        stream += f"committer Bench <b@example.com> {1_700_000_000 + c} +0000\n".encode()
        msg = f"change {c}".encode()
        stream += b"data %d\n%s\n" % (len(msg), msg)
        for _ in range(3):
            name = rng.choice(list(files))
            start = rng.randrange(len(text) - 2000)
            body = text[start : start + rng.randint(500, 2000)]
            if values and rng.random() < 0.02:
                body += f"\nAPI_KEY={rng.choice(values)}\n"
            files[name] = body
            data = body.encode()
            stream += f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)


def bench_git(args: argparse.Namespace, work: Path) -> None:
    rng = random.Random(args.seed + 1)
    secrets = make_secrets(rng, 50)
    repo = work / "repo"
    build_history(repo, args.commits, secrets, rng)

    def scan_git_once(stats: ScanStats) -> int:
        return sum(1 for _ in scan_git(repo, secrets, fingerprint, stats=stats))

    scan_git_once(ScanStats())  # warm
    times = []
    stats = ScanStats()
    for _ in range(args.runs):
        stats = ScanStats()
        t0 = time.perf_counter()
        hits = scan_git_once(stats)
        times.append(time.perf_counter() - t0)
    print(
        f"git history: {stats.commits} commits, {stats.blobs} blobs read once each "
        f"({stats.bytes / 1e6:.1f} MB), {hits} hits, median {statistics.median(times):.3f}s"
    )
    t0 = time.perf_counter()
    patterns = work / "git-patterns.txt"
    patterns.write_bytes(b"\n".join(sorted({p for s in secrets if s.plaintext for p, _ in encoded_forms(s.plaintext)})) + b"\n")
    log = subprocess.run(["git", "log", "-p", "--all"], cwd=repo, capture_output=True, check=True).stdout
    subprocess.run(["grep", "-cF", "-f", str(patterns)], input=log, capture_output=True, check=False)
    print(f"for reference, git log -p --all | grep -F -f: {time.perf_counter() - t0:.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree and repository")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="envman-scan-bench-"))
    try:
        bench_files(args, work)
        if args.commits:
            bench_git(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
