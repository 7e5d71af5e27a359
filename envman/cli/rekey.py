"""`envman rekey`: a new key pair for an environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from envman.cli import CONTEXT
from envman.cli.common import json_option, open_project
from envman.cli.lifecycle import dry_run_or_apply
from envman.cli.output import style


@click.command("rekey", context_settings=CONTEXT)
@click.argument("env")
@click.option("--keys-file", type=click.Path(path_type=Path), help="Keep the new key (and the retired one) in this file, mode 0600.")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (required without a terminal).")
@json_option
def rekey_cmd(env: str, keys_file: Path | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Give ENV a new key pair and seal every secret for it, as a new version.

    For a private key that leaked or left with someone. Needs ENV's current
    private key. Values do not change; envman.toml gets the new public key.
    The new private key goes where the current one was found (the OS keychain
    or ENVMAN_KEYS_FILE), or to --keys-file — required when the key came from
    ENVMAN_PRIVATE_KEY_<ENV>. The old key is kept as a retired key, so versions
    written before can still be read and rolled back to. Afterwards, give the
    new key to every deployment that reads ENV, and rotate secrets the leaked
    key could read.

    \b
    Example:
      envman rekey production --dry-run
      envman rekey production --yes
      envman rekey production --keys-file ~/.envman/new-production-key --yes
    """
    from envman.keys import env_var_name
    from envman.rekey import apply_rekey, key_id, plan_rekey

    project = open_project()
    plan = plan_rekey(project, env, keys_file=keys_file)
    where = plan.place  # keys.KEYCHAIN ("the OS keychain") or a file's path
    if not as_json:
        click.echo(style(f"rekey {env}@{plan.version} as {env}@{plan.new_version}", bold=True))
        click.echo(f"  key pair {key_id(plan.old_public)} → {key_id(plan.new_public)}")
        click.echo(f"  {plan.secrets} secret(s) and {plan.rollbacks} rollback value(s) sealed for the new key; values unchanged")
        click.echo(f"  new private key kept in {where}; the old one kept there as retired")
    out: dict[str, Any] = {"plan": plan.as_dict(), "applied": False}
    done = dry_run_or_apply(out, dry_run=dry_run, yes=yes, as_json=as_json,
                            question=f"Replace the key pair of {env} and write version {plan.new_version}?",
                            apply=lambda: apply_rekey(project, plan))
    if done and not as_json:
        moved = f"the new key is in {where}: use it wherever {env} is read ({env_var_name(env)}, or ENVMAN_KEYS_FILE)" if keys_file else \
            f"give the new key to every deployment that reads {env} ({env_var_name(env)})"
        click.echo(f"next: {moved}, and rotate the secrets the old key could read if it leaked")
