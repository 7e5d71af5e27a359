"""What each command costs in requests to the server, counted by a proxy on 127.0.0.1.

Reading the newest state must not read the history: `get` and `show` make one
request, `set` five (read head and profile; create the ledger entry; CAS-write
the profile and the head), with 2 past versions or 44.
"""

from __future__ import annotations

from tests.openbao.conftest import use_openbao


def _costs(cli, proxy, prefix: str, key: str) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    data = f"/v1/secret/data/{prefix}"
    out = {}
    for name, args in {
        "get": ("get", "test", "AI_LOG_LEVEL"),
        "show": ("show", "test"),
        "set": ("set", "test", "AI_REQUEST_TIMEOUT_MS", "777"),
        "set-secret": ("set", "test", "ALLTKN_API_KEY"),
        "history --limit 2": ("history", "--limit", "2"),
    }.items():
        proxy.take()
        r = cli(*args, input=key if name == "set-secret" else None)
        assert r.exit_code == 0, (name, r.output)
        out[name] = [(m, p.replace(data, "")) for m, p in proxy.take()]
    assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "60000").exit_code == 0
    return out


def test_request_counts_do_not_grow_with_history(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """get/show: 1 request; set: 5 (2 reads + ledger create + profile CAS + head CAS) — identical after 40 more versions."""
    use_openbao(bao_seeded.root, proxy.address, bao_seeded.prefix)
    early = _costs(cli, proxy, bao_seeded.prefix, "sk-test-yyyyyyyyyyyyyyyy7777")
    assert early["get"] == [("GET", "/profiles/test")]
    assert early["show"] == [("GET", "/profiles/test")]
    write = [("GET", "/head"), ("GET", "/profiles/test"), ("POST", "/ledger/000000000004"), ("POST", "/profiles/test"), ("POST", "/head")]
    assert early["set"] == write
    assert len(early["set-secret"]) == 5
    # the head, one probe past it (for an unfinished write), then just the two newest entries
    assert early["history --limit 2"] == [("GET", "/head"), ("GET", "/ledger/000000000006"), ("GET", "/ledger/000000000005"),
                                         ("GET", "/ledger/000000000004")]
    for n in range(40):
        assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", str(2000 + n)).exit_code == 0
    late = _costs(cli, proxy, bao_seeded.prefix, "sk-test-xxxxxxxxxxxxxxxx8888")
    assert {k: len(v) for k, v in late.items()} == {k: len(v) for k, v in early.items()}
    assert late["get"] == early["get"] and late["show"] == early["show"]
    assert [m for m, _ in late["set"]] == [m for m, _ in write]


def test_status_and_good_version_reads_are_bounded(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """`status` reads the head plus one profile per environment; `show --version good` reads the head and one version."""
    use_openbao(bao_seeded.root, proxy.address, bao_seeded.prefix)
    assert cli("mark-good", "test").exit_code == 0
    proxy.take()
    assert cli("status").exit_code == 0
    assert sorted(p.rsplit("/", 1)[1] for _, p in proxy.take()) == ["head", "production", "staging", "test"]
    assert cli("show", "test", "--version", "good").exit_code == 0
    assert [p.rsplit("/", 1)[1] for _, p in proxy.take()] == ["head", "test"]
