"""`podscope serve`: the web pages and the JSON API over the library."""

from __future__ import annotations

import os
from pathlib import Path

import click

from podscope.cli.shell import err, home_option, open_library


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes answering on the port, each with its own library connection (one Python process uses one"
    " core at a time: see the README's Serving many users).",
)
@home_option
def serve(host: str, port: int, workers: int, home: Path | None) -> None:
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
        if workers > 1:  # each worker process builds its own app over this home (`app_of_environment`)
            os.environ["PODSCOPE_HOME"] = str(lib.home)
            if lib.settings.store_url:  # as --store gave it
                os.environ["PODSCOPE_STORE_URL"] = lib.settings.store_url
            uvicorn.run(
                "podscope.web.app:app_of_environment",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="warning",
                limit_concurrency=limit,
            )
            return
        uvicorn.run(
            create_app(lib),
            host=host,
            port=port,
            log_level="warning",
            limit_concurrency=limit,
        )
