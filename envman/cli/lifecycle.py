"""Lifecycle commands that move values between versions and environments: diff, promote, rollback.

mark-good, rotate, owner and handoff are in ``envman.cli.ownership``: a command module
defines only its own commands (each click option costs start-up time).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from envman.cli import CONTEXT, run_with_exit
from envman.cli.common import json_option, open_project
from envman.cli.output import emit_json, note, style
from envman.errors import UsageError

if TYPE_CHECKING:
    from envman.diff import ProfileDiff, VarDiff
    from envman.ops import Change

_MARKS = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow"), "shared-secret": ("!", "red"), "same": (" ", None)}


def _line(v: VarDiff, old_env: str, new_env: str) -> str:
    mark, colour = _MARKS[v.status]
    if v.status == "added" and v.new is not None:
        text = v.new.shown
    elif v.status == "removed" and v.old is not None:
        text = v.old.shown
    elif v.status == "shared-secret" and v.new is not None:
        text = f"{v.new.shown}  the same secret in {old_env} and {new_env}"
    elif v.status == "changed" and v.old is not None and v.new is not None:
        text = f"{v.old.shown} → {v.new.shown}"
    else:
        text = v.new.shown if v.new is not None else ""
    return style(f"  {mark} {v.name}  {text}".rstrip(), fg=colour)


def render_diff(diff: ProfileDiff, *, show_same: bool = False) -> list[str]:
    """One line per differing variable (and per equal one with ``show_same``)."""
    return [_line(v, diff.old_env, diff.new_env) for v in diff.vars if show_same or v.status != "same"]


def _confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; without one, only --yes lets a change through."""
    if yes:
        return
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise UsageError("not applied: no terminal to confirm on", "re-run with --yes to apply, or --dry-run to only see the plan")
    if not click.confirm(question, default=False, err=True):
        raise UsageError("not applied: the plan was not confirmed", "nothing was changed")


def _change_json(change: Change) -> dict[str, Any]:
    e = change.entry
    return {"environment": e.env, "version": e.version, "event": e.event, "changed": list(e.changed), "ledger_seq": e.seq,
            "summary": e.detail.get("summary", "")}


def report_change(change: Change, as_json: bool) -> None:
    if as_json:
        emit_json(_change_json(change))
        return
    e = change.entry
    click.echo(f"{e.env}: version {e.version} ({e.detail.get('summary') or e.event})")


@click.command("diff", context_settings=CONTEXT)
@click.argument("a")
@click.argument("b")
@click.option("--all", "show_all", is_flag=True, help="Also list variables that are the same.")
@json_option
def diff_cmd(a: str, b: str, show_all: bool, as_json: bool) -> None:
    """What differs from A to B; exit 1 when anything differs.

    A and B are environments or versions: ENV, ENV@N, ENV@latest, ENV@good.
    Secrets are compared by fingerprint and shown masked, so no private key is
    needed. The same secret in two different environments is reported as
    `shared-secret` (a problem), never as equal.

    \b
    Example:
      envman diff staging production
      envman diff production@good production
      envman diff production@12 production@14 --json
    """
    from envman.diff import diff_profiles
    from envman.ops import resolve_ref

    project = open_project()
    diff = diff_profiles(resolve_ref(project, a), resolve_ref(project, b))
    if as_json:
        emit_json(diff.as_dict())
    else:
        click.echo(style(f"{diff.old_env}@{diff.old_version} → {diff.new_env}@{diff.new_version}", bold=True))
        lines = render_diff(diff, show_same=show_all)
        click.echo("\n".join(lines) if lines else "  no differences")
        shared = diff.names("shared-secret")
        if shared:
            note(f"{len(shared)} secret(s) shared between {diff.old_env} and {diff.new_env}: "
                 "give each environment its own (`envman rotate`)")
    if not diff.empty:
        run_with_exit(1)


@click.command("promote", context_settings=CONTEXT)
@click.argument("src")
@click.argument("dst")
@click.option("--dry-run", is_flag=True, help="Show the plan and any refusal, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (required without a terminal).")
@click.option("--force", is_flag=True, help="Promote even if SRC's current version is not known good.")
@click.option("--any-order", is_flag=True, help="Allow promoting against the environments' promotion order.")
@json_option
def promote_cmd(src: str, dst: str, dry_run: bool, yes: bool, force: bool, any_order: bool, as_json: bool) -> None:
    """Copy SRC's promotable values into DST as a new version.

    What moves is decided by the schema: each variable's `promote` policy
    (secrets keep their own value per environment by default) and its `pin`
    list. The plan is shown first. SRC's current version must be known good
    (`envman verify` or `envman mark-good`) unless --force, and DST must pass
    `envman check` afterwards — promoting into the last environment requires
    every secret there to have an owner, a rotation method and a rollback value.

    \b
    Example:
      envman promote staging production --dry-run
      envman promote staging production --yes
    """
    from envman.lifecycle import apply_promote, plan_promote

    project = open_project()
    plan = plan_promote(project, src, dst, force=force, any_order=any_order)
    out: dict[str, Any] = {"plan": plan.as_dict(), "applied": False}
    if not as_json:
        good = "known good" if plan.src_good else style("NOT known good", fg="red")
        click.echo(style(f"promote {src}@{plan.src_version} ({good}) → {dst}@{plan.dst_version} as {dst}@{plan.new_version}", bold=True))
        lines = render_diff(plan.diff)
        click.echo("\n".join(lines) if lines else "  no changes")
        if plan.kept:
            click.echo(f"kept in {dst} (not promoted): " + ", ".join(f"{k.name} ({k.reason})" for k in plan.kept))
        for f in plan.findings:
            click.echo(style(f"check {f.rule} {f.severity}: {f.message}", fg="red" if f.severity == "error" else "yellow"))
    if plan.diff.empty:
        if as_json:
            emit_json(out)
        else:
            click.echo(f"nothing to promote: {dst} already has {src}@{plan.src_version}'s promotable values")
        return
    refusal = plan.refusal()
    if refusal is not None:
        if as_json:
            emit_json({**out, "refused": str(refusal)})
        raise refusal
    dry_run_or_apply(out, dry_run=dry_run, yes=yes, as_json=as_json,
                     question=f"Write these changes to {dst} as version {plan.new_version}?",
                     apply=lambda: apply_promote(project, plan))


@click.command("rollback", context_settings=CONTEXT)
@click.argument("env")
@click.option("--to", "to", metavar="N", help="Restore version N (default: the last known good version before the current one).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (required without a terminal).")
@json_option
def rollback_cmd(env: str, to: str | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Restore the last known good version of ENV (or version N) as a new version.

    Values and secrets come back exactly (ciphertext copied byte for byte);
    history is never rewritten. Owners and rotation settings recorded now are
    kept. The plan (current → restored) is shown first.

    \b
    Example:
      envman rollback production --dry-run
      envman rollback production --yes
      envman rollback production --to 12 --yes
    """
    from envman.lifecycle import apply_rollback, plan_rollback

    project = open_project()
    plan = plan_rollback(project, env, to)
    if not as_json:
        good = "known good" if plan.target_good else "not marked known good"
        head = f"rollback {env}@{plan.current_version} → version {plan.target_version} ({good}) as {env}@{plan.new_version}"
        click.echo(style(head, bold=True))
        click.echo("\n".join(render_diff(plan.diff)))
    out: dict[str, Any] = {"plan": plan.as_dict(), "applied": False}
    dry_run_or_apply(out, dry_run=dry_run, yes=yes, as_json=as_json,
                     question=f"Restore version {plan.target_version} of {env} as version {plan.new_version}?",
                     apply=lambda: apply_rollback(project, plan))


def dry_run_or_apply(out: dict[str, Any], *, dry_run: bool, yes: bool, as_json: bool, question: str,
                     apply: Callable[[], Any]) -> bool:
    """The shared end of promote, rollback and rekey: stop after the plan, or confirm, apply and report (True)."""
    if dry_run:
        if as_json:
            emit_json(out)
        else:
            click.echo("dry run: nothing was changed")
        return False
    _confirm(question, yes)
    change = apply()
    if as_json:
        emit_json({**out, "applied": True, "result": _change_json(change)})
    else:
        report_change(change, False)
    return True
