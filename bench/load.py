"""Sustained load: a real `podscope serve` answering a fixed arrival rate of mixed requests over a 10,000-episode
library, with latency percentiles, errors and the server's memory.

    .venv/bin/python bench/load.py                              # 10,000 episodes, 100 requests/s for 60 s
    .venv/bin/python bench/load.py --episodes 1000 --seconds 20  # a smaller run
    .venv/bin/python bench/load.py --keep                        # keep the built library in --workdir
    .venv/bin/python bench/load.py --reuse                       # load a library a --keep run left there

The library is the one `bench/search.py` builds (`build_scale`: 100 podcasts, 500 people, 2-3 attributed speakers an
episode, Zipf-distributed words, a sentence vector per segment, the faiss index), here with `--segments` segments an
episode (30 by default, so 10,000 episodes build in minutes), written through the store's API. Every episode has a
real recording in HOME/uploads: one of four real conversations of tests/data (0.9-3.8 MB, hard-linked, so Range
requests read real files).

The server is `podscope serve` as a user runs it (a subprocess on a free loopback port). The load is open-loop:
request i is sent at start + i/rate whether or not earlier ones have finished (a small asyncio HTTP/1.1 client, one
connection per request in flight, kept alive for the next), so a server that falls behind shows it as latency, which is
measured from the scheduled send time. The mix: API searches (text and hybrid, with and without a speaker, podcast
or date filter), the search page, episode pages, person pages, episode JSON, transcript JSON and audio Range requests
(64 KB at a random offset).

The rate limiter (`api_rate_per_minute`, per client address, only /api requests and not audio) is set for the server
to rate x 60, so that one client sending `rate` requests a second is admitted; 429s are reported apart from the
errors, and so are 503s (`--workers N` sets the server's `serve_concurrency`, beyond which it answers 503 at once).
Prints per kind and overall: requests, answered, p50/p95/p99/max (ms), errors by status, the rate answered, the
server's CPU per request, its RSS sampled every second (after warm-up, max, end) and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import search as search_bench  # noqa: E402
from podscope.library import Library  # noqa: E402

RECORDINGS = [
    ROOT / "tests/data/conversations/gecko-sales-call/demo.mp3",
    ROOT / "tests/data/conversations/azure-call-silver/test_call_audio.wav",
    ROOT / "tests/data/conversations/pyaudioanalysis-4spk/diarizationExample.wav",
    ROOT / "tests/data/pyannote-sample/sample.wav",
]
INFO = "bench-load.json"
RANGE_BYTES = 65_536
# Kind -> share of the requests.
MIX = {
    "search text": 0.14,
    "search text+filter": 0.08,
    "search hybrid": 0.08,
    "search hybrid+filter": 0.04,
    "search page": 0.04,
    "episode page": 0.14,
    "person page": 0.08,
    "episode json": 0.08,
    "transcript json": 0.14,
    "audio range": 0.18,
}


# -- the library ----------------------------------------------------------------------------------------------------


def build_library(home: Path, episodes: int = 10_000, per_episode: int = 30) -> None:
    """A library of `episodes` generated episodes in `home` (replacing what is there), each with a real recording."""
    shutil.rmtree(home, ignore_errors=True)
    uploads = home / "uploads"
    uploads.mkdir(parents=True)
    for e in range(episodes):
        original = RECORDINGS[e % len(RECORDINGS)]
        target = uploads / f"episode-{e:05d}{original.suffix}"
        try:
            os.link(original, target)
        except OSError:  # another file system
            shutil.copyfile(original, target)
    with Library(home) as lib:
        info = search_bench.build_scale(
            lib,
            episodes * per_episode,
            per_episode=per_episode,
            source=lambda e: str((uploads / f"episode-{e:05d}{RECORDINGS[e % len(RECORDINGS)].suffix}").resolve()),
        )
        counts = lib.counts()
    built = {
        "episodes": counts["episodes"],
        "segments": counts["segments"],
        "build_s": round(info["build_s"] + info["index_s"], 1),
        "people": info["people"],
    }
    (home / INFO).write_text(json.dumps(built))


def _built(home: Path) -> dict[str, Any]:
    return dict(json.loads((home / INFO).read_text()))


# -- the server -----------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """The server's process and its children (the worker processes of `serve --workers N`)."""
    found = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _rss_mb(pid: int) -> float:
    """Resident memory of the server's processes together."""
    total = 0.0
    for one in _tree(pid):
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:"))
    return total


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server's processes have used."""
    total = 0
    for one in _tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _start_server(home: Path, port: int, env: dict[str, str], processes: int = 1) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "podscope", "serve", "--home", str(home), "--port", str(port)]
        + (["--workers", str(processes)] if processes > 1 else []),
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"podscope serve exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.kill()
    raise RuntimeError("podscope serve did not answer within 120 s")


# -- the requests ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str
    url: str
    headers: dict[str, str]


def _requests(info: dict[str, Any], n: int, seed: int = 1) -> list[Request]:
    """`n` requests drawn from MIX over the built library (the same ones for the same seed)."""
    rng = np.random.default_rng(seed)
    vocab = search_bench._vocabulary()[200:8000]
    natural = [q["query"] for q in json.loads((ROOT / "bench" / "search_queries.json").read_text())["queries"]]
    people: list[str] = info["people"]
    episodes: int = info["episodes"]
    sizes = [p.stat().st_size for p in RECORDINGS]

    def word() -> str:
        return str(vocab[int(rng.integers(0, len(vocab)))])

    def person() -> str:
        return people[int(rng.integers(0, len(people)))]

    def a_filter() -> dict[str, str]:
        which = int(rng.integers(0, 3))
        if which == 0:
            return {"speaker": person()}
        if which == 1:
            return {"podcast": f"Podcast {int(rng.integers(0, 100)):03d}"}
        year = int(rng.integers(2015, 2026))
        return {"since": f"{year}-01-01", "until": f"{year}-12-31"}

    def phrase() -> str:
        return natural[int(rng.integers(0, len(natural)))].replace('"', "")

    def search(params: dict[str, str]) -> str:
        return "/api/search?" + str(httpx.QueryParams(params))

    makers: dict[str, Callable[[int], tuple[str, dict[str, str]]]] = {
        "search text": lambda e: (search({"q": word(), "mode": "text"}), {}),
        "search text+filter": lambda e: (search({"q": word(), "mode": "text", **a_filter()}), {}),
        "search hybrid": lambda e: (search({"q": phrase(), "mode": "hybrid"}), {}),
        "search hybrid+filter": lambda e: (search({"q": phrase(), "mode": "hybrid", **a_filter()}), {}),
        "search page": lambda e: ("/search?" + str(httpx.QueryParams({"q": word()})), {}),
        "episode page": lambda e: (f"/episodes/{e}", {}),
        "person page": lambda e: ("/people/" + quote(person()), {}),
        "episode json": lambda e: (f"/api/episodes/{e}", {}),
        "transcript json": lambda e: (f"/api/episodes/{e}/transcript", {}),
        "audio range": lambda e: (f"/api/episodes/{e}/audio", _range(rng, sizes[(e - 1) % len(sizes)])),
    }
    kinds = list(MIX)
    chosen = rng.choice(len(kinds), size=n, p=np.array([MIX[k] for k in kinds]) / sum(MIX.values()))
    out = []
    for k in chosen.tolist():
        url, headers = makers[kinds[k]](int(rng.integers(1, episodes + 1)))
        out.append(Request(kinds[k], url, headers))
    return out


def _range(rng: np.random.Generator, size: int) -> dict[str, str]:
    start = int(rng.integers(0, size - RANGE_BYTES))
    return {"Range": f"bytes={start}-{start + RANGE_BYTES - 1}"}


@dataclass
class Outcome:
    kind: str
    status: str  # the HTTP status, or the exception's name
    ms: float  # from the scheduled send time to the whole body read


class Connections:
    """Keep-alive HTTP/1.1 connections to one server, opened as requests need them: a client this small costs a
    fraction of a millisecond a request (httpx's pool, with hundreds of connections open, cost more than the server's
    answer and became what was measured)."""

    IDLE_S = 3.0  # uvicorn closes a connection idle for 5 s: one idle longer is not reused

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def get(self, path: str, headers: dict[str, str]) -> int:
        """GET `path`, the whole body read; the status. A kept-alive connection the server closed meanwhile is
        retried once on a new one, as browsers and HTTP libraries do."""
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.perf_counter() - since < self.IDLE_S:
                try:
                    return await self._exchange(reader, writer, path, headers)
                except (ConnectionError, asyncio.IncompleteReadError):
                    break
            writer.close()
        return await self._exchange(*await asyncio.open_connection("127.0.0.1", self.port), path, headers)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: dict[str, str]
    ) -> int:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{extra}\r\n".encode("latin-1"))
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")
        else:
            await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.perf_counter()))
        return status

    def close(self) -> None:
        for _, writer, _since in self.idle:
            writer.close()


async def _one(client: Connections, request: Request, due: float, timeout: float, out: list[Outcome]) -> None:
    try:
        status = str(await asyncio.wait_for(client.get(request.url, request.headers), timeout))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError) as exc:
        status = type(exc).__name__
    out.append(Outcome(request.kind, status, (time.perf_counter() - due) * 1000))


async def _load(port: int, requests: list[Request], rate: int, timeout: float) -> tuple[list[Outcome], float, float]:
    """Send request i at start + i/rate (open loop); the outcomes, the sending time and the time to the last answer."""
    out: list[Outcome] = []
    client = Connections(port)
    tasks = []
    start = time.perf_counter()
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(client, request, due, timeout, out)))
    sent = time.perf_counter() - start
    await asyncio.gather(*tasks)
    client.close()
    return out, sent, time.perf_counter() - start


async def _sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(_rss_mb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _measured(
    port: int, pid: int, requests: list[Request], rate: int, timeout: float
) -> tuple[list[Outcome], float, float, list[float]]:
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, samples, stop))
    outcomes, sent, total = await _load(port, requests, rate, timeout)
    stop.set()
    await sampler
    return outcomes, sent, total, samples


def _summary(outcomes: list[Outcome]) -> dict[str, Any]:
    ok = [o.ms for o in outcomes if o.status in ("200", "206")]
    a = np.array(ok) if ok else np.zeros(1)
    return {
        "count": len(outcomes),
        "ok": len(ok),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
        "rate_limited": sum(1 for o in outcomes if o.status == "429"),
        "shed": sum(1 for o in outcomes if o.status == "503"),
        "errors": dict(Counter(o.status for o in outcomes if o.status not in ("200", "206", "429", "503"))),
    }


def run(
    home: Path,
    *,
    rate: int = 100,
    seconds: int = 60,
    workers: int | None = None,
    processes: int = 1,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Serve `home` with `podscope serve` and load it at `rate` requests a second for `seconds`; the figures.

    `workers`: how many requests the server takes at once (its `serve_concurrency` setting: beyond it, 503 at once);
    None: the setting's default (no limit, every request waits its turn). `processes`: `serve --workers`, the
    server processes answering on the port."""
    info = _built(home)
    env = {"PODSCOPE_API_RATE_PER_MINUTE": str(rate * 60)}
    if workers is not None:
        env["PODSCOPE_SERVE_CONCURRENCY"] = str(workers)
    port = _free_port()
    load_before = _loadavg()
    server = _start_server(home, port, env, processes)
    try:
        rss_idle = _rss_mb(server.pid)
        warm = _requests(info, 5 * len(MIX), seed=99)  # the model, the vector index and the pages' caches, loaded
        asyncio.run(_load(port, warm, 10, timeout))
        requests = _requests(info, rate * seconds)
        cpu_before = _cpu_s(server.pid)
        outcomes, sent, total, rss = asyncio.run(_measured(port, server.pid, requests, rate, timeout))
        cpu = _cpu_s(server.pid) - cpu_before
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    last_10 = rss[-10:] or [0.0]
    first_10 = rss[:10] or [0.0]
    return {
        "library": {"episodes": info["episodes"], "segments": info["segments"]},
        "rate": rate,
        "seconds": seconds,
        "sent_per_s": round(len(requests) / sent, 1),
        "achieved_per_s": round(sum(1 for o in outcomes if o.status in ("200", "206")) / total, 1),
        "drain_s": round(total - sent, 1),
        "server_cpu_ms_per_request": round(cpu * 1000 / len(requests), 2),
        "server_cpu_ms_per_answer": round(
            cpu * 1000 / max(1, sum(1 for o in outcomes if o.status != "TimeoutError")), 2
        ),
        "server_cpu_share": round(cpu / total, 2),
        "overall": _summary(outcomes),
        "kinds": {kind: _summary(by_kind[kind]) for kind in MIX},
        "rss_mb": {
            "idle": round(rss_idle),
            "start": round(rss[0] if rss else 0.0),
            "max": round(max(rss, default=0.0)),
            "end": round(rss[-1] if rss else 0.0),
            "first_10s_mean": round(sum(first_10) / len(first_10)),
            "last_10s_mean": round(sum(last_10) / len(last_10)),
        },
        "loadavg": {"before": load_before, "after": _loadavg()},
        "cpus": os.cpu_count(),
        "server": {"api_rate_per_minute": rate * 60, "serve_concurrency": workers or 0, "processes": processes},
    }


def report(result: dict[str, Any]) -> str:
    lib, rss = result["library"], result["rss_mb"]
    lines = [
        f"Load: {result['rate']} requests/s for {result['seconds']} s on loopback against {lib['episodes']:,}"
        f" episodes ({lib['segments']:,} segments); sent {result['sent_per_s']}/s, answered"
        f" {result['achieved_per_s']}/s"
        f" (the last answer {result['drain_s']} s after the last send)",
        f"Server CPU: {result['server_cpu_ms_per_request']} ms a request sent,"
        f" {result['server_cpu_ms_per_answer']} ms a request answered; {result['server_cpu_share']:.0%} of one core"
        " over the run",
        f"Server: api_rate_per_minute {result['server']['api_rate_per_minute']},"
        f" serve_concurrency {result['server']['serve_concurrency']}, processes {result['server'].get('processes', 1)};"
        f" {result['cpus']} CPUs, load average"
        f" {result['loadavg']['before']} before, {result['loadavg']['after']} after",
        "",
        "Latency (ms) from the scheduled send to the whole answer, of the requests answered 200/206; 429: rate-limited;"
        " 503: shed by serve_concurrency; errors: any other status, or the 30 s timeout.",
        f"{'kind':22} {'n':>5} {'ok':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  {'429':>4} {'503':>5}  errors",
    ]
    for kind, s in [*result["kinds"].items(), ("all", result["overall"])]:
        errors = ", ".join(f"{k}: {v}" for k, v in s["errors"].items()) or "0"
        lines.append(
            f"{kind:22} {s['count']:5} {s['ok']:5} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['p99_ms']:8.1f}"
            f" {s['max_ms']:8.1f}  {s['rate_limited']:4} {s['shed']:5}  {errors}"
        )
    lines += [
        "",
        f"Server RSS (MB, sampled every second): idle {rss['idle']}, after warm-up {rss['start']}, max {rss['max']},"
        f" end {rss['end']}; mean of the first 10 s {rss['first_10s_mean']}, of the last 10 s {rss['last_10s_mean']}",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=10_000, help="episodes in the library (default 10,000)")
    ap.add_argument("--segments", type=int, default=30, help="segments an episode (default 30)")
    ap.add_argument("--rate", type=int, default=100, help="requests a second (default 100)")
    ap.add_argument("--seconds", type=int, default=60, help="how long the load lasts (default 60)")
    ap.add_argument(
        "--workers", type=int, default=None, help="the server's serve_concurrency (default: its setting, no limit)"
    )
    ap.add_argument("--processes", type=int, default=1, help="server processes (`podscope serve --workers N`)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "load")
    ap.add_argument("--keep", action="store_true", help="keep the built library in --workdir for a later --reuse")
    ap.add_argument("--reuse", action="store_true", help="load the library a --keep run built")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the server is stopped on the way out
    home = args.workdir.resolve() / f"library-{args.episodes}"
    if args.reuse:
        if not (home / INFO).exists():
            sys.exit(f"--reuse: {home} holds no built library (run once with --keep)")
    else:
        t0 = time.perf_counter()
        build_library(home, args.episodes, args.segments)
        print(f"Built {args.episodes:,} episodes in {time.perf_counter() - t0:,.0f} s", file=sys.stderr)
    try:
        result = run(home, rate=args.rate, seconds=args.seconds, workers=args.workers, processes=args.processes)
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(home, ignore_errors=True)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
