"""`envman check` on the command line: text, JSON and SARIF output, exit codes, in-process and as a subprocess."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from envman.checks import RULES
from envman.ops import set_var

PLAINTEXT_KEYS = ("sk-test-aaaaaaaaaaaaaaaa1111", "sk-stag-bbbbbbbbbbbbbbbb2222", "sk-prod-cccccccccccccccc3333")
SARIF_LEVELS = {"none", "note", "warning", "error"}


def no_plaintext(text: str) -> None:
    """No plaintext key of the example appears in ``text``."""
    assert not any(k in text for k in PLAINTEXT_KEYS)


def test_errors_exit_1_with_rule_env_var_and_fix(seeded: Any, cli: Any) -> None:
    """The example's missing go-live facts make `check` exit 1, naming rule, environment, variable and fix."""
    r = cli("check")
    assert r.exit_code == 1, r.output
    assert "E008 error   production/ALLTKN_API_KEY:" in r.stdout
    assert "fix: `envman owner production ALLTKN_API_KEY" in r.stdout
    assert r.stdout.rstrip().endswith("1 error, 2 warnings in test, staging, production")
    no_plaintext(r.output)


def test_clean_project_exits_0(seeded: Any, cli: Any) -> None:
    """With the gate ignored the example is clean: exit 0 and an ok line."""
    r = cli("check", "--ignore", "E008")
    assert (r.exit_code, r.stdout.strip()) == (0, "ok: no findings in test, staging, production")


def test_warnings_only_exit_0_and_are_printed(seeded: Any, cli: Any) -> None:
    """Warnings are shown but do not fail the run."""
    set_var(seeded.open(), "staging", "ALLTKN_BASE_URL", "https://alltkn.com")
    r = cli("check", "staging")
    assert r.exit_code == 0, r.output
    assert "E003 warning staging/ALLTKN_BASE_URL" in r.stdout and "E008 warning" in r.stdout
    assert "0 errors, 2 warnings in staging" in r.stdout


def test_seed_examples_all_at_once(seeded: Any, cli: Any) -> None:
    """The guides' four mistakes together: endpoint URL, web site, NEXT_PUBLIC_ key, shared key."""
    project = seeded.open()
    set_var(project, "staging", "ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1/chat/completions")
    set_var(project, "test", "ALLTKN_BASE_URL", "https://alltkn.com")
    set_var(project, "staging", "ALLTKN_API_KEY", "sk-prod-cccccccccccccccc3333")
    set_var(project, "production", "NEXT_PUBLIC_ALLTKN_API_KEY", "sk-pub-eeeeeeeeeeeeeeee5555", new_type="secret")
    r = cli("check", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    got = {(f["rule"], f["severity"], f["environment"], f["variable"]) for f in data["findings"]}
    assert ("E003", "error", "staging", "ALLTKN_BASE_URL") in got
    assert ("E003", "warning", "test", "ALLTKN_BASE_URL") in got
    assert ("E001", "error", "staging", "ALLTKN_API_KEY") in got and ("E001", "error", "production", "ALLTKN_API_KEY") in got
    assert ("E002", "error", "production", "NEXT_PUBLIC_ALLTKN_API_KEY") in got
    no_plaintext(r.output)
    assert "sk-pub-eeee" not in r.output


def test_json_output(seeded: Any, cli: Any) -> None:
    """--json gives the environments checked, ok, and findings with every field."""
    r = cli("check", "production", "--json")
    data = json.loads(r.stdout)
    assert data["environments"] == ["production"] and data["ok"] is False
    assert set(data["findings"][0]) == {"rule", "severity", "environment", "variable", "message", "fix", "file"}
    assert cli("check", "production", "--format", "json").stdout == r.stdout


def test_ignore_option_and_unknown_rule(seeded: Any, cli: Any) -> None:
    """--ignore takes comma lists; an unknown id is a usage error (exit 2) with one line."""
    assert cli("check", "--ignore", "E009,E008").exit_code == 0
    bad = cli("check", "--ignore", "E999")
    assert bad.exit_code == 2 and "unknown rule id 'E999'" in bad.stderr and "Traceback" not in bad.output


def test_unknown_environment_exit_2(seeded: Any, cli: Any) -> None:
    """An environment the project lacks is an input error."""
    r = cli("check", "qa")
    assert r.exit_code == 2 and "unknown environment 'qa'" in r.stderr


def test_help_lists_rules_and_example(cli: Any) -> None:
    """--help shows every rule id and an example."""
    r = cli("check", "--help")
    assert r.exit_code == 0
    assert all(rule.id in r.stdout for rule in RULES) and "Example:" in r.stdout


# -- SARIF -------------------------------------------------------------------------------------

def validate_sarif(doc: dict[str, Any], root: Path) -> None:
    """The parts of SARIF 2.1.0 that GitHub code scanning reads, checked field by field."""
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "envman"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(set(ids))
    for rule in driver["rules"]:
        assert re.fullmatch(r"E\d{3}", rule["id"]) and rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in SARIF_LEVELS
    for result in run["results"]:
        assert result["ruleId"] in ids and ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in SARIF_LEVELS
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        (loc,) = result["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert not art["uri"].startswith("/") and "://" not in art["uri"]  # relative to the repository
        assert (root / art["uri"]).is_file()
        line = loc["physicalLocation"]["region"]["startLine"]
        assert isinstance(line, int) and line >= 1
        var = result["properties"]["variable"]
        if var:
            text = (root / art["uri"]).read_text().splitlines()[line - 1]
            assert var in text, (var, art["uri"], line)
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())


# A subset of the official SARIF 2.1.0 schema: the required properties and enums of the objects envman writes.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"rules": {"type": "array", "items": {"type": "object", "required": ["id"]}}},
                }}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message"],
                    "properties": {
                        "level": {"enum": sorted(SARIF_LEVELS)},
                        "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}]},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {"physicalLocation": {
                            "type": "object",
                            "properties": {"region": {"type": "object", "properties": {"startLine": {"type": "integer", "minimum": 1}}}},
                        }}}},
                    },
                }},
            },
        }},
    },
}


def test_sarif_output_is_valid(seeded: Any, cli: Any) -> None:
    """--format sarif: a SARIF 2.1.0 log whose results point at the environment files' lines."""
    set_var(seeded.open(), "staging", "ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1/chat/completions")
    r = cli("check", "--format", "sarif")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    validate_sarif(doc, seeded.root)
    results = doc["runs"][0]["results"]
    e003 = next(x for x in results if x["ruleId"] == "E003")
    assert e003["level"] == "error"
    assert e003["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "environments/staging.toml"
    assert e003["properties"] == {"environment": "staging", "variable": "ALLTKN_BASE_URL"}
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, SARIF_SUBSET)


def test_sarif_fingerprints_are_stable(seeded: Any, cli: Any) -> None:
    """Two runs give the same fingerprints, so code scanning keeps one alert per finding."""
    first = json.loads(cli("check", "--format", "sarif").stdout)
    second = json.loads(cli("check", "--format", "sarif").stdout)
    prints = [[x["partialFingerprints"] for x in d["runs"][0]["results"]] for d in (first, second)]
    assert prints[0] == prints[1] and len({json.dumps(p) for p in prints[0]}) == len(prints[0])


def test_sarif_project_wide_finding_points_at_manifest(seeded: Any, cli: Any) -> None:
    """A finding about envman.toml (an exported name) is located in envman.toml at the variable's table."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nrename = { NEXT_PUBLIC_KEY = "ALLTKN_API_KEY" }\n')
    doc = json.loads(cli("check", "production", "--format", "sarif").stdout)
    validate_sarif(doc, seeded.root)
    e002 = next(x for x in doc["runs"][0]["results"] if x["ruleId"] == "E002")
    assert e002["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "envman.toml"


def test_output_file(seeded: Any, cli: Any, tmp_path: Path) -> None:
    """-o writes the report to a file and prints a one-line tally; the exit code still reflects errors."""
    out = tmp_path / "envman.sarif"
    r = cli("check", "--format", "sarif", "-o", str(out))
    assert r.exit_code == 1 and r.stdout.strip() == f"1 error, 2 warnings; report written to {out}"
    validate_sarif(json.loads(out.read_text()), seeded.root)


# -- as a subprocess ---------------------------------------------------------------------------

def test_subprocess_check(seeded: Any, envman: Any) -> None:
    """The installed executable: exit 1 on the seed's endpoint URL, exit 0 when clean, SARIF parses."""
    set_var(seeded.open(), "production", "ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1/chat/completions")
    r = envman("check", "production", "--ignore", "E008", cwd=seeded.root)
    assert r.exit_code == 1, r.stderr
    assert "E003 error   production/ALLTKN_BASE_URL" in r.stdout and "https://api.alltkn.com/api/v1 " in r.stdout
    ok = envman("check", "test", "staging", "--ignore", "E008", cwd=seeded.root)
    assert ok.exit_code == 0 and ok.stdout.startswith("ok:")
    sarif = envman("check", "--format", "sarif", cwd=seeded.root)
    validate_sarif(json.loads(sarif.stdout), seeded.root)
    no_plaintext(r.stdout + r.stderr + sarif.stdout)


def test_subprocess_without_any_private_key(seeded: Any, envman: Any) -> None:
    """check needs no private key: it runs with no keys file and no keychain."""
    r = envman("check", "--ignore", "E008", cwd=seeded.root, env={"ENVMAN_KEYS_FILE": ""})
    assert r.exit_code == 0, r.output

