"""The lifecycle commands behave the same whether the data lives in files or in OpenBao."""

from __future__ import annotations

import json

from tests.helpers import EXAMPLE_ENV


def _values(cli, ref: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env, _, version = ref.partition("@")
    args = ["show", env, "--json"] + (["--version", version] if version else [])
    r = cli(*args)
    assert r.exit_code == 0, r.output
    return {v["name"]: v["value"] for v in json.loads(r.stdout)["variables"]}


def test_set_diff_promote_rollback_history_verify(backend_project, cli) -> None:  # type: ignore[no-untyped-def]
    """set → diff → promote → rollback → history → ledger verify give the same results on both backends."""
    for env in ("test", "staging"):
        path = backend_project.root / f".env.{env}"
        path.write_text(EXAMPLE_ENV[env])
        assert cli("import", str(path), "--env", env).exit_code == 0
        path.unlink()
    assert cli("set", "test", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner").exit_code == 0

    diff = cli("diff", "test", "staging", "--json")
    assert diff.exit_code == 1, diff.output
    changed = {v["name"] for v in json.loads(diff.stdout)["variables"] if v["status"] == "changed"}
    assert {"ALLTKN_DEFAULT_MODEL", "AI_LOG_LEVEL", "ALLTKN_API_KEY"} <= changed

    promoted = cli("promote", "test", "staging", "--yes", "--force")
    assert promoted.exit_code == 0, promoted.output
    staging = _values(cli, "staging")
    assert staging["ALLTKN_DEFAULT_MODEL"] == "deepseek-reasoner"
    assert staging["ALLTKN_API_KEY"].endswith("2222")  # secrets never move on promote

    rolled = cli("rollback", "staging", "--to", "1", "--yes")
    assert rolled.exit_code == 0, rolled.output
    assert _values(cli, "staging") == _values(cli, "staging@1")
    assert _values(cli, "staging@2")["ALLTKN_DEFAULT_MODEL"] == "deepseek-reasoner"

    history = json.loads(cli("history", "staging", "--json").stdout)
    assert [(e["event"], e["version"]) for e in history] == [("rollback", 3), ("promote", 2), ("import", 1)]
    assert [e["seq"] for e in json.loads(cli("history", "--json").stdout)] == [5, 4, 3, 2, 1]
    verified = cli("ledger", "verify")
    assert verified.exit_code == 0 and "ok: 5 entries" in verified.stdout, verified.output
    assert cli("diff", "staging@1", "staging@3").exit_code == 0


def test_mark_good_and_rollback_to_last_known_good(backend_project, cli) -> None:  # type: ignore[no-untyped-def]
    """mark-good is recorded in the ledger head, and `rollback` without --to restores that version on both backends."""
    path = backend_project.root / ".env.test"
    path.write_text(EXAMPLE_ENV["test"])
    assert cli("import", str(path), "--env", "test").exit_code == 0
    assert cli("mark-good", "test").exit_code == 0
    assert cli("set", "test", "AI_LOG_LEVEL", "error").exit_code == 0
    assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "5").exit_code == 0
    r = cli("rollback", "test", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert _values(cli, "test") == _values(cli, "test@1")
    assert json.loads(cli("show", "test", "--version", "good", "--json").stdout)["version"] == 1
    assert cli("ledger", "verify").exit_code == 0


def test_rekey_on_both_backends(backend_project, cli) -> None:  # type: ignore[no-untyped-def]
    """rekey seals for a new key on both backends; a writer whose envman.toml still has the replaced key is refused until repair."""
    path = backend_project.root / ".env.production"
    path.write_text(EXAMPLE_ENV["production"])
    assert cli("import", str(path), "--env", "production").exit_code == 0
    path.unlink()
    manifest = backend_project.root / "envman.toml"
    before, values = manifest.read_text(), _values(cli, "production")
    done = cli("rekey", "production", "--yes")
    assert done.exit_code == 0, done.output
    assert manifest.read_text() != before
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout.strip() == "sk-prod-cccccccccccccccc3333"
    assert _values(cli, "production") == values and cli("diff", "production@1", "production@2").exit_code == 0
    assert [e["event"] for e in json.loads(cli("history", "production", "--json").stdout)] == ["rekey", "import"]
    assert cli("ledger", "verify").exit_code == 0

    manifest.write_text(before)  # a teammate's envman.toml from before the rekey
    refused = cli("set", "production", "AI_LOG_LEVEL", "warn")
    assert refused.exit_code == 2 and "envman.toml has a replaced public key for production" in refused.stderr
    assert [e["event"] for e in json.loads(cli("history", "production", "--json").stdout)] == ["rekey", "import"]
    for found in (cli("check", "production"), cli("ledger", "verify")):
        assert found.exit_code == 1 and "envman.toml has a replaced public key for production" in found.output, found.output
    repaired = cli("repair")
    assert repaired.exit_code == 0 and "envman.toml given the public key of its rekey at version 2" in repaired.stdout
    assert cli("set", "production", "AI_LOG_LEVEL", "warn").exit_code == 0
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout.strip() == "sk-prod-cccccccccccccccc3333"
    assert cli("ledger", "verify").exit_code == 0
