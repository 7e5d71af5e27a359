"""SARIF and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envman.scan import RULE_ID, Hit, scan_git, scan_paths, to_json, to_sarif
from tests.scan.scanhelp import CUR, FP, PAST, GitRepo, secret

SECRETS = [secret(CUR, version=7), secret(PAST, version=6, current=False)]


@pytest.fixture
def hits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Hit]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.env").write_text(f"x\nKEY={CUR}\n")
    (tmp_path / "b.bin").write_bytes(b"\0\0" + PAST.encode())
    monkeypatch.chdir(tmp_path)
    return list(scan_paths(["."], SECRETS, FP))


def test_sarif_shape(hits: list[Hit], tmp_path: Path) -> None:
    """A SARIF 2.1.0 log: tool envman, rule S001, relative URIs, line/column or byte offset."""
    log = to_sarif(hits, base=tmp_path)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "envman"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [RULE_ID]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == "known secret found"
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]}
    assert set(by_uri) == {"src/a.env", "b.bin"}
    text = by_uri["src/a.env"]
    assert text["ruleId"] == RULE_ID and text["level"] == "error"
    assert text["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 5}
    assert "production/API_KEY v7" in text["message"]["text"] and "current" in text["message"]["text"]
    assert "sk-…cdef" in text["message"]["text"]
    binary = by_uri["b.bin"]
    assert binary["level"] == "warning" and "past" in binary["message"]["text"]
    assert binary["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 2}


def test_sarif_uses_cwd_by_default_and_keeps_git_paths(hits: list[Hit], repo: GitRepo) -> None:
    """Without base, URIs are relative to the working folder; git paths stay repository-relative."""
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in to_sarif(hits)["runs"][0]["results"]}
    assert uris == {"src/a.env", "b.bin"}
    sha = repo.commit("c", {"deep/k.txt": f"{CUR}\n"})
    (result,) = to_sarif(scan_git(repo.path, SECRETS, FP), base="/elsewhere")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deep/k.txt"
    assert result["properties"]["commit"] == sha and sha[:12] in result["message"]["text"]


def test_json_round_trips_and_reports_never_hold_plaintext(hits: list[Hit]) -> None:
    """to_json gives plain dicts with every Hit field; neither report contains a secret value."""
    rows = to_json(hits)
    assert [Hit(**row) for row in rows] == hits
    blob = json.dumps(rows) + json.dumps(to_sarif(hits))
    assert CUR not in blob and PAST not in blob
