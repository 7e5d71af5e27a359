"""The OpenBao store behind the everyday commands, against a real `bao server -dev`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from envman.errors import ConflictError, InvalidValue
from envman.store.openbao import KEEP_VERSIONS, OpenBaoStore
from tests.openbao.conftest import SECRETS, use_openbao

KEY = "sk-test-zzzzzzzzzzzzzzzz9999"


def one_line_error(result: Any, *needles: str) -> str:
    """Assert a clean usage failure: exit 2, one `envman: error:` line, no traceback; return it."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("envman: error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def kv_dump(bao_project: Any) -> str:
    """Everything the server holds under the project's prefix, as text (profiles, every version, ledger, head)."""
    kv = bao_project.kv()
    out = []

    def walk(path: str) -> None:
        for key in kv.list_secrets(path=path, mount_point="secret")["data"]["keys"]:
            if key.endswith("/"):
                walk(path + "/" + key.rstrip("/"))
                continue
            full = f"{path}/{key}"
            meta = kv.read_secret_metadata(path=full, mount_point="secret")["data"]
            for number in meta["versions"]:
                data = kv.read_secret_version(path=full, version=int(number), mount_point="secret", raise_on_deleted_version=True)
                out.append(json.dumps(data["data"]["data"]))

    walk(bao_project.prefix)
    return "\n".join(out)


def test_everyday_commands_through_the_installed_cli(bao_project, envman) -> None:  # type: ignore[no-untyped-def]
    """set / get / show / history / ledger verify run unchanged on OpenBao; the server only ever sees ciphertext."""
    r = envman("set", "test", "ALLTKN_API_KEY", "--type", "secret", input=KEY)
    assert r.exit_code == 0, r.output
    r = envman("set", "test", "AI_LOG_LEVEL", "info", "--type", "log_level")
    assert r.exit_code == 0 and "test: version 2" in r.stdout, r.output
    assert envman("get", "test", "AI_LOG_LEVEL").stdout == "info\n"
    masked = envman("get", "test", "ALLTKN_API_KEY")
    assert masked.exit_code == 0 and KEY not in masked.output and masked.stdout.startswith("sk-…")
    assert envman("get", "test", "ALLTKN_API_KEY", "--reveal").stdout == KEY + "\n"
    shown = json.loads(envman("show", "test", "--json").stdout)
    assert shown["version"] == 2 and {v["name"] for v in shown["variables"]} == {"ALLTKN_API_KEY", "AI_LOG_LEVEL"}
    assert json.loads(envman("show", "test", "--version", "1", "--json").stdout)["version"] == 1
    history = json.loads(envman("history", "--json").stdout)
    assert [(e["seq"], e["event"], e["env"], e["version"]) for e in history] == [(2, "set", "test", 2), (1, "set", "test", 1)]
    r = envman("ledger", "verify")
    assert r.exit_code == 0 and "ok: 2 entries" in r.stdout, r.output
    # the store itself: KV version N is envman version N; only ciphertext on the server
    kv = bao_project.kv()
    latest = kv.read_secret_version(path=f"{bao_project.prefix}/profiles/test", mount_point="secret", raise_on_deleted_version=True)
    assert latest["data"]["metadata"]["version"] == 2 and latest["data"]["data"]["version"] == 2
    assert latest["data"]["data"]["secrets"]["ALLTKN_API_KEY"]["ciphertext"].startswith("envman:v1:")
    dump = kv_dump(bao_project)
    assert KEY not in dump and "ALLTKN_API_KEY" in dump
    assert not (bao_project.root / "environments" / "ledger.jsonl").exists()


def test_every_version_is_kept_and_writes_require_cas(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """More versions than KV's default of 10 stay restorable: profile paths keep every version and require check-and-set."""
    for n in range(12):
        assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", str(1000 + n)).exit_code == 0
    meta = bao_seeded.kv().read_secret_metadata(path=f"{bao_seeded.prefix}/profiles/test", mount_point="secret")["data"]
    assert meta["max_versions"] == KEEP_VERSIONS and meta["cas_required"] is True
    assert sorted(int(v) for v in meta["versions"]) == list(range(1, 14))
    first = json.loads(cli("show", "test", "--version", "1", "--json").stdout)
    assert {v["name"]: v["value"] for v in first["variables"]}["AI_REQUEST_TIMEOUT_MS"] == "60000"
    assert cli("ledger", "verify").exit_code == 0


def test_same_environment_concurrent_writers_conflict_nothing_lost(bao_seeded) -> None:  # type: ignore[no-untyped-def]
    """Two writers read test@1; the first commits, the second gets ConflictError ("re-run") instead of overwriting it."""
    a, b = bao_seeded.dir.open(), bao_seeded.dir.open()
    with a.store.transaction() as ta, b.store.transaction() as tb:
        ca, cb = ta.current("test"), tb.current("test")
        ta.commit(ca._replace(values={**ca.values, "AI_LOG_LEVEL": "warning"}), "set", changed=["AI_LOG_LEVEL"], keys={}, detail={})
        with pytest.raises(ConflictError) as err:
            tb.commit(cb._replace(values={**cb.values, "AI_LOG_LEVEL": "error"}), "set", changed=["AI_LOG_LEVEL"], keys={}, detail={})
    assert "was changed by someone else while you were working" in err.value.message and err.value.hint == "re-run the command"
    store = bao_seeded.dir.open().store
    now = store.current("test")
    assert (now.version, now.values["AI_LOG_LEVEL"]) == (2, "warning")
    count, problem, findings = store.verify_integrity()
    assert (count, problem, findings) == (4, None, [])


def test_writers_of_different_environments_do_not_conflict(bao_seeded) -> None:  # type: ignore[no-untyped-def]
    """Two interleaved writers on test and staging race for the same ledger number: the loser moves on, both land."""
    a, b = bao_seeded.dir.open(), bao_seeded.dir.open()
    with a.store.transaction() as ta, b.store.transaction() as tb:
        ca, cb = ta.current("test"), tb.current("staging")
        _, ea = ta.commit(ca._replace(values={**ca.values, "AI_LOG_LEVEL": "warning"}), "set", changed=["AI_LOG_LEVEL"], keys={}, detail={})
        _, eb = tb.commit(cb._replace(values={**cb.values, "AI_LOG_LEVEL": "error"}), "set", changed=["AI_LOG_LEVEL"], keys={}, detail={})
    assert (ea.seq, eb.seq) == (4, 5) and eb.prev == ea.hash
    store = bao_seeded.dir.open().store
    assert store.head().seq == 5 and store.head().versions == {"test": 2, "staging": 2, "production": 1}
    assert store.current("test").values["AI_LOG_LEVEL"] == "warning"
    assert store.current("staging").values["AI_LOG_LEVEL"] == "error"
    assert store.verify_integrity() == (5, None, [])


WORKER = """
import sys
from envman.errors import ConflictError
from envman.ops import Project, set_var
worker, count = int(sys.argv[1]), int(sys.argv[2])
conflicts = 0
for i in range(count):
    while True:
        try:
            set_var(Project.open(), "test", f"VAR_{worker}_{i}", f"value-{worker}-{i}")
            break
        except ConflictError:
            conflicts += 1
print(conflicts)
"""


def test_concurrent_processes_lose_no_update(bao_seeded) -> None:  # type: ignore[no-untyped-def]
    """4 processes × 6 sets on one environment, retrying on ConflictError: all 24 changes land, the chain is intact."""
    from envman.manifest import edit_manifest

    workers, count = 4, 6

    def add_schema(doc: Any) -> None:
        import tomlkit

        for w in range(workers):
            for i in range(count):
                table = tomlkit.table()
                table.add("type", "string")
                doc["variables"][f"VAR_{w}_{i}"] = table

    edit_manifest(bao_seeded.root, add_schema)
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(w), str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=bao_seeded.root, env=dict(os.environ))
        for w in range(workers)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in results]
    store = bao_seeded.dir.open().store
    current = store.current("test")
    assert current.version == 1 + workers * count
    assert all(current.values[f"VAR_{w}_{i}"] == f"value-{w}-{i}" for w in range(workers) for i in range(count))
    assert store.verify_integrity() == (3 + workers * count, None, [])


def test_missing_token_is_a_clear_error(bao_seeded, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No BAO_TOKEN, VAULT_TOKEN or ~/.vault-token: one line naming how to log in, exit 2."""
    monkeypatch.delenv("BAO_TOKEN")
    one_line_error(cli("get", "test", "AI_LOG_LEVEL"), "no OpenBao token", "BAO_TOKEN", "bao login")


def test_token_file_and_vault_token_are_used(bao_seeded, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The token is found in VAULT_TOKEN, or in ~/.vault-token where `bao login` leaves it."""
    token = bao_seeded.server.root_token
    monkeypatch.delenv("BAO_TOKEN")
    monkeypatch.setenv("VAULT_TOKEN", token)
    assert cli("get", "test", "AI_LOG_LEVEL").stdout == "debug\n"
    monkeypatch.delenv("VAULT_TOKEN")
    (bao_seeded.root.parent / "home" / ".vault-token").write_text(token + "\n")
    assert cli("get", "test", "AI_LOG_LEVEL").stdout == "debug\n"


def test_wrong_token_is_a_clear_error_and_never_shown(bao_seeded, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A token the server does not know: "invalid or expired", exit 2, and the token itself appears nowhere."""
    wrong = "s.wrongwrongwrongwrong1234"
    monkeypatch.setenv("BAO_TOKEN", wrong)
    r = cli("set", "test", "AI_LOG_LEVEL", "error")
    one_line_error(r, "token from BAO_TOKEN is invalid or expired")
    assert wrong not in r.output and bao_seeded.server.root_token not in r.output
    status = cli("backend", "status", "--json")
    assert status.exit_code == 1 and json.loads(status.stdout)["token"]["valid"] is False
    assert wrong not in status.output


def test_read_only_token_cannot_write_and_nothing_is_written(bao_seeded, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A token whose policy only reads the prefix: reads work, `set` fails with a policy message, the store is unchanged."""
    root = bao_seeded.server.client()
    policy = f'path "secret/data/{bao_seeded.prefix}/*" {{ capabilities = ["read"] }}\n'
    root.sys.create_or_update_policy(name="envman-read-only", policy=policy)
    token = root.auth.token.create(policies=["envman-read-only"], ttl="10m")["auth"]["client_token"]
    monkeypatch.setenv("BAO_TOKEN", token)
    before = kv_dump(bao_seeded)
    assert cli("get", "test", "AI_LOG_LEVEL").stdout == "debug\n"
    r = cli("set", "test", "AI_LOG_LEVEL", "error")
    one_line_error(r, "may not write", "policy")
    assert token not in r.output
    assert kv_dump(bao_seeded) == before


def test_token_that_may_not_set_metadata_fails_before_committing(bao_project, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first version of an environment sets its path's metadata before the commit point: a policy without it changes nothing."""
    root = bao_project.server.client()
    prefix = bao_project.prefix
    policy = (f'path "secret/data/{prefix}/*" {{ capabilities = ["create", "read", "update"] }}\n'
              f'path "secret/metadata/{prefix}/*" {{ capabilities = ["read"] }}\n')
    root.sys.create_or_update_policy(name="envman-no-metadata", policy=policy)
    token = root.auth.token.create(policies=["envman-no-metadata"], ttl="10m")["auth"]["client_token"]
    monkeypatch.setenv("BAO_TOKEN", token)
    one_line_error(cli("set", "test", "AI_LOG_LEVEL", "info", "--type", "log_level"), "may not configure")
    assert bao_project.dir.open().store.head().seq == 0
    monkeypatch.setenv("BAO_TOKEN", bao_project.server.root_token)
    assert cli("set", "test", "AI_LOG_LEVEL", "info").exit_code == 0
    monkeypatch.setenv("BAO_TOKEN", token)
    assert cli("set", "test", "AI_LOG_LEVEL", "warning").exit_code == 0  # later versions need no metadata write
    assert cli("ledger", "verify").exit_code == 0


def test_unreachable_server_is_a_clear_error(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens at the address: "cannot reach", exit 2, no traceback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    use_openbao(bao_seeded.root, f"http://127.0.0.1:{port}", bao_seeded.prefix)
    one_line_error(cli("show", "test"), f"cannot reach OpenBao at http://127.0.0.1:{port}")
    assert cli("backend", "status").exit_code == 1


@pytest.mark.parametrize(
    ("setting", "value"),
    [("prefix", "envman/../../sys"), ("prefix", "../escape"), ("prefix", "a//b"), ("mount", "secret/../sys"), ("mount", ".."),
     ("prefix", "envman/%2e%2e"), ("address", "http://user:pw@127.0.0.1:8200"), ("address", "file:///etc/passwd")],
)
def test_locations_escaping_the_mount_are_refused(bao_project, cli, setting, value) -> None:  # type: ignore[no-untyped-def]
    """A prefix or mount with `..`, empty or encoded parts, or an address with credentials never reaches a request."""
    settings = {"address": bao_project.server.address, "prefix": bao_project.prefix, setting: value}
    use_openbao(bao_project.root, settings.pop("address"), settings.pop("prefix"), **settings)
    one_line_error(cli("get", "test", "AI_LOG_LEVEL"))


@pytest.mark.parametrize("env", ["../../etc", "..", "test/../production", "Test", "test\n"])
def test_environment_names_cannot_form_paths(bao_project, cli, env) -> None:  # type: ignore[no-untyped-def]
    """Environment names are validated before any KV path is built from them."""
    one_line_error(cli("get", env, "AI_LOG_LEVEL"))
    store = bao_project.dir.open().store
    with pytest.raises(InvalidValue):
        store.profile_path(env)


def test_deleted_version_is_reported_as_tampering(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """An admin's `kv delete` of the newest version is refused on read (not shown as empty) and flagged by ledger verify."""
    bao_seeded.kv().delete_latest_version_of_secret(path=f"{bao_seeded.prefix}/profiles/test", mount_point="secret")
    one_line_error(cli("get", "test", "AI_LOG_LEVEL"), "was deleted in OpenBao")
    r = cli("ledger", "verify", "--json")
    assert r.exit_code == 1 and any(f["environment"] == "test" for f in json.loads(r.stdout)["findings"])


def test_write_outside_envman_is_detected(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A new KV version written with `bao kv put` (even with valid CAS) is refused on read and by ledger verify."""
    kv, path = bao_seeded.kv(), f"{bao_seeded.prefix}/profiles/test"
    data = kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    data["values"]["ALLTKN_BASE_URL"] = "https://evil.example/v1"
    kv.create_or_update_secret(path=path, secret=data, cas=1, mount_point="secret")
    one_line_error(cli("get", "test", "ALLTKN_BASE_URL"), "written outside envman")
    assert cli("ledger", "verify").exit_code == 1
    assert cli("set", "test", "AI_LOG_LEVEL", "error").exit_code == 2


def test_rewritten_ledger_entry_breaks_the_chain(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A ledger entry rewritten in place (a second KV version of it) is reported by ledger verify."""
    kv, path = bao_seeded.kv(), f"{bao_seeded.prefix}/ledger/{1:012d}"
    data = kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    data["line"] = data["line"].replace('"actor":"tester"', '"actor":"mallory"')
    kv.create_or_update_secret(path=path, secret=data, mount_point="secret")
    r = cli("ledger", "verify", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["chain"] is not None


def test_integrity_of_names_the_environments_asked_about(bao_seeded) -> None:  # type: ignore[no-untyped-def]
    """What promote checks on OpenBao: a clean store has no findings; a rewritten profile is found for its environment
    only, and a rewritten ledger entry as a broken chain whichever environments are asked about."""
    store = bao_seeded.dir.open().store
    assert store.integrity_of(["staging", "production"]) == []
    kv, path = bao_seeded.kv(), f"{bao_seeded.prefix}/profiles/test"
    data = kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    data["values"]["ALLTKN_BASE_URL"] = "https://evil.example/v1"
    kv.create_or_update_secret(path=path, secret=data, cas=1, mount_point="secret")
    assert store.integrity_of(["staging", "production"]) == []
    assert {f.env for f in store.integrity_of(["test", "production"])} == {"test"}
    entry = f"{bao_seeded.prefix}/ledger/{1:012d}"
    data = kv.read_secret_version(path=entry, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    kv.create_or_update_secret(path=entry, secret={**data, "line": data["line"].replace('"actor":"tester"', '"actor":"mallory"')},
                               mount_point="secret")
    assert any("chain broken" in f.message for f in store.integrity_of(["staging"]))


def test_backend_status_reports_server_token_and_ledger(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`backend status --json` names the location, finds the server and a valid token, and never prints the token."""
    r = cli("backend", "status", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["backend"] == "openbao" and data["prefix"] == bao_seeded.prefix and data["mount"] == "secret"
    assert data["reachable"] is True and data["token"]["valid"] is True and data["token"]["source"] == "BAO_TOKEN"
    assert data["ledger"] == {"entries": 3, "versions": {"test": 1, "staging": 1, "production": 1}}
    assert bao_seeded.server.root_token not in r.output
    text = cli("backend", "status")
    assert text.exit_code == 0 and "reachable" in text.stdout and bao_seeded.server.root_token not in text.output


def test_file_backed_commands_never_import_hvac(seeded) -> None:  # type: ignore[no-untyped-def]
    """With the default file store, `get`, `set` and `history` run without importing hvac (or the OpenBao module)."""
    code = (
        "import sys\n"
        "from envman.cli import main\n"
        "for args in (['get', 'test', 'AI_LOG_LEVEL'], ['set', 'test', 'AI_LOG_LEVEL', 'warning'], ['history']):\n"
        "    try:\n        main(args)\n    except SystemExit as e:\n        assert not e.code, e.code\n"
        "bad = [m for m in sys.modules if m == 'hvac' or m.startswith(('hvac.', 'envman.store.openbao', 'requests'))]\n"
        "print('IMPORTED', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=seeded.root, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTED []" in out.stdout


def test_secrets_never_reach_the_server_in_plaintext(bao_seeded) -> None:  # type: ignore[no-untyped-def]
    """After an import of all three environments, no plaintext key is stored anywhere under the prefix."""
    dump = kv_dump(bao_seeded)
    assert dump and not any(secret in dump for secret in SECRETS)


def test_store_repr_and_errors_hold_no_token(bao_seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The store object's repr and describe() show where data lives, never the token."""
    store = bao_seeded.dir.open().store
    assert isinstance(store, OpenBaoStore)
    store.current("test")
    token = bao_seeded.server.root_token
    assert token not in repr(store) and token not in json.dumps(store.describe())
