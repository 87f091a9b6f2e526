"""Quiz benchmark: how long a quiz on a 60-minute episode takes to make, and whether naive tricks beat its options.

Why a script and not a test: it prints figures for people. Run it from the repository root:

    .venv/bin/python bench/quiz.py                 # 60-minute episode, 100 seeds per level
    .venv/bin/python bench/quiz.py --seeds 300

The episode: the real publisher transcript in tests/data/transcripts (12.5 minutes, two speakers) repeated and
time-shifted to 60 minutes, with synthetic word timings (each cue's time shared among its words by length; every
third word spoken 30% faster, so speech rate varies). Prints the time to build the lexicon (once per process), the
time per 10-question quiz per level, then over many seeds: the accuracy of two naive players on gap questions (the
option most similar in spelling to the other options; the longest option) against chance (25%), the share of gaps on
content words, and per level the gapped words' mean frequency rank, length, speech rate and share of phrases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podscope import formats  # noqa: E402
from podscope.ingest import join_cues  # noqa: E402
from podscope.quiz import (  # noqa: E402
    FUNCTION_WORDS,
    build_lexicon,
    edit_distance,
    general_words,
    generate_quiz,
)
from podscope.records import QUIZ_LEVELS, Episode, EpisodeSpeaker, Segment, StoredTranscript, Word  # noqa: E402

SRT = ROOT / "tests" / "data" / "transcripts" / "example.srt"
MINUTES = 60.0


def _timed(segment: Segment, shift: float, n: int) -> Segment:
    tokens = segment.text.split()
    weights = [len(t) + 1.0 for t in tokens]
    span = segment.end - segment.start
    words, t = [], segment.start + shift
    for k, (token, weight) in enumerate(zip(tokens, weights, strict=True)):
        length = span * weight / sum(weights) * (0.7 if (k + n) % 3 == 0 else 1.0)
        words.append(Word(round(t, 3), round(t + length, 3), f" {token}", 0.9, segment.speaker))
        t += span * weight / sum(weights)
    return Segment(segment.start + shift, segment.end + shift, segment.speaker, segment.text, tuple(words))


def long_transcript(minutes: float = MINUTES) -> StoredTranscript:
    base = join_cues(formats.read(SRT.read_text(encoding="utf-8-sig"), "srt"))
    period = base[-1].end + 2.0
    segments: list[Segment] = []
    copy = 0
    while copy * period < minutes * 60:
        segments += [_timed(s, copy * period, n) for n, s in enumerate(base)]
        copy += 1
    labels = sorted({s.speaker for s in segments if s.speaker})
    episode = Episode(1, 1, "Bench", "Rookie mistakes x5", None, segments[-1].end, "", "", "done", "en", "", 2,
                      len(segments), "")  # fmt: skip
    speakers = tuple(EpisodeSpeaker(k, 1, label, 0.0, None) for k, label in enumerate(labels))
    return StoredTranscript(episode=episode, speakers=speakers, segments=tuple(segments))


def most_similar_to_others(options: tuple[str, ...]) -> int:
    """The odd-one-out trick reversed: distractors are made from the answer, so pick the option nearest the rest."""
    totals = [
        sum(edit_distance(o.lower(), p.lower()) / max(len(o), len(p)) for p in options if p is not o) for o in options
    ]
    return totals.index(min(totals))


def longest(options: tuple[str, ...]) -> int:
    lengths = [len(o) for o in options]
    return lengths.index(max(lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100, help="Quizzes per level for the player statistics.")
    args = parser.parse_args()
    transcript = long_transcript()
    words = sum(len(s.words) for s in transcript.segments)
    print(f"episode: {transcript.episode.duration / 60:.1f} min, {len(transcript.segments)} segments, {words} words")
    t0 = time.perf_counter()
    lexicon = build_lexicon(general_words(), (s.text for s in transcript.segments))
    print(f"lexicon: {len(lexicon.ranks)} ranked words, {len(lexicon.pool)} distractor candidates,"
          f" built in {time.perf_counter() - t0:.2f} s (once per process)")  # fmt: skip
    print("\ngeneration, 10 questions (gap + who):")
    for level in QUIZ_LEVELS:
        times = []
        for seed in range(10):
            t0 = time.perf_counter()
            generate_quiz(transcript, {}, seed=seed, level=level, count=10, lexicon=lexicon)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        generate_quiz(transcript, {}, seed=0, level=level, count=10)  # lexicon built inside, as the pure call does
        cold = time.perf_counter() - t0
        print(f"  {level:<6} mean {statistics.mean(times) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms"
              f"  (with its own lexicon: {cold * 1000:.0f} ms)")  # fmt: skip
    print(f"\nnaive players on gap questions, {args.seeds} quizzes of 10 per level (chance 25%):")
    print(f"  {'level':<6} {'gaps':>5} {'similar':>8} {'longest':>8} {'content':>8} {'log rank':>9} {'letters':>8}"
          f" {'s/letter':>9} {'phrases':>8} {'clip s':>7}")  # fmt: skip
    for level in QUIZ_LEVELS:
        gaps = similar = long = content = phrases = 0
        ranks, lengths, rates, clips = [], [], [], []
        for seed in range(args.seeds):
            quiz = generate_quiz(transcript, {}, seed=seed, level=level, count=10, kinds=("gap",), lexicon=lexicon)
            for q in quiz.questions:
                gaps += 1
                similar += most_similar_to_others(q.options) == q.answer_index
                long += longest(q.options) == q.answer_index
                parts = q.answer_text.lower().split()
                content += any(p not in FUNCTION_WORDS for p in parts)
                phrases += len(parts) > 1
                rarest = max(parts, key=lexicon.rank)
                ranks.append(math.log(lexicon.rank(rarest)))
                lengths.append(len(rarest))
                rates.append((q.word_end - q.word_start) / len("".join(parts)))
                clips.append(q.clip_end - q.clip_start)
        print(f"  {level:<6} {gaps:>5} {similar / gaps:>8.1%} {long / gaps:>8.1%} {content / gaps:>8.1%}"
              f" {statistics.mean(ranks):>9.2f} {statistics.mean(lengths):>8.2f} {statistics.mean(rates):>9.3f}"
              f" {phrases / gaps:>8.1%} {statistics.mean(clips):>7.1f}")  # fmt: skip
    print(f"\n(run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
