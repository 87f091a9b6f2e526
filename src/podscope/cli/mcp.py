"""`podscope mcp`: the library's MCP server over stdio, for desktop assistants (Claude Desktop, editors, ...)."""

from __future__ import annotations

from pathlib import Path

import click

from podscope.cli.shell import home_option, open_library


@click.command("mcp")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8765",
    show_default=True,
    metavar="URL",
    help="Where `podscope serve` answers: the deep links the tools return point there.",
)
@click.option("--admin", is_flag=True, help="Also allow the tools that change the library (naming voices).")
@home_option
def mcp(base_url: str, admin: bool, home: Path | None) -> None:
    """Serve the library to an assistant over MCP on stdin/stdout (read-only unless --admin)."""
    from podscope.mcp import load

    server_module = load()
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r}: expected an http:// or https:// address", param_hint="--base-url")
    with open_library(home) as lib:
        server_module.build_server(lib, base_url, admin).run("stdio")
