"""`envman check` (the static rules) and `envman verify` (checks + live probe)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from envman.cli import CONTEXT, run_with_exit
from envman.cli.output import emit_json, style

ignore_option = click.option(
    "--ignore", "ignore", multiple=True, metavar="IDS",
    help="Rule ids to skip, comma-separated or repeated (e.g. --ignore E009,E008).",
)


def _open() -> Any:
    from envman.ops import Project

    return Project.open()


def _finding_lines(findings: Sequence[Any], *, colour: bool = True) -> list[str]:
    def paint(text: str, **kwargs: Any) -> str:
        return style(text, **kwargs) if colour else text

    lines = []
    for f in findings:
        where = "/".join(p for p in (f.env, f.var) if p) or f.file
        level = paint(f.severity.ljust(7), fg="red" if f.severity == "error" else "yellow")
        lines.append(f"{paint(f.rule, bold=True)} {level} {where}: {f.message}")
        lines.append(f"      fix: {f.fix}")
    return lines


def _tally(findings: Sequence[Any]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


@click.command("check", context_settings=CONTEXT)
@click.argument("envs", nargs=-1, metavar="[ENV]...")
@ignore_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="Output format; sarif (2.1.0) is for GitHub code scanning.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to this file instead of stdout.")
def check_cmd(envs: tuple[str, ...], ignore: tuple[str, ...], fmt: str, as_json: bool, output: str | None) -> None:
    """Run every rule (E001-E011) on ENV... (default: all); exit 1 on an error finding.

    \b
    Rules:
      E001 two environments hold the same secret     E007 wrong type or out of range
      E002 secret exported with a browser prefix     E008 secret lacks owner/rotation/rollback
      E003 URL is an endpoint or web page, not root  E009 rotation overdue
      E004 plain http after the first environment    E010 changed outside envman / broken ledger
      E005 required variable missing / unknown one   E011 plaintext secret or open key file
      E006 near-miss name (ALLTKN_BASEURL)
    Ignore rules with --ignore, `[check] ignore = ["E009"]`, or per variable
    with `ignore = ["E009"]` in its [variables.NAME] table.

    \b
    Example:
      envman check
      envman check production --ignore E009
      envman check --format sarif -o envman.sarif
    """
    from envman.checks import has_errors, run_checks, to_sarif

    fmt = "json" if as_json else fmt
    project = _open()
    findings = run_checks(project, envs or None, ignore=ignore)
    checked = [e for e in project.manifest.environments if not envs or e in envs]
    if fmt == "sarif":
        from envman import __version__

        text = _dumps(to_sarif(findings, project.manifest.root, version=__version__))
    elif fmt == "json":
        text = _dumps({"environments": checked, "ok": not has_errors(findings), "findings": [f.as_dict() for f in findings]})
    else:
        lines = _finding_lines(findings, colour=output is None)  # no escape codes in a report file
        summary = f"{_tally(findings)} in {', '.join(checked)}" if findings else f"ok: no findings in {', '.join(checked)}"
        text = "\n".join([*lines, summary])
    if output:
        from pathlib import Path

        from envman.fsutil import write_output

        write_output(Path(output), (text + "\n").encode("utf-8"))
        click.echo(f"{_tally(findings)}; report written to {output}")
    else:
        click.echo(text)
    if has_errors(findings):
        run_with_exit(1)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False)


@click.command("verify", context_settings=CONTEXT)
@click.argument("env")
@click.option("--no-stream", is_flag=True, help="Skip the stream=true step (for apps that never stream).")
@ignore_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def verify_cmd(env: str, no_stream: bool, ignore: tuple[str, ...], as_json: bool) -> None:
    """Check ENV, then probe its API with its own key, model and timeout.

    Steps, stopping at the first failure: list models, a one-token chat
    request with the default model, the same with stream=true. Each run is
    recorded in the ledger (masked key id, status, latency, cause); a passing
    run marks the version known good. Needs ENV's private key. Which variables
    feed the probe, and its routes, come from [probe] in envman.toml.

    \b
    Example:
      envman verify staging
      envman verify production --no-stream --json
    """
    from envman.verify import verify

    result = verify(_open(), env, stream=not no_stream, ignore=ignore)
    if as_json:
        emit_json(result.as_dict())
    else:
        _print_verify(result)
    if not result.ok:
        run_with_exit(1)


def _print_verify(result: Any) -> None:
    findings = result.findings
    if findings:
        click.echo(f"check {result.env}: {_tally(findings)}")
        click.echo("\n".join(_finding_lines(findings)))
    if result.report is None:
        click.echo(style(f"verify stopped: check found errors in {result.env}; version {result.version} stays unverified", fg="red"))
        return
    report = result.report
    click.echo(f"probe {result.env} @ version {result.version}: key {result.key_id}, model {result.model}, timeout {result.timeout_ms} ms")
    for s in report.steps:
        mark = style("ok  ", fg="green") if s.ok else style("FAIL", fg="red", bold=True)
        status = str(s.status) if s.status is not None else "-"
        click.echo(f"  {mark} {s.step:<6} {s.route:<24} {status:>3} {s.latency:>7}  {s.message}")
        if not s.ok and s.error:
            click.echo(f"       error text: {s.error}")
    seq = f" (ledger #{result.entry.seq})" if result.entry is not None else ""
    failed = report.failed_step
    if failed is None:
        click.echo(style(f"verified: {result.env} version {result.version} is known good{seq}", fg="green"))
    else:
        what = f"verify failed at step '{failed.step}' ({failed.cause})"
        click.echo(style(f"{what}; {result.env} version {result.version} stays unverified{seq}", fg="red"))
