"""Ownership commands: mark-good, rotate, owner, handoff."""

from __future__ import annotations

import click

from envman.cli import CONTEXT
from envman.cli.common import json_option, open_project, read_value
from envman.cli.lifecycle import report_change
from envman.cli.output import emit_json, style
from envman.errors import UsageError


@click.command("mark-good", context_settings=CONTEXT)
@click.argument("env")
@click.option("--version", "version", metavar="N", help="The version to attest (default: the current one).")
@click.option("--note", default="", help="Why it is known good (e.g. the deploy's health check). Never a secret.")
@json_option
def mark_good_cmd(env: str, version: str | None, note: str, as_json: bool) -> None:
    """Attest a version of ENV as known good (recorded in the ledger).

    Use it after a deploy's health check passed; `envman verify` marks a
    version known good by itself when its live probe passes. `promote` takes
    only known-good versions; `rollback` restores the newest one.

    \b
    Example:
      envman mark-good staging --note "smoke tests passed, deploy 4812"
      envman mark-good production --version 12
    """
    from envman.lifecycle import mark_good

    result = mark_good(open_project(), env, version, note=note)
    e = result.entry
    if as_json:
        emit_json({"environment": e.env, "version": e.version, "ledger_seq": e.seq, "profile": e.profile,
                   "actor": e.actor, "note": note, "already_good": result.again})
        return
    again = " (again)" if result.again else ""
    click.echo(f"{e.env}@{e.version} marked known good{again} by {e.actor} (ledger #{e.seq})")


@click.command("rotate", context_settings=CONTEXT)
@click.argument("env")
@click.argument("var")
@click.argument("value", required=False)
@click.option("--from-file", type=click.Path(dir_okay=False), help="Read the new secret from this file.")
@click.option("--method", default="", help="How it was rotated (e.g. 'provider console', 'vault lease').")
@click.option("--undo", is_flag=True, help="Put the rollback value back (the replaced value becomes the rollback value).")
@json_option
def rotate_cmd(env: str, var: str, value: str | None, from_file: str | None, method: str, undo: bool, as_json: bool) -> None:
    """Replace the secret VAR of ENV; the previous value is kept as its rollback value.

    The new value comes from a hidden prompt, stdin or --from-file — never
    from the command line. The rotation time and method are recorded and the
    next due date follows from the rotation period (`envman owner`).

    \b
    Example:
      envman rotate production ALLTKN_API_KEY --method "provider console"
      printf %s "$NEW_KEY" | envman rotate production ALLTKN_API_KEY
      envman rotate production ALLTKN_API_KEY --undo
    """
    from envman.lifecycle import require_secret, rotate, undo_rotation

    if value is not None:
        # taken only to refuse it without echoing it (click would quote an unexpected argument)
        raise UsageError(
            "a secret's value must not be given on the command line (visible to all users in `ps`)",
            f"pipe it: `envman rotate {env} {var} < file`, use --from-file, or omit it to be prompted",
        )
    project = open_project()
    if undo:
        if from_file is not None or method:
            raise UsageError("--undo takes no new value or method", "drop --from-file/--method")
        change = undo_rotation(project, env, var)
    else:
        require_secret(project, env, var)  # refuse before prompting for a value
        change = rotate(project, env, var, read_value(var, secret=True, from_file=from_file), method=method)
    report_change(change, as_json)


@click.command("owner", context_settings=CONTEXT)
@click.argument("env")
@click.argument("var")
@click.option("--owner", "--set", "owner", help="Who answers for VAR in ENV.")
@click.option("--rotation-method", help="How VAR is rotated (e.g. 'provider console').")
@click.option("--rotation-days", type=click.IntRange(min=0), help="Rotation period in days (0: none).")
@click.option("--note", help="A short note (never a secret).")
@json_option
def owner_cmd(env: str, var: str, owner: str | None, rotation_method: str | None, rotation_days: int | None,
              note: str | None, as_json: bool) -> None:
    """Show or record who owns VAR in ENV and how it is rotated.

    Without options it shows the records (falling back to the schema's
    defaults in envman.toml). With options it records them as a new version
    (ledger event `owner`).

    \b
    Example:
      envman owner production ALLTKN_API_KEY
      envman owner production ALLTKN_API_KEY --owner alice --rotation-method "provider console" --rotation-days 90
    """
    from envman.lifecycle import owner_show, set_owner

    project = open_project()
    if owner is None and rotation_method is None and rotation_days is None and note is None:
        c = owner_show(project, env, var)
        if as_json:
            emit_json(c.as_dict())
            return
        schema = set(c.from_schema)
        def val(key: str, text: str) -> str:
            return (text + " (schema default)" if key in schema else text) if text else "—"
        click.echo(style(f"{var} in {env}", bold=True))
        click.echo(f"  owner:           {val('owner', c.owner)}")
        click.echo(f"  rotation method: {val('rotation_method', c.rotation_method)}")
        click.echo(f"  rotation period: {val('rotation_days', f'{c.rotation_days} days' if c.rotation_days else '')}")
        age = f" ({c.age_days} days ago)" if c.age_days is not None else ""
        click.echo(f"  last rotated:    {c.rotated_at + age if c.rotated_at else '—'}")
        click.echo(f"  next due:        {(c.next_due + (' (overdue)' if c.overdue else '')) if c.next_due else '—'}")
        if c.secret:
            click.echo(f"  rollback value:  {'recorded' if c.has_rollback else '—'}")
        if c.note:
            click.echo(f"  note:            {c.note}")
        return
    report_change(set_owner(project, env, var, owner=owner, rotation_method=rotation_method, rotation_days=rotation_days, note=note), as_json)


@click.command("handoff", context_settings=CONTEXT)
@click.argument("env")
@click.option("--events", "events", type=click.IntRange(min=0), default=10, show_default=True, help="How many recent events to list.")
@json_option
def handoff_cmd(env: str, events: int, as_json: bool) -> None:
    """The hand-over record of ENV as Markdown: safe to paste into a ticket.

    Owner of each credential, current version, last known good version and
    its verify result, rotation due dates (the next review point) and recent
    events. Secrets appear only masked.

    \b
    Example:
      envman handoff production > handoff.md
      envman handoff staging --json
    """
    from envman.lifecycle import handoff

    record = handoff(open_project(), env, recent=events)
    if as_json:
        emit_json(record.as_dict())
    else:
        click.echo(record.to_markdown(), nl=False)
