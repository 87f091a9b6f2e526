"""API key commands: `podscope keys create|list|revoke` (the keys of the HTTP API served by `podscope serve`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.shell import err, home_option, open_library, out, print_json
from podscope.records import KEY_SCOPES


@click.group("keys")
def keys() -> None:
    """API keys for the HTTP API: read (when reading needs a key) or admin (to change the library)."""


@keys.command("create")
@click.option("--scope", required=True, type=click.Choice(KEY_SCOPES), help="read, or admin to change the library.")
@click.option("--name", default="", help="What the key is for (shown by `keys list`).")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its record as JSON.")
@home_option
def keys_create(scope: str, name: str, as_json: bool, home: Path | None) -> None:
    """Create a key and print it: it is shown this once (only its hash is kept)."""
    with open_library(home) as lib:
        key, secret = lib.keys.create(scope, name)
    if as_json:
        print_json({"key": secret, **asdict(key)})
        return
    click.echo(secret)  # alone on stdout, so KEY=$(podscope keys create ...) works
    err.print(
        f"Created {scope} key {key.id}{f' ({escape(name)})' if name else ''}. It is shown only now; send it as"
        f" `Authorization: Bearer <key>`. Revoke it with: podscope keys revoke {key.id}"
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
@home_option
def keys_list(as_json: bool, home: Path | None) -> None:
    """Every key: scope, name, when it was created and last used, and whether it is revoked."""
    with open_library(home) as lib:
        rows = lib.keys.list()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No API keys. Create one with: podscope keys create --scope read|admin --name NAME")
        return
    table = Table("id", "scope", "name", "starts with", "created", "last used", "status")
    for k in rows:
        status = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        table.add_row(str(k.id), k.scope, escape(k.name), k.prefix, k.created_at, k.last_used_at or "never", status)
    out.print(table)


@keys.command("revoke")
@click.argument("key_id", type=int)
@home_option
def keys_revoke(key_id: int, home: Path | None) -> None:
    """Revoke a key for good: requests with it are refused from now on."""
    with open_library(home) as lib:
        key = lib.keys.revoke(key_id)
    out.print(f"Key {key.id} ({key.scope}{', ' + escape(key.name) if key.name else ''}) is revoked.")
