"""Scanning files and folders: every planted secret found at its exact place, nothing else."""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import os
import py_compile
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from envman.errors import NotFound, UsageError
from envman.scan import Hit, KnownSecret, Scanner, ScanStats, scan_paths
from tests.scan.scanhelp import CUR, FP, PASSWORD, PAST, TOKEN, CountingFingerprint, GitRepo, keyless, position, secret

Expected = set[tuple[str, int, int, str, str, str | None]]  # (path, line, column, encoding, var, member)

SECRETS = [
    secret(CUR, var="API_KEY", version=4, current=True),
    secret(PAST, var="API_KEY", version=2, current=False),
    secret(PASSWORD, var="DB_PASSWORD", version=1, current=True),
]


def _key(h: Hit, root: Path) -> tuple[str, int, int, str, str, str | None]:
    return (os.path.relpath(h.path, root).replace(os.sep, "/"), h.line, h.column, h.encoding, h.var, h.member)


def _write(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return p


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def plant_tree(root: Path) -> Expected:
    """Plant every kind of occurrence; return where each must be reported."""
    exp: Expected = set()

    def text_file(rel: str, text: str, needle: str, encoding: str, var: str = "API_KEY") -> None:
        _write(root, rel, text)
        line, col = position(text, needle)
        exp.add((rel, line, col, encoding, var, None))

    text_file(".env.production", f"# prod\nALLTKN_API_KEY={CUR}\n", CUR, "plain")
    text_file("config/old.yaml", f'a: 1\nb: 2\napi_key: "{PAST}"\n', PAST, "plain")
    for pad in range(3):
        # base64 of the key at each byte alignment: the reported column is where the
        # characters that depend only on the key begin.
        blob = base64.b64encode(b"xyz"[:pad] + CUR.encode() + b"!").decode()
        text = f"line one\ntoken: {blob}\n"
        _write(root, f"b64/off{pad}.txt", text)
        exp.add((f"b64/off{pad}.txt", 2, len("token: ") + math.ceil(8 * pad / 6) + 1, "base64", "API_KEY", None))
    urlsafe = base64.urlsafe_b64encode(PAST.encode()).decode()
    assert "-" in urlsafe or "_" in urlsafe  # the URL-safe alphabet really differs here
    text_file("b64/urlsafe.txt", f"x={urlsafe}\n", urlsafe.rstrip("=")[:10], "base64")
    text_file("url.txt", f"https://api.example.com/v1/models?key={quote(PAST, safe='')}\n", quote(PAST, safe=""), "url")
    text_file("form.txt", f"\n\npassword={quote_plus(PASSWORD)}&x=1\n", quote_plus(PASSWORD), "url", "DB_PASSWORD")
    text_file("data.json", json.dumps({"pw": PASSWORD}), json.dumps(PASSWORD)[1:-1], "json", "DB_PASSWORD")
    text_file(
        "data-utf8.json",
        "\n" + json.dumps({"pw": PASSWORD}, ensure_ascii=False),
        json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
        "json",
        "DB_PASSWORD",
    )
    text_file("php.json", '{"k":"' + PAST.replace("/", "\\/") + '"}', PAST.replace("/", "\\/"), "json")
    text_file("hex.txt", f"{CUR.encode().hex()}\n", CUR.encode().hex(), "hex")
    text_file("HEX.txt", f"id\n  {PAST.encode().hex().upper()}\n", PAST.encode().hex().upper(), "hex")

    # A 200 KB minified bundle on one line, with multi-byte characters before the key
    # so that the column (characters) differs from the byte offset.
    filler = "var é=1;function f(a){return a+'ü'};" * 6000
    bundle = filler[:150_000] + f'const k="{CUR}";' + filler[:50_000]
    text_file("dist/assets/app.min.js", bundle, CUR, "plain")
    assert len(bundle.encode()) > 200_000

    source = f'const key = "{PAST}";\nexport default key;\n'
    sourcemap = json.dumps({"version": 3, "sources": ["src/key.ts"], "sourcesContent": [source], "mappings": "AAAA"})
    text_file("dist/assets/app.js.map", sourcemap, PAST, "plain")

    module = _write(root, "src_py/settings.py", f"KEY = {CUR!r}\n")
    exp.add(("src_py/settings.py", 1, 8, "plain", "API_KEY", None))
    pyc = root / "build/__pycache__/settings.cpython-311.pyc"
    pyc.parent.mkdir(parents=True)
    py_compile.compile(str(module), cfile=str(pyc))
    data = pyc.read_bytes()
    assert b"\0" in data[:100]
    exp.add(("build/__pycache__/settings.cpython-311.pyc", 1, data.index(CUR.encode()) + 1, "plain", "API_KEY", None))

    member = "a\nb\nc\nd\nKEY = '" + PAST + "'\n"
    _write(root, "dist/bundle.zip", _zip({"app/readme.txt": b"nothing here\n", "app/config.py": member.encode()}))
    exp.add(("dist/bundle.zip", 5, 8, "plain", "API_KEY", "app/config.py"))

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tf:
        data = f"[api]\nkey = {CUR}\n".encode()
        info = tarfile.TarInfo("pkg/settings.ini")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    _write(root, "dist/pkg.tar.gz", tar_bytes.getvalue())
    exp.add(("dist/pkg.tar.gz", 2, 7, "plain", "API_KEY", "pkg/settings.ini"))

    _write(root, "dist/app.js.gz", gzip.compress(f"let a=1;\nlet k='{PAST}';\n".encode()))
    exp.add(("dist/app.js.gz", 2, 8, "plain", "API_KEY", "app.js"))

    inner = _zip({"res/key.txt": f"{CUR}\n".encode()})
    _write(root, "dist/lib-1.0-py3-none-any.whl", _zip({"lib/__init__.py": b"", "lib/vendor/inner.jar": inner}))
    exp.add(("dist/lib-1.0-py3-none-any.whl", 1, 1, "plain", "API_KEY", "lib/vendor/inner.jar!/res/key.txt"))

    # History is scan_git's job: a .git folder in the tree is not walked.
    _write(root, ".git/config", f"[secret]\n\tkey = {CUR}\n")
    return exp


def test_planted_secrets_are_all_found_exactly(tmp_path: Path, engine: str) -> None:
    """Current and past secrets, plain and encoded, in text, bundles, maps, .pyc and archives:
    each is reported once with its path, line, column, encoding and version."""
    exp = plant_tree(tmp_path)
    hits = list(scan_paths([tmp_path], SECRETS, FP))
    got = [_key(h, tmp_path) for h in hits]
    assert len(got) == len(set(got)), "a location was reported twice"
    assert set(got) == exp
    versions = {(h.version, h.current) for h in hits if h.var == "API_KEY"}
    assert versions == {(4, True), (2, False)}
    for h in hits:
        assert h.commit is None and h.source == "file"
        assert h.binary == h.path.endswith(".pyc")


def test_binary_hits_report_byte_offsets(tmp_path: Path) -> None:
    """In a binary file the line is 1 and the column is the byte offset + 1."""
    data = b"\x00\x01\x02\n\n" + CUR.encode() + b"\x00"
    _write(tmp_path, "blob.bin", data)
    (hit,) = scan_paths([tmp_path], SECRETS, FP)
    assert (hit.binary, hit.line, hit.column, hit.offset) == (True, 1, 6, 5)


def test_clean_tree_with_near_misses_has_no_hit(tmp_path: Path, engine: str) -> None:
    """One character changed, truncated, or same prefix and suffix with another middle:
    no hit in keyed mode, and in keyless mode the fingerprint rejects the look-alike."""
    changed = [CUR[:i] + ("X" if CUR[i] != "X" else "Y") + CUR[i + 1 :] for i in (0, 3, len(CUR) // 2, len(CUR) - 1)]
    lookalike = CUR[:3] + "Zz" * 10 + CUR[-4:]
    lines = [*changed, CUR[:-1], CUR[1:], lookalike, base64.b64encode(changed[2].encode()).decode(), changed[1].encode().hex()]
    _write(tmp_path, "near.txt", "\n".join(f"KEY={v}" for v in lines) + "\n")
    _write(tmp_path, "dist/app.min.js", "x=1;" * 50_000 + f'k="{lookalike}";')
    assert list(scan_paths([tmp_path], SECRETS, FP)) == []
    counting = CountingFingerprint()
    ks = [keyless(s) for s in SECRETS]
    assert list(scan_paths([tmp_path], ks, counting)) == []
    assert counting.calls >= 1  # the look-alike was a candidate and was checked


def test_keyless_finds_exactly_the_plain_hits_of_keyed_mode(tmp_path: Path, engine: str) -> None:
    """Without plaintext, masked prefix/suffix + fingerprint find the same plain occurrences."""
    values = [CUR, PAST, TOKEN, "Q7mZ2kP9xW4vB8"]
    secrets = [secret(v, var=f"V{i}", version=i + 1) for i, v in enumerate(values)]
    contexts = [
        "KEY={}",
        'k = "{}"',
        "Authorization: Bearer {}",
        "https://x.example/v1/{}/models",
        "?key={}&b=1",
        "The key is {}.",
        "'{}'",
        "({})",
        "{}",
        "key:{}\n",
        "a={},b",
        "<t>{}</t>",
    ]
    body = "\n".join(c.format(v) for v in values for c in contexts)
    _write(tmp_path, "all.txt", body)
    _write(tmp_path, "start.txt", values[0] + " trailing")
    _write(tmp_path, "end.txt", "leading " + values[2])
    _write(tmp_path, "dist/min.js", "var a=1;" * 30_000 + ";".join(f'k{i}="{v}"' for i, v in enumerate(values)))
    _write(tmp_path, "glued.txt", f"xx{CUR}yy {PAST}.{PAST}")  # prefixed keys are found even glued to text
    _write(tmp_path, "b.zip", _zip({"in/a.env": f"T={TOKEN}\n".encode()}))
    keyed_plain = {h for h in scan_paths([tmp_path], secrets, FP) if h.encoding == "plain"}
    counting = CountingFingerprint()
    stats = ScanStats()
    without_key = set(scan_paths([tmp_path], [keyless(s) for s in secrets], counting, stats=stats))
    assert without_key == keyed_plain
    assert len(keyed_plain) == 4 * len(contexts) + 2 + 4 + 3 + 1
    # the slow fingerprint ran once per distinct candidate, far fewer than the occurrences
    assert counting.calls == stats.fingerprints < len(keyed_plain) / 2


def test_keyless_with_mask_fn_skips_fingerprints_of_misshapen_candidates(tmp_path: Path) -> None:
    """With envman's own mask as mask_fn, a candidate that masks differently (here: too short
    to show four trailing characters) is rejected before the slow fingerprint runs."""
    from envman.crypto import mask as envman_mask

    s = KnownSecret("production", "API_KEY", 1, True, envman_mask(CUR), FP(CUR))
    lookalike = CUR[:3] + "Zz" * 10 + CUR[-4:]  # masks the same: only the fingerprint can tell
    short = "sk-Zcdef"  # starts and ends right, but masks as sk-…ef
    assert envman_mask(lookalike) == s.masked != envman_mask(short)
    _write(tmp_path, "a.txt", f"{CUR}\n{lookalike}\n{short}\n")
    counting = CountingFingerprint()
    hits = list(scan_paths([tmp_path], [s], counting, mask_fn=envman_mask))
    assert [(h.line, h.column) for h in hits] == [(1, 1)]
    assert counting.calls == 2  # CUR and the look-alike; never the short one
    counting.calls = 0
    assert len(list(scan_paths([tmp_path], [s], counting))) == 1
    assert counting.calls == 3  # without mask_fn every candidate is fingerprinted


def test_same_value_in_many_versions_is_reported_once(tmp_path: Path) -> None:
    """Unchanged secrets repeat in every version: one hit, naming the current (or newest) version."""
    _write(tmp_path, "a.env", f"K={CUR}\nP={PAST}\n")
    secrets = [secret(CUR, version=v, current=v == 5) for v in range(1, 6)]
    secrets += [secret(PAST, version=v, current=False) for v in (1, 2, 3)]
    hits = sorted((h.line, h.version, h.current) for h in scan_paths([tmp_path], secrets, FP))
    assert hits == [(1, 5, True), (2, 3, False)]


def test_same_value_in_two_environments_is_reported_for_both(tmp_path: Path) -> None:
    """A key shared by test and production is reported once per environment."""
    _write(tmp_path, "a.env", f"K={CUR}\n")
    secrets = [secret(CUR, env="test"), secret(CUR, env="production")]
    assert sorted(h.env for h in scan_paths([tmp_path], secrets, FP)) == ["production", "test"]


def test_chunk_boundaries_never_hide_a_secret(engine: str) -> None:
    """Planted at every offset around several chunk boundaries, each secret is found once,
    with the same line and character column as a plain text search gives."""
    secrets = [secret(CUR), secret(PAST, version=2, current=False)]
    for mode in ("keyed", "keyless"):
        use = secrets if mode == "keyed" else [keyless(s) for s in secrets]
        scanner = Scanner(use, FP, chunk_size=1)  # the smallest chunk the overlap allows
        chunk = scanner._chunk
        unit = "ab é\nwörd ; "  # newlines and multi-byte characters in the filler
        for boundary in (chunk, 2 * chunk - scanner._overlap):
            for delta in range(-len(CUR) - 2, 3):
                start = boundary + delta
                filler = (unit * (3 * chunk // len(unit) + 1)).encode()
                data = filler[:start] + b" " + CUR.encode() + b" " + filler[start : 3 * chunk]
                text = data.decode("utf-8", "replace")
                hits = scanner.scan_bytes(data)
                assert [(h.line, h.column) for h in hits] == [position(text, CUR)], (mode, start)


def test_many_secrets_across_many_chunks_match_a_reference_search() -> None:
    """A multi-chunk text with secrets at irregular places: positions equal str.find's."""
    scanner = Scanner([secret(CUR), secret(PAST, current=False)], FP, chunk_size=1)
    parts: list[str] = []
    n = 0
    while sum(map(len, parts)) < 40 * scanner._chunk:
        parts.append(f"ünïcode line {n}\n" + "x" * (n * 37 % 300))
        parts.append((CUR, PAST)[n % 2] if n % 3 == 0 else "")
        n += 1
    text = "".join(parts)
    want, i = [], 0
    for needle in (CUR, PAST):
        i = text.find(needle)
        while i != -1:
            want.append((text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1))
            i = text.find(needle, i + 1)
    got = [(h.line, h.column) for h in scanner.scan_bytes(text.encode())]
    assert sorted(got) == sorted(want) and len(want) > 10


def test_gitignore_respected_only_when_asked(repo: GitRepo) -> None:
    """respect_gitignore drops ignored build output and logs, keeps tracked and untracked-unignored files."""
    repo.commit("init", {".gitignore": "dist/\n*.log\n", "src/a.py": f"K='{CUR}'\n"})
    repo.write("dist/app.js", f"k='{CUR}'")
    repo.write("debug.log", f"{CUR}\n")
    repo.write("new.py", f"{CUR}\n")
    repo.write("forced.log", f"{CUR}\n")
    repo.git("add", "-f", "forced.log")  # tracked despite the ignore rule
    everything = {os.path.relpath(h.path, repo.path) for h in scan_paths([repo.path], [secret(CUR)], FP)}
    assert everything == {"src/a.py", "dist/app.js", "debug.log", "new.py", "forced.log"}
    kept = {os.path.relpath(h.path, repo.path) for h in scan_paths([repo.path], [secret(CUR)], FP, respect_gitignore=True)}
    assert kept == {"src/a.py", "new.py", "forced.log"}
    sub = {
        os.path.relpath(h.path, repo.path)
        for h in scan_paths([repo.path / "dist", repo.path / "src"], [secret(CUR)], FP, respect_gitignore=True)
    }
    assert sub == {"src/a.py"}
    ignored_file = list(scan_paths([repo.path / "debug.log"], [secret(CUR)], FP, respect_gitignore=True))
    assert ignored_file == []
    slash = {os.path.relpath(h.path, repo.path) for h in scan_paths([f"{repo.path}/"], [secret(CUR)], FP, respect_gitignore=True)}
    assert slash == kept


def test_gitignore_with_relative_root(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanning "." from inside the work tree maps walked paths onto git's listing."""
    repo.commit("init", {".gitignore": "out/\n", "a.txt": CUR})
    repo.write("out/b.txt", CUR)
    monkeypatch.chdir(repo.path)
    assert [h.path for h in scan_paths(["."], [secret(CUR)], FP, respect_gitignore=True)] == ["./a.txt"]


def test_gitignore_outside_a_work_tree_filters_nothing(tmp_path: Path) -> None:
    """Outside any git work tree there is nothing to go by: every file is scanned."""
    _write(tmp_path, ".gitignore", "dist/\n")
    _write(tmp_path, "dist/a.js", CUR)
    assert len(list(scan_paths([tmp_path], [secret(CUR)], FP, respect_gitignore=True))) == 1


def test_symlinks_are_not_followed_and_special_files_skipped(tmp_path: Path) -> None:
    """Links met while walking are not followed (no loops, no escaping the tree); FIFOs are skipped."""
    outside = _write(tmp_path / "outside", "secret.txt", CUR)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.txt").symlink_to(outside)
    (tree / "loop").symlink_to(tree)
    os.mkfifo(tree / "pipe")
    assert list(scan_paths([tree], [secret(CUR)], FP)) == []
    assert len(list(scan_paths([tree / "link.txt"], [secret(CUR)], FP))) == 1  # named explicitly: read


def test_progress_is_called_once_per_file(tmp_path: Path) -> None:
    """progress(path, size) runs after each scanned file, and stats count files and bytes."""
    _write(tmp_path, "a.txt", "hello")
    _write(tmp_path, "sub/b.txt", "hi")
    seen: list[tuple[str, int]] = []
    stats = ScanStats()
    list(scan_paths([tmp_path], [secret(CUR)], FP, progress=lambda p, n: seen.append((p, n)), stats=stats))
    assert sorted((os.path.relpath(p, tmp_path), n) for p, n in seen) == [("a.txt", 5), (os.path.join("sub", "b.txt"), 2)]
    assert (stats.files, stats.bytes) == (2, 7)


def test_corrupt_archive_is_scanned_as_raw_bytes(tmp_path: Path) -> None:
    """A file named like an archive that is not one is still scanned, as bytes."""
    _write(tmp_path, "fake.zip", f"not a zip {CUR}\n")
    _write(tmp_path, "fake.gz", f"not gzip {CUR}\n")
    hits = list(scan_paths([tmp_path], [secret(CUR)], FP))
    assert sorted((Path(h.path).name, h.member, h.column) for h in hits) == [("fake.gz", None, 10), ("fake.zip", None, 11)]


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    """A path that does not exist is an error naming it, raised before any scanning."""
    with pytest.raises(NotFound, match="no-such"):
        list(scan_paths([tmp_path / "no-such"], [secret(CUR)], FP))


def test_unknown_engine_is_a_usage_error() -> None:
    """Only the two known engines can be forced."""
    with pytest.raises(UsageError):
        Scanner([secret(CUR)], FP, engine="grep")


def test_nothing_searchable_means_nothing_read(tmp_path: Path) -> None:
    """With only unsearchable secrets the walk is skipped entirely."""
    _write(tmp_path, "a.txt", "12345")
    stats = ScanStats()
    short = KnownSecret("test", "PIN", 1, True, "…", "fp", "12345")
    assert list(scan_paths([tmp_path], [short], FP, stats=stats)) == []
    assert stats.files == 0


def test_hits_never_carry_plaintext(tmp_path: Path) -> None:
    """No field, repr or str of a hit contains the secret."""
    plant_tree(tmp_path)
    for h in scan_paths([tmp_path], SECRETS, FP):
        for value in (CUR, PAST, PASSWORD):
            assert value not in repr(h) and value not in h.summary()


def test_falls_back_to_the_stdlib_engine_without_the_automaton(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ahocorasick-rs the scan still works (regex engine); forcing the automaton is NotFound."""
    import sys

    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)  # makes the import fail
    _write(tmp_path, "a.txt", f"x {CUR}")
    assert [h.column for h in scan_paths([tmp_path], [secret(CUR)], FP)] == [3]
    with pytest.raises(NotFound, match="ahocorasick-rs"):
        Scanner([secret(CUR)], FP, engine="aho-corasick")
