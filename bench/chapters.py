"""Chapters benchmark: boundary F1 within 30 s on episodes joined from real transcripts at known topic changes.

Why a script and not a test: it prints figures for people, and the calibration of the boundary threshold that
`podscope.chapters.SegmentationOptions` ships. Run it from the repository root:

    .venv/bin/python bench/chapters.py                  # 40 tuning joins, 40 held-out joins
    .venv/bin/python bench/chapters.py --joins 100

The material: the three real conversations with timed transcripts in tests/data, on unrelated subjects: a 12.5-minute
Buzzsprout podcast episode on podcasting mistakes (transcripts/example.srt), a 9.5-minute sales call about
teleportation (conversations/gecko-sales-call/demo.json) and a 2-minute support call comparing online shop platforms
(conversations/azure-call-silver, its words; its speaker labels are not used). Each is read into sentence-sized
segments the way `import-transcript` stores them (`ingest.join_cues`), embedded with the same MiniLM as the library
(vectors rounded to float16, as stored), and cut into pieces of 1.5 to 4 minutes at segment boundaries. A joined
episode is 3 to 5 pieces, neighbours always from different conversations, laid end to end: its true boundaries are
the joins, and inside the podcast's pieces the starts of its tips (the episode is a compilation of ten tips, each a
clip on its own subject: `PODCAST_TIPS`, read from the transcript). Subject changes inside the two calls are not
labelled (a sales call drifts from small talk to the pitch to prices), so a boundary found there counts against
precision: the figures are a floor.

The threshold is tuned on joins built from the first half of each conversation and reported on joins from the
second half (held out: no sentence of them was seen while tuning). Also printed: the F1 of as many boundaries placed
at random (what chance gives), and how long finding chapters takes on a 3-hour episode.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podscope import formats  # noqa: E402
from podscope.chapters import SegmentationOptions, analyse  # noqa: E402
from podscope.chapters.segmentation import find_boundaries, units_of  # noqa: E402
from podscope.ingest import join_cues  # noqa: E402
from podscope.records import Segment  # noqa: E402
from podscope.search.embed import SentenceEmbedder  # noqa: E402

DATA = ROOT / "tests" / "data"
TOLERANCE = 30.0  # seconds: a boundary found within this of a true one is a hit (one hit per true boundary)
GRID = [round(0.02 * k, 2) for k in range(1, 21)]  # thresholds tried (depth, in cosine)
PIECE = (60.0, 180.0)  # seconds
GAP = 1.0  # seconds of silence between joined pieces


# -- the real transcripts ----------------------------------------------------------------------------------------------


def podcast_episode() -> list[Segment]:
    """The Buzzsprout episode (SRT, three named speakers)."""
    return formats.read((DATA / "transcripts" / "example.srt").read_text(encoding="utf-8-sig"), "srt")


def sales_call() -> list[Segment]:
    """The gecko sales call: words with times and a speaker per monologue, cut into sentences at its punctuation."""
    data = json.loads((DATA / "conversations" / "gecko-sales-call" / "demo.json").read_text())
    cues: list[Segment] = []
    for monologue in data["monologues"]:
        speaker = monologue["speaker"]["id"]
        words: list[tuple[float, float, str]] = []
        for term in monologue["terms"]:
            if term["type"] == "WORD":
                words.append((term["start"], term["end"], term["text"]))
            elif words:
                words[-1] = (words[-1][0], words[-1][1], words[-1][2] + term["text"])
                if term["text"] in ".?!":
                    cues.append(Segment(words[0][0], words[-1][1], speaker, " ".join(w[2] for w in words)))
                    words = []
        if words:
            cues.append(Segment(words[0][0], words[-1][1], speaker, " ".join(w[2] for w in words)))
    return cues


def support_call() -> list[Segment]:
    """The Azure sample call: its recognised phrases with times (the speaker labels are a machine's: one speaker)."""
    data = json.loads((DATA / "conversations" / "azure-call-silver" / "transcription_response_azure.json").read_text())
    return [
        Segment(p["offset"] / 1000, (p["offset"] + p["duration"]) / 1000, "caller", p["text"]) for p in data["phrases"]
    ]


SOURCES = {"podcast": podcast_episode, "sales": sales_call, "support": support_call}
# The podcast episode is a compilation of ten tips, each a clip from another show: where each tip starts (seconds;
# read from the transcript: a new speaker opens a new subject, e.g. 7:46 "These show notes is the section...").
PODCAST_TIPS = [53.0, 103.0, 219.0, 263.0, 322.0, 377.0, 466.0, 563.0, 617.0, 691.0]
WINDOWS = (45.0, 60.0, 90.0)  # seconds of speech compared on either side of a gap
SHORTEST = (45.0, 60.0, 90.0)  # the shortest chapter, seconds


@dataclass(frozen=True)
class Piece:
    source: str
    segments: tuple[Segment, ...]  # times from 0
    vectors: np.ndarray
    truth: tuple[float, ...] = ()  # labelled topic changes inside it (the podcast's tips), from its start

    @property
    def length(self) -> float:
        return self.segments[-1].end


def pieces(
    rng: random.Random, segments: Sequence[Segment], vectors: np.ndarray, source: str, labelled: Sequence[float] = ()
) -> list[Piece]:
    """A conversation cut into consecutive pieces of PIECE seconds (the last may be shorter, never under 60 s), each
    with the `labelled` topic changes inside it (those more than TOLERANCE from its ends: nearer ones are its join)."""
    out, i = [], 0
    while i < len(segments):
        target = rng.uniform(*PIECE)
        j = i
        while j < len(segments) and segments[j].end - segments[i].start < target:
            j += 1
        j = max(j, i + 1)
        span = segments[i:j]
        if span[-1].end - span[0].start >= 60.0:
            t0 = span[0].start
            shifted = tuple(replace(s, start=s.start - t0, end=s.end - t0) for s in span)
            inside = tuple(t - t0 for t in labelled if t0 + TOLERANCE < t < span[-1].end - TOLERANCE)
            out.append(Piece(source, shifted, vectors[i:j], inside))
        i = j
    return out


@dataclass(frozen=True)
class Joined:
    segments: list[Segment]
    vectors: np.ndarray
    truth: list[float]
    duration: float


def join(rng: random.Random, pool: dict[str, list[Piece]], count: int) -> Joined | None:
    """`count` pieces end to end, neighbours from different conversations; None when the pool cannot give that."""
    chosen: list[Piece] = []
    used: set[int] = set()
    for _ in range(count):
        options = [
            p for ps in pool.values() for p in ps if id(p) not in used and (not chosen or p.source != chosen[-1].source)
        ]
        if not options:
            return None
        piece = rng.choice(options)
        chosen.append(piece)
        used.add(id(piece))
    segments: list[Segment] = []
    vectors, truth, t = [], [], 0.0
    for n, piece in enumerate(chosen):
        if n:
            truth.append(t)
        truth += [t + x for x in piece.truth]
        segments += [replace(s, start=s.start + t, end=s.end + t) for s in piece.segments]
        vectors.append(piece.vectors)
        t += piece.length + GAP
    return Joined(segments, np.vstack(vectors), truth, t - GAP)


def joins(rng: random.Random, pool: dict[str, list[Piece]], n: int) -> list[Joined]:
    out: list[Joined] = []
    while len(out) < n:
        found = join(rng, pool, rng.randint(3, 5))
        if found is not None:
            out.append(found)
    return out


# -- scoring -----------------------------------------------------------------------------------------------------------


def hits(found: Sequence[float], truth: Sequence[float], tolerance: float = TOLERANCE) -> int:
    """True boundaries matched one to one by a found boundary within `tolerance` seconds (closest pairs first)."""
    pairs = sorted(
        (abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= tolerance
    )
    used_f: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_t)


@dataclass(frozen=True)
class Score:
    found: int
    truth: int
    hit: int

    @property
    def precision(self) -> float:
        return self.hit / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.hit / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        figures = f"P {self.precision:.2f}  R {self.recall:.2f}  F1 {self.f1:.2f}"
        return f"{figures}  ({self.hit} of {self.truth} true boundaries, {self.found} found)"


def score(episodes: Sequence[Joined], options: SegmentationOptions) -> Score:
    found = truth = hit = 0
    for ep in episodes:
        starts = find_boundaries(units_of(ep.segments, ep.vectors), ep.duration, options)
        found += len(starts)
        truth += len(ep.truth)
        hit += hits(starts, ep.truth)
    return Score(found, truth, hit)


def chance(rng: random.Random, episodes: Sequence[Joined], options: SegmentationOptions) -> Score:
    """As many boundaries as the method finds, placed at random segment starts."""
    found = truth = hit = 0
    for ep in episodes:
        n = len(find_boundaries(units_of(ep.segments, ep.vectors), ep.duration, options))
        starts = rng.sample([s.start for s in ep.segments[1:]], min(n, len(ep.segments) - 1))
        found += len(starts)
        truth += len(ep.truth)
        hit += hits(starts, ep.truth)
    return Score(found, truth, hit)


# -- the run ---------------------------------------------------------------------------------------------------------


def material(embedder: SentenceEmbedder) -> dict[str, tuple[list[Segment], np.ndarray]]:
    out = {}
    for name, load in SOURCES.items():
        segments = join_cues(load())
        vectors = embedder([s.text for s in segments]).astype(np.float16).astype(np.float32)
        out[name] = (segments, vectors)
    return out


def halves(rng: random.Random, data: dict[str, tuple[list[Segment], np.ndarray]]) -> tuple[dict, dict]:
    """Pieces of the first half of each conversation (tuning) and of the second half (held out)."""
    tune: dict[str, list[Piece]] = {}
    held: dict[str, list[Piece]] = {}
    for name, (segments, vectors) in data.items():
        middle = segments[-1].end / 2
        cut = next(i for i, s in enumerate(segments) if s.start >= middle)
        labelled = PODCAST_TIPS if name == "podcast" else ()
        tune[name] = pieces(rng, segments[:cut], vectors[:cut], name, labelled)
        held[name] = pieces(rng, segments[cut:], vectors[cut:], name, labelled)
    return tune, held


def latency(data: dict[str, tuple[list[Segment], np.ndarray]], hours: float = 3.0) -> tuple[int, float]:
    """Segments of a `hours`-long episode (the material repeated) and the median seconds `analyse` takes on it."""
    segments: list[Segment] = []
    vectors = []
    t = 0.0
    while t < hours * 3600:
        for seg, vec in data.values():
            segments += [replace(s, start=s.start + t, end=s.end + t) for s in seg]
            vectors.append(vec)
            t += seg[-1].end + GAP
    matrix = np.vstack(vectors)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        analyse(segments, matrix, t)
        runs.append(time.perf_counter() - t0)
    return len(segments), statistics.median(runs)


def report(joins_each: int = 40, seed: int = 7, cache_dir: Path | None = None) -> None:
    """Print the calibration (F1 per threshold on the tuning joins), then precision, recall and F1 on the held-out
    joins at the tuned threshold and at the one podscope ships, chance, and the time for a 3-hour episode."""
    cache = (
        cache_dir or Path(os.environ.get("PODSCOPE_CACHE_DIR") or Path.home() / ".cache" / "podscope") / "bench-models"
    )
    embedder = SentenceEmbedder(cache)
    rng = random.Random(seed)
    data = material(embedder)
    for name, (segments, _) in data.items():
        print(f"{name:8s} {len(segments):4d} segments, {segments[-1].end / 60:5.1f} min")
    tune_pool, held_pool = halves(rng, data)
    tune, held = joins(rng, tune_pool, joins_each), joins(rng, held_pool, joins_each)
    shipped = SegmentationOptions()
    print(
        f"\nchapters: boundary F1 within {TOLERANCE:.0f} s, {len(tune)} tuning joins and {len(held)} held-out joins of"
        f" 3-5 pieces ({sum(len(j.truth) for j in tune)} and {sum(len(j.truth) for j in held)} true boundaries,"
        f" from {sum(map(len, tune_pool.values()))} and {sum(map(len, held_pool.values()))} distinct pieces);"
        f" shipped: threshold {shipped.threshold:.2f}, window {shipped.window:.0f} s, smoothing {shipped.smooth:.0f} s,"
        f" shortest chapter {shipped.min_chapter:.0f} s"
    )
    combos = [(w, m) for w in WINDOWS for m in SHORTEST]
    print("tuning F1 per threshold (rows) and window / shortest chapter in seconds (columns)")
    print("threshold " + " ".join(f"{w:3.0f}/{m:<3.0f}" for w, m in combos))
    table: dict[tuple[float, float, float], Score] = {}
    for threshold in GRID:
        for window, shortest in combos:
            options = replace(shipped, threshold=threshold, window=window, min_chapter=shortest)
            table[threshold, window, shortest] = score(tune, options)
        is_shipped = abs(threshold - shipped.threshold) < 1e-9
        cells = " ".join(f"  {table[threshold, w, m].f1:.2f} " for w, m in combos)
        print(f"  {threshold:5.2f}  {cells}" + ("  <- shipped threshold" if is_shipped else ""))
    top = max(s.f1 for s in table.values())
    # the most conservative setting within 0.01 of the best: the highest threshold, then the longest chapters
    best_key = max((k for k, s in table.items() if s.f1 >= top - 0.01), key=lambda k: (k[0], k[2], k[1]))
    best = (table[best_key].f1, best_key[0], best_key[1], best_key[2])
    tuned = replace(shipped, threshold=best[1], window=best[2], min_chapter=best[3])
    print(
        f"tuned (the highest threshold within 0.01 of the best tuning F1 {top:.2f}): threshold {best[1]:.2f},"
        f" window {best[2]:.0f} s, shortest chapter {best[3]:.0f} s: {table[best_key].line()}"
    )
    print(f"held out, tuned:   {score(held, tuned).line()}")
    print(f"held out, shipped: {score(held, shipped).line()}")
    print(f"held out, chance (as many random boundaries): {chance(random.Random(seed), held, shipped).line()}")
    segments, vectors = data["podcast"]
    episode = [Joined(segments, vectors, PODCAST_TIPS, segments[-1].end)]
    print(
        f"one real episode whole, {len(PODCAST_TIPS)} labelled topic changes (the podcast's ten tips; the pieces of"
        " its first half were among the tuning joins):"
        f"\n  shipped: {score(episode, shipped).line()}"
        f"\n  chance:  {chance(random.Random(seed), episode, shipped).line()}"
    )
    for name, (segments, vectors) in data.items():
        found = find_boundaries(units_of(segments, vectors), segments[-1].end, shipped)
        minutes = segments[-1].end / 60
        print(f"whole {name} conversation ({minutes:.1f} min): {len(found) + 1} chapters, starting at", end=" ")
        print(", ".join(f"{t // 60:.0f}:{t % 60:02.0f}" for t in [0.0, *found]))
    n, seconds = latency(data)
    print(f"on demand: {n} segments (a 3-hour episode) in {seconds * 1000:.0f} ms (median of 3)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joins", type=int, default=40, help="joined episodes for tuning, and as many held out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    report(args.joins, args.seed)


if __name__ == "__main__":
    main()
