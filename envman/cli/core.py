"""Core commands: init, import, set, unset, get, show, status, history, repair, ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from envman.cli import CONTEXT, run_with_exit
from envman.cli.common import json_option, open_project, read_value, reveal_option
from envman.cli.output import emit_json, note, style, table
from envman.errors import UsageError


def _version_ref(project: Any, env: str, version: str) -> tuple[str, str]:
    """ENV and version selector from `ENV@N` (as in `diff`) or from ENV and --version."""
    if "@" not in env:
        return env, version
    if version != "latest":
        raise UsageError(f"{env!r} names a version and --version names another", "give the version once")
    from envman.ops import parse_ref

    return parse_ref(project, env)


@click.command("init", context_settings=CONTEXT)
@click.option("--env", "envs", multiple=True, help="Environment to create (repeatable). Default: test, staging, production.")
@click.option("--project-id", help="Project id (default: the folder name).")
@click.option("--keys-file", type=click.Path(dir_okay=False), help="Write private keys to this 0600 file instead of the OS keychain.")
@json_option
def init_cmd(envs: tuple[str, ...], project_id: str | None, keys_file: str | None, as_json: bool) -> None:
    """Create envman.toml, environments/ and a key pair per environment.

    Private keys go to the OS keychain; without one (or with --keys-file) they
    are written to a 0600 file that is added to .gitignore.

    \b
    Example:
      envman init
      envman init --env qa
      envman init --keys-file ~/.config/envman/myapp.keys
    """
    from envman.ops import init_project

    result = init_project(Path.cwd(), project_id=project_id, envs=list(envs) or None, keys_file=Path(keys_file) if keys_file else None)
    if as_json:
        emit_json({"root": str(result.root), "created": result.created, "environments": result.envs, "keys": result.key_places})
        return
    verb = "created envman.toml with" if result.created else "added"
    click.echo(f"{verb} environments: {', '.join(result.envs)}")
    if result.keys_file is not None:
        from envman.keys import KEYS_FILE_VAR

        click.echo(f"private keys written to {result.keys_file} (mode 0600; never commit it)")
        click.echo(f"use them with: export {KEYS_FILE_VAR}={result.keys_file}")
        click.echo("or put each ENVMAN_PRIVATE_KEY_<ENV> line into your CI's secret store, then delete the file")
    else:
        click.echo("private keys stored in the OS keychain")


@click.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--env", "env", required=True, help="Environment to import into.")
@json_option
def import_cmd(file: str, env: str, as_json: bool) -> None:
    """Adopt an existing .env file as a new version of ENV.

    Types are inferred; names like *_KEY, *_SECRET, *_TOKEN, *PASSWORD* are
    stored encrypted. New names are added to the schema in envman.toml.

    \b
    Example:
      envman import .env.production --env production
    """
    from envman.ops import import_dotenv

    change = import_dotenv(open_project(), Path(file), env)
    _report_change(change, as_json)


def _report_change(change: Any, as_json: bool) -> None:
    for line in change.notes:
        note(line)
    entry = change.entry
    if as_json:
        emit_json({"environment": entry.env, "version": entry.version, "event": entry.event, "changed": list(entry.changed), "ledger_seq": entry.seq})
        return
    click.echo(f"{entry.env}: version {entry.version} ({entry.event}: {', '.join(entry.changed)})")


@click.command("set", context_settings=CONTEXT)
@click.argument("env")
@click.argument("var")
@click.argument("value", required=False)
@click.option("--from-file", type=click.Path(dir_okay=False), help="Read the value from this file.")
@click.option("--type", "new_type", type=click.Choice(["secret", "url", "model", "duration_ms", "log_level", "string", "int", "bool"]),
              help="Add VAR to the schema with this type (for a new variable).")
@json_option
def set_cmd(env: str, var: str, value: str | None, from_file: str | None, new_type: str | None, as_json: bool) -> None:
    """Set VAR in ENV as a new version.

    A secret's value is never accepted on the command line (every user can see
    argv): pipe it on stdin, use --from-file, or type it at the prompt.

    \b
    Example:
      envman set staging ALLTKN_DEFAULT_MODEL deepseek-chat
      printf %s "$NEW_KEY" | envman set production ALLTKN_API_KEY
    """
    from envman.ops import set_var
    from envman.schema import check_var_name

    project = open_project()
    project.manifest.require_env(env)  # names first: no prompt, no stdin read for a command that cannot run
    check_var_name(var)
    spec = project.manifest.spec(var)
    secret = (spec.secret if spec is not None else new_type == "secret")
    if value is not None and from_file is not None:
        raise UsageError("give the value either as an argument or with --from-file, not both", "drop one of them")
    if value is not None and secret:
        raise UsageError(
            f"{var} is a secret: its value must not be given on the command line (visible to all users in `ps`)",
            f"pipe it: `envman set {env} {var} < file`, use --from-file, or omit it to be prompted",
        )
    if value is None:
        value = read_value(var, secret=secret, from_file=from_file)
    _report_change(set_var(project, env, var, value, new_type=new_type), as_json)


@click.command("unset", context_settings=CONTEXT)
@click.argument("env")
@click.argument("var")
@json_option
def unset_cmd(env: str, var: str, as_json: bool) -> None:
    """Remove VAR from ENV as a new version.

    \b
    Example:
      envman unset staging OLD_FEATURE_FLAG
    """
    from envman.ops import unset_var

    _report_change(unset_var(open_project(), env, var), as_json)


@click.command("get", context_settings=CONTEXT)
@click.argument("env")
@click.argument("var")
@reveal_option
@click.option("--version", "version", default="latest", help="A version number, 'latest' or 'good'.")
@json_option
def get_cmd(env: str, var: str, reveal: bool, version: str, as_json: bool) -> None:
    """Print one value (secrets masked unless --reveal).

    \b
    Example:
      envman get production AI_LOG_LEVEL
      envman get production ALLTKN_API_KEY --reveal
      envman get production@12 AI_LOG_LEVEL
    """
    from envman.ops import get

    project = open_project()
    env, version = _version_ref(project, env, version)
    row = get(project, env, var, reveal=reveal, version=version)
    if as_json:
        emit_json(row.as_dict())
    else:
        click.echo(row.value)


@click.command("show", context_settings=CONTEXT)
@click.argument("env")
@reveal_option
@click.option("--version", "version", default="latest", help="A version number, 'latest' or 'good'.")
@json_option
def show_cmd(env: str, reveal: bool, version: str, as_json: bool) -> None:
    """Print every value of ENV (secrets masked unless --reveal).

    \b
    Example:
      envman show staging
      envman show production --version good
      envman show production@12
    """
    from envman.ops import show

    project = open_project()
    env, version = _version_ref(project, env, version)
    profile, rows = show(project, env, reveal=reveal, version=version)
    if as_json:
        emit_json({"environment": profile.env, "version": profile.version, "variables": [r.as_dict() for r in rows]})
        return
    click.echo(style(f"{profile.env} @ version {profile.version}", bold=True))
    click.echo(table(["VARIABLE", "VALUE", "TYPE"], [[r.name, r.value, r.type] for r in rows]))


@click.command("status", context_settings=CONTEXT)
@click.option("--deployed", metavar="FINGERPRINT",
              help="Tell whether a deployment reporting this config fingerprint (settings.ENVMAN_FINGERPRINT) runs a stale version.")
@json_option
def status_cmd(deployed: str | None, as_json: bool) -> None:
    """One table: variables × environments, masked values, owners, rotation age, versions, last known good.

    With --deployed, compare what a running deployment reports with the
    stored versions instead: exit 1 when it runs a stale (or unknown) set.

    \b
    Example:
      envman status
      envman status --deployed "production@12:3f9a1c0b7e2d"
    """
    if deployed is not None:
        _deployed_status(deployed, as_json)
        return
    from envman.credentials import credential
    from envman.ops import status

    project = open_project()
    names, envs = status(project)
    creds = {(e.env, n): credential(project, e.profile, n) for e in envs for n in e.profile.names()}
    if as_json:
        emit_json({
            "project": project.manifest.project,
            "environments": [
                {"name": e.env, "version": e.version, "last_known_good": e.good,
                 "variables": {n: _cell(e.profile, n) for n in e.profile.names()},
                 "owners": {n: own for n in e.profile.names() if (own := _ownership(creds[(e.env, n)]))}}
                for e in envs
            ],
        })
        return
    rows = [[n, *(_cell(e.profile, n) or "-" for e in envs), *_owner_cells([c for e in envs if (c := creds.get((e.env, n)))])]
            for n in names]
    rows.append(["(version)", *(str(e.version) for e in envs), "", ""])
    rows.append(["(last known good)", *(str(e.good) if e.good is not None else "-" for e in envs), "", ""])
    click.echo(style(f"project {project.manifest.project}", bold=True))
    click.echo(table(["VARIABLE", *(e.env for e in envs), "OWNER", "ROTATED"], rows))


def _ownership(c: Any) -> dict[str, Any]:
    out = {k: v for k, v in (("owner", c.owner), ("rotation_method", c.rotation_method), ("rotated_at", c.rotated_at),
                             ("age_days", c.age_days), ("next_due", c.next_due)) if v not in ("", None)}
    if c.overdue:
        out["overdue"] = True
    return out


def _owner_cells(creds: list[Any]) -> list[str]:
    """The OWNER and ROTATED cells of one variable across environments."""
    owners = {c.env: c.owner for c in creds if c.owner}
    if len(set(owners.values())) == 1 and len(owners) == len(creds):
        owner = next(iter(owners.values()))
    else:
        owner = ", ".join(f"{env}: {who}" for env, who in owners.items())
    aged = [c for c in creds if c.secret and c.age_days is not None]
    rotated = ""
    if aged:
        oldest = max(aged, key=lambda c: c.age_days)
        rotated = f"{oldest.age_days}d ago in {oldest.env}"
        late = [c.env for c in aged if c.overdue]
        if late:
            rotated += f"; overdue in {', '.join(late)}"
    return [owner or "-", rotated or "-"]


def _cell(profile: Any, name: str) -> str:
    if name in profile.secrets:
        return str(profile.secrets[name].masked)
    return str(profile.values.get(name, ""))


@click.command("history", context_settings=CONTEXT)
@click.argument("env", required=False)
@click.option("--var", help="Only events that changed this variable.")
@click.option("--event", help="Only this event (set, import, promote, rollback, verify, mark-good, ...).")
@click.option("--since", help="Only events at or after this UTC date/time (2026-11-01, 2026-11-01T09:30) or within an age (7d, 12h).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many entries.")
@json_option
def history_cmd(env: str | None, var: str | None, event: str | None, since: str | None, limit: int | None, as_json: bool) -> None:
    """The ledger, newest first.

    \b
    Example:
      envman history production --limit 10
      envman history --event promote --json
    """
    from envman.ops import history

    entries = history(open_project(), env, var=var, event=event, since=since, limit=limit)
    if as_json:
        emit_json([e.as_dict() for e in entries])
        return
    rows = []
    for e in entries:
        where = f"{e.env}@{e.version}" if e.env else "-"
        what = ", ".join(e.changed)
        extra = e.detail.get("summary", "")
        rows.append([f"#{e.seq}", e.time, e.actor, e.event, where, (what + (" " + extra if extra else "")).strip()])
    click.echo(table(["SEQ", "TIME (UTC)", "ACTOR", "EVENT", "VERSION", "CHANGED"], rows))


@click.command("repair", context_settings=CONTEXT)
@json_option
def repair_cmd(as_json: bool) -> None:
    """Restore a consistent state after an interrupted write, keeping every committed version.

    Removes a torn last ledger line and uncommitted version files, brings each
    environment's profile to the ledger's newest version and rebuilds the
    ledger head. Refuses (and names what to restore from git) when data was
    tampered with rather than interrupted.

    \b
    Example:
      envman repair
    """
    project = open_project()
    done = project.store.repair()
    if as_json:
        emit_json({"actions": done})
        return
    click.echo("\n".join(done) if done else "nothing to repair: the ledger and profiles are consistent")


@click.group("ledger", context_settings=CONTEXT)
def ledger_group() -> None:
    """Inspect the hash-chained ledger.

    \b
    Example:
      envman ledger verify
    """


@ledger_group.command("verify", context_settings=CONTEXT)
@json_option
def ledger_verify_cmd(as_json: bool) -> None:
    """Check the whole chain and every profile against its recorded hash; exit 1 on any finding.

    \b
    Example:
      envman ledger verify
    """
    project = open_project()
    count, problem, findings = project.store.verify_integrity()
    if as_json:
        emit_json({
            "entries": count,
            "chain": None if problem is None else {"line": problem.line, "seq": problem.seq, "message": problem.message},
            "findings": [{"environment": f.env, "message": f.message, "kind": f.kind} for f in findings],
        })
    else:
        if problem is not None:
            click.echo(style(f"broken chain: {problem.message}", fg="red"))
        for f in findings:
            click.echo(style(f"{f.env or 'ledger'}: {f.message}", fg="red"))
        if problem is None and not findings:
            click.echo(f"ok: {count} entries, chain intact, every profile matches its ledger entry")
        else:
            click.echo("restore altered files from git; `envman repair` fixes interrupted writes")
    if problem is not None or findings:
        run_with_exit(1)


def _deployed_status(fingerprint: str, as_json: bool) -> None:
    from envman.settings import deployed_status

    result = deployed_status(open_project(), fingerprint)
    if as_json:
        emit_json(result)
    elif not result["fingerprint_matches"]:
        click.echo(f"{result['environment']}: the deployment's fingerprint does not match version {result['deployed_version']}: "
                   "its values differ from every recorded set (edited on the platform?)")
    elif result["stale"]:
        click.echo(f"{result['environment']}: deployment runs version {result['deployed_version']}, "
                   f"current is {result['current_version']}: stale, redeploy")
    else:
        click.echo(f"{result['environment']}: deployment runs the current version {result['current_version']}")
    if result["stale"] or not result["fingerprint_matches"]:
        run_with_exit(1)
