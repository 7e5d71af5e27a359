"""The foundation's main flow, end to end, once in-process and once as a subprocess."""

from __future__ import annotations


def test_import_set_get_roundtrip_in_process(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A value set through the CLI reads back; a secret stays masked without --reveal."""
    r = cli("set", "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    assert r.exit_code == 0, r.output
    assert cli("get", "staging", "ALLTKN_DEFAULT_MODEL").stdout.strip() == "deepseek-reasoner"
    masked = cli("get", "production", "ALLTKN_API_KEY")
    assert masked.stdout.strip() == "sk-…3333"
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout.strip() == "sk-prod-cccccccccccccccc3333"


def test_subprocess_status_and_history(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """The installed executable shows status and history and exits 0."""
    r = envman("status", cwd=seeded.root)
    assert r.exit_code == 0, r.stderr
    assert "sk-…3333" in r.stdout and "sk-prod" not in r.stdout
    h = envman("history", "production", "--json", cwd=seeded.root)
    assert h.exit_code == 0 and '"event": "import"' in h.stdout
