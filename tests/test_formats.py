"""Transcript formats: each writer's output read back by a third-party reader, round trips, and the real spec examples.

The real data are the Podcasting 2.0 transcript examples in tests/data/transcripts (CC0): a 12-minute Buzzsprout
episode as SRT (222 cues, three speakers), a WebVTT excerpt with CRLF line ends, and the spec's word-level JSON.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import srt
import webvtt
from pyannote.core import Segment as Span
from pyannote.core import Timeline
from pyannote.database.util import load_rttm

from helpers import DATA
from podscope import formats
from podscope.errors import FormatError
from podscope.formats import FORMATS, MEDIA_TYPES, READERS, read_json, read_srt, read_vtt, write
from podscope.records import Episode, EpisodeSpeaker, Segment, StoredTranscript, Turn, Word

TRANSCRIPTS = DATA / "transcripts"
LABELS = {"Travis": "SPEAKER_00", "Sarah": "SPEAKER_01", "Gilon": "SPEAKER_02"}
NAMES = {label: name for name, label in LABELS.items()}


def real_text(name: str) -> str:
    return (TRANSCRIPTS / name).read_bytes().decode("utf-8")  # bytes: keep example.vtt's CRLF line ends


def episode(id: int = 7, duration: float = 0.0) -> Episode:
    return Episode(
        id=id,
        podcast_id=1,
        podcast="Buzzsprout Podcasting Q&A",
        title="10 things we wish we knew",
        published=dt.date(2023, 3, 6),
        duration=duration,
        source="example.mp3",
        content_hash="0" * 64,
        status="done",
        language="en",
        asr_model=None,
        speaker_count=3,
        segment_count=0,
        created_at="2026-11-22",
    )


def transcript(segments: list[Segment], duration: float | None = None, turns: Sequence[Turn] = ()) -> StoredTranscript:
    """A stored transcript; without `turns`, one whose episode has no diarization turns."""
    timeline = sorted(turns, key=lambda t: t.start) or [Turn(s.start, s.end, s.speaker) for s in segments if s.speaker]
    speakers = tuple(
        EpisodeSpeaker(i, 7, label, sum(t.duration for t in timeline if t.speaker == label), None)
        for i, label in enumerate(sorted({t.speaker for t in timeline}))
    )
    end = max((s.end for s in segments), default=0.0)
    return StoredTranscript(
        episode(duration=end if duration is None else duration), speakers, tuple(segments), tuple(turns)
    )


@pytest.fixture(scope="module")
def real() -> StoredTranscript:
    """The real episode as podscope would store it: anonymous labels, named through speaker_names."""
    segments = read_srt(real_text("example.srt"))
    return transcript([Segment(s.start, s.end, LABELS[s.speaker or ""], s.text) for s in segments])


def timed(text: str, start: float, speaker: str | None, step: float = 0.4) -> Segment:
    """A segment with word timings as the recogniser gives them (leading spaces, short gaps)."""
    words = tuple(
        Word(start + k * step, start + k * step + step * 0.8, " " + w, speaker=speaker)
        for k, w in enumerate(text.split())
    )
    return Segment(words[0].start, words[-1].end, speaker, text, words)


LONG = (
    "I am your father, and this sentence goes on for much longer than one caption can hold, so it has to be "
    "cut into several cues at word boundaries."
)


@pytest.fixture(scope="module")
def small() -> StoredTranscript:
    return transcript(
        [
            timed("Applause and music.", 0.0, None),
            timed(LONG, 2.0, "SPEAKER_00"),
            timed('Nooooo, <script>alert("x")</script> & run!', 14.0, "SPEAKER_01"),
            timed("Rule: never split a word.", 18.0, "SPEAKER_02"),
            timed("Noted: thanks.", 21.0, "SPEAKER_02"),
            Segment(
                24.0,
                36.0,
                "SPEAKER_00",
                "A long answer without word timings, spread over twelve seconds of audio and sixteen words or so.",
            ),
        ]
    )


SMALL_NAMES = {"SPEAKER_00": "Darth Vader", "SPEAKER_02": "Tom & <Jerry>"}


def words_of(segments: list[Segment]) -> list[tuple[str | None, str]]:
    return [(s.speaker, w) for s in segments for w in s.text.split()]


def ms(seconds: float | dt.timedelta) -> int:
    if isinstance(seconds, dt.timedelta):
        return seconds // dt.timedelta(milliseconds=1)
    return round(seconds * 1000)


# --- readers on the real spec examples -----------------------------------------------------------------------------


def test_read_real_srt_names_speakers_from_prefixes_and_agrees_with_the_srt_package() -> None:
    text = real_text("example.srt")
    segments = read_srt(text)
    reference = list(srt.parse(text))
    assert len(segments) == len(reference) == 222
    assert {s.speaker for s in segments} == {"Travis", "Sarah", "Gilon"}
    turns = [s.speaker for k, s in enumerate(segments) if k == 0 or s.speaker != segments[k - 1].speaker]
    assert turns == ["Travis", "Sarah", "Travis", "Gilon", "Travis", "Gilon", "Travis", "Sarah", "Gilon", "Travis"]
    assert segments[0] == Segment(0.179, 2.399, "Travis", "When you first get started in podcasting, it's")
    assert segments[1].speaker == "Travis"  # a cue without a name continues the previous speaker
    for segment, cue in zip(segments, reference, strict=True):
        assert (ms(segment.start), ms(segment.end)) == (ms(cue.start), ms(cue.end))
        content = " ".join(cue.content.split())
        assert content == segment.text or content == f"{segment.speaker}: {segment.text}"


def test_read_real_vtt_with_crlf_voice_spans_and_character_references() -> None:
    text = real_text("example.vtt")
    assert "\r\n" in text
    segments = read_vtt(text)
    assert [s.speaker for s in segments] == ["Sarah"] * 5 + ["Gillian"] * 2
    assert segments[2].text == "include in one? Welcome to Podcasting Q&A, where you learn"
    captions = webvtt.from_string(text).captions
    assert len(captions) == len(segments)
    for segment, caption in zip(segments, captions, strict=True):
        assert (ms(segment.start), ms(segment.end)) == (
            caption.start_time.in_milliseconds(),
            caption.end_time.in_milliseconds(),
        )
        assert segment.speaker == caption.voice
        assert segment.text == html.unescape(caption.text)


def test_read_real_json_word_level_entries() -> None:
    segments = read_json(real_text("example.json"))
    assert [(s.speaker, s.start, s.end, s.text) for s in segments] == [
        ("Darth Vader", 0.5, 0.75, "I"),
        ("Darth Vader", 1.0, 1.25, "am"),
        ("Darth Vader", 1.5, 2.0, "your"),
        ("Darth Vader", 2.25, 2.5, "father."),
        ("Luke", 2.75, 3.0, "Nooooo"),
    ]


# --- SRT -----------------------------------------------------------------------------------------------------------


def test_srt_follows_the_podcasting_spec_limits_and_names_each_turn(real: StoredTranscript) -> None:
    text = write(real, "srt", NAMES)
    cues = list(srt.parse(text))
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    assert re.search(r"^00:00:00,179 --> 00:00:0\d,\d{3}$", text, re.MULTILINE)
    named = []
    for cue in cues:
        lines = cue.content.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 32 for line in lines), lines
        assert (cue.end - cue.start).total_seconds() <= 7.0
        match = re.match(r"(Travis|Sarah|Gilon): ", cue.content)
        if match:
            named.append(match[1])
    assert named == ["Travis", "Sarah", "Travis", "Gilon", "Travis", "Gilon", "Travis", "Sarah", "Gilon", "Travis"]
    assert [c.start for c in cues] == sorted(c.start for c in cues)
    spoken = " ".join(re.sub(r"^(Travis|Sarah|Gilon): ", "", c.content) for c in cues).split()
    assert spoken == [w for s in real.segments for w in s.text.split()]


def test_srt_cuts_long_segments_at_word_times(small: StoredTranscript) -> None:
    cues = list(srt.parse(formats.srt.write(small, SMALL_NAMES)))
    long = small.segments[1]
    inside = [c for c in cues if long.start <= c.start.total_seconds() < long.end]
    assert len(inside) >= 3
    starts = {ms(long.start)} | {ms(w.start) for w in long.words}
    ends = {ms(long.end)} | {ms(w.end) for w in long.words}
    for cue in inside:
        assert ms(cue.start) in starts and ms(cue.end) in ends
        assert (cue.end - cue.start).total_seconds() <= 7.0
    assert inside[0].content.startswith("Darth Vader: I am")
    assert ms(inside[0].start) == ms(long.start)
    assert ms(inside[-1].end) == ms(long.end)


def test_srt_spreads_times_by_characters_without_word_times(small: StoredTranscript) -> None:
    plain = small.segments[-1]
    cues = [c for c in srt.parse(formats.srt.write(small)) if c.start.total_seconds() >= plain.start]
    assert len(cues) >= 2
    assert ms(cues[0].start) == ms(plain.start) and ms(cues[-1].end) == ms(plain.end)
    for a, b in itertools.pairwise(cues):
        assert a.end == b.start  # proportional pieces tile the segment
    assert all((c.end - c.start).total_seconds() <= 7.0 for c in cues)


def test_srt_names_a_cue_whose_text_would_read_as_a_name(small: StoredTranscript) -> None:
    text = formats.srt.write(small, SMALL_NAMES)
    contents = [" ".join(cue.content.split()) for cue in srt.parse(text)]
    assert "Tom & <Jerry>: Rule: never split a word." in contents
    assert "Tom & <Jerry>: Noted: thanks." in contents  # same speaker, but "Noted:" alone would read as a new name
    assert [s.text for s in read_srt(text) if s.text.startswith(("Rule", "Noted"))] == [
        "Rule: never split a word.",
        "Noted: thanks.",
    ]


# --- WebVTT --------------------------------------------------------------------------------------------------------


def test_vtt_voice_spans_and_times_read_by_webvtt_py(real: StoredTranscript) -> None:
    text = write(real, "vtt", NAMES)
    assert text.startswith("WEBVTT\n\n")
    assert re.search(r"^00:00:00\.179 --> 00:00:02\.399$", text, re.MULTILINE)
    captions = webvtt.from_string(text).captions
    ours = read_vtt(text)
    assert len(captions) == len(ours) >= len(real.segments)
    for caption, segment in zip(captions, ours, strict=True):
        assert caption.voice == segment.speaker and caption.voice in NAMES.values()
        assert (caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()) == (
            ms(segment.start),
            ms(segment.end),
        )
        assert all(len(line) <= 65 for line in caption.text.split("\n"))
        assert caption.end_in_seconds - caption.start_in_seconds <= 7
    # every source segment boundary survives the splitting
    assert {ms(s.start) for s in real.segments} <= {ms(s.start) for s in ours}
    assert {ms(s.end) for s in real.segments} <= {ms(s.end) for s in ours}


def test_vtt_escapes_text_and_speaker_names(small: StoredTranscript) -> None:
    text = write(small, "vtt", SMALL_NAMES)
    assert "<script>" not in text and '&lt;script&gt;alert("x")&lt;/script&gt; &amp; run!' in text
    assert "<v Tom &amp; &lt;Jerry&gt;>Rule: never split a word." in text
    captions = webvtt.from_string(text).captions
    assert [html.unescape(c.voice) for c in captions if c.voice and "Jerry" in c.voice] == ["Tom & <Jerry>"] * 2
    segments = read_vtt(text)
    assert segments[0].speaker is None and segments[0].text == "Applause and music."
    assert ("SPEAKER_01", 'Nooooo, <script>alert("x")</script> & run!') in [(s.speaker, s.text) for s in segments]
    assert {s.speaker for s in segments} == {None, "Darth Vader", "SPEAKER_01", "Tom & <Jerry>"}


# --- RTTM ----------------------------------------------------------------------------------------------------------


def speech_by_speaker(segments: tuple[Segment, ...], names: dict[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for label in {s.speaker for s in segments if s.speaker is not None}:
        timeline = Timeline([Span(s.start, s.end) for s in segments if s.speaker == label])
        out["_".join(names.get(label, label).split())] = timeline.support().duration()
    return out


def test_rttm_total_speech_per_speaker_read_by_pyannote(real: StoredTranscript, tmp_path: Path) -> None:
    path = tmp_path / "episode.rttm"
    path.write_text(write(real, "rttm", NAMES))
    annotations = load_rttm(str(path))
    assert list(annotations) == ["episode-7"]
    annotation = annotations["episode-7"]
    expected = speech_by_speaker(real.segments, NAMES)
    assert set(annotation.labels()) == set(expected) == {"Travis", "Sarah", "Gilon"}
    lines = path.read_text().splitlines()
    for label, seconds in expected.items():
        assert annotation.label_duration(label) == pytest.approx(seconds, abs=0.001 * len(lines))
    assert all(re.fullmatch(r"SPEAKER episode-7 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> \S+ <NA> <NA>", x) for x in lines)


def test_rttm_one_line_per_turn_single_token_names_and_no_unknown_speaker(
    real: StoredTranscript, small: StoredTranscript, tmp_path: Path
) -> None:
    # The real cues leave pauses of up to 0.63 s inside a turn: bridging pauses under a second, each turn is one line.
    assert len(formats.rttm.write(real, NAMES, max_gap=1.0).splitlines()) == 10
    path = tmp_path / "small.rttm"
    path.write_text(formats.rttm.write(small, SMALL_NAMES, file_id="my episode"))
    annotation = load_rttm(str(path))["my_episode"]
    assert set(annotation.labels()) == {"Darth_Vader", "SPEAKER_01", "Tom_&_<Jerry>"}
    expected = speech_by_speaker(small.segments, SMALL_NAMES)
    for label, seconds in expected.items():
        assert annotation.label_duration(label) == pytest.approx(seconds, abs=0.005)
    # "Rule: ..." and "Noted: ..." are two segments of one speaker with a pause between: two lines, not merged
    assert [line.split()[7] for line in path.read_text().splitlines()] == [
        "Darth_Vader",
        "SPEAKER_01",
        "Tom_&_<Jerry>",
        "Tom_&_<Jerry>",
        "Darth_Vader",
    ]


def test_rttm_merges_touching_segments_of_one_speaker() -> None:
    segments = [
        Segment(1.0, 2.0, "A", "one"),
        Segment(2.0, 3.5, "A", "two"),
        Segment(3.2, 4.0, "B", "three"),
        Segment(4.0, 5.0, "A", "four"),
    ]
    assert formats.rttm.write(transcript(segments)).splitlines() == [
        "SPEAKER episode-7 1 1.000 2.500 <NA> <NA> A <NA> <NA>",
        "SPEAKER episode-7 1 3.200 0.800 <NA> <NA> B <NA> <NA>",
        "SPEAKER episode-7 1 4.000 1.000 <NA> <NA> A <NA> <NA>",
    ]


def test_rttm_comes_from_the_turns_with_a_speaker_who_has_no_words(tmp_path: Path) -> None:
    # SPEAKER_02 talks from 6 to 7.5 s but the recogniser caught nothing there: no segment is theirs.
    segments = [Segment(0.5, 2.8, "SPEAKER_00", "Hello and welcome."), Segment(3.2, 5.5, "SPEAKER_01", "Thanks.")]
    turns = [Turn(0.4, 3.0, "SPEAKER_00"), Turn(3.1, 5.8, "SPEAKER_01"), Turn(6.0, 7.5, "SPEAKER_02")]
    stored = transcript(segments, turns=turns)
    assert stored.timeline == tuple(turns)
    path = tmp_path / "turns.rttm"
    path.write_text(write(stored, "rttm", {"SPEAKER_00": "Jane Doe", "SPEAKER_02": "Sam Roe"}))
    assert path.read_text().splitlines() == [
        "SPEAKER episode-7 1 0.400 2.600 <NA> <NA> Jane_Doe <NA> <NA>",
        "SPEAKER episode-7 1 3.100 2.700 <NA> <NA> SPEAKER_01 <NA> <NA>",
        "SPEAKER episode-7 1 6.000 1.500 <NA> <NA> Sam_Roe <NA> <NA>",
    ]
    annotation = load_rttm(str(path))["episode-7"]
    assert annotation.label_duration("Sam_Roe") == pytest.approx(1.5)
    assert annotation.label_duration("Jane_Doe") == pytest.approx(2.6)  # the turn, not the 2.3 s of words


def test_rttm_overlapping_turns_are_overlapping_lines_and_one_speakers_touching_turns_merge(tmp_path: Path) -> None:
    turns = [
        Turn(0.0, 4.0, "A"),
        Turn(3.5, 5.0, "B"),  # B starts before A stops: overlapped speech
        Turn(4.0, 6.0, "A"),  # touches A's first turn, with B's turn started in between: still one line
        Turn(5.5, 6.5, "A"),  # overlaps A's line: merged
        Turn(6.8, 8.0, "A"),  # a pause: a new line
    ]
    stored = transcript([Segment(0.2, 3.0, "A", "Words.")], turns=turns)
    path = tmp_path / "overlap.rttm"
    path.write_text(formats.rttm.write(stored))
    assert path.read_text().splitlines() == [
        "SPEAKER episode-7 1 0.000 6.500 <NA> <NA> A <NA> <NA>",
        "SPEAKER episode-7 1 3.500 1.500 <NA> <NA> B <NA> <NA>",
        "SPEAKER episode-7 1 6.800 1.200 <NA> <NA> A <NA> <NA>",
    ]
    annotation = load_rttm(str(path))["episode-7"]
    assert annotation.get_overlap().duration() == pytest.approx(1.5)
    assert annotation.label_duration("A") == pytest.approx(7.7)
    # max_gap bridges a pause only when nobody else speaks in it
    bridged = formats.rttm.write(stored, max_gap=0.5).splitlines()
    assert [line.split()[3:5] for line in bridged] == [["0.000", "8.000"], ["3.500", "1.500"]]
    interrupted = transcript([], turns=[*turns, Turn(6.6, 6.7, "B")])
    assert len(formats.rttm.write(interrupted, max_gap=0.5).splitlines()) == 4


def test_rttm_without_turns_falls_back_to_the_segments(small: StoredTranscript) -> None:
    assert small.turns == ()
    assert [(t.start, t.speaker) for t in small.timeline] == [
        (s.start, s.speaker) for s in small.segments if s.speaker is not None
    ]
    # two labels named as one person: their touching turns are one line, as with segments
    stored = transcript([Segment(0.0, 1.0, "A", "one"), Segment(1.0, 2.0, "B", "two"), Segment(2.0, 3.0, None, "x")])
    assert formats.rttm.write(stored, {"A": "Ann", "B": "Ann"}).splitlines() == [
        "SPEAKER episode-7 1 0.000 2.000 <NA> <NA> Ann <NA> <NA>"
    ]


# --- JSON ----------------------------------------------------------------------------------------------------------


def test_json_matches_the_transcript_schema(real: StoredTranscript) -> None:
    data = json.loads(write(real, "json", NAMES))
    assert set(data) == {"version", "segments"} and data["version"] == "1.0.0"
    assert len(data["segments"]) == len(real.segments)
    for entry, segment in zip(data["segments"], real.segments, strict=True):
        assert list(entry) == ["speaker", "startTime", "endTime", "body"]
        assert isinstance(entry["startTime"], float | int) and isinstance(entry["endTime"], float | int)
        assert 0 <= entry["startTime"] <= entry["endTime"]
        assert entry["speaker"] == NAMES[segment.speaker or ""] and entry["body"] == segment.text


def test_json_word_level_entries_and_segments_without_speaker(small: StoredTranscript) -> None:
    data = json.loads(formats.json.write(small, SMALL_NAMES, words=True))
    entries = data["segments"]
    n_words = sum(len(s.words) for s in small.segments if s.words)
    assert len(entries) == n_words + 1  # the last segment has no word times and stays whole
    assert all("speaker" not in e for e in entries[:3]) and entries[0]["body"] == "Applause"
    assert entries[3] == {"speaker": "Darth Vader", "startTime": 2.0, "endTime": 2.32, "body": "I"}
    assert entries[-1]["body"].startswith("A long answer")
    assert read_json(json.dumps(data))[3] == Segment(2.0, 2.32, "Darth Vader", "I")


# --- round trips ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "vtt", "srt"])
@pytest.mark.parametrize("which", ["real", "small"])
def test_round_trip_keeps_speakers_times_and_text(fmt: str, which: str, request: pytest.FixtureRequest) -> None:
    source: StoredTranscript = request.getfixturevalue(which)
    names = NAMES if which == "real" else SMALL_NAMES
    first = formats.read(write(source, fmt, names), fmt)
    expected = [(names.get(s or "", s), w) for s, w in words_of(list(source.segments))]
    assert words_of(first) == expected
    if fmt == "json":  # one entry per segment: exact
        assert [(ms(s.start), ms(s.end)) for s in first] == [(ms(s.start), ms(s.end)) for s in source.segments]
    else:  # captions cut segments, but every cue lies inside its segment and every segment boundary survives
        assert {ms(s.start) for s in source.segments} <= {ms(s.start) for s in first}
        assert {ms(s.end) for s in source.segments} <= {ms(s.end) for s in first}
        assert all(any(ms(o.start) <= ms(c.start) <= ms(c.end) <= ms(o.end) for o in source.segments) for c in first)
    # Written again, what was read is a fixed point: same segments, to the millisecond.
    second = formats.read(write(transcript(first), fmt), fmt)
    assert [(s.speaker, ms(s.start), ms(s.end), s.text) for s in second] == [
        (s.speaker, ms(s.start), ms(s.end), s.text) for s in first
    ]


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_a_segment_without_speaker_after_a_named_one_reads_as_that_speaker(fmt: str) -> None:
    # Captions only say when the speaker changes; "nobody" cannot be said, so an unknown speaker continues the last.
    source = transcript([Segment(0.0, 1.0, "A", "Hello there."), Segment(1.5, 2.0, None, "Laughter.")])
    assert [s.speaker for s in formats.read(write(source, fmt), fmt)] == ["A", "A"]
    assert [s.speaker for s in read_json(write(source, "json"))] == ["A", None]


# --- txt and md ----------------------------------------------------------------------------------------------------


def test_txt_one_line_per_segment(real: StoredTranscript, small: StoredTranscript) -> None:
    lines = write(real, "txt", NAMES).splitlines()
    assert len(lines) == len(real.segments)
    assert lines[0] == "[00:00:00] Travis: When you first get started in podcasting, it's"
    assert all(re.fullmatch(r"\[\d\d:\d\d:\d\d\] (Travis|Sarah|Gilon): \S.*", line) for line in lines)
    assert lines[-1].startswith("[00:12:32] Travis: ")
    small_lines = write(small, "txt").splitlines()  # no names: the labels themselves
    assert small_lines[0] == "[00:00:00] Applause and music."
    assert small_lines[1].startswith("[00:00:02] SPEAKER_00: I am your father")


def test_md_title_speakers_and_turns(real: StoredTranscript) -> None:
    text = write(real, "md", NAMES)
    lines = text.splitlines()
    assert lines[0] == "# 10 things we wish we knew"
    assert "- **Podcast:** Buzzsprout Podcasting Q&amp;A" in lines
    assert "- **Published:** 2023-03-06" in lines and "- **Duration:** 12:35" in lines
    speakers = [line for line in lines if re.fullmatch(r"- \*\*\w+\*\*: \d+:\d\d", line)]
    assert [re.findall(r"\*\*(\w+)\*\*", line)[0] for line in speakers] == ["Travis", "Gilon", "Sarah"]
    headers = [line for line in lines if line.startswith("**[")]
    assert len(headers) == 10 and headers[0] == "**[00:00:00] Travis**" and headers[1] == "**[00:00:53] Sarah**"
    body = " ".join(line for line in lines if line and not line.startswith(("#", "-", "**")))
    assert body.split() == [w for s in real.segments for w in s.text.split()]


def test_md_escapes_markup(small: StoredTranscript) -> None:
    text = write(small, "md", {**SMALL_NAMES, "SPEAKER_01": "*Luke*"})
    assert "<script>" not in text and "<Jerry>" not in text
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; run!' in text
    assert "**[00:00:18] Tom &amp; &lt;Jerry&gt;**" in text and r"**[00:00:14] \*Luke\***" in text
    assert "**[00:00:00]**\n\nApplause and music." in text


# --- the facade ----------------------------------------------------------------------------------------------------


def test_formats_and_media_types() -> None:
    assert list(FORMATS) == ["txt", "json", "srt", "vtt", "rttm", "md"]
    assert set(MEDIA_TYPES) == set(FORMATS) and set(READERS) == {"json", "srt", "vtt"}
    assert MEDIA_TYPES["vtt"].mime_type == "text/vtt" and MEDIA_TYPES["vtt"].extension == ".vtt"
    assert MEDIA_TYPES["srt"].mime_type == "application/x-subrip"
    assert MEDIA_TYPES["json"].content_type == "application/json; charset=utf-8"


def test_unknown_format_lists_the_accepted_ones(small: StoredTranscript) -> None:
    with pytest.raises(FormatError, match=r"'docx'.*txt, json, srt, vtt, rttm, md"):
        write(small, "docx")
    with pytest.raises(FormatError, match="json, srt, vtt"):
        formats.read("", "txt")
    assert write(small, " SRT ") == write(small, "srt")
    with pytest.raises(FormatError, match="Caption limits must be positive"):
        formats.vtt.write(small, max_line_length=0)


@pytest.mark.parametrize(
    ("reader", "text", "message"),
    [
        (read_json, "not json at all", "not valid JSON"),
        (read_json, '{"version": "1.0.0", "segments": 3}', '"segments" list'),
        (read_json, '{"segments": ["hello"]}', "segment 1 is not an object"),
        (read_json, '{"segments": [{"body": "hi"}]}', "segment 1 has no startTime"),
        (read_json, '{"segments": [{"startTime": "soon"}]}', "unreadable startTime"),
        (read_srt, "Hello, this is a plain text file.\n", "not a SubRip"),
        (read_srt, real_text("example.json"), "not a SubRip"),
        (read_srt, "1\n00:00:01,000 --> later\nHi\n", "time line 2 is unreadable"),
        (read_vtt, real_text("example.srt"), "first line must be 'WEBVTT'"),
        (read_vtt, "WEBVTT\n\n00:01.000 --> 00:xx.000\nHi\n", "time line 3 is unreadable"),
    ],
)
def test_readers_reject_garbage_with_a_sentence(reader: object, text: str, message: str) -> None:
    assert callable(reader)
    with pytest.raises(FormatError, match=re.escape(message)):
        reader(text)


def test_readers_are_lenient_on_values() -> None:
    srt_text = (
        "\ufeff00:00:01.5 --> 00:00:03,250\r\n<i>Dr. Jane Smith:</i> Hello\r\n\r\nthere.\r\n"
        "2\r\n00:00:04,000 --> 00:00:05,000 X1:0\r\nStill me.\r\n\r\n"
        "3\r\n00:00:05,000 --> 00:00:06,000\r\nSo here's the thing: no name.\r\n"
    )
    assert [(s.speaker, s.start, s.end, s.text) for s in read_srt(srt_text)] == [
        ("Dr. Jane Smith", 1.5, 3.25, "Hello there."),
        ("Dr. Jane Smith", 4.0, 5.0, "Still me."),
        ("Dr. Jane Smith", 5.0, 6.0, "So here's the thing: no name."),
    ]
    vtt_text = (
        "WEBVTT - a title\nKind: captions\n\nNOTE made by hand\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start\n<v.loud Luke Skywalker>No<00:01.500>, <c.x>never</c>"
        "&nbsp;&#33;</v>\n\n00:03.000 --> 00:04.000\nThat's not true.\n"
    )
    assert [(s.speaker, s.start, s.end, s.text) for s in read_vtt(vtt_text)] == [
        ("Luke Skywalker", 1.0, 2.5, "No, never !"),
        ("Luke Skywalker", 3.0, 4.0, "That's not true."),
    ]
    json_text = '[{"startTime": "1.5", "body": "a"}, {"startTime": "00:00:03.000", "endTime": 4, "speaker": " "}]'
    assert read_json(json_text) == [Segment(1.5, 3.0, None, "a"), Segment(3.0, 4.0, None, "")]
    assert read_srt("") == [] and read_vtt("WEBVTT\n") == [] and read_json('{"segments": []}') == []


def test_unspaced_scripts_are_cut_into_lines_without_gaining_spaces() -> None:
    text = "这是一个没有空格的中文句子它很长很长很长很长很长很长很长很长很长很长很长很长的句子"
    source = transcript([Segment(0.0, 6.0, "A", text)])
    srt_text = write(source, "srt")
    assert all(len(line) <= 32 for cue in srt.parse(srt_text) for line in cue.content.split("\n"))
    assert "".join(s.text for s in read_srt(srt_text)) == text
    assert "".join(s.text for s in read_vtt(write(source, "vtt"))) == text
