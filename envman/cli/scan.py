"""`envman scan`: find every secret envman holds or held, in files, build output and git history."""

from __future__ import annotations

import json
import sys

import click

from envman.cli import CONTEXT, run_with_exit
from envman.cli.common import open_project
from envman.cli.output import emit_json, note, style
from envman.errors import UsageError


@click.command("scan", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--git", "git", is_flag=True, help="Scan the repository's history (every blob of every reachable commit, once).")
@click.option("--since", help="With --git: only commits in REV..HEAD.")
@click.option("--staged", is_flag=True, help="Only what is staged in git's index (for a pre-commit hook).")
@click.option("--respect-gitignore", is_flag=True, help="Skip git-ignored files (build output is usually ignored but deployed).")
@click.option("--no-keys", is_flag=True, help="Do not use private keys: match masked prefix/suffix, confirm by fingerprint.")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", help="Output format (sarif for GitHub code scanning).")
def scan_cmd(paths: tuple[str, ...], git: bool, since: str | None, staged: bool, respect_gitignore: bool,
             no_keys: bool, as_json: bool, fmt: str) -> None:
    """Find known secrets (current and past, also base64/URL/JSON-escaped/hex) and exit 1 on a hit.

    With an environment's private key the plaintexts are searched in one pass;
    without it envman still finds plain occurrences through the masked form and
    fingerprint. Hits name file, line, column and the masked secret.

    \b
    Example:
      envman scan dist/ .next/
      envman scan --git
      envman scan --staged
      envman scan build/ --format sarif > envman-scan.sarif
    """
    from envman.crypto import fingerprint, mask
    from envman.known import known_secrets
    from envman.scan import ScanStats, scan_git, scan_paths, to_json, to_sarif, unsearchable

    if as_json:
        fmt = "json"
    if (git or staged) and paths and len(paths) > 1:
        raise UsageError("--git and --staged take at most one path (the repository)", "e.g. `envman scan --git .`")
    if since and not git:
        raise UsageError("--since needs --git", "e.g. `envman scan --git --since origin/main`")
    project = open_project()
    secrets, keyless = known_secrets(project, use_keys=not no_keys)
    salt = project.manifest.salt
    cache: dict[str, str] = {}

    def fp(candidate: str) -> str:
        if candidate not in cache:
            cache[candidate] = fingerprint(salt, candidate)
        return cache[candidate]

    if keyless and fmt == "text":
        note(f"no private key for {', '.join(keyless)}: matching those by masked form and fingerprint (plain occurrences only)")
    for weak in unsearchable(secrets):
        if fmt == "text":
            note(f"cannot search for {weak.env}/{weak.var} v{weak.version} ({weak.masked}): too short or nothing visible without the key")
    stats = ScanStats()
    progress = None
    if sys.stderr.isatty():
        def progress(path: str, size: int) -> None:
            click.echo(f"\rscanned {stats.files} files", nl=False, err=True)
    if git or staged:
        hits = list(scan_git(paths[0] if paths else ".", secrets, fp, since=since, staged=staged, progress=progress, mask_fn=mask, stats=stats))
    else:
        hits = list(scan_paths(paths or ["."], secrets, fp, respect_gitignore=respect_gitignore, progress=progress, mask_fn=mask, stats=stats))
    if progress is not None:
        click.echo("\r", nl=False, err=True)
    if stats.skipped and fmt == "text":
        note(f"skipped {len(stats.skipped)} unreadable file(s), e.g. {stats.skipped[0]}")
    if fmt == "json":
        emit_json({"hits": to_json(hits), "files": stats.files, "skipped": stats.skipped, "keyless": keyless})
    elif fmt == "sarif":
        click.echo(json.dumps(to_sarif(hits), indent=2))
    else:
        for hit in hits:
            where = f"{hit.path}:{hit.line}:{hit.column}"
            if hit.member:
                where += f" ({hit.member})"
            if hit.commit:
                where = f"{hit.commit[:12]} {where}"
            action = "rotate it now" if hit.current else "no longer in use; rotate if it was never revoked"
            click.echo(f"{style(where, bold=True)}: {hit.summary()} — {action}")
        scanned = f"{stats.blobs} blobs" if (git or staged) else f"{stats.files} files"
        if hits:
            click.echo(style(f"{len(hits)} known secret(s) found in {scanned}", fg="red"), err=True)
        else:
            click.echo(f"no known secret found ({scanned}, {len(secrets)} secrets)", err=True)
    if hits:
        run_with_exit(1)
