"""A team's flow end to end through the installed `envman` executable (subprocesses, real files)."""

from __future__ import annotations

import json
import tomllib

STAGING_KEY = "sk-stag-bbbbbbbbbbbbbbbb2222"
NEW_PROD_KEY = "sk-prod-9999999999999999abcd"
NEXT_PROD_KEY = "sk-prod-7777777777777777ef01"


def _profile(root, env: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return tomllib.loads((root / "environments" / f"{env}.toml").read_text())


def _version(root, env: str, n: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return tomllib.loads((root / "environments" / "versions" / env / f"{n:06d}.toml").read_text())


def _revealed(envman, root, ref: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env, _, version = ref.partition("@")
    r = envman("show", env, "--reveal", "--json", "--version", version or "latest", cwd=root)
    assert r.exit_code == 0, r.output
    return {v["name"]: v["value"] for v in json.loads(r.stdout)["variables"]}


def test_team_flow(project, envman) -> None:  # type: ignore[no-untyped-def]
    """import → shared key flagged → fix it → change staging → mark good → promote (plan, secrets untouched, ledger)
    → break production → rollback restores the good set byte for byte → rollback without good fails cleanly → rotate/undo."""
    from tests.helpers import EXAMPLE_ENV

    root = project.root

    def run(*args: str, input: str | None = None, code: int = 0):  # type: ignore[no-untyped-def]
        r = envman(*args, cwd=root, input=input)
        assert r.exit_code == code, f"{args}: {r.output}"
        assert "Traceback" not in r.output
        return r

    # 1. adopt the three .env files
    for env, text in EXAMPLE_ENV.items():
        (root / f".env.{env}").write_text(text)
        run("import", f".env.{env}", "--env", env)
        (root / f".env.{env}").unlink()

    # 2. someone gives production staging's key: diff flags it (no private key needed)
    run("set", "production", "ALLTKN_API_KEY", input=STAGING_KEY + "\n")
    shared = envman("diff", "staging", "production", cwd=root, env={"ENVMAN_KEYS_FILE": ""})
    assert shared.exit_code == 1 and "! ALLTKN_API_KEY" in shared.stdout and "same secret" in shared.stdout
    assert STAGING_KEY not in shared.output

    # 3. fix it: rotate production's key, record owner and rotation method (the go-live gate needs them)
    run("rotate", "production", "ALLTKN_API_KEY", "--method", "provider console", input=NEW_PROD_KEY + "\n")
    run("owner", "production", "ALLTKN_API_KEY", "--owner", "alice", "--rotation-method", "provider console",
        "--rotation-days", "90")
    assert "~ ALLTKN_API_KEY  sk-…2222 → sk-…abcd" in run("diff", "staging", "production", code=1).stdout  # no longer shared

    # 4. change staging's model and timeout, and attest it
    run("set", "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    run("set", "staging", "AI_REQUEST_TIMEOUT_MS", "90000")
    run("mark-good", "staging", "--note", "smoke tests passed")

    # 5. promote: the plan is shown first; without --yes (no terminal) nothing is written
    before_promote = _profile(root, "production")
    refused = run("promote", "staging", "production", code=2)
    assert "~ ALLTKN_DEFAULT_MODEL  deepseek-chat → deepseek-reasoner" in refused.stdout
    assert "~ AI_REQUEST_TIMEOUT_MS  60000 → 90000" in refused.stdout
    assert "--yes" in refused.stderr
    assert _profile(root, "production") == before_promote
    done = run("promote", "staging", "production", "--yes")
    assert "kept in production (not promoted): ALLTKN_API_KEY" in done.stdout
    after_promote = _profile(root, "production")
    assert after_promote["secrets"] == before_promote["secrets"]  # the secret is untouched, byte for byte
    assert after_promote["values"]["ALLTKN_DEFAULT_MODEL"] == "deepseek-reasoner"
    assert after_promote["values"]["AI_REQUEST_TIMEOUT_MS"] == "90000"
    entry = json.loads(run("history", "production", "--event", "promote", "--json").stdout)[0]
    staging_version = _profile(root, "staging")["version"]
    assert entry["detail"]["summary"] == f"promote staging@{staging_version} → production@{after_promote['version']}"
    assert sorted(entry["changed"]) == ["AI_REQUEST_TIMEOUT_MS", "ALLTKN_DEFAULT_MODEL"]

    # 6. production is declared good after the deploy, then broken by hand-offs of bad values
    good = after_promote["version"]
    run("mark-good", "production")
    good_values = _revealed(envman, root, "production")
    run("set", "production", "ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1/chat/completions")
    run("rotate", "production", "ALLTKN_API_KEY", input=NEXT_PROD_KEY + "\n")
    assert _revealed(envman, root, "production") != good_values

    # 7. rollback restores the previous good set exactly: decrypted values and ciphertexts
    plan = run("rollback", "production", "--dry-run")
    assert f"→ version {good}" in plan.stdout and "ALLTKN_BASE_URL" in plan.stdout
    run("rollback", "production", "--yes")
    restored = _profile(root, "production")
    stable = _version(root, "production", good)
    assert restored["version"] == good + 3
    assert restored["values"] == stable["values"]
    assert restored["secrets"] == stable["secrets"]  # ciphertext, masked form and fingerprint
    assert _revealed(envman, root, "production") == good_values
    assert run("diff", f"production@{good}", "production").stdout.strip().endswith("no differences")
    rb = json.loads(run("history", "production", "--event", "rollback", "--json").stdout)[0]
    assert (rb["detail"]["from_version"], rb["detail"]["to_version"]) == (good + 2, good)

    # 8. rollback with nothing known good fails cleanly
    before = project.snapshot()
    failed = run("rollback", "test", "--yes", code=2)
    assert "envman verify test" in failed.stderr and "envman mark-good test" in failed.stderr
    assert project.snapshot() == before

    # 9. rotate then --undo
    run("rotate", "staging", "ALLTKN_API_KEY", input="sk-stag-cccccccccccccccc3030\n")
    assert _revealed(envman, root, "staging")["ALLTKN_API_KEY"] == "sk-stag-cccccccccccccccc3030"
    run("rotate", "staging", "ALLTKN_API_KEY", "--undo")
    assert _revealed(envman, root, "staging")["ALLTKN_API_KEY"] == STAGING_KEY

    # the whole story is consistent, the ledger never saw a value, and the hand-over note is masked
    assert "chain intact" in run("ledger", "verify").stdout
    ledger = (root / "environments" / "ledger.jsonl").read_text()
    for secret in (STAGING_KEY, NEW_PROD_KEY, NEXT_PROD_KEY):
        assert secret not in ledger
    note = run("handoff", "production").stdout
    assert "| ALLTKN_API_KEY | sk-…abcd | alice |" in note and f"Last known good: version {good}" in note
    assert NEW_PROD_KEY not in note
