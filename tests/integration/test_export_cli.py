"""`envman export` as a command: files, permissions, ledger, refusals, renames, versions."""

from __future__ import annotations

import json
import os
import stat

from dotenv import dotenv_values

from tests.helpers import umask

CANARY = "sk-prod-cccccccccccccccc3333"


def test_dotenv_file_is_0600_atomic_and_recorded(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """A file with plaintext secrets is written 0600 (under umask 022) and the export is in the ledger, masked."""
    with umask(0o022):
        r = envman("export", "production", "--format", "dotenv", "-o", "prod.env", cwd=seeded.root)
    assert r.exit_code == 0, r.stderr
    path = seeded.root / "prod.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dotenv_values(path)["ALLTKN_API_KEY"] == CANARY
    entry = json.loads(envman("history", "production", "--event", "export", "--json", cwd=seeded.root).stdout)[0]
    assert entry["detail"]["format"] == "dotenv" and entry["detail"]["destination"] == "prod.env"
    assert entry["keys"] == {"ALLTKN_API_KEY": "sk-…3333"}
    assert CANARY not in (seeded.root / "environments" / "ledger.jsonl").read_text()


def test_output_through_a_symlink_or_into_a_pipe_keeps_what_is_there(seeded, envman, cli) -> None:  # type: ignore[no-untyped-def]
    """-o replaces a file atomically, but a symlink stays a symlink (its target is replaced) and a pipe or device is
    written into, never replaced by a regular file (`-o /dev/null`, `-o /dev/stdout`, a FIFO)."""
    import threading

    root = seeded.root
    (root / "deploy").mkdir()
    (root / "deploy" / "prod.env").write_text("OLD=1\n")
    os.symlink("deploy/prod.env", root / "current.env")
    r = envman("export", "production", "--format", "dotenv", "-o", "current.env", cwd=root)
    assert r.exit_code == 0, r.stderr
    assert (root / "current.env").is_symlink() and os.readlink(root / "current.env") == "deploy/prod.env"
    target = root / "deploy" / "prod.env"
    assert dotenv_values(target)["ALLTKN_API_KEY"] == CANARY and stat.S_IMODE(target.stat().st_mode) == 0o600

    fifo = root / "export.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    r = envman("export", "production", "--format", "dotenv", "-o", str(fifo), cwd=root)
    reader.join(timeout=60)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the pipe is still a pipe"
    assert f"ALLTKN_API_KEY={CANARY}".encode() in got[0]
    assert cli("export", "production", "--format", "dotenv", "-o", "deploy").exit_code == 2


def test_no_secrets_export_needs_no_key_and_holds_no_secret(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """--no-secrets works without any private key and the canary is absent; the file is 0644."""
    env = {k: v for k, v in os.environ.items() if k != "ENVMAN_KEYS_FILE"}
    import subprocess

    from tests.conftest import ENVMAN_BIN

    proc = subprocess.run([ENVMAN_BIN, "export", "production", "--format", "json", "--no-secrets"], cwd=seeded.root,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "ALLTKN_API_KEY" not in data and data["AI_LOG_LEVEL"] == "info"
    assert CANARY not in proc.stdout + proc.stderr


def test_unrepresentable_value_is_refused_and_nothing_written(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A newline cannot go into a docker env-file: exit 2 naming the variable, no file left behind."""
    from envman.ops import set_var

    set_var(seeded.open(), "staging", "BANNER", "line one\nline two", new_type="string")
    r = cli("export", "staging", "--format", "docker", "-o", "out.env", "--no-secrets")
    assert r.exit_code == 2
    assert "BANNER" in r.stderr and "line two" not in r.stderr
    assert not (seeded.root / "out.env").exists()
    assert [p.name for p in seeded.root.iterdir() if p.name.startswith(".out.env")] == []


def test_service_renames_and_only(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """[exports.web] renames give the SDK's names; --only narrows the set."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nformat = "json"\nrename = { OPENAI_API_KEY = "ALLTKN_API_KEY", OPENAI_BASE_URL = "ALLTKN_BASE_URL" }\n')
    r = cli("export", "production", "--service", "web", "--only", "ALLTKN_API_KEY,ALLTKN_BASE_URL")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": "https://api.alltkn.com/api/v1"}


def test_version_selection_and_unknown_version(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """--version N exports that version; an unknown version is exit 2."""
    from envman.ops import set_var

    set_var(seeded.open(), "staging", "AI_LOG_LEVEL", "error")
    old = json.loads(cli("export", "staging", "--format", "json", "--no-secrets", "--version", "1").stdout)
    assert old["AI_LOG_LEVEL"] == "info"
    assert cli("export", "staging", "--format", "json", "--version", "99").exit_code == 2


def test_kubernetes_split_between_secret_and_configmap(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """k8s-secret carries only secrets; k8s-configmap only plain values (and needs no key)."""
    secret = cli("export", "production", "--format", "k8s-secret")
    config = cli("export", "production", "--format", "k8s-configmap")
    assert secret.exit_code == 0 and config.exit_code == 0, secret.stderr + config.stderr
    assert "ALLTKN_API_KEY" in secret.stdout and "AI_LOG_LEVEL" not in secret.stdout
    assert "AI_LOG_LEVEL" in config.stdout and "ALLTKN_API_KEY" not in config.stdout


def test_unknown_format_is_usage_error(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """An unknown --format is exit 2 with the list of formats."""
    r = cli("export", "production", "--format", "toml")
    assert r.exit_code == 2 and "dotenv" in r.stderr
