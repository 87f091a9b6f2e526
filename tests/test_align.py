"""Alignment: word-level speaker assignment, the early-start guard, and segment building."""

from __future__ import annotations

import pytest

from podscope.align import AlignReport, Talk, align, assign_speakers, build_segments, fix_early_starts, speaker_over
from podscope.records import Turn, Word


def w(start: float, end: float, text: str) -> Word:
    return Word(start, end, text)


TURNS = [Turn(0.0, 4.0, "A"), Turn(4.1, 8.0, "B"), Turn(7.6, 8.4, "A")]


def test_words_go_to_the_speaker_talking_at_that_moment() -> None:
    words = [w(0.2, 0.6, " So"), w(3.5, 3.9, " right?"), w(4.2, 4.6, " Yes,"), w(4.7, 5.2, " and")]
    out = assign_speakers(words, TURNS)
    assert [x.speaker for x in out] == ["A", "A", "B", "B"]


def test_a_recogniser_segment_across_a_turn_change_is_split() -> None:
    words = [w(3.0, 3.5, " fine,"), w(3.5, 3.95, " right?"), w(4.15, 4.5, " Yes."), w(4.6, 5.0, " Good.")]
    segments, _ = align(words, TURNS)
    assert [(s.speaker, s.text) for s in segments] == [("A", "fine, right?"), ("B", "Yes. Good.")]


def test_overlap_keeps_the_current_speaker_unless_the_other_clearly_dominates() -> None:
    words = [w(7.0, 7.5, " and"), w(7.65, 7.95, " so"), w(8.05, 8.35, " yeah")]
    out = assign_speakers(words, TURNS)
    assert [x.speaker for x in out] == ["B", "B", "A"]


def test_word_in_a_gap_goes_to_the_nearest_turn() -> None:
    report = AlignReport()
    out = assign_speakers([w(4.06, 4.09, " uh")], TURNS, report)
    assert out[0].speaker == "B" and report.words_outside_turns == 1


def test_first_word_after_silence_is_not_timestamped_early() -> None:
    turns = [Turn(0.0, 2.0, "A"), Turn(6.0, 8.0, "B")]
    words = [w(1.5, 1.9, " done."), w(3.1, 6.4, " Welcome"), w(6.5, 6.9, " back")]
    report = AlignReport()
    fixed = fix_early_starts(words, turns, report)
    assert fixed[1].start == 6.0 and fixed[1].end == 6.4
    assert fixed[0] == words[0] and fixed[2] == words[2]
    assert report.early_starts_fixed == 1 and abs(report.early_seconds_removed - 2.9) < 1e-9


def test_segments_split_at_long_pauses_and_keep_words() -> None:
    words = [
        Word(0.0, 0.5, " One.", speaker="A"),
        Word(0.6, 1.0, " Two.", speaker="A"),
        Word(3.0, 3.4, " Three.", speaker="A"),
    ]
    segments = build_segments(words)
    assert [s.text for s in segments] == ["One. Two.", "Three."]
    assert segments[0].words == tuple(words[:2]) and (segments[0].start, segments[0].end) == (0.0, 1.0)


def test_long_monologue_is_split_at_a_sentence_end() -> None:
    words = []
    t = 0.0
    for i in range(60):
        text = " word." if i % 10 == 9 else " word"
        words.append(Word(t, t + 0.4, text, speaker="A"))
        t += 0.5
    segments = build_segments(words)
    assert len(segments) >= 2
    assert all(s.end - s.start <= 25 for s in segments)
    assert all(s.text.endswith(".") for s in segments[:-1])


def test_no_turns_leaves_words_unattributed() -> None:
    segments, _ = align([w(0.0, 0.5, " hi")], [])
    assert segments[0].speaker is None and segments[0].text == "hi"


def test_speaker_over_a_span_is_the_one_who_talks_most_there() -> None:
    # 3.5-5.0: A talks 0.5 s of it (to 4.0), B 0.9 s (from 4.1).
    found = speaker_over([(3.5, 5.0)], TURNS)
    assert found is not None and found.speaker == "B" and found.seconds == pytest.approx(0.9)
    # 7.6-8.05: B talks 0.4 s (to 8.0) over A's 0.45 s: A, unless B is the current speaker (0.4 >= 0.8 * 0.45).
    assert speaker_over([(7.6, 8.05)], TURNS) == Talk("A", pytest.approx(0.45))
    assert speaker_over([(7.6, 8.05)], TURNS, prefer="B") == Talk("B", pytest.approx(0.4))
    # 7.5-8.4: B talks 0.5 s, A 0.8 s: too clear for B to keep it (0.5 < 0.8 * 0.8).
    assert speaker_over([(7.5, 8.4)], TURNS, prefer="B") == Talk("A", pytest.approx(0.8))
    # Overlapped speech counts for both; a tie goes to the speaker whose overlapping turn comes first.
    assert speaker_over([(7.6, 8.0)], TURNS) == Talk("B", pytest.approx(0.4))


def test_speaker_over_several_spans_adds_them_up() -> None:
    # A has the longest single stretch (0.6 s), B the most in all (0.5 + 0.5 s).
    assert speaker_over([(0.0, 0.6), (5.0, 5.5), (6.0, 6.5)], TURNS) == Talk("B", pytest.approx(1.0))
    assert speaker_over([(0.0, 0.6)], TURNS) == Talk("A", pytest.approx(0.6))


def test_speaker_over_a_span_nobody_talks_in_is_none() -> None:
    assert speaker_over([(4.0, 4.1)], TURNS) is None  # the gap between A and B
    assert speaker_over([(2.0, 2.0)], TURNS) is None  # an empty span
    assert speaker_over([(0.0, 9.0)], []) is None
    assert speaker_over([], TURNS) is None
