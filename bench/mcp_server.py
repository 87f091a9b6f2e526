"""MCP benchmark: what an assistant waits for, over stdio and over streamable HTTP.

Why a script and not a test: it prints a table for people; timing is never asserted. Run it from the repository root:

    .venv/bin/python bench/mcp_server.py               # 20 calls of each tool per transport
    .venv/bin/python bench/mcp_server.py --calls 50

The library: the Podcasting 2.0 example transcripts (tests/data/transcripts: the SRT of a real episode, the WebVTT and
the JSON) imported as three episodes with real MiniLM vectors. Over stdio a real `podscope mcp` subprocess is started
by the SDK's client (the start-up is timed up to the first answer to `tools/list`); over HTTP a real `podscope
serve` on loopback is called with a read key (stateless: each call is one HTTP request). Prints the start-up time and
p50/p95 latency per tool, and one who-said-what answer with its deep link.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("library_stats", {}),
    ("list_episodes", {}),
    ("search", {"query": "rookie mistakes", "mode": "text"}),
    ("search", {"query": "what do beginners get wrong", "mode": "hybrid"}),
    ("search", {"query": "what do beginners get wrong", "mode": "semantic", "context": 1}),
    ("read_transcript", {"episode_id": 1, "start": 60, "end": 120}),
    ("episode_speakers", {"episode_id": 1}),
    ("person", {"name": "Travis"}),
]


def build(home: Path) -> None:
    from podscope.library import Library

    data = ROOT / "tests" / "data" / "transcripts"
    with Library(home, settings={"allow_download": False}) as lib:
        lib.import_transcript(
            data / "example.srt", podcast="Buzzsprout", title="Rookie mistakes", published="2023-03-01"
        )
        lib.import_transcript(data / "example.vtt", podcast="Podcasting Q&A", title="Trailers", published="2024-06-01")
        lib.import_transcript(data / "example.json", podcast="Star Wars", title="Father", published="2024-07-01")


async def measure(client: Any, calls: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for _ in range(calls):
        for tool, arguments in CALLS:
            label = f"{tool} {arguments.get('mode', '')}".strip()
            t = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            times.setdefault(label, []).append(time.perf_counter() - t)
            assert not result.is_error, (tool, result.content)
    return times


async def over_stdio(home: Path, calls: int) -> tuple[float, dict[str, list[float]], dict[str, Any]]:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "PODSCOPE_HOME": str(home),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "podscope.cli", "mcp"], env=env)
    t = time.perf_counter()
    with open(os.devnull, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await client.list_tools()
            started = time.perf_counter() - t
            times = await measure(client, calls)
            hit = await client.call_tool("search", {"query": "rookie mistakes", "speaker": "Travis", "limit": 1})
    return started, times, hit.structured_content or {}


async def over_http(home: Path, calls: int) -> dict[str, list[float]]:
    import httpx2
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    from helpers import served
    from podscope.library import Library

    with Library(home) as lib, served(lib) as url:
        key = lib.keys.create("read", "bench")[1]
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            await client.list_tools()
            return await measure(client, calls)


def table(name: str, times: dict[str, list[float]]) -> None:
    print(f"\n{name}: latency per call, ms (p50 / p95 over {len(next(iter(times.values())))} calls)")
    for label, values in times.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"  {label:<28} {statistics.median(ordered) * 1000:8.1f} {p95 * 1000:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="Calls of each tool per transport.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t = time.perf_counter()
        build(home)
        print(f"library: 3 imported transcripts, built in {time.perf_counter() - t:.1f} s")
        started, stdio_times, hit = asyncio.run(over_stdio(home, args.calls))
        print(f"stdio: `podscope mcp` started and listed its tools in {started:.2f} s")
        table("stdio", stdio_times)
        table("streamable HTTP (read key, stateless)", asyncio.run(over_http(home, args.calls)))
        if hit.get("hits"):
            h = hit["hits"][0]
            print(f'\nwho said "rookie mistakes": {h["speaker"]} in "{h["episode"]}" at {h["start"]} s -> {h["link"]}')


if __name__ == "__main__":
    main()
