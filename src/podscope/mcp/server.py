"""The MCP server over a library: every tool of `podscope.mcp.tools`, served over stdio or streamable HTTP."""

from __future__ import annotations

import logging

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations

from podscope import __version__
from podscope.library import Library
from podscope.mcp.access import PodscopeServer
from podscope.mcp.tools import TOOLS

INSTRUCTIONS = (
    "podscope holds podcast episodes as transcripts split by speaker, with voices recognised across episodes. Use"
    " `search` to find who said what (then `read_transcript` around a hit), `list_episodes` and `episode_speakers`"
    " for what an episode holds, `person` for everything about one person, `unknown_voices` for recurring voices"
    " nobody has named, and `library_stats` for an overview. Every moment comes with `link`, the web address of the"
    " episode at that second: cite it."
)


def build_server(lib: Library, base_url: str = "http://127.0.0.1:8765", admin: bool = False) -> PodscopeServer:
    """The MCP server over `lib`; deep links point at `base_url` (where `podscope serve` runs), and `admin` allows
    the tools that change the library (an HTTP caller's API key decides for itself)."""
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)  # the SDK configures the root logger; the process's logging is not ours
    server = PodscopeServer(
        lib,
        base_url,
        admin,
        name="podscope",
        title="podscope",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    root.handlers[:], root.level = kept
    for spec in TOOLS:
        server.add_tool(
            spec.fn,
            title=spec.title,
            annotations=ToolAnnotations(
                title=spec.title,
                read_only_hint=not spec.admin,
                destructive_hint=False,
                idempotent_hint=not spec.admin,
                open_world_hint=False,
            ),
        )
    return server


def http_sessions(server: PodscopeServer) -> StreamableHTTPSessionManager:
    """Streamable HTTP for `server`, stateless (each request stands alone, so any replica can answer it). Its
    `handle_request` is an ASGI endpoint; `run()` must be entered while it serves. The web app has checked the API
    key before a request gets here, so the SDK's Host checks (against DNS rebinding) are not needed."""
    server.streamable_http_app(  # builds the session manager (its own Starlette app is not used)
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return server.session_manager
