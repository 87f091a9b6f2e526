"""`podscope serve`: the web pages and the JSON API over the library."""

from __future__ import annotations

from pathlib import Path

import click

from podscope.cli.shell import err, home_option, open_library


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on.")
@home_option
def serve(host: str, port: int, home: Path | None) -> None:
    """Serve the library in a browser (search, episodes, people, review, feeds), as a JSON API under /api and to
    assistants over MCP at /mcp."""
    import uvicorn

    from podscope.web.app import concurrency_limit, create_app

    with open_library(home) as lib:
        limit = concurrency_limit(lib.settings.serve_concurrency)
        err.print(f"podscope home: {lib.home}")
        err.print(
            f"Open http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs; MCP for assistants, with an API"
            f" key: http://{host}:{port}/mcp; Ctrl+C stops)",
            soft_wrap=True,
        )
        uvicorn.run(
            create_app(lib),
            host=host,
            port=port,
            log_level="warning",
            limit_concurrency=limit,
        )
