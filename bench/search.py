"""Search benchmark: latency at a million segments, and retrieval quality on a real transcript.

Why a script and not a test: the scale part builds a library of a million segments (minutes, gigabytes) and both parts
print tables for people. Run it from the repository root:

    .venv/bin/python bench/search.py                      # both parts, 1,000,000 segments
    .venv/bin/python bench/search.py --segments 100000    # a smaller scale run
    .venv/bin/python bench/search.py --only quality       # or --only scale

Scale: 10,000 episodes of 100 segments (100 podcasts, 500 people, 2-3 attributed speakers an episode, dates over
2015-2026) written through the store's own API (no audio). Segment text is 12-40 words drawn from a Zipf
distribution over the ~20,000 whole English words of the MiniLM vocabulary, so posting lists have realistic lengths.
Vectors: a pool of real sentence embeddings (the sample library's and the bench corpus's lines) with small noise, so
the vector index holds a million distinct vectors (their meaning is not what is measured here). Prints build time,
database and index size, the time to index one 60-minute episode, and p50/p95/p99 latency of `Library.search` (facets
included) per query kind and per mode: single words (content words: ranked 200+ in the vocabulary, and common ones
ranked 50-200 shown apart), phrases, boolean, prefix, speaker-filtered, date-filtered, semantic, hybrid.

Quality: the real episode transcript `tests/data/transcripts/example.srt` imported as one episode among distractor
episodes (the sample library's scripts and the bench corpus's dialogues, as other podcasts), and the 60 labelled
queries of `bench/search_queries.json` (written by reading the transcript, before any search ran). A hit is relevant
when it is in that episode and overlaps a labelled span; prints recall@10 and MRR per mode, overall and per query kind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import corpus  # noqa: E402
from podscope.ingest import transcript_episode  # noqa: E402
from podscope.library import Library  # noqa: E402
from podscope.records import EpisodeMeta, ProcessedEpisode, SearchFilters, Segment  # noqa: E402
from podscope.sample_scripts import sample_scripts  # noqa: E402
from podscope.search.embed import model_dir  # noqa: E402
from podscope.search.engine import SearchOptions  # noqa: E402

FIRST = ["Ada", "Ben", "Cara", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "June", "Kofi", "Lena", "Milo", "Nia"]
FIRST += ["Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Vik", "Wren", "Xia", "Yara", "Zeb"]
LAST = ["Abbot", "Baker", "Chen", "Diaz", "Evans", "Fox", "Gray", "Hale", "Ito", "Jones", "Khan", "Lopez", "Moss"]
LAST += ["Novak", "Okafor", "Park", "Quist", "Reed", "Silva", "Tan", "Ueda", "Vale", "Weiss", "Young", "Zhou"]
TIERS = ["confirmed", "verified", "matched", "matched", "low"]


def _dialogue_lines() -> list[str]:
    lines = [line.text for s in sample_scripts() for line in s.lines]
    for name in dir(corpus):
        value = getattr(corpus, name)
        if name.startswith("_") and not name.startswith("__") and isinstance(value, str) and value.count("\n") > 5:
            lines += corpus._sentences(value)
    return [x for x in lines if len(x.split()) >= 4]


def _vocabulary() -> list[str]:
    words = (model_dir() / "vocab.txt").read_text().split("\n")
    return [w for w in words if w.isascii() and w.isalpha() and len(w) >= 2]


def _processed(
    podcast: str, title: str, published: dt.date | None, segments: list[Segment], digest: str, source: str = "bench"
) -> ProcessedEpisode:
    meta = EpisodeMeta(podcast=podcast, title=title, published=published, source=source)
    return transcript_episode(meta, segments, content_hash=digest, language="en", source="bench")


# -- scale --------------------------------------------------------------------------------------------------------


def build_scale(
    lib: Library,
    n_segments: int,
    seed: int = 0,
    *,
    per_episode: int = 100,
    source: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """`n_segments` in episodes of `per_episode` segments; `source(e)` names episode e's recording (none: "bench")."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary()
    weights = 1.0 / (np.arange(len(vocab)) + 10.0) ** 1.05
    weights /= weights.sum()
    people = [f"{f} {m}" for f in FIRST for m in LAST][:500]
    store = lib.store
    person_ids = [store.people.create(p).id for p in people]
    pool_lines = _dialogue_lines()
    pool = lib.search.embedder(pool_lines)
    episodes = max(1, n_segments // per_episode)
    t0 = time.perf_counter()
    words_total = rng.choice(len(vocab), size=(episodes * per_episode * 40), p=weights)
    cursor = 0
    for e in range(episodes):
        podcast = e % 100
        host = podcast * 5 % len(people)
        guests = rng.choice(len(people), size=int(rng.integers(1, 3)), replace=False).tolist()
        cast = [host, *[g for g in guests if g != host]]
        segments = []
        t = 0.0
        for k in range(per_episode):
            n = int(rng.integers(12, 41))
            text = " ".join(vocab[i] for i in words_total[cursor : cursor + n])
            cursor += n
            dur = n / 2.6
            segments.append(Segment(t, t + dur, f"SPEAKER_{k % len(cast):02d}", text.capitalize() + "."))
            t += dur + 0.3
        published = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 4300)))
        processed = _processed(
            f"Podcast {podcast:03d}",
            f"Episode {e:05d}",
            published,
            segments,
            f"bench-{e}",
            source(e) if source else "bench",
        )
        with store.transaction():
            eid = store.episodes.save(processed, voiceprints=False)
            for k, person in enumerate(cast):
                store.people.set_attribution(
                    store.people.find_speaker(eid, f"SPEAKER_{k:02d}"),
                    person_ids[person],
                    score=0.9,
                    tier=TIERS[int(rng.integers(0, len(TIERS)))] if k else "confirmed",
                    reason="bench",
                    machine=False,
                )
        ids = store.search.episode_segment_ids(eid)
        vectors = pool[np.arange(len(ids)) * 7919 % len(pool)] + rng.normal(0, 0.04, (len(ids), pool.shape[1]))
        store.search.save_vectors(ids, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32))
        if (e + 1) % 500 == 0:
            print(
                f"  {e + 1} episodes ({(e + 1) * per_episode} segments) in {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    lib.search.index_pending()
    index_build = time.perf_counter() - t1
    return {"build_s": build, "index_s": index_build, "episodes": episodes, "vocab": vocab, "people": people}


def index_one_hour(lib: Library) -> tuple[float, int]:
    """Seconds to store and index a 60-minute episode of real sentences (600 segments)."""
    lines = _dialogue_lines()
    segments = []
    t = 0.0
    for k in range(600):
        segments.append(Segment(t, t + 6.0, f"SPEAKER_{k % 2:02d}", lines[k % len(lines)]))
        t += 6.0
    processed = _processed("Timing", "One hour", dt.date(2026, 1, 1), segments, f"hour-{time.time()}")
    t0 = time.perf_counter()
    eid = lib.store.episodes.save(processed, voiceprints=False)
    lib.search.index_pending(eid)
    return time.perf_counter() - t0, len(segments)


def scale_queries(info: dict[str, Any], rng: np.random.Generator) -> dict[str, list[tuple[str, SearchOptions]]]:
    vocab, people = info["vocab"], info["people"]
    content = vocab[200:8000]
    common = vocab[50:200]
    natural = [q["query"] for q in json.loads((ROOT / "bench" / "search_queries.json").read_text())["queries"]]
    natural += _dialogue_lines()[:300]

    def w(pool: list[str] = content) -> str:
        return str(pool[int(rng.integers(0, len(pool)))])

    def window() -> tuple[dt.date, dt.date]:
        start = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3900)))
        return start, start + dt.timedelta(days=365)

    n = 40
    out: dict[str, list[tuple[str, SearchOptions]]] = {
        "word": [(w(), SearchOptions(mode="text")) for _ in range(n)],
        "common word": [(w(common), SearchOptions(mode="text")) for _ in range(n)],
        "phrase": [(f'"{p}"', SearchOptions(mode="text")) for p in info["phrases"][:n]],
        "boolean": [
            (q, SearchOptions(mode="text"))
            for _ in range(n // 4)
            for q in (f"{w()} AND {w()}", f"{w()} OR {w()}", f"{w()} -{w()}", f"({w()} OR {w()}) {w(vocab[200:1500])}")
        ],
        "prefix": [(w(vocab[300:4000])[:4] + "*", SearchOptions(mode="text")) for _ in range(n)],
        "speaker": [
            (w(), SearchOptions(mode="text", speaker=str(people[int(rng.integers(0, 500))]))) for _ in range(n)
        ],
        "date": [(w(), SearchOptions(mode="text", since=a, until=b)) for a, b in (window() for _ in range(n))],
    }
    pick = [natural[int(rng.integers(0, len(natural)))] for _ in range(200)]
    out["semantic"] = [(q.replace('"', ""), SearchOptions(mode="semantic")) for q in pick]
    out["hybrid"] = [(q.replace('"', ""), SearchOptions(mode="hybrid")) for q in pick[::-1]]
    return out


def _phrases(lib: Library, rng: np.random.Generator, n: int) -> list[str]:
    """Two or three consecutive words of stored segments: phrases that occur."""
    total = lib.store.episodes.counts()["segments"]
    rows = lib.store.search.segment_rows([int(i) for i in rng.integers(1, total, size=3 * n)], SearchFilters())
    out = []
    for r in rows.values():
        words = r.text.rstrip(".").lower().split()
        k = int(rng.integers(2, 4))
        if len(words) > k:
            start = int(rng.integers(0, len(words) - k))
            out.append(" ".join(words[start : start + k]))
    return out[:n]


def percentiles(ms: list[float]) -> str:
    a = np.array(ms)
    return f"p50 {np.percentile(a, 50):7.1f}  p95 {np.percentile(a, 95):7.1f}  p99 {np.percentile(a, 99):7.1f} ms"


def run_scale(workdir: Path, n_segments: int) -> None:
    home = workdir / f"scale-{n_segments}"
    fresh = not (home / "podscope.db").exists()
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    with Library(home) as lib:
        if fresh:
            info = build_scale(lib, n_segments)
            (home / "bench-info.json").write_text(json.dumps({k: v for k, v in info.items() if k.endswith("_s")}))
            info["cached"] = False
        else:
            info = json.loads((home / "bench-info.json").read_text())
            info.update({"vocab": _vocabulary(), "people": [f"{f} {m}" for f in FIRST for m in LAST][:500]})
            info["cached"] = True
        segments = lib.store.episodes.counts()["segments"]
        db_mb = sum(p.stat().st_size for p in home.glob("podscope.db*")) / 1e6
        idx_mb = sum(p.stat().st_size for p in (home / "index").glob("*.faiss")) / 1e6
        print(
            f"\nScale: {segments:,} segments; build {info['build_s']:.0f} s (store + FTS + vectors),"
            f" vector index {info['index_s']:.0f} s ({lib.search.vectors.kind()})"
            f"{' [cached build]' if info['cached'] else ''};"
            f" database {db_mb:,.0f} MB, vector index {idx_mb:,.0f} MB"
        )
        hour, n = index_one_hour(lib)
        print(
            f"Index time for a 60-minute episode ({n} segments): {hour:.1f} s (transcribing it takes ~6 min at RTF 0.1)"
        )
        rng = np.random.default_rng(1)
        info["phrases"] = _phrases(lib, rng, 40)
        queries = scale_queries(info, rng)
        lib.search.search("warm up", SearchOptions(mode="hybrid"))  # model and index loaded once, as in a server
        by_mode: dict[str, list[float]] = defaultdict(list)
        print(f"\n{'kind':14} {'n':>4}  latency")
        for kind, items in queries.items():
            times = []
            for text, options in items:
                t0 = time.perf_counter()
                lib.search.search(text, options)
                times.append((time.perf_counter() - t0) * 1000)
            mode = options.mode
            if kind != "common word":
                by_mode[mode] += times
            print(f"{kind:14} {len(items):4}  {percentiles(times)}")
        for mode, times in by_mode.items():
            print(f"{'all ' + mode:14} {len(times):4}  {percentiles(times)}")
        recall, tied = ann_recall(lib, [q for q, _ in queries["semantic"][:50]])
        print(
            f"Vector index recall@10 against exact search: {recall:.3f} by id; {tied:.3f} counting a result as found"
            " when its exact similarity ties the exact 10th best within 0.01 (this corpus's vectors come in"
            " near-duplicate groups, so ids alone undercount)"
        )


def ann_recall(lib: Library, texts: list[str], k: int = 10) -> tuple[float, float]:
    """Share of the exact top-k (inner product over every stored vector) that the vector index returns: by id, and
    counting a result whose exact similarity is within 0.01 of the exact k-th best."""
    vectors = lib.search.embedder(texts)
    best: list[list[tuple[float, int]]] = [[] for _ in texts]
    stored: dict[int, np.ndarray] = {}
    for ids, batch in lib.store.search.vector_batches():
        scores = vectors @ batch.T
        for q in range(len(texts)):
            top = np.argpartition(-scores[q], min(k, len(ids) - 1))[:k]
            best[q] = sorted(best[q] + [(float(scores[q, i]), int(ids[i])) for i in top], reverse=True)[:k]
        wanted = {i for q in range(len(texts)) for i in lib.search.vectors.search(vectors[q], k)[0].tolist()}
        for row, i in enumerate(ids.tolist()):
            if i in wanted:
                stored[i] = batch[row]
    by_id = tied = 0
    for q in range(len(texts)):
        ids, _ = lib.search.vectors.search(vectors[q], k)
        by_id += len({i for _, i in best[q]} & set(ids.tolist()))
        floor = best[q][-1][0] - 0.01
        tied += sum(1 for i in ids.tolist() if float(vectors[q] @ stored[i]) >= floor)
    return by_id / (k * len(texts)), tied / (k * len(texts))


# -- quality ------------------------------------------------------------------------------------------------------


def run_quality(workdir: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="podscope-search-quality-", dir=workdir))
    spec = json.loads((ROOT / "bench" / "search_queries.json").read_text())
    with Library(home) as lib:
        target = lib.import_transcript(
            ROOT / "tests" / "data" / "transcripts" / "example.srt", podcast="Buzzcast", title="Rookie mistakes"
        ).episode.id
        # Distractors: every sample-library episode and bench-corpus dialogue as episodes of other podcasts.
        lines = _dialogue_lines()
        for k in range(0, len(lines), 40):
            chunk = lines[k : k + 40]
            segments = [Segment(6.0 * i, 6.0 * i + 5.5, f"SPEAKER_{i % 2:02d}", t) for i, t in enumerate(chunk)]
            lib.store.episodes.save(
                _processed(f"Distractor {k // 200}", f"Part {k}", None, segments, f"distractor-{k}"), voiceprints=False
            )
        lib.search.index_pending()
        total = lib.store.episodes.counts()["segments"]
        print(
            f"\nQuality: {len(spec['queries'])} labelled queries; {total} segments ({target=} is the labelled episode)"
        )
        results: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
        for mode in ("text", "semantic", "hybrid"):
            for q in spec["queries"]:
                try:
                    hits = lib.search.search(q["query"], SearchOptions(mode=mode, limit=10)).hits
                except Exception as exc:  # a query one mode cannot run counts as finding nothing
                    print(f"  {mode} {q['id']}: {exc}", file=sys.stderr)
                    hits = ()
                spans = [tuple(s) for s in q["relevant"]]
                covered = set()
                first = 0.0
                for rank, h in enumerate(hits, start=1):
                    if h.episode_id != target:
                        continue
                    hit_spans = {s for s in spans if min(h.end, s[1]) - max(h.start, s[0]) > 0.5}
                    if hit_spans and not first:
                        first = 1.0 / rank
                    covered |= hit_spans
                recall = len(covered) / len(spans)
                results[mode]["all"].append((recall, first))
                results[mode][q["kind"]].append((recall, first))
        kinds = ["all", *sorted({q["kind"] for q in spec["queries"]})]
        print(f"{'mode':9} " + "  ".join(f"{k:>17}" for k in kinds))
        print(f"{'':9} " + "  ".join(f"{'R@10   MRR':>17}" for _ in kinds))
        for mode, by_kind in results.items():
            cells = []
            for k in kinds:
                arr = np.array(by_kind[k])
                cells.append(f"{arr[:, 0].mean():8.3f} {arr[:, 1].mean():8.3f}")
            print(f"{mode:9} " + "  ".join(cells))
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["scale", "quality"])
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "search")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PODSCOPE_THREADS", "2")
    if args.only in (None, "quality"):
        run_quality(args.workdir)
    if args.only in (None, "scale"):
        run_scale(args.workdir, args.segments)


if __name__ == "__main__":
    main()
