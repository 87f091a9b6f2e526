"""Quote check and threads benchmark: verdict accuracy, echo precision and recall, and latency at a million segments.

Why a script and not a test: it prints tables for people, sweeps the thresholds it reports, and the latency part
opens a library of a million segments. Run it from the repository root:

    .venv/bin/python bench/lineage.py                                  # everything (the scale library: see --scale)
    .venv/bin/python bench/lineage.py --only quality                   # or --only latency
    .venv/bin/python bench/lineage.py --scale /path/to/home            # a library built by bench/search.py or scale.py

Library: real transcripts only: the Podcasting 2.0 example episode (tests/data/transcripts: the SRT, the VTT and the
JSON, as three episodes of two shows) and the two real phone calls' transcripts (tests/data/conversations: the sales
call's turns and the Azure sample's), imported as episodes of their own shows.

Quote check: labelled quotes built from the stored segments with a fixed seed (verbatim spans, spans across two
segments, spans restyled as an article prints them, spans with their fillers trimmed and with ellipses: all
"verbatim"; one word replaced, dropped or added: "close"), and the hand-written paraphrases and absent quotes of
`bench/lineage_cases.json` (written by reading the transcripts before any check ran). Prints the accuracy of the
verdict per kind and a confusion table, whether the place found is the source segment, and the accuracy over a sweep
of the two thresholds (`CLOSE_AGREEMENT`, `PARAPHRASE_SIMILARITY`) so their calibration can be read.

Echoes: the labelled pairs of `bench/lineage_cases.json` (a real segment and a sentence that restates it, or one on
the same subject that makes another point), classified by `podscope.lineage.thread.is_echo`; precision and recall at
the shipped thresholds and over a sweep.

Latency: p50/p95 of `lib.lineage.quote_check` (spans of random segments, some with a word changed) and
`lib.lineage.thread` (topics from bench/search_queries.json) on the scale library. The library is copied first (the
copy is opened, never the original), since opening a library may write to it.

Chapters: when `bench/chapters.py` exists, its `report()` prints the chapter boundary F1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podscope.library import Library  # noqa: E402
from podscope.lineage import quote as quote_stage  # noqa: E402
from podscope.lineage import thread as thread_stage  # noqa: E402
from podscope.lineage.text import FILLERS, content_words, overlap  # noqa: E402
from podscope.search.query import STOPWORDS  # noqa: E402

DATA = ROOT / "tests" / "data"
CASES = json.loads((ROOT / "bench" / "lineage_cases.json").read_text())
SCALE = Path("/work/bench-pgspeed/s1m/sqlite")
SUBSTITUTES = ["never", "always", "million", "terrible", "wonderful", "slowly", "nobody", "everything", "purple"]
TURN = re.compile(r"\[(\d+\.\d+)-(\d+\.\d+)\]\s*([^:]+):\s*(.*)")


@dataclass(frozen=True)
class Case:
    kind: str
    quote: str
    expected: str
    source: int | None  # the segment the quote was taken from (None: absent)


# -- the library --------------------------------------------------------------------------------------------------


def _vtt(turns: Path, target: Path) -> Path:
    """A turns file ("[start-end] Speaker: text" per line) as WebVTT with voice spans."""
    lines = ["WEBVTT", ""]
    for line in turns.read_text().splitlines():
        m = TURN.match(line.strip())
        if not m:
            continue
        start, end, who, text = float(m[1]), float(m[2]), m[3].strip(), m[4].strip()
        lines += [f"{_clock(start)} --> {_clock(max(end, start + 0.2))}", f"<v {who}>{text}", ""]
    target.write_text("\n".join(lines))
    return target


def _clock(t: float) -> str:
    return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"


def build(home: Path) -> Library:
    lib = Library(home)
    t = DATA / "transcripts"
    calls = DATA / "conversations"
    lib.import_transcript(
        t / "example.srt", podcast="Buzzcast", title="10 things we wish we knew", published="2021-03-01"
    )
    lib.import_transcript(t / "example.vtt", podcast="Podcasting Q&A", title="Podcast trailer", published="2022-06-15")
    lib.import_transcript(t / "example.json", podcast="Buzzcast", title="Cold open", published="2022-09-01")
    gecko = _vtt(calls / "gecko-sales-call" / "demo_turns.txt", home / "gecko.vtt")
    lib.import_transcript(gecko, podcast="Sales Calls", title="Teleportation pitch", published="2023-02-01")
    azure = _vtt(calls / "azure-call-silver" / "test_call_audio.azure_turns.txt", home / "azure.vtt")
    lib.import_transcript(azure, podcast="Support Line", title="A recorded call", published="2023-05-01")
    return lib


def segments(lib: Library) -> list[tuple[int, str]]:
    """(segment id, text) of every stored segment, in episode and time order."""
    out = []
    for e in sorted(lib.episodes(), key=lambda e: e.id):
        ids = lib.store.search.episode_segment_ids(e.id)
        for seg_id, seg in zip(sorted(ids), lib.transcript(e.id).segments, strict=False):
            out.append((seg_id, seg.text))
    return out


def find(segs: list[tuple[int, str]], passage: str) -> tuple[int, str]:
    for seg_id, text in segs:
        if passage in text:
            return seg_id, text
    raise SystemExit(f"no segment holds {passage!r}: the cases no longer match the transcripts")


# -- quote cases --------------------------------------------------------------------------------------------------


def constructed(segs: list[tuple[int, str]], seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    long = [(i, t.split()) for i, t in segs if len(t.split()) >= 24]
    cases: list[Case] = []

    def span(n: int) -> tuple[int, list[str]]:
        seg_id, ws = rng.choice(long)
        at = rng.randrange(0, len(ws) - n)
        return seg_id, ws[at : at + n]

    for _ in range(8):
        seg_id, ws = span(rng.randint(8, 20))
        cases.append(Case("verbatim span", " ".join(ws), "verbatim", seg_id))
    for _ in range(4):
        k = rng.randrange(0, len(segs) - 1)
        (a, ta), (_, tb) = segs[k], segs[k + 1]
        if len(ta.split()) < 6 or len(tb.split()) < 6:
            continue
        cases.append(Case("across segments", " ".join(ta.split()[-6:] + tb.split()[:6]), "verbatim", a))
    for _ in range(5):
        seg_id, ws = span(14)
        styled = " ".join(ws).replace("'", "’").rstrip(".,?") + "."
        cases.append(Case("article style", f"“{styled[0].upper()}{styled[1:]}”", "verbatim", seg_id))
    for seg_id, text in segs:
        ws = text.split()
        for at, w in enumerate(ws):
            if re.sub(r"\W", "", w.lower()) in FILLERS | {"know"} and 6 <= at < len(ws) - 6:
                trimmed = ws[at - 6 : at] + ws[at + 1 : at + 7]
                if w.lower().startswith("know") and ws[at - 1].lower() == "you":
                    trimmed = ws[at - 6 : at - 1] + ws[at + 1 : at + 7]
                elif re.sub(r"\W", "", w.lower()) == "know":
                    continue
                joined = re.sub(r"\s*,\s*,", ",", " ".join(x for x in trimmed if x != ","))
                cases.append(Case("fillers trimmed", joined, "verbatim", seg_id))
                break
        if sum(c.kind == "fillers trimmed" for c in cases) >= 6:
            break
    for _ in range(5):
        seg_id, ws = span(22)
        cases.append(Case("ellipsis", " ".join(ws[:7]) + " … " + " ".join(ws[12:]), "verbatim", seg_id))
    for n in range(9):
        seg_id, ws = span(rng.randint(10, 18))
        at = rng.randrange(2, len(ws) - 2)
        if n % 3 == 0:
            ws = [*ws[:at], SUBSTITUTES[n], *ws[at + 1 :]]
            kind = "one word replaced"
        elif n % 3 == 1:
            ws = [*ws[:at], *ws[at + 1 :]]
            kind = "one word dropped"
        else:
            ws = [*ws[:at], SUBSTITUTES[n], *ws[at:]]
            kind = "one word added"
        cases.append(Case(kind, " ".join(ws), "close", seg_id))
    return cases


def written(segs: list[tuple[int, str]]) -> list[Case]:
    cases = [Case("paraphrase", c["quote"], "paraphrase", find(segs, c["source"])[0]) for c in CASES["paraphrase"]]
    return cases + [Case("absent", q, "not found", None) for q in CASES["absent"]]


def run_quotes(lib: Library, cases: list[Case]) -> list[tuple[Case, str, bool]]:
    out = []
    for c in cases:
        check = lib.lineage.quote_check(c.quote)
        placed = check.best is not None and c.source in check.best.segment_ids
        out.append((c, check.verdict, placed))
    return out


def report_quotes(lib: Library, cases: list[Case]) -> None:
    results = run_quotes(lib, cases)
    right = sum(v == c.expected for c, v, _ in results)
    print(f"\nQuote check: {right}/{len(results)} verdicts right ({right / len(results):.1%})")
    print(f"  {'kind':<20} {'n':>3} {'right':>6}  {'place found':>11}  verdicts given")
    for kind in dict.fromkeys(c.kind for c in cases):
        rows = [(c, v, p) for c, v, p in results if c.kind == kind]
        ok = sum(v == c.expected for c, v, _ in rows)
        placed = sum(p for c, v, p in rows if c.source is not None)
        given = Counter(v for _, v, _ in rows)
        where = f"{placed}/{len(rows)}" if rows[0][0].source is not None else "-"
        print(f"  {kind:<20} {len(rows):>3} {ok:>6}  {where:>11}  {dict(given)}")
    labels = ["verbatim", "close", "paraphrase", "not found"]
    print("  confusion (rows: expected, columns: given): " + " | ".join(labels))
    for e in labels:
        counts = Counter(v for c, v, _ in results if c.expected == e)
        print(f"    {e:<11} " + " ".join(f"{counts[g]:>4}" for g in labels))
    for c, v, _ in results:
        if v != c.expected:
            print(f"    miss: {c.kind}: expected {c.expected}, gave {v}: {c.quote[:90]!r}")


def sweep_quotes(lib: Library, cases: list[Case]) -> None:
    """The paraphrase threshold's calibration: one run with it off gives each case's verdict from words alone and
    its nearest meaning; the accuracy at each threshold follows from those without running again."""
    shipped = quote_stage.PARAPHRASE_SIMILARITY
    quote_stage.PARAPHRASE_SIMILARITY = -1.0
    try:
        seen = []
        for c in cases:
            check = lib.lineage.quote_check(c.quote)
            best = check.best
            similarity = best.similarity if best else -1.0
            seen.append((c, check.verdict, similarity, best.agreement if best else 0.0))
    finally:
        quote_stage.PARAPHRASE_SIMILARITY = shipped
    close = [a for c, v, _, a in seen if c.expected == "close"]
    other = [a for c, v, _, a in seen if c.expected in ("paraphrase", "not found")]
    print(
        f"  calibration: word agreement of close quotes min {min(close):.2f}; of paraphrases and absent quotes "
        f"max {max(other):.2f} (CLOSE_AGREEMENT {quote_stage.CLOSE_AGREEMENT:.2f})"
    )
    for kind in ("paraphrase", "not found"):
        sims = sorted(s for c, _, s, _ in seen if c.expected == kind)
        print(f"  meaning (cosine) of {kind + ' quotes:':<22} " + " ".join(f"{x:.2f}" for x in sims))
    print(f"  calibration: accuracy by PARAPHRASE_SIMILARITY (shipped {shipped:.2f})")
    for value in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        right = 0
        for c, v, s, _ in seen:
            verdict = v if v in ("verbatim", "close") else ("paraphrase" if s >= value else "not found")
            right += verdict == c.expected
        print(f"    {value:.2f}: {right / len(seen):.1%}")


# -- echoes -------------------------------------------------------------------------------------------------------


def report_echoes(lib: Library, segs: list[tuple[int, str]]) -> None:
    pairs = [(find(segs, p["source"])[1], p["text"], True) for p in CASES["echoes"]["restates"]]
    pairs += [(find(segs, p["source"])[1], p["text"], False) for p in CASES["echoes"]["same_topic"]]
    a = lib.search.embedder([p[0] for p in pairs])
    b = lib.search.embedder([p[1] for p in pairs])
    sims = np.sum(a * b, axis=1)
    shared = [overlap(content_words(x, STOPWORDS), content_words(y, STOPWORDS)) for x, y, _ in pairs]
    truth = [t for _, _, t in pairs]

    def score(high: float, near: float, share: float) -> tuple[float, float, float]:
        said = [s >= high or (s >= near and o >= share) for s, o in zip(sims, shared, strict=True)]
        tp = sum(s and t for s, t in zip(said, truth, strict=True))
        precision = tp / max(1, sum(said))
        recall = tp / max(1, sum(truth))
        return precision, recall, 2 * precision * recall / max(1e-9, precision + recall)

    t = thread_stage
    p, r, f = score(t.ECHO_SIMILARITY, t.ECHO_NEAR, t.ECHO_OVERLAP)
    print(f"\nEchoes: {sum(truth)} restatements, {len(truth) - sum(truth)} same-topic pairs")
    print(
        f"  shipped (similarity >= {t.ECHO_SIMILARITY}, or >= {t.ECHO_NEAR} with overlap >= {t.ECHO_OVERLAP}): "
        f"precision {p:.2f}, recall {r:.2f}, F1 {f:.2f}"
    )
    pos = sorted(float(s) for s, tr in zip(sims, truth, strict=True) if tr)
    neg = sorted(float(s) for s, tr in zip(sims, truth, strict=True) if not tr)
    print(f"  cosine of restatements: min {pos[0]:.2f} median {statistics.median(pos):.2f} max {pos[-1]:.2f}")
    print(f"  cosine of same-topic:   min {neg[0]:.2f} median {statistics.median(neg):.2f} max {neg[-1]:.2f}")
    grid = [
        (score(h, n, o), h, n, o)
        for h in (0.6, 0.65, 0.7, 0.75, 0.8)
        for n in (0.4, 0.45, 0.5, 0.55, 0.6)
        for o in (0.2, 0.3, 0.4, 0.5)
        if n <= h
    ]
    print("  calibration: the best F1 settings of the sweep")
    for (p, r, f), h, n, o in sorted(grid, key=lambda g: (-g[0][2], -g[1]))[:5]:
        print(f"    similarity {h:.2f} | near {n:.2f} + overlap {o:.1f}: precision {p:.2f} recall {r:.2f} F1 {f:.2f}")


# -- thread relevance ---------------------------------------------------------------------------------------------


def report_relevance(lib: Library) -> None:
    """How well RELEVANT separates a topic's statements from the rest: the labelled queries of
    bench/search_queries.json (written for the search benchmark, before this code) against the example episode's
    segments; a segment is on the topic when it overlaps a labelled span."""
    queries = json.loads((ROOT / "bench" / "search_queries.json").read_text())["queries"]
    episode = next(e for e in lib.episodes() if e.title == "10 things we wish we knew")
    ids = sorted(lib.store.search.episode_segment_ids(episode.id))
    segs = lib.transcript(episode.id).segments
    stored = lib.store.search.vectors_of(ids)
    matrix = np.stack([stored[i] for i in ids])
    topics = [q for q in queries if q["source"] == "example" and q["relevant"]]
    centers = lib.search.embedder([q["query"] for q in topics])
    labelled = []
    for q, center in zip(topics, centers, strict=True):
        on = np.array([any(seg.start < b and a < seg.end for a, b in q["relevant"]) for seg in segs])
        labelled.append((matrix @ center, on))
    print(f"\nThread relevance: {len(topics)} labelled topics x {len(ids)} segments of the example episode")
    print(
        "  (a statement: cosine >= floor and within margin of the topic's nearest segment; margin 1: the floor alone)"
    )

    def score(floor: float, margin: float) -> tuple[float, float, float]:
        tp = fp = fn = 0
        for cos, on in labelled:
            said = (cos >= floor) & (cos >= cos.max() - margin)
            tp += int(np.sum(said & on))
            fp += int(np.sum(said & ~on))
            fn += int(np.sum(~said & on))
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        return p, r, 2 * p * r / max(1e-9, p + r)

    shipped = (thread_stage.RELEVANT, thread_stage.RELEVANT_MARGIN)
    for floor in (0.3, 0.35, 0.4, 0.5):
        for margin in (0.05, 0.1, 0.2, 1.0):
            p, r, f = score(floor, margin)
            mark = "  <- shipped" if (floor, margin) == shipped else ""
            print(f"    floor {floor:.2f} margin {margin:.2f}: precision {p:.2f} recall {r:.2f} F1 {f:.2f}{mark}")


# -- latency ------------------------------------------------------------------------------------------------------


def report_latency(source: Path, workdir: Path, runs: int) -> None:
    if not (source / "podscope.db").is_file():
        print(f"\nLatency: no library at {source}: build one with bench/scale.py --keep, or pass --scale")
        return
    home = workdir / "scale"
    if not (home / "podscope.db").is_file():
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(source, home)
    rng = random.Random(3)
    with Library(home) as lib:
        bound = lib.store.search.segment_id_bound()
        counts = lib.counts()
        print(f"\nLatency on {counts['segments']:,} segments ({counts['episodes']:,} episodes), warm, {runs} runs each")
        lib.lineage.quote_check("a first quote loads the sentence model")
        quotes = []
        for _ in range(runs):
            rows = lib.store.search.segment_rows([rng.randint(1, bound)], quote_stage.SearchFilters())
            for row in rows.values():
                ws = row.text.split()
                n = min(len(ws), rng.randint(8, 20))
                span = ws[:n]
                if rng.random() < 0.5:
                    span[n // 2] = rng.choice(SUBSTITUTES)
                quotes.append(" ".join(span))
        quote_times = _times(lambda q: lib.lineage.quote_check(q), quotes)
        absent = (CASES["absent"] * 4)[: max(12, runs // 2)]
        absent_times = _times(lambda q: lib.lineage.quote_check(q), absent)
        topics = [q["query"] for q in json.loads((ROOT / "bench" / "search_queries.json").read_text())["queries"]]
        topics = [t for t in topics if '"' not in t and " OR " not in t][:runs]
        thread_times = _times(lambda t: lib.lineage.thread(t), topics)
    timed = (
        ("quote check, said (a span, half of them with a word changed)", quote_times, 300),
        ("quote check, not in the library (its meaning read sentence by sentence)", absent_times, 300),
        ("thread", thread_times, 1000),
    )
    for name, times, target in timed:
        p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
        print(f"  {name}:")
        print(f"    p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  max {max(times):6.0f} ms  (target: under {target} ms)")
    print(f"  (load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def _times(run: object, inputs: list[str]) -> list[float]:
    out = []
    for x in inputs:
        t = time.perf_counter()
        run(x)  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


def report_chapters() -> None:
    path = ROOT / "bench" / "chapters.py"
    if not path.is_file():
        print("\nChapters: bench/chapters.py is not there yet; no figure")
        return
    spec = importlib.util.spec_from_file_location("bench_chapters", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print("\nChapters:")
    module.report()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["quality", "latency", "chapters"])
    ap.add_argument("--scale", type=Path, default=SCALE, help="the home of a large library (copied, never opened)")
    ap.add_argument("--runs", type=int, default=40, help="quote checks and threads timed")
    ap.add_argument("--no-sweep", action="store_true", help="skip the threshold sweeps")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="podscope-lineage-"))
    if args.only in (None, "quality"):
        home = workdir / "real"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        with build(home) as lib:
            segs = segments(lib)
            cases = constructed(segs) + written(segs)
            print(f"Library: {len(segs)} segments of real transcripts in {len(lib.episodes())} episodes")
            report_quotes(lib, cases)
            if not args.no_sweep:
                sweep_quotes(lib, cases)
            report_echoes(lib, segs)
            report_relevance(lib)
    if args.only in (None, "latency"):
        report_latency(args.scale, workdir, args.runs)
    if args.only in (None, "chapters"):
        report_chapters()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
