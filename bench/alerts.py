"""Alerts benchmark: what saved searches cost at ingest, and how fast a webhook goes out on loopback.

Why a script and not a test: it prints figures for people, and times are never asserted. Run it from the repository
root:

    .venv/bin/python bench/alerts.py                    # 10 / 100 / 1,000 saved searches
    .venv/bin/python bench/alerts.py --counts 10 100    # fewer

Ingest cost: the real episode transcript `tests/data/transcripts/example.srt` (a 12.5-minute podcast episode, 222
cues) is imported again and again as new episodes (a byte-different copy each time) into a library holding N saved
searches; the time `Alerts.scan` takes for each episode (reading its segments and vectors, matching every saved search,
storing the events) is the time alerts add per episode. The saved searches are drawn (seeded) from the episode's own
words, so many match, and again from words it never says, so few do: single words, two-word phrases, OR pairs, a
tenth restricted to a speaker, a tenth by meaning (paraphrases of the episode and unrelated topics).
It is shown next to processing a real recording: the 30 s two-speaker sample of tests/data, transcribed and diarized
by `add_audio` with the models loaded (per minute of audio), scaled to the episode's length.

Delivery latency: events for a receiver on loopback (a standard-library HTTP server answering 200), sent by
`Alerts.deliver`; prints the per-attempt time of the delivery log (p50/p95) and the deliveries a second.

Calibration of `ALERT_SIMILARITY` (searches by meaning): the best cosine between a query and the episode's segments,
for paraphrases of what the episode says and for topics it never mentions, beside the threshold.
"""

from __future__ import annotations

import argparse
import http.server
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from podscope.alerts import ALERT_SIMILARITY
from podscope.library import Library

ROOT = Path(__file__).resolve().parent.parent
SRT = ROOT / "tests" / "data" / "transcripts" / "example.srt"
SAMPLE = ROOT / "tests" / "data" / "pyannote-sample" / "sample.wav"
WARM_UP = ROOT / "tests" / "data" / "whisper" / "jfk.flac"
EPISODES = 5  # episodes imported per count
PARAPHRASES = [
    "mistakes people make when they start a podcast",
    "buying an expensive microphone",
    "how long should an episode be",
]
UNRELATED = ["chocolate cake recipe", "the rules of cricket", "repairing a car engine"]


def queries(n: int, vocabulary: list[str], rng: random.Random) -> list[dict[str, str | None]]:
    made: list[dict[str, str | None]] = []
    for i in range(n):
        a, b = rng.sample(vocabulary, 2)
        kind = i % 10
        if kind == 0:
            made.append({"query": rng.choice(PARAPHRASES + UNRELATED), "mode": "semantic", "speaker": None})
        elif kind == 1:
            made.append({"query": a, "mode": "text", "speaker": "any"})
        elif kind in (2, 3):
            made.append({"query": f'"{a} {b}"', "mode": "text", "speaker": None})
        elif kind in (4, 5):
            made.append({"query": f"{a} OR {b}", "mode": "text", "speaker": None})
        else:
            made.append({"query": a, "mode": "text", "speaker": None})
    return made


def ingest_cost(counts: list[int], work: Path) -> None:
    text = SRT.read_text()
    own = sorted({w.lower() for w in re.findall(r"[A-Za-z]{5,}", text)})
    readme = {w.lower() for w in re.findall(r"[A-Za-z]{5,}", (ROOT / "README.md").read_text())}
    other = sorted(readme - set(own))
    print(f"Ingest: {SRT.name} imported {EPISODES} times per row; the scan of each episode, median and slowest")
    print(f"  most match: searches drawn from the episode's own {len(own)} words (hundreds of events an episode)")
    print(f"  few match:  searches drawn from {len(other)} words of this README that the episode never says")
    head = f"{'most match':>11} {'max':>7} {'events':>7} {'few match':>11} {'max':>7} {'events':>7}"
    print(f"{'saved searches':>15} {head}")
    for n in counts:
        cells = []
        for name, vocabulary in (("own", own), ("other", other)):
            median, worst, events = _scans(n, vocabulary, text, work / f"ingest-{name}-{n}")
            cells.append(f"{median:>8.1f} ms {worst:>4.0f} ms {events:>7}")
        print(f"{n:>15,} {'  '.join(cells)}")


def _scans(n: int, vocabulary: list[str], text: str, home: Path) -> tuple[float, float, int]:
    """The median and slowest scan of an episode (ms) with `n` saved searches, and the events made."""
    rng = random.Random(n)
    with Library(home, settings={"voice_profiles": False}) as lib:
        lib.import_transcript(ROOT / "tests" / "data" / "transcripts" / "example.json", podcast="Warm", title="up")
        for q in queries(n, vocabulary, rng):
            lib.alerts.add(str(q["query"]), mode=str(q["mode"]), speaker=q["speaker"])
        scans = []
        real_scan = lib.alerts.scan

        def timed(real=real_scan, into=scans):  # type: ignore[no-untyped-def]
            report = real()
            into.append(report)
            return report

        lib.alerts.scan = timed  # type: ignore[method-assign]
        for i in range(EPISODES):
            copy = home.parent / f"{home.name}-{i}.srt"
            copy.write_text(text + "\n" * (i + 1))
            lib.import_transcript(copy, podcast="Buzzcast", title=f"Episode {i}")
        per_episode = [1000 * s.seconds for s in scans if s.episodes]
        return float(np.median(per_episode)), max(per_episode), sum(s.events for s in scans)


def processing_cost(work: Path) -> None:
    with Library(work / "audio") as lib:
        lib.add_audio(WARM_UP, podcast="Warm", title="up")  # the models loaded before the clock starts
        t0 = time.perf_counter()
        result = lib.add_audio(SAMPLE, podcast="Phone Line", title="Sample")
        seconds = time.perf_counter() - t0
    minutes = result.episode.duration / 60
    last = re.findall(r"--> (\d+):(\d+):(\d+)", SRT.read_text())[-1]
    episode_minutes = (int(last[0]) * 3600 + int(last[1]) * 60 + int(last[2])) / 60
    print(
        f"Processing a recording for comparison ({SAMPLE.name}, {result.episode.duration:.0f} s, model"
        f" {result.model}): {seconds:.1f} s, {seconds / minutes:.1f} s per audio minute, so about"
        f" {seconds / minutes * episode_minutes:.0f} s for a {episode_minutes:.1f}-minute episode like {SRT.name}"
    )


def delivery_latency(work: Path, events: int = 50) -> None:
    received: list[float] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(time.perf_counter())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with Library(work / "deliver", settings={"allow_private_addresses": True}) as lib:
        lib.import_transcript(SRT, podcast="Buzzcast", title="10 things")
        alert = lib.alerts.add("podcast", webhook=url).alert
        for _ in range(events - 1):
            lib.alerts.test(alert.id)
        t0 = time.perf_counter()
        report = lib.alerts.deliver()
        wall = time.perf_counter() - t0
        attempts = [a.seconds for _, log in lib.alerts.deliveries(alert.id, limit=events) for a in log]
    server.shutdown()
    ms = 1000 * np.array(attempts)
    print(
        f"Delivery on loopback: {report.delivered} events in {wall:.2f} s ({report.delivered / wall:.0f} a second);"
        f" per attempt (sign, POST, answer, log) p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms"
    )


def calibration(work: Path) -> None:
    with Library(work / "calibrate") as lib:
        episode = lib.import_transcript(SRT, podcast="Buzzcast", title="10 things").episode.id
        ids, vectors = lib.search.segments.episode_vectors(episode)
        print(f"Calibration of ALERT_SIMILARITY = {ALERT_SIMILARITY} on {SRT.name} ({len(ids)} segments):")
        for label, texts in (("about the episode", PARAPHRASES), ("never in it", UNRELATED)):
            for text in texts:
                scores = vectors @ lib.search.embedder([text])[0]
                above = int((scores >= ALERT_SIMILARITY).sum())
                print(f"  {label:>17}: {text!r:52} best {scores.max():.2f}, {above} segments at or above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--no-audio", action="store_true", help="Skip processing the recording for comparison.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        calibration(work)
        ingest_cost(args.counts, work)
        if not args.no_audio:
            processing_cost(work)
        delivery_latency(work)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
