"""Generating a quiz from a transcript: gappable words and their difficulty, the level's band, clips cut at word
boundaries, tempting but wrong distractors, and "who said it?" questions."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podscope.errors import Conflict, InputError
from podscope.quiz.lexicon import (
    ALPHA,
    CORE,
    FUNCTION_WORDS,
    Lexicon,
    build_lexicon,
    edit_distance,
    general_words,
    normal,
    singular,
    sound_key,
    spelling_distance,
)
from podscope.quiz.records import Question, Quiz
from podscope.records import QUESTION_KINDS, QUIZ_LEVELS, StoredTranscript, Word

KINDS = QUESTION_KINDS
OPTIONS = 4
MAX_CLIP_SECONDS = 12.0
MIN_WORD_SECONDS = 0.05  # a word shorter than this has no usable timing (the recogniser squeezed it)
MIN_PROBABILITY = 0.5  # a word the recogniser was unsure of may not be what was said: never gapped
GAP = "____"
FILLERS = frozenset({"um", "uh", "er", "ah", "hmm", "mm", "oh", "yeah", "okay", "ok"})


@dataclass(frozen=True)
class _Slot:
    """A word of the episode in reading order, with where it sits."""

    word: Word
    segment: int
    position: int  # within its segment
    core: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class _Target:
    first: int  # slot indices of the gapped word(s)
    last: int
    difficulty: float


def _slots(transcript: StoredTranscript) -> list[_Slot]:
    out = []
    for s, segment in enumerate(transcript.segments):
        for p, w in enumerate(segment.words):
            m = CORE.match(w.text.strip())
            prefix, core, suffix = m.groups() if m else ("", w.text.strip(), "")
            out.append(_Slot(w, s, p, core, prefix, suffix))
    return out


def _gappable(slots: Sequence[_Slot], i: int) -> bool:
    slot = slots[i]
    w = slot.word
    if not ALPHA.match(slot.core) or len(slot.core) < 2 or slot.core.lower() in FILLERS:
        return False
    if w.end - w.start < MIN_WORD_SECONDS or w.probability < MIN_PROBABILITY:
        return False
    sentence_start = slot.position == 0 or slots[i - 1].suffix.endswith((".", "?", "!"))
    return not (slot.core[0].isupper() and not sentence_start)  # a name: its sound-alikes would not be plausible


def _percentiles(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda k: values[k])
    out = [0.0] * len(values)
    for r, k in enumerate(order):
        out[k] = r / max(len(values) - 1, 1)
    return out


def _targets(slots: Sequence[_Slot], lexicon: Lexicon, level: str, rng: random.Random) -> list[_Target]:
    """Gappable words (and, at hard, two-word phrases) with a difficulty: rarity, length and speed of speech."""
    singles = [i for i in range(len(slots)) if _gappable(slots, i)]
    content = [i for i in singles if slots[i].core.lower() not in FUNCTION_WORDS]
    pick = content if len(content) >= 3 else singles
    if not pick:
        return []
    rarity = _percentiles([math.log(lexicon.rank(slots[i].core.lower())) for i in pick])
    length = _percentiles([float(len(slots[i].core)) for i in pick])
    # seconds per letter: a slowly spoken word is easier to catch
    speed = _percentiles([-(slots[i].word.end - slots[i].word.start) / len(slots[i].core) for i in pick])
    out = []
    for n, i in enumerate(pick):
        difficulty = 0.5 * rarity[n] + 0.25 * length[n] + 0.25 * speed[n]
        last = i
        if (
            level == "hard"
            and i + 1 < len(slots)
            and slots[i + 1].segment == slots[i].segment
            and not slots[i].suffix
            and _gappable(slots, i + 1)
            and rng.random() < 0.5
        ):
            last = i + 1
        out.append(_Target(i, last, difficulty))
    return out


def _band(targets: list[_Target], level: str) -> list[_Target]:
    """The targets in the level's third of the difficulty order, nearest first when that third runs short."""
    ordered = sorted(targets, key=lambda t: (t.difficulty, t.first))
    n = len(ordered)
    centre = {"easy": n / 6, "medium": n / 2, "hard": n - n / 6}[level]
    ranked = sorted(range(n), key=lambda r: (abs(r + 0.5 - centre), ordered[r].first))
    return [ordered[r] for r in ranked]


def _clip(
    slots: Sequence[_Slot], target: _Target, rng: random.Random, start: float | None, end: float | None
) -> tuple[int, int] | None:
    """Slot indices of the clip's first and last words, or None when no clip of 2-6 words before and 1-3 after fits
    in 12 s and the window."""
    before, after = rng.randint(2, 6), rng.randint(1, 3)
    while True:
        lo, hi = target.first - before, target.last + after
        if lo < 0 and before > 2:
            before -= 1
            continue
        if hi >= len(slots) and after > 1:
            after -= 1
            continue
        if lo < 0 or hi >= len(slots):
            return None
        cs, ce = slots[lo].word.start, slots[hi].word.end
        too_long = ce - cs > MAX_CLIP_SECONDS
        outside = (start is not None and cs < start) or (end is not None and ce > end)
        if not (too_long or outside):
            break
        if before > 2 and (too_long or (start is not None and cs < start)):
            before -= 1
        elif after > 1:
            after -= 1
        else:
            return None
    if not (cs <= slots[target.first].word.start and ce >= slots[target.last].word.end and cs < ce):
        return None
    return lo, hi


def _sound_alikes(word: str, exclude: set[str], lexicon: Lexicon) -> list[tuple[str, float]]:
    """Distractor candidates for one word, closest-sounding (and similarly frequent) first."""
    key = sound_key(word)
    rank = lexicon.rank(word)
    banned_singular = {singular(e) for e in exclude}
    scored = []
    for k in lexicon.candidates(word, key):
        cand, ckey = lexicon.pool[k], lexicon.keys[k]
        if cand in exclude or singular(cand) in banned_singular or ckey == key:
            continue  # the answer in another form, a word of the segment, or a homophone
        sound = edit_distance(key, ckey) / max(len(key), len(ckey))
        sound -= 0.15 * (ckey[:1] == key[:1]) + 0.15 * (ckey[-2:] == key[-2:])
        frequency = abs(math.log(lexicon.rank(cand)) - math.log(rank))
        scored.append((cand, sound + 0.12 * frequency + 0.05 * abs(len(cand) - len(word))))
    scored.sort(key=lambda cs: (cs[1], cs[0]))
    return scored


_WINDOWS = {"hard": (0, 10), "medium": (3, 14), "easy": (10, 22)}


def _choose(answer: str, pool: Sequence[str], rng: random.Random) -> list[str] | None:
    """Three distractors from `pool` such that the answer is the option most similar in spelling to the others in a
    quarter of the questions only, and the longest option in a quarter only: the odd-one-out tricks then do no
    better than chance. Among the sets that do that, the closest-sounding wins."""
    if len(pool) < OPTIONS - 1:
        return None
    central_wanted, longest_wanted = rng.random() < 1 / OPTIONS, rng.random() < 1 / OPTIONS
    words = [answer, *pool]
    dist = [[spelling_distance(a, b) for b in words] for a in words]
    best: tuple[float, list[int]] | None = None
    for triple in itertools.combinations(range(1, len(words)), OPTIONS - 1):
        members = (0, *triple)
        total = {m: sum(dist[m][o] for o in members if o != m) for m in members}
        central = all(total[0] < total[m] for m in triple)
        beaten = any(total[m] < total[0] for m in triple)
        longest = all(len(answer) > len(words[m]) for m in triple)
        outrun = any(len(words[m]) > len(answer) for m in triple)
        cost = (0.0 if (central if central_wanted else beaten) else 1.0) + (
            0.0 if (longest if longest_wanted else outrun) else 1.0
        )
        cost += 0.01 * sum(triple)
        if best is None or cost < best[0]:
            best = (cost, list(triple))
    assert best is not None
    return [words[m] for m in best[1]]


def _cased(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _gap_question(
    slots: Sequence[_Slot],
    target: _Target,
    clip: tuple[int, int],
    segment_slots: Sequence[int],
    lexicon: Lexicon,
    level: str,
    rng: random.Random,
) -> Question | None:
    span = slots[target.first : target.last + 1]
    answer = " ".join(s.core for s in span)
    exclude = {normal(slots[k].core) for k in segment_slots}
    # The word that changes in a phrase is its rarer one; the other stays, so every option reads as a phrase.
    pivot = max(range(len(span)), key=lambda k: (lexicon.rank(span[k].core.lower()), -k))
    word = span[pivot].core.lower()
    lo, hi = _WINDOWS[level]
    alikes = [c for c, _ in _sound_alikes(word, exclude | {word}, lexicon)]
    if len(alikes) < OPTIONS - 1:
        return None
    if len(alikes) < hi:  # too few to keep the level's distance: take the furthest window that exists
        lo, hi = max(0, len(alikes) - (hi - lo)), len(alikes)
    window = alikes[lo:hi]
    chosen = _choose(word, window, rng)
    if chosen is None:
        return None
    options = []
    for w in [word, *chosen]:
        parts = [s.core for s in span]
        parts[pivot] = _cased(w, span[pivot].core)
        options.append(" ".join(parts))
    if len({normal(o) for o in options}) < OPTIONS:
        return None
    order = list(range(OPTIONS))
    rng.shuffle(order)
    shuffled = tuple(options[k] for k in order)
    words = [slots[k] for k in segment_slots]
    text = []
    for k in segment_slots:
        if k == target.first:
            text.append(f"{slots[k].prefix}{GAP}{span[-1].suffix}")
        elif target.first < k <= target.last:
            continue
        else:
            text.append(slots[k].word.text.strip())
    a, b = clip
    return Question(
        id=f"gap-{target.first}",
        kind="gap",
        prompt=" ".join(text),
        options=shuffled,
        answer_index=order.index(0),
        clip_start=round(slots[a].word.start, 3),
        clip_end=round(slots[b].word.end, 3),
        answer_text=answer,
        segment_start=round(words[0].word.start, 3),
        word_start=round(span[0].word.start, 3),
        word_end=round(span[-1].word.end, 3),
    )


def _who_questions(
    transcript: StoredTranscript,
    names: Mapping[str, str],
    start: float | None,
    end: float | None,
    rng: random.Random,
) -> list[Question]:
    labels = sorted({s.label for s in transcript.speakers} | {g.speaker for g in transcript.segments if g.speaker})
    if len(labels) < 2:
        return []
    shown = [names.get(label, label) for label in labels]
    out = []
    for n, segment in enumerate(transcript.segments):
        if segment.speaker is None or len(segment.text.split()) < 4:
            continue
        seg_end = min(segment.end, segment.start + MAX_CLIP_SECONDS)
        if (start is not None and segment.start < start) or (end is not None and seg_end > end):
            continue
        quote = segment.text
        if segment.words and segment.end > seg_end:  # keep the quote to what the clip plays, cut at a word
            kept = [w for w in segment.words if w.end <= seg_end]
            if len(kept) < 4:
                continue
            seg_end = kept[-1].end
            quote = " ".join(w.text.strip() for w in kept) + " …"
        order = list(range(len(shown)))
        rng.shuffle(order)
        options = tuple(shown[k] for k in order)
        answer = names.get(segment.speaker, segment.speaker)
        out.append(
            Question(
                id=f"who-{n}",
                kind="who",
                prompt=f"Who said it? “{quote}”",
                options=options,
                answer_index=options.index(answer),
                clip_start=round(segment.start, 3),
                clip_end=round(seg_end, 3),
                answer_text=answer,
                segment_start=round(segment.start, 3),
                word_start=round(segment.start, 3),
                word_end=round(seg_end, 3),
            )
        )
    return out


def generate_quiz(
    transcript: StoredTranscript,
    names: Mapping[str, str],
    *,
    seed: int,
    level: str = "medium",
    count: int = 10,
    start: float | None = None,
    end: float | None = None,
    kinds: Sequence[str] = KINDS,
    lexicon: Lexicon | None = None,
) -> Quiz:
    """A quiz of up to `count` questions on the episode (or the stretch `start`..`end` seconds of it).

    `names` maps speaker labels to people's names (shown in "who said it?"); `lexicon` defaults to the general one
    extended with the episode's own words. Raises InputError for bad options, an episode without word timings when
    gap questions are asked for, or a stretch where no question can be made."""
    episode_id = transcript.episode.id
    if level not in QUIZ_LEVELS:
        raise InputError(f"quiz level {level!r}: expected one of {', '.join(QUIZ_LEVELS)}")
    if count < 1:
        raise InputError(f"question count {count}: expected 1 or more")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"question kinds {list(kinds)!r}: expected some of {', '.join(KINDS)}")
    if start is not None and end is not None and end <= start:  # well-formed, but an empty stretch: nothing to ask
        raise Conflict(f"--end {end} is not after --start {start}: no stretch of the episode to ask about")
    slots = _slots(transcript)
    if "gap" in kinds and not slots:
        raise Conflict(
            f"episode {episode_id} has no word timings (it was imported from a transcript without them), so no"
            " listening gaps can be cut from it; ask for 'who said it?' questions only (--kind who)"
        )
    if lexicon is None:
        lexicon = build_lexicon(general_words(), (s.text for s in transcript.segments))
    rng = random.Random(seed)
    gaps: list[Question] = []
    if "gap" in kinds:
        segment_slots: dict[int, list[int]] = defaultdict(list)
        for k, s in enumerate(slots):
            segment_slots[s.segment].append(k)
        targets = _band(_targets(slots, lexicon, level, rng), level)
        # the level's third of the targets, shuffled so each seed gaps different words; then the nearest others
        third = max(count, len(targets) // 3)
        shortlist = targets[:third]
        rng.shuffle(shortlist)
        shortlist += targets[third:]
        used_segments: Counter[int] = Counter()
        taken: list[tuple[int, int]] = []
        answers: set[str] = set()  # a word is gapped once per quiz
        for rounds in (1, 3):  # one gap per segment first, then up to three
            for target in shortlist:
                if len(gaps) >= count:
                    break
                segment = slots[target.first].segment
                if (
                    used_segments[segment] >= rounds
                    or any(a <= target.last and target.first <= b for a, b in taken)
                    or normal(" ".join(s.core for s in slots[target.first : target.last + 1])) in answers
                ):
                    continue
                clip = _clip(slots, target, rng, start, end)
                if clip is None:
                    continue
                question = _gap_question(slots, target, clip, segment_slots[segment], lexicon, level, rng)
                if question is not None:
                    gaps.append(question)
                    used_segments[segment] += 1
                    taken.append((target.first - 1, target.last + 1))
                    answers.add(normal(question.answer_text))
    who = _who_questions(transcript, names, start, end, rng) if "who" in kinds else []
    want_who = min(len(who), max(1, count // 4), count - 1) if gaps and who else min(len(who), count)
    rng.shuffle(who)
    questions = gaps[: count - want_who] + who[: count - min(len(gaps), count - want_who)]
    questions.sort(key=lambda q: (q.clip_start, q.id))
    if not questions:
        where = "" if start is None and end is None else f" between {start or 0:.1f} s and {end or 'the end'} s"
        raise InputError(f"no quiz question can be made from episode {episode_id}{where}")
    return Quiz(episode_id=episode_id, seed=seed, level=level, questions=tuple(questions))
