"""`envman scan` over a project's real secrets: current and past, keyed and keyless, files and git."""

from __future__ import annotations

import base64
import json
import os
import subprocess


def _rotate(seeded) -> None:  # type: ignore[no-untyped-def]
    from envman.ops import set_var

    set_var(seeded.open(), "production", "ALLTKN_API_KEY", "sk-prod-dddddddddddddddd4444")


def test_finds_current_and_past_secrets_with_keys(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """A past and the current production key are found, each named with env/var and current-ness; exit 1."""
    _rotate(seeded)
    dist = seeded.root / "dist"
    dist.mkdir()
    (dist / "app.js").write_text("a='sk-prod-cccccccccccccccc3333';\nb='" + base64.b64encode(b"x:sk-prod-dddddddddddddddd4444").decode() + "'\n")
    r = envman("scan", "dist", "--json", cwd=seeded.root)
    assert r.exit_code == 1, r.stderr
    hits = json.loads(r.stdout)["hits"]
    found = {(h["var"], h["current"], h["encoding"], h["line"]) for h in hits}
    assert ("ALLTKN_API_KEY", False, "plain", 1) in found
    assert ("ALLTKN_API_KEY", True, "base64", 2) in found
    assert "sk-prod-cccc" not in r.stdout and "dddd4444" not in r.stdout


def test_keyless_finds_plain_occurrences(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """Without any private key, a plain occurrence is found through masked form + fingerprint."""
    (seeded.root / "leak.txt").write_text("token: sk-stag-bbbbbbbbbbbbbbbb2222 end\n")
    env = {k: v for k, v in os.environ.items() if k != "ENVMAN_KEYS_FILE"}
    from tests.conftest import ENVMAN_BIN

    proc = subprocess.run([ENVMAN_BIN, "scan", "leak.txt", "--format", "json"], cwd=seeded.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [(h["env"], h["column"]) for h in data["hits"]] == [("staging", 8)]
    assert set(data["keyless"]) == {"test", "staging", "production"}


def test_clean_tree_exits_zero(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """A near miss (one character changed) is not a hit; exit 0."""
    (seeded.root / "ok.txt").write_text("sk-prod-cccccccccccccccc3334\n")
    r = envman("scan", "ok.txt", cwd=seeded.root)
    assert r.exit_code == 0, r.output
    assert "no known secret" in r.stderr


def test_git_history_and_staged(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """A key committed then removed is found in history; --staged sees only the index."""
    root = seeded.root

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

    git("init", "-q")
    (root / "config.js").write_text("export const key = 'sk-test-aaaaaaaaaaaaaaaa1111'\n")
    git("add", "config.js")
    git("commit", "-qm", "oops")
    (root / "config.js").write_text("export const key = process.env.ALLTKN_API_KEY\n")
    git("commit", "-qam", "fix")
    hist = envman("scan", "--git", "--json", cwd=root)
    assert hist.exit_code == 1, hist.stderr
    hits = json.loads(hist.stdout)["hits"]
    assert [(h["path"], h["line"], h["env"]) for h in hits] == [("config.js", 1, "test")]
    assert hits[0]["commit"]
    staged = envman("scan", "--staged", cwd=root)
    assert staged.exit_code == 0
    (root / "config.js").write_text("k='sk-stag-bbbbbbbbbbbbbbbb2222'\n")
    assert envman("scan", "--staged", cwd=root).exit_code == 0  # not staged yet
    git("add", "config.js")
    assert envman("scan", "--staged", cwd=root).exit_code == 1


def test_sarif_output(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """--format sarif produces a SARIF 2.1.0 log with one result per hit."""
    (seeded.root / "leak.txt").write_text("sk-test-aaaaaaaaaaaaaaaa1111\n")
    r = envman("scan", "leak.txt", "--format", "sarif", cwd=seeded.root)
    assert r.exit_code == 1
    log = json.loads(r.stdout)
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 1
