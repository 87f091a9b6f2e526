"""Stage timing as a progress hook: a StageTimer times the stages it hears about and passes progress on."""

from __future__ import annotations

import time

import pytest

from podscope.pipeline import PipelineReport, StageTimer
from podscope.records import Stage


def test_a_stage_is_timed_from_its_start_to_its_end_and_progress_goes_on() -> None:
    clock = iter([0.0, 1.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 7.25, 8.0, 9.0, 9.5])  # the timer is made at 0.0
    heard: list[tuple[Stage, float, float]] = []
    report = PipelineReport()
    timer = StageTimer(report, lambda stage, done, total: heard.append((stage, done, total)), clock=clock.__next__)
    calls: list[tuple[Stage, float, float]] = [
        ("decode", 0, 1),  # 1.0
        ("decode", 1, 1),  # 3.5
        ("diarize+transcribe", 0, 1),  # 4.0
        ("diarize", 0, 1),  # 4.5
        ("transcribe", 0, 30),  # 5.0
        ("segmentation", 10, 10),  # 6.0: part of "diarize", not timed on its own
        ("transcribe", 30, 30),  # 7.0
        ("transcribe", 30, 30),  # 7.25: the last end counts
        ("diarize", 1, 1),  # 8.0
        ("diarize+transcribe", 1, 1),  # 9.0
    ]
    for call in calls:
        timer(*call)
    assert report.stage_seconds == {
        "decode": 2.5,
        "transcribe": 2.25,
        "diarize": 3.5,
        "diarize+transcribe": 5.0,
    }
    # The span stages are only timed: no progress bar shows them.
    assert heard == [c for c in calls if c[0] not in ("diarize", "diarize+transcribe")]
    assert timer.elapsed() == 9.5


def test_a_stage_that_never_ends_or_never_started_is_not_timed() -> None:
    report = PipelineReport()
    timer = StageTimer(report)  # no hook to pass progress to
    timer("align", 0, 1)
    timer("index", 1, 1)
    timer("clustering", 0, 1)
    timer("clustering", 1, 1)
    assert report.stage_seconds == {}


def test_the_real_clock_times_a_stage() -> None:
    report = PipelineReport()
    timer = StageTimer(report)
    timer("store", 0, 1)
    time.sleep(0.05)
    timer("store", 1, 1)
    assert report.stage_seconds["store"] == pytest.approx(0.05, abs=0.04)
    assert timer.elapsed() >= report.stage_seconds["store"]
