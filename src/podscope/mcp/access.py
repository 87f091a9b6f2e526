"""Who is calling a tool and what they may do: the library, where deep links point, and whether changes are allowed.

Over stdio the person who started `podscope mcp` decides once (`--admin` allows changes). Over HTTP each request
carries its own answer: the web app checks the API key before the request reaches the MCP server and leaves a
`Caller` in the ASGI scope under `SCOPE_KEY` (an admin key may change the library, a read key may not, and the deep
links use the address the client reached the server at).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from podscope.library import Library

SCOPE_KEY = "podscope.mcp_caller"  # where the web app leaves the `Caller` of an HTTP request


@dataclass(frozen=True)
class Caller:
    """What an HTTP request's API key allows, and the server's address as the client sees it."""

    admin: bool
    base_url: str


@dataclass(frozen=True)
class Access:
    """What a tool call works with."""

    lib: Library
    base_url: str  # the web app's address, for deep links: http://127.0.0.1:8765
    admin: bool

    def link(self, episode_id: int, start: float | None = None) -> str:
        """The episode's web page, at `start` seconds when given (the form the search and person pages use)."""
        page = f"{self.base_url}/episodes/{episode_id}"
        return page if start is None else f"{page}#t={start:.2f}"


class PodscopeServer(MCPServer[Any]):
    """The MCP server over one library; `admin` and `base_url` are the stdio answers, an HTTP caller's win."""

    def __init__(self, lib: Library, base_url: str, admin: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.lib = lib
        self.base_url = base_url.rstrip("/")
        self.admin = admin


def access(ctx: Context, change: bool = False) -> Access:
    """The caller's `Access`; with `change`, a ToolError unless they may change the library."""
    server = ctx.mcp_server
    if not isinstance(server, PodscopeServer):  # pragma: no cover - every podscope tool runs on a PodscopeServer
        raise ToolError("this tool runs only on podscope's MCP server")
    request = ctx.request_context.request
    caller = getattr(request, "scope", {}).get(SCOPE_KEY) if request is not None else None
    if isinstance(caller, Caller):
        granted = Access(server.lib, caller.base_url.rstrip("/"), caller.admin)
    else:
        granted = Access(server.lib, server.base_url, server.admin)
    if change and not granted.admin:
        raise ToolError(
            "this tool changes the library and needs an admin API key (podscope keys create --scope admin), or"
            " `podscope mcp --admin` over stdio"
        )
    return granted
