"""Two processes promoting and setting at once never lose an update."""

from __future__ import annotations

import json
import threading

ROUNDS = 6


def test_promote_and_set_at_once_lose_nothing(live, envman) -> None:  # type: ignore[no-untyped-def]
    """One process changes staging and promotes it while another sets production's key: every reported version exists
    with what its writer wrote, versions are contiguous, the chain is valid, and no promote reverts a concurrent set."""
    root = live.root
    p = live.open()
    start = {env: p.store.current(env).version for env in ("staging", "production")}
    results: dict[str, list[tuple[str, int, str]]] = {"promoter": [], "setter": []}
    refused: list[str] = []

    def promoter() -> None:
        for i in range(ROUNDS):
            value = str(61000 + i)
            r = envman("set", "staging", "AI_REQUEST_TIMEOUT_MS", value, "--json", cwd=root)
            assert r.exit_code == 0, r.output
            results["promoter"].append(("staging", json.loads(r.stdout)["version"], value))
            r = envman("promote", "staging", "production", "--yes", "--force", "--json", cwd=root)
            if r.exit_code == 2:  # check-and-set refused a plan overtaken by the other writer: not applied, not lost
                assert "changed while the plan was being made" in r.stderr, r.output
                refused.append(value)
                continue
            assert r.exit_code == 0, r.output
            results["promoter"].append(("production", json.loads(r.stdout)["result"]["version"], "promote:" + value))

    def setter() -> None:
        for i in range(ROUNDS):
            key = f"sk-prod-concurrent{i:02d}xxxxxxxxxx"
            r = envman("set", "production", "ALLTKN_API_KEY", "--json", input=key + "\n", cwd=root)
            assert r.exit_code == 0, r.output
            results["setter"].append(("production", json.loads(r.stdout)["version"], "key:" + key))

    threads = [threading.Thread(target=promoter), threading.Thread(target=setter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results["setter"]) == ROUNDS and len(results["promoter"]) >= ROUNDS

    verify = envman("ledger", "verify", cwd=root)
    assert verify.exit_code == 0, verify.output

    p = live.open()
    writes = results["promoter"] + results["setter"]
    for env in ("staging", "production"):
        mine = sorted(v for e, v, _ in writes if e == env)
        assert mine == list(range(start[env] + 1, p.store.current(env).version + 1))  # contiguous, none missing

    key_at: dict[int, str] = {}
    for env, version, what in writes:
        profile = p.store.version(env, version)
        if what.startswith("key:"):
            key_at[version] = what[4:]
            assert p.reveal(env, "ALLTKN_API_KEY", profile.secrets["ALLTKN_API_KEY"]).reveal() == what[4:]
        elif what.startswith("promote:"):
            assert profile.values["AI_REQUEST_TIMEOUT_MS"] == what[8:]
        else:
            assert profile.values["AI_REQUEST_TIMEOUT_MS"] == what
    # a promote keeps production's key: each version holds the key of the newest set before it
    for version in range(start["production"] + 1, p.store.current("production").version + 1):
        earlier = [v for v in key_at if v <= version]
        if earlier:
            got = p.reveal("production", "ALLTKN_API_KEY", p.store.version("production", version).secrets["ALLTKN_API_KEY"])
            assert got.reveal() == key_at[max(earlier)]
