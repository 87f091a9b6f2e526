"""Feed benchmark: parse throughput on real feeds, and syncing a 200-episode feed whose transcripts are imported.

Why a script and not a test: it prints figures for people. Run it from the repository root:

    .venv/bin/python bench/feeds.py                 # parse throughput + a 200-episode sync
    .venv/bin/python bench/feeds.py --episodes 50

Parse: every real feed under tests/data/feeds (podcast-namespace examples, Partytime's test feeds, real-world feeds
and podcastparser's cases), parsed repeatedly; prints feeds/s, MB/s and items/s, and the slowest feed.
Sync: a local HTTP server on loopback serves a feed of N episodes, each with a publisher SRT transcript (the real
transcript in tests/data/transcripts, numbered per episode so each is distinct) and no audio; prints the time to add
the feed (all episodes recorded as pending) and to sync it (fetch, import, index for search), per episode, and the
time of a second sync (nothing new: a conditional GET).
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import socketserver
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podscope.errors import PodscopeError  # noqa: E402
from podscope.feeds.parse import parse_feed  # noqa: E402
from podscope.library import Library  # noqa: E402

FEEDS = ROOT / "tests" / "data" / "feeds"
SRT = ROOT / "tests" / "data" / "transcripts" / "example.srt"


def parse_throughput(rounds: int = 5) -> None:
    files = sorted(p for p in FEEDS.rglob("*") if p.suffix in (".xml", ".rss") and p.is_file())
    if not files:
        print(f"no feeds under {FEEDS}")
        return
    blobs = []
    for p in files:
        try:
            parse_feed(p.read_bytes(), p.as_uri())
            blobs.append((p, p.read_bytes()))
        except PodscopeError as exc:  # a few test files are deliberately not feeds
            print(f"  skipped {p.relative_to(FEEDS)}: {exc}")
    size = sum(len(b) for _, b in blobs)
    items = 0
    slowest = (0.0, "")
    t0 = time.perf_counter()
    for _ in range(rounds):
        for path, data in blobs:
            t = time.perf_counter()
            feed = parse_feed(data, path.as_uri())
            items += len(feed.items)
            slowest = max(slowest, (time.perf_counter() - t, path.name))
    elapsed = time.perf_counter() - t0
    n = len(blobs) * rounds
    print(
        f"Parse: {len(blobs)} feeds ({size / 1e6:.1f} MB) x {rounds}: {n / elapsed:,.0f} feeds/s,"
        f" {size * rounds / 1e6 / elapsed:.1f} MB/s, {items / elapsed:,.0f} items/s;"
        f" slowest {slowest[1]} {slowest[0] * 1000:.1f} ms"
    )


def sync_feed(episodes: int) -> None:
    base_srt = SRT.read_text(encoding="utf-8")
    files: dict[str, tuple[bytes, str]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body, kind = files.get(self.path, (b"", ""))
            if not kind:
                self.send_error(404)
                return
            etag = f'"{hash(body)}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = []
    for n in range(episodes):
        files[f"/t/{n}.srt"] = (
            f"{base_srt}\n\n9999\n00:12:40,000 --> 00:12:42,000\nEpisode {n}.\n".encode(),
            "application/srt",
        )
        day = 1 + n % 28
        items.append(
            f"<item><guid>bench-{n}</guid><title>Episode {n}</title><pubDate>{day:02d} Mar 2025 10:00:00 GMT</pubDate>"
            f'<podcast:transcript url="{base}/t/{n}.srt" type="application/srt"/></item>'
        )
    files["/feed.xml"] = (
        (
            '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            f"<channel><title>Bench Feed</title>{''.join(items)}</channel></rss>"
        ).encode(),
        "application/rss+xml",
    )
    home = Path(tempfile.mkdtemp(prefix="podscope-feeds-"))
    try:
        with Library(home, settings={"allow_private_addresses": True}) as lib:
            lib.search.embedder(["warm up"])  # the model loads once, as in a long-running sync
            t0 = time.perf_counter()
            added = lib.feeds.add(f"{base}/feed.xml")
            t_add = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = lib.feeds.sync()
            t_sync = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = lib.feeds.sync()
            t_again = time.perf_counter() - t0
            segments = lib.store.episodes.counts()["segments"]
        print(
            f"Sync: feed of {episodes} episodes with SRT transcripts: add {t_add:.2f} s ({added.items} pending);"
            f" sync {t_sync:.1f} s ({report.processed} imported, {report.failed} failed, {segments} segments,"
            f" {t_sync / max(report.processed, 1) * 1000:.0f} ms an episode incl. search indexing);"
            f" second sync {t_again * 1000:.0f} ms ({again.new_items} new)"
        )
    finally:
        server.shutdown()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=200)
    args = ap.parse_args()
    parse_throughput()
    sync_feed(args.episodes)


if __name__ == "__main__":
    main()
