"""Commands that hand values to the outside: export and run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from envman.cli import CONTEXT
from envman.cli.common import open_project
from envman.errors import NotFound, UsageError


def _formats() -> list[str]:
    from envman.exporters import FORMATS

    return sorted(FORMATS)


@click.command("export", context_settings=CONTEXT)
@click.argument("env")
@click.option("--format", "fmt", help="Target format: dotenv, shell, json, yaml, docker, k8s-secret, k8s-configmap, "
              "github-actions, systemd, fly, vercel, heroku (or the service's format).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically; 0600 when it holds secrets).")
@click.option("--only", multiple=True, help="Only these variables (comma-separated or repeated).")
@click.option("--exclude", multiple=True, help="Leave these variables out.")
@click.option("--no-secrets", is_flag=True, help="Leave every secret out (no private key needed).")
@click.option("--service", help="Use the names a service expects: [exports.SERVICE] rename table in envman.toml.")
@click.option("--version", "version", default="latest", help="A version number, 'latest' or 'good' (also @good).")
@click.option("--check", "run_check", is_flag=True, help="Refuse to export a version that fails `envman check`.")
@click.option("--reveal", is_flag=True, help="Allow printing plaintext secrets to a terminal.")
@click.option("--k8s-name", help="k8s-secret/k8s-configmap: object name (default PROJECT-ENV).")
@click.option("--k8s-namespace", help="k8s-secret/k8s-configmap: namespace.")
@click.option("--github-section", type=click.Choice(["env", "mask"]), default="env",
              help="github-actions: 'env' lines for $GITHUB_ENV, or 'mask' (::add-mask:: lines for the step's stdout).")
@click.option("--vercel-env", help="vercel: the Vercel environment for `vercel env add` (default: ENV).")
def export_cmd(env: str, fmt: str | None, output: str | None, only: tuple[str, ...], exclude: tuple[str, ...],
               no_secrets: bool, service: str | None, version: str, run_check: bool, reveal: bool,
               k8s_name: str | None, k8s_namespace: str | None, github_section: str, vercel_env: str | None) -> None:
    """Render ENV for a deployment platform, exactly as the platform reads it back.

    A value the format cannot represent exactly is refused (exit 2, naming the
    variable), never silently changed. Every export is recorded in the ledger.
    For Kubernetes, k8s-secret holds the secrets and k8s-configmap the plain
    values (apply both).

    \b
    Example:
      envman export production --format dotenv -o .env.production
      envman export production --format k8s-secret | kubectl apply -f -
      envman export production --format k8s-configmap | kubectl apply -f -
      envman export staging --format json --no-secrets
      envman export production --service web --format dotenv -o web.env
      envman export production --format github-actions --github-section mask   # in a step, before use
      envman export production --format github-actions >> "$GITHUB_ENV"
    """
    from envman.export import record_export, selection, service_table
    from envman.exporters import FORMATS, ExportOptions, stream
    from envman.ops import resolve_version

    project = open_project()
    project.manifest.require_env(env)
    if service and not fmt:
        fmt = service_table(project, service).get("format")
    if not fmt:
        raise UsageError("no --format given", f"choose one of {', '.join(_formats())}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", f"choose one of {', '.join(_formats())}")
    profile = resolve_version(project, env, version.lstrip("@"))
    if run_check:
        from envman.checks import run_checks

        errors = [f for f in run_checks(project, [env], profiles={env: profile}) if f.severity == "error"]
        if errors:
            first = errors[0]
            raise UsageError(f"{env}@{profile.version} fails check ({first.rule} {first.var}: {first.message}) and {len(errors) - 1} more",
                             "fix it first (`envman check`), or export without --check")
    sel = selection(only=only, exclude=exclude, secrets=not no_secrets, service=service, target=fmt)
    if sel.secrets and profile.secrets and output is None and sys.stdout.isatty() and not reveal:
        raise UsageError("this would print plaintext secrets to the terminal",
                         "write to a file with -o, pipe the output, use --no-secrets, or add --reveal")
    export = _items_or_hint(project, profile, sel)
    options = ExportOptions(k8s_name=k8s_name, k8s_namespace=k8s_namespace,
                            github_section="mask" if github_section == "mask" else "env", vercel_environment=vercel_env)
    data = bytearray()  # the whole export before anything is written: a refused value leaves nothing behind
    for chunk in stream(fmt, export.items, env=env, project=project.manifest.project, options=options):
        data += chunk.encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        destination = "stdout"
    else:
        from envman.fsutil import write_output

        path = Path(output)
        if not path.parent.is_dir():
            raise NotFound(f"folder {path.parent} does not exist", "create it or choose another -o path")
        write_output(path, data, mode=0o600 if export.keys else 0o644, terminal_ok=reveal or not export.keys)
        destination = str(path)
    record_export(project, export, fmt, destination)
    if output is not None:
        click.echo(f"exported {env}@{profile.version} ({export.count} variables, {len(export.keys)} secret) as {fmt} to {output}", err=True)


@click.command("run", context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("env")
@click.option("--override", is_flag=True, help="Values from envman win over variables already set in the process.")
@click.option("--service", help="Use the names a service expects: [exports.SERVICE] rename table in envman.toml.")
@click.option("--no-secrets", is_flag=True, help="Leave every secret out (no private key needed).")
@click.option("--version", "version", default="latest", help="A version number, 'latest' or 'good'.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(env: str, override: bool, service: str | None, no_secrets: bool, version: str, command: tuple[str, ...]) -> None:
    """Run COMMAND with ENV's values in its environment.

    Secrets exist only in the child's environment, never in a file. envman
    replaces itself with COMMAND, so signals and the exit code pass through.
    Variables already set in the process win unless --override.

    \b
    Example:
      envman run staging -- python app.py
      envman run production --service web -- node server.js
    """
    from envman.export import child_environment, selection
    from envman.ops import resolve_version

    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("no command to run", "put it after --, e.g. `envman run staging -- python app.py`")
    project = open_project()
    profile = resolve_version(project, env, version.lstrip("@"))
    export = _items_or_hint(project, profile, selection(secrets=not no_secrets, service=service))
    child_env = child_environment(dict(os.environ), export.items, override=override)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, child_env)
    except FileNotFoundError:
        raise NotFound(f"command not found: {argv[0]}", "check the name or give its full path") from None
    except PermissionError:
        raise UsageError(f"cannot execute {argv[0]}: permission denied", "check the file's mode") from None


def _items_or_hint(project: Any, profile: Any, sel: Any) -> Any:
    """Export items; without the private key, also point at --no-secrets."""
    from envman.errors import KeyUnavailable
    from envman.export import export_items

    try:
        return export_items(project, profile, sel)
    except KeyUnavailable as exc:
        raise KeyUnavailable(exc.message, f"{exc.hint}; or leave the secrets out with --no-secrets") from None
