"""An MCP server over the library, for assistants: `podscope mcp` (stdio) and `/mcp` in `podscope serve`.

    from podscope.mcp import load
    server = load().build_server(lib, base_url="http://127.0.0.1:8765")
    server.run("stdio")

The tools (podscope.mcp.tools) are thin functions over `Library`, each with a typed input and output schema; the
moments they return carry deep links to the web pages. The `mcp` SDK is an optional extra: `load()` imports it and
the server modules, or says which extra to install.
"""

from __future__ import annotations

from types import ModuleType

from podscope.errors import InputError

EXTRA_HINT = "the MCP server needs the `mcp` extra: pip install 'podscope[mcp]'"


def load() -> ModuleType:
    """`podscope.mcp.server`, once the SDK is importable; InputError naming the extra when it is not."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        raise InputError(EXTRA_HINT) from exc
    from podscope.mcp import server

    return server
