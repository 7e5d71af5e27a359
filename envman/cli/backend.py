"""`envman backend`: where versions and the ledger live (files in git, or OpenBao / Vault KV v2)."""

from __future__ import annotations

from typing import Any

import click

from envman.cli import CONTEXT, run_with_exit
from envman.cli.output import emit_json, note, style

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _manifest() -> Any:
    from envman.manifest import load_manifest

    return load_manifest()


@click.group("backend", context_settings=CONTEXT)
def backend_group() -> None:
    """Where versions and the ledger live: files in git (default) or a shared OpenBao / Vault store.

    \b
    With [backend] type = "openbao" (or "vault") in envman.toml, every command
    works the same against a KV version 2 mount:
      <mount>/<prefix>/profiles/<env>     KV version N is envman version N (ciphertext only)
      <mount>/<prefix>/ledger/<seq>       one secret per ledger entry, created once (cas=0)
      <mount>/<prefix>/head               the newest entry, updated with check-and-set
    Every write uses check-and-set: of two people changing the same environment
    at once, the second is told to re-run; nothing is overwritten. Profile paths
    keep every version (max_versions is set to the largest value KV accepts;
    0 would mean the mount's default of 10) and envman never deletes a version.
    The server stores ciphertext: without an environment's private key a server
    admin cannot read its secrets. The token comes from BAO_TOKEN / VAULT_TOKEN
    or ~/.vault-token and is never printed; the address from [backend] address,
    else BAO_ADDR / VAULT_ADDR.

    \b
    Example:
      envman backend status
      envman backend migrate --to openbao --address https://bao.example.com:8200
      envman backend migrate --to files
    """


@backend_group.command("status", context_settings=CONTEXT)
@json_option
def status_cmd(as_json: bool) -> None:
    """Show where the data lives and, for a server, whether it answers and the token is valid.

    Exit code 1 when the server cannot be reached or the token is not valid.

    \b
    Example:
      envman backend status
      envman backend status --json
    """
    from envman.backend import backend_status

    data, ok = backend_status(_manifest())
    if as_json:
        emit_json({**data, "ok": ok})
    else:
        _print_status(data, ok)
    if not ok:
        run_with_exit(1)


def _print_status(data: dict[str, Any], ok: bool) -> None:
    lines = [f"backend:   {data['backend']}", f"location:  {data['location']}"]
    if data["backend"] != "files":
        if data.get("address_from") and data["address_from"] != "envman.toml":
            lines.append(f"address:   from {data['address_from']}")
        server = data.get("server", {})
        state = "reachable" if data.get("reachable") else "not reachable"
        if server.get("version"):
            state += f" (OpenBao/Vault {server['version']}{', sealed' if server.get('sealed') else ''})"
        lines.append(f"server:    {state}")
        token = data.get("token", {})
        if token.get("valid"):
            policies = ", ".join(token.get("policies", [])) or "none"
            ttl = f"{token['ttl']}s" if token.get("ttl") else "does not expire"
            lines.append(f"token:     valid (from {token.get('source')}; policies: {policies}; ttl: {ttl})")
        elif token.get("source"):
            lines.append(f"token:     NOT valid (from {token['source']})")
        if data.get("capabilities") is not None:
            lines.append(f"access:    {', '.join(data['capabilities']) or 'none'} on profiles")
    ledger = data.get("ledger")
    if ledger is not None:
        versions = ", ".join(f"{env} {n}" for env, n in sorted(ledger["versions"].items())) or "none yet"
        lines.append(f"ledger:    {ledger['entries']} entries; versions: {versions}")
    if data.get("error"):
        lines.append(style(f"problem:   {data['error']}", fg="red"))
    click.echo("\n".join(lines))
    if ok:
        click.echo("ok")


@backend_group.command("migrate", context_settings=CONTEXT)
@click.option("--to", "to", type=click.Choice(["openbao", "vault", "files"]), required=True, help="The backend to move to.")
@click.option("--address", help="OpenBao/Vault address (default: [backend] address, else BAO_ADDR / VAULT_ADDR).")
@click.option("--mount", help="KV version 2 mount (default: secret).")
@click.option("--prefix", help="Path under the mount (default: envman/<project id>).")
@click.option("--namespace", help="OpenBao/Vault namespace (default: none, or BAO_NAMESPACE).")
@json_option
def migrate_cmd(to: str, address: str | None, mount: str | None, prefix: str | None, namespace: str | None, as_json: bool) -> None:
    """Copy every version and the ledger to another backend, verify the copy, then switch envman.toml.

    The copy is verified before the switch: every ledger line (same hashes, same
    chain) and every version's content. The old store is left as it was. An
    interrupted migration resumes when re-run. Ask everyone to stop writing while
    it runs, and commit envman.toml afterwards so the team follows.

    \b
    Example:
      envman backend migrate --to openbao --address https://bao.example.com:8200 --mount secret
      envman backend migrate --to files
    """
    from envman.backend import migrate

    result = migrate(_manifest(), to, address=address, mount=mount, prefix=prefix, namespace=namespace)
    if as_json:
        emit_json(result.as_dict())
        return
    for line in result.notes:
        note(line)
    click.echo(
        f"copied {result.copied} ledger entries to {result.target['backend']} {result.target['location']}; "
        f"verified {result.entries} entries and {result.versions} versions; envman.toml now uses {to}"
    )
