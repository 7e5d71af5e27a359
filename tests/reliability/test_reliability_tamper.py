"""Tampering, generated case by case: every variant is detected by `check` (E010) and `ledger verify`, and named.

One project with a real history (imports, sets, a second secret per environment,
rotations, mark-good, a promote) is built once; each case copies it, changes
it the way someone with write access to the repository could, and runs the
two commands in-process. A case counts as detected only if `ledger verify`
exits 1 naming the right thing and `check` exits 1 with an E010 error; a
ciphertext moved to another variable or environment must also be refused as
tampering by `get --reveal`, naming the variable.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from reliability_helpers import make_live, make_project

from tests.helpers import assert_refused

ENVS = ("test", "staging", "production")
SECRETS = ("ALLTKN_API_KEY", "OTHER_TOKEN")
PLAIN = ("ALLTKN_BASE_URL", "ALLTKN_DEFAULT_MODEL", "AI_REQUEST_TIMEOUT_MS", "AI_LOG_LEVEL")


@dataclass(frozen=True)
class Template:
    root: Path
    keys: Path
    foreign: Path  # another project (another id and keys), same environments


@pytest.fixture(scope="module")
def template(fast_root: Path) -> Iterator[Template]:
    """The project every case starts from: ~20 ledger entries touching every environment, plus a foreign project."""
    from envman.lifecycle import apply_promote, mark_good, plan_promote, rotate, set_owner
    from envman.ops import set_var

    base = fast_root / f"tamper-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test isolation is not in place yet
        mp.setenv("ENVMAN_ACTOR", "tester")
        mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        project = make_project(base / "main", mp)
        make_live(project)
        p = project.open()
        for i, env in enumerate(ENVS):
            set_var(p, env, "OTHER_TOKEN", f"tok-{env}-{uuid.uuid4().hex}", new_type="secret")
            set_var(p, env, "AI_REQUEST_TIMEOUT_MS", str(30000 + i))
        rotate(p, "staging", "OTHER_TOKEN", f"tok-staging-{uuid.uuid4().hex}")
        set_owner(p, "production", "OTHER_TOKEN", owner="bob", rotation_method="vault lease")
        rotate(p, "production", "OTHER_TOKEN", f"tok-production-{uuid.uuid4().hex}")
        mark_good(p, "staging")
        set_var(p, "staging", "AI_LOG_LEVEL", "warn")
        apply_promote(p, plan_promote(p, "staging", "production", force=True))
        mark_good(p, "production")
        set_var(p, "test", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
        mark_good(p, "test")  # the tail ends with events that write no version: only the head vouches for them
        mark_good(p, "staging", 1)
        foreign = make_project(base / "foreign", mp, project_id="other-app")
    yield Template(project.root, project.keys_file, foreign.root)
    shutil.rmtree(base, ignore_errors=True)


# -- the edits ---------------------------------------------------------------------------

def _profile(root: Path, env: str) -> Path:
    return root / "environments" / f"{env}.toml"


def _edit_toml(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def _ledger(root: Path) -> Path:
    return root / "environments" / "ledger.jsonl"


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    apply: Callable[[Path, Path], None]  # (project root, foreign root)
    reveal: tuple[str, str] | None = None  # (env, var) that `get --reveal` must refuse as tampered
    words: tuple[str, ...] = ()  # what `ledger verify` must mention


def _cases(template: Template) -> list[Case]:
    """Every variant of every kind of tampering, for every position and variable."""
    cases: list[Case] = []
    root = template.root
    lines = _ledger(root).read_bytes().splitlines(keepends=True)
    n = len(lines)
    versions = {env: sorted(int(p.stem) for p in (root / "environments" / "versions" / env).glob("*.toml")) for env in ENVS}

    # ciphertext moved between the variables of one environment
    for env in ENVS:
        for a in SECRETS:
            for b in SECRETS:
                if a == b:
                    continue

                def copy_cipher(r: Path, _f: Path, env: str = env, a: str = a, b: str = b) -> None:
                    _edit_toml(_profile(r, env), lambda d: d["secrets"][b].update(ciphertext=d["secrets"][a]["ciphertext"]))

                def copy_record(r: Path, _f: Path, env: str = env, a: str = a, b: str = b) -> None:
                    _edit_toml(_profile(r, env), lambda d: d["secrets"].__setitem__(b, dict(d["secrets"][a])))

                cases.append(Case("ciphertext between variables", f"{env}: {a} ciphertext → {b}", copy_cipher, (env, b), (f"{env}.toml",)))
                cases.append(Case("ciphertext between variables", f"{env}: {a} whole record → {b}", copy_record, (env, b), (f"{env}.toml",)))

        def swap(r: Path, _f: Path, env: str = env) -> None:
            def edit(d: dict[str, Any]) -> None:
                s = d["secrets"]
                s[SECRETS[0]]["ciphertext"], s[SECRETS[1]]["ciphertext"] = s[SECRETS[1]]["ciphertext"], s[SECRETS[0]]["ciphertext"]
            _edit_toml(_profile(r, env), edit)

        cases.append(Case("ciphertext between variables", f"{env}: swapped", swap, (env, SECRETS[0]), (f"{env}.toml",)))

    # ciphertext moved between environments
    for var in SECRETS:
        for src in ENVS:
            for dst in ENVS:
                if src == dst:
                    continue
                for whole in (False, True):
                    def move(r: Path, _f: Path, var: str = var, src: str = src, dst: str = dst, whole: bool = whole) -> None:
                        record = tomllib.loads(_profile(r, src).read_text(encoding="utf-8"))["secrets"][var]
                        if whole:
                            _edit_toml(_profile(r, dst), lambda d: d["secrets"].__setitem__(var, record))
                        else:
                            _edit_toml(_profile(r, dst), lambda d: d["secrets"][var].update(ciphertext=record["ciphertext"]))

                    what = "whole record" if whole else "ciphertext"
                    cases.append(Case("ciphertext between environments", f"{var}: {src} {what} → {dst}", move, (dst, var), (f"{dst}.toml",)))

    # a plain value edited by hand: through a TOML library, and as raw text (formatting kept)
    for env in ENVS:
        for var in PLAIN:
            def retype(r: Path, _f: Path, env: str = env, var: str = var) -> None:
                _edit_toml(_profile(r, env), lambda d: d["values"].__setitem__(var, d["values"][var] + "0"))

            def raw(r: Path, _f: Path, env: str = env, var: str = var) -> None:
                path = _profile(r, env)
                text = path.read_text(encoding="utf-8")
                new = re.sub(rf'^({var} = ")([^"]*)"', lambda m: m.group(1) + m.group(2)[:-1] + "x\"", text, count=1, flags=re.M)
                assert new != text
                path.write_text(new, encoding="utf-8")

            cases.append(Case("plain value edited", f"{env}: {var} via TOML", retype, None, (f"{env}.toml",)))
            cases.append(Case("plain value edited", f"{env}: {var} as text", raw, None, (f"{env}.toml",)))
        # the base URL pointed somewhere else, in the current profile and in an old version file
        def base_url(r: Path, _f: Path, env: str = env) -> None:
            _edit_toml(_profile(r, env), lambda d: d["values"].__setitem__("ALLTKN_BASE_URL", "https://evil.example/api/v1"))

        def old_url(r: Path, _f: Path, env: str = env) -> None:
            path = r / "environments" / "versions" / env / "000001.toml"
            _edit_toml(path, lambda d: d["values"].__setitem__("ALLTKN_BASE_URL", "https://evil.example/api/v1"))

        cases.append(Case("plain value edited", f"{env}: base URL redirected", base_url, None, (f"{env}.toml",)))
        cases.append(Case("plain value edited", f"{env}: base URL in version 1's file", old_url, None, ("000001.toml",)))

    # a ledger entry edited, at every position, three ways
    for i in range(n):
        for field, old, new in (("actor", b'"actor":"tester"', b'"actor":"mallory"'),
                                ("time", b'"time":"2', b'"time":"1'),
                                ("changed", b'"changed":[', b'"changed":["ZZ",')):
            def edit_entry(r: Path, _f: Path, i: int = i, old: bytes = old, new: bytes = new) -> None:
                path = _ledger(r)
                current = path.read_bytes().splitlines(keepends=True)
                assert old in current[i]
                current[i] = current[i].replace(old, new, 1)
                path.write_bytes(b"".join(current))

            cases.append(Case("ledger entry edited", f"#{i + 1} {field}", edit_entry, None, (f"#{i + 1}",)))

    # one entry removed from the middle, at every position but the last
    for i in range(n - 1):
        def remove(r: Path, _f: Path, i: int = i) -> None:
            path = _ledger(r)
            current = path.read_bytes().splitlines(keepends=True)
            path.write_bytes(b"".join(current[:i] + current[i + 1:]))

        cases.append(Case("ledger entry removed", f"#{i + 1}", remove, None, (f"#{i + 1}",)))

    # the tail cut: the last k entries, for every k; and the same with the head file deleted too
    for k in range(1, n):
        for head_too in (False, True):
            def cut(r: Path, _f: Path, k: int = k, head_too: bool = head_too) -> None:
                path = _ledger(r)
                current = path.read_bytes().splitlines(keepends=True)
                path.write_bytes(b"".join(current[:-k]))
                if head_too:
                    (r / "environments" / "ledger.head").unlink()

            family = "tail cut, head deleted too" if head_too else "tail cut"
            cases.append(Case(family, f"last {k}", cut, None, ()))

    # an old version put back: as the current profile, and over a newer version file
    for env in ENVS:
        top = versions[env][-1]
        for old_version in versions[env][:-1]:
            def put_back(r: Path, _f: Path, env: str = env, v: int = old_version) -> None:
                data = (r / "environments" / "versions" / env / f"{v:06d}.toml").read_bytes()
                _profile(r, env).write_bytes(data)

            def over_version(r: Path, _f: Path, env: str = env, v: int = old_version, top: int = top) -> None:
                folder = r / "environments" / "versions" / env
                (folder / f"{top:06d}.toml").write_bytes((folder / f"{v:06d}.toml").read_bytes())

            cases.append(Case("old version put back", f"{env}: version {old_version} as {env}.toml", put_back, None, (f"{env}.toml",)))
            cases.append(Case("old version put back", f"{env}: version {old_version} over version {top}'s file", over_version, None,
                              (f"{top:06d}.toml",)))

    # a profile (or version file) of another project copied in
    for env in ENVS:
        def foreign_profile(r: Path, f: Path, env: str = env) -> None:
            shutil.copyfile(_profile(f, env), _profile(r, env))

        def foreign_version(r: Path, f: Path, env: str = env) -> None:
            shutil.copyfile(f / "environments" / "versions" / env / "000001.toml", r / "environments" / "versions" / env / "000001.toml")

        cases.append(Case("profile of another project", f"{env}.toml", foreign_profile, None, ("other-app",)))
        cases.append(Case("profile of another project", f"versions/{env}/000001.toml", foreign_version, None, ("other-app",)))
    return cases


def _run_case(case: Case, template: Template, work: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, str]:
    """Apply one case to a fresh copy; (detected and named, why not)."""
    root = work / "app"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(template.root, root)
    case.apply(root, template.foreign)
    monkeypatch.chdir(root)
    verify = cli("ledger", "verify", "--json")
    check = cli("check", "--json")
    for result in (verify, check):
        assert "Traceback" not in result.output and "internal error" not in result.output, (case, result.output)
    if verify.exit_code != 1:
        return False, f"ledger verify exit {verify.exit_code}"
    report = json.loads(verify.stdout)
    text = json.dumps(report)
    if report["chain"] is None and not any(f["kind"] == "tamper" for f in report["findings"]):
        return False, "ledger verify calls it an interrupted write, not tampering"
    missing = [w for w in case.words if w not in text]
    if missing:
        return False, f"ledger verify does not name {missing}: {text}"
    checked = json.loads(check.stdout)
    if check.exit_code != 1 or not any(f["rule"] == "E010" and f["severity"] == "error" for f in checked["findings"]):
        return False, f"check exit {check.exit_code} without an E010 error"
    if case.reveal is not None:
        env, var = case.reveal
        line = assert_refused(cli("get", env, var, "--reveal"))
        if f"{env}/{var}" not in line or "tampered" not in line:
            return False, f"get --reveal: {line}"
    return True, ""


def test_every_tampering_variant_is_detected_and_named(template: Template, fast_root: Path, cli, monkeypatch, figures) -> None:  # type: ignore[no-untyped-def]
    """Ciphertext swapped between variables and between environments, plain values (the base URL) edited, each ledger
    entry edited or removed, every tail cut (with and without the head file), old versions put back, another project's
    profile copied in: 100% detected by `ledger verify` (exit 1, naming the entry or file) and `check` (E010 error),
    moved ciphertext also refused by `get --reveal` naming the variable."""
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(template.keys))
    cases = _cases(template)
    work = fast_root / f"tamper-case-{uuid.uuid4().hex[:8]}"
    # the control: the untouched copy is clean, so a detection below is the tampering's doing
    shutil.copytree(template.root, work / "app")
    monkeypatch.chdir(work / "app")
    assert cli("ledger", "verify").exit_code == 0
    assert not [f for f in json.loads(cli("check", "--json").stdout)["findings"] if f["rule"] == "E010"]
    for env in ENVS:
        for var in SECRETS:
            assert cli("get", env, var, "--reveal").exit_code == 0
    total: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    missed: list[str] = []
    for case in cases:
        total[case.family] += 1
        ok, why = _run_case(case, template, work, cli, monkeypatch)
        if ok:
            detected[case.family] += 1
        else:
            missed.append(f"{case.family}: {case.name}: {why}")
    shutil.rmtree(work, ignore_errors=True)
    figures.add("tamper", cases=sum(total.values()), detected=sum(detected.values()),
                by_kind={family: {"cases": total[family], "detected": detected[family]} for family in total})
    assert not missed, f"{len(missed)} of {len(cases)} not detected:\n" + "\n".join(missed[:40])
