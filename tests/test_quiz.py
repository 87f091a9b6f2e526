"""Listening quizzes on real episodes: real audio through the real pipeline (tiny.en), so every gap sits on word
timestamps the recogniser produced, and a real publisher transcript without word timings."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from helpers import DATA
from podscope.errors import InputError, NotFound
from podscope.library import Library
from podscope.quiz import Quiz, Quizzes, generate_quiz, normal, singular, sound_key
from podscope.records import QUIZ_LEVELS, Word

NAME = "Diane Ortiz"


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    home = tmp_path_factory.mktemp("quiz-home")
    library = Library(home, settings={"asr_model": "tiny.en"})
    library.add_audio(DATA / "pyannote-sample" / "sample.wav", podcast="Phone Line", title="On the line")
    library.add_audio(DATA / "whisper" / "jfk.flac", podcast="Speeches", title="Inaugural")
    library.import_transcript(DATA / "transcripts" / "example.srt", podcast="Buzzsprout", title="Rookie mistakes")
    library.people.assign(1, "SPEAKER_00", NAME)
    yield library
    library.close()


@pytest.fixture(scope="module")
def quizzes(lib: Library) -> Quizzes:
    return lib.quizzes


def _words(lib: Library, episode_id: int) -> list[Word]:
    return [w for s in lib.transcript(episode_id).segments for w in s.words]


def _core(word: Word) -> str:
    return word.text.strip().strip(".,!?;:\"'“”")


def _all_quizzes(quizzes: Quizzes) -> Iterator[tuple[int, Quiz]]:
    for episode_id in (1, 2):
        for level in QUIZ_LEVELS:
            for seed in range(4):
                yield episode_id, quizzes.generate(episode_id, seed=seed, level=level, count=8)


@pytest.mark.models
def test_gap_answers_are_the_spoken_words_and_clips_are_cut_at_word_boundaries(lib: Library, quizzes: Quizzes) -> None:
    gaps = 0
    for episode_id, quiz in _all_quizzes(quizzes):
        words = _words(lib, episode_id)
        for q in quiz.questions:
            if q.kind != "gap":
                continue
            gaps += 1
            first = int(q.id.removeprefix("gap-"))  # the index of the gapped word among the episode's words
            last = first + len(q.answer_text.split()) - 1
            spoken = range(first, last + 1)
            assert (words[first].start, words[last].end) == pytest.approx((q.word_start, q.word_end), abs=1e-3)
            assert " ".join(_core(words[k]) for k in spoken) == q.answer_text
            assert q.options[q.answer_index] == q.answer_text
            assert q.prompt.count("____") == 1
            # the clip starts at a word 2-6 before the gap and ends at a word 1-3 after it, and holds the gap
            starts = [k for k, w in enumerate(words) if abs(w.start - q.clip_start) < 1e-3]
            ends = [k for k, w in enumerate(words) if abs(w.end - q.clip_end) < 1e-3]
            assert any(2 <= first - k <= 6 for k in starts), q
            assert any(1 <= k - last <= 3 for k in ends), q
            assert q.clip_start <= words[first].start and q.clip_end >= words[last].end
            assert 0 < q.clip_end - q.clip_start <= 12.0
    assert gaps >= 40


@pytest.mark.models
def test_distractors_are_never_another_right_answer(lib: Library, quizzes: Quizzes) -> None:
    for episode_id, quiz in _all_quizzes(quizzes):
        segments = lib.transcript(episode_id).segments
        for q in quiz.questions:
            if q.kind != "gap":
                continue
            segment = next(s for s in segments if s.words and abs(s.words[0].start - q.segment_start) < 1e-3)
            in_segment = {normal(_core(w)) for w in segment.words}
            assert len(set(q.options)) == 4 and len({normal(o) for o in q.options}) == 4
            answer = q.answer_text.split()
            for k, option in enumerate(q.options):
                if k == q.answer_index:
                    continue
                changed = [o for o, a in zip(option.split(), answer, strict=True) if o != a]
                assert len(changed) == 1, (option, q.answer_text)
                word = normal(changed[0])
                assert word not in in_segment, (word, q.prompt)
                assert singular(word) not in {singular(w) for w in in_segment}
                assert sound_key(word) not in {sound_key(a) for a in answer}  # no homophone


@pytest.mark.models
def test_the_same_seed_gives_the_same_quiz_and_another_seed_another(quizzes: Quizzes) -> None:
    a = quizzes.generate(1, seed=11, level="medium", count=6).to_dict()
    b = quizzes.generate(1, seed=11, level="medium", count=6).to_dict()
    c = quizzes.generate(1, seed=12, level="medium", count=6).to_dict()
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)
    assert json.loads(json.dumps(a))["questions"][0]["options"]


@pytest.mark.models
def test_who_said_it_offers_the_episodes_real_speakers_with_names(lib: Library, quizzes: Quizzes) -> None:
    quiz = quizzes.generate(1, seed=3, count=10, kinds=("who",))
    assert quiz.questions and all(q.kind == "who" for q in quiz.questions)
    segments = lib.transcript(1).segments
    for q in quiz.questions:
        assert sorted(q.options) == sorted([NAME, "SPEAKER_01"])
        said = next(s for s in segments if abs(s.start - q.segment_start) < 1e-3)
        assert q.answer_text == {"SPEAKER_00": NAME}.get(said.speaker or "", said.speaker)
        assert q.options[q.answer_index] == q.answer_text
    # one speaker: no "who said it?"
    assert all(q.kind == "gap" for q in quizzes.generate(2, seed=1, count=10).questions)


@pytest.mark.models
def test_answers_are_scored_and_progress_is_stored(quizzes: Quizzes) -> None:
    quiz = quizzes.generate(1, seed=5, level="easy", count=5)
    gaps = [q for q in quiz.questions if q.kind == "gap"]
    right, wrong = gaps[0], gaps[1]
    day1 = dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)
    day2 = dt.datetime(2025, 3, 2, 10, tzinfo=dt.UTC)
    assert quizzes.record_answer("ana", quiz, right.id, right.answer_index, at=day1).correct
    miss = (wrong.answer_index + 1) % 4
    attempt = quizzes.record_answer("ana", quiz, wrong.id, miss, at=day2)
    assert not attempt.correct and attempt.chosen_text == wrong.options[miss]
    result = quizzes.result("ana", quiz)
    assert (result.answered, result.correct, result.missed) == (2, 1, (wrong.answer_text,))
    progress = quizzes.progress("ana")
    assert (progress.attempts, progress.correct) == (2, 1)
    assert [(e.episode_id, e.title, e.attempts, e.correct) for e in progress.episodes] == [(1, "On the line", 2, 1)]
    assert [(d.day, d.attempts, d.correct) for d in progress.days] == [("2025-03-01", 1, 1), ("2025-03-02", 1, 0)]
    assert [(m.word, m.misses, m.confused_with) for m in progress.missed] == [
        (wrong.answer_text.lower(), 1, (wrong.options[miss],))
    ]
    assert json.loads(json.dumps(progress.to_dict()))["accuracy"] == 0.5
    with pytest.raises(NotFound, match="no quiz answers"):
        quizzes.progress("nobody")
    with pytest.raises(InputError, match="chosen option"):
        quizzes.record_answer("ana", quiz, right.id, 4)
    with pytest.raises(NotFound, match="no question"):
        quizzes.record_answer("ana", quiz, "gap-99999", 0)


@pytest.mark.models
def test_hard_gaps_are_rarer_and_longer_than_easy_ones(quizzes: Quizzes) -> None:
    lexicon = quizzes.lexicon()
    stats: dict[str, list[tuple[float, int]]] = {level: [] for level in QUIZ_LEVELS}
    for _episode_id, quiz in _all_quizzes(quizzes):
        for q in quiz.questions:
            if q.kind == "gap":
                word = max(q.answer_text.lower().split(), key=lexicon.rank)  # a phrase: its rarer word
                stats[quiz.level].append((math.log(lexicon.rank(word)), len(word)))

    def mean(level: str, k: int) -> float:
        return sum(s[k] for s in stats[level]) / len(stats[level])

    assert mean("hard", 0) > mean("easy", 0)
    assert mean("hard", 1) > mean("easy", 1)
    assert any(
        " " in q.answer_text for _, quiz in _all_quizzes(quizzes) if quiz.level == "hard" for q in quiz.questions
    )


@pytest.mark.models
def test_bad_input_gets_a_clear_message(lib: Library, quizzes: Quizzes) -> None:
    with pytest.raises(NotFound, match="no episode with id 99"):
        quizzes.generate(99, seed=1)
    with pytest.raises(InputError, match="count 0"):
        quizzes.generate(1, seed=1, count=0)
    with pytest.raises(InputError, match="level"):
        quizzes.generate(1, seed=1, level="expert")
    with pytest.raises(InputError, match="no word timings"):
        quizzes.generate(3, seed=1)
    with pytest.raises(InputError, match="no quiz question"):
        quizzes.generate(1, seed=1, start=0.0, end=1.0)
    who = quizzes.generate(3, seed=1, kinds=("who",))  # a publisher transcript still has its speakers
    assert who.questions and len(who.questions[0].options) >= 2
    window = quizzes.generate(1, seed=2, start=8.0, end=22.0, count=10)
    assert all(q.clip_start >= 8.0 and q.clip_end <= 22.0 for q in window.questions)
    # the pure function with an empty lexicon: no sound-alikes, so no gaps
    from podscope.quiz import build_lexicon

    with pytest.raises(InputError, match="no quiz question"):
        generate_quiz(lib.transcript(2), {}, seed=1, lexicon=build_lexicon(()))


@pytest.mark.models
def test_cli_writes_the_quiz_and_progress_as_json(lib: Library) -> None:
    env = {**os.environ, "PODSCOPE_ASR_MODEL": "tiny.en", "PODSCOPE_ALLOW_DOWNLOAD": "0"}
    exe = [sys.executable, "-m", "podscope", "--home", str(lib.home)]
    done = subprocess.run(
        [*exe, "quiz", "1", "--level", "hard", "--count", "4", "--seed", "9", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["episode_id"], data["seed"], data["level"]) == (1, 9, "hard")
    assert len(data["questions"]) == 4
    assert data == lib.quizzes.generate(1, seed=9, level="hard", count=4).to_dict()
    for q in data["questions"]:
        assert {"id", "kind", "prompt", "options", "answer_index", "clip_start", "clip_end", "answer_text"} <= set(q)
    text = subprocess.run([*exe, "quiz", "2", "--seed", "1"], capture_output=True, text=True, env=env, check=False)
    assert text.returncode == 0 and "seed 1" in text.stdout and "a) " in text.stdout
    bad = subprocess.run([*exe, "quiz", "3"], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 1 and "no word timings" in bad.stderr
    quiz = lib.quizzes.generate(2, seed=1, count=3)
    lib.quizzes.record_answer("bo", quiz, quiz.questions[0].id, quiz.questions[0].answer_index)
    done = subprocess.run([*exe, "quiz-progress", "bo", "--json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["episodes"][0]["episode_id"] == 2


def test_sound_keys_bring_sound_alikes_together() -> None:
    assert sound_key("phone") == sound_key("fone")
    assert sound_key("knight") == sound_key("nite") or sound_key("knight")[:1] == "n"
    assert sound_key("there") == sound_key("their")
    assert normal("Café,") == normal("cafe") and singular("countries") == "country"
