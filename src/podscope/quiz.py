"""Listening quizzes from an episode's own audio: fill the gap you hear, and say who said it.

    quiz = lib.quizzes.generate(episode_id, seed=7, level="medium", count=10)
    for q in quiz.questions:  # play [q.clip_start, q.clip_end] of the episode's audio, show q.prompt and q.options
        ...
    lib.quizzes.record_answer("ana", quiz, quiz.questions[0].id, chosen=2)

Why it looks like this:
- A gap question is only made where the recogniser gave word timestamps, and its clip is cut at word boundaries (a
  word 2-6 words before the gap to a word 1-3 after), so the clip always holds the whole gapped word and never cuts a
  word in half. Imported transcripts without word timings get a clear refusal instead of clips that drift.
- Distractors must be wrong and still tempting. Tempting: they sound alike (edit distance on a small phonetic key,
  shared onset or rhyme), belong to the same rough part of speech (function words with function words, -ing with
  -ing, -ed, -ly, -s) and are about as frequent (ranks from the MiniLM vocabulary's order, a general English frequency
  proxy, extended with the library's own words). Wrong: never the answer in another spelling (case, punctuation,
  accents, plural/singular), never a homophone (same phonetic key: the audio could not tell them apart) and never a
  word of the same segment.
- Naive test-taking tricks must not work: a player who picks the option most similar in spelling to the others, or the
  longest option, should do no better than chance. The distractor set is chosen so that the answer's place in both
  orders is drawn at random (`bench/quiz.py` measures it).
- Levels change what is gapped (easy: frequent, short content words spoken slowly; hard: rarer and longer words, fast
  speech, two-word phrases) and how close the distractors sound (easy: further; hard: the closest sound-alikes).
- Generation is pure and deterministic: the same transcript, names, lexicon and seed give the same quiz.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from podscope.errors import InputError, ModelError, NotFound
from podscope.records import QUIZ_LEVELS, QuizAttempt, QuizLevel, StoredTranscript, Word
from podscope.store.contract import EpisodeRepository, PeopleRepository, QuizRepository

KINDS = ("gap", "who")
OPTIONS = 4
MAX_CLIP_SECONDS = 12.0
MIN_WORD_SECONDS = 0.05  # a word shorter than this has no usable timing (the recogniser squeezed it)
MIN_PROBABILITY = 0.5  # a word the recogniser was unsure of may not be what was said: never gapped
GAP = "____"

FUNCTION_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves yes yeah okay ok oh um uh er ah hmm mm like
    well also though although shall may might must cannot upon onto whether either neither every many much whose
    let lets got get gets go goes went gone""".split()  # noqa: SIM905  (a list literal would run to 180 lines)
)
FILLERS = frozenset({"um", "uh", "er", "ah", "hmm", "mm", "oh", "yeah", "okay", "ok"})
_VOWELS = "aeiouy"
_DIGRAPHS = (
    ("tch", "C"),
    ("sch", "sk"),
    ("ph", "f"),
    ("ck", "k"),
    ("sh", "S"),
    ("ch", "C"),
    ("th", "T"),
    ("wh", "w"),
    ("gh", "g"),
    ("qu", "kw"),
    ("dg", "j"),
)
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
_ALPHA = re.compile(r"^[A-Za-z]+$")


# -- records ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question: what to show, what to play, the options and which one is right.

    For a gap question `word_start`/`word_end` are the timestamps of the gapped word(s) (inside the clip); for a
    "who said it?" question they are the quote's."""

    id: str  # "gap-<word index>" or "who-<segment index>": stable for one episode
    kind: str  # gap | who
    prompt: str
    options: tuple[str, ...]
    answer_index: int
    clip_start: float
    clip_end: float
    answer_text: str
    segment_start: float
    word_start: float = 0.0
    word_end: float = 0.0

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


@dataclass(frozen=True)
class Quiz:
    """A generated quiz for one episode."""

    episode_id: int
    seed: int
    level: QuizLevel
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise NotFound(f"quiz of episode {self.episode_id} (seed {self.seed}) has no question {question_id!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id,
            "seed": self.seed,
            "level": self.level,
            "questions": [{**asdict(q), "options": list(q.options)} for q in self.questions],
        }


@dataclass(frozen=True)
class QuizResult:
    """How a learner did on one quiz: their latest answer to each question they answered."""

    learner: str
    episode_id: int
    seed: int
    level: QuizLevel
    questions: int
    answered: int
    correct: int
    missed: tuple[str, ...]  # answers of the questions they got wrong

    @property
    def score(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class EpisodeProgress:
    episode_id: int
    title: str
    attempts: int
    correct: int
    last_at: str

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class DayProgress:
    day: str  # YYYY-MM-DD (UTC)
    attempts: int
    correct: int


@dataclass(frozen=True)
class MissedWord:
    """A gapped word a learner chose wrongly, and how often."""

    word: str
    misses: int
    confused_with: tuple[str, ...]  # the options they chose instead
    episodes: tuple[int, ...]


@dataclass(frozen=True)
class Progress:
    """A learner's record over every quiz: per episode, per day, and the words they miss."""

    learner: str
    attempts: int
    correct: int
    episodes: tuple[EpisodeProgress, ...]
    days: tuple[DayProgress, ...]
    missed: tuple[MissedWord, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy"] = round(self.accuracy, 3)
        for entry, e in zip(data["episodes"], self.episodes, strict=True):
            entry["accuracy"] = round(e.accuracy, 3)
        return data


# -- words: normal forms, sound keys, parts of speech -----------------------------------------------------------------


def normal(word: str) -> str:
    """The form two spellings of one word share: lower case, no accents, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def singular(word: str) -> str:
    """A rough singular of a normal form (so "countries" and "country" count as one word)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def sound_key(word: str) -> str:
    """A small Metaphone-like key: digraphs to one sound, soft c to s, silent e dropped, vowel runs to one "a",
    doubled letters to one. Words that sound alike get keys a small edit distance apart."""
    w = "".join(c for c in normal(word) if c.isalpha())
    if w.startswith(("kn", "gn", "wr", "ps")):
        w = w[1:]
    for a, b in _DIGRAPHS:
        w = w.replace(a, b)
    w = re.sub(r"c(?=[eiy])", "s", w)
    w = w.replace("c", "k").replace("x", "ks").replace("z", "s").replace("q", "k")
    if len(w) > 2 and w.endswith("e") and w[-2] not in _VOWELS:
        w = w[:-1]
    out: list[str] = []
    for i, ch in enumerate(w):
        v = "a" if ch in _VOWELS and not (ch == "y" and i == 0) else ch
        if not out or out[-1] != v:
            out.append(v)
    return "".join(out)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def spelling_distance(a: str, b: str) -> float:
    """Edit distance of two spellings scaled to 0..1."""
    a, b = a.lower(), b.lower()
    return edit_distance(a, b) / max(len(a), len(b), 1)


def word_class(word: str) -> str:
    """A rough part of speech from the spelling: function word, -ing, -ed, -ly, -s, or other."""
    if word in FUNCTION_WORDS:
        return "function"
    if len(word) > 5 and word.endswith("ing"):
        return "ing"
    if len(word) > 4 and word.endswith("ed"):
        return "ed"
    if len(word) > 4 and word.endswith("ly"):
        return "ly"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return "s"
    return "other"


# -- the lexicon: frequency ranks and the distractor pool -------------------------------------------------------------


@dataclass(frozen=True)
class Lexicon:
    """Word frequency ranks (1 = most frequent) and the distractor candidates indexed by class and sound."""

    ranks: Mapping[str, int]
    pool: tuple[str, ...]
    keys: tuple[str, ...]  # sound key of each pool word
    index: Mapping[tuple[str, str], tuple[int, ...]] = field(repr=False)  # (class, "^"+onset or "$"+rhyme) -> pool

    def rank(self, word: str) -> int:
        return self.ranks.get(word, len(self.ranks) + 1)

    def candidates(self, word: str, key: str) -> set[int]:
        """Pool words of the same class sharing the sound key's onset or rhyme."""
        cls = word_class(word)
        found: set[int] = set()
        for probe in (f"^{key[:2]}", f"${key[-2:]}", f"^{key[:1]}{len(key)}"):
            found.update(self.index.get((cls, probe), ()))
        return found


def build_lexicon(general: Sequence[str], texts: Iterable[str] = ()) -> Lexicon:
    """A lexicon from a general frequency-ordered word list and the library's own texts.

    General words keep their order as ranks; words only the library has come after them, most frequent first. Only
    library words seen in lower case join the distractor pool (a word always capitalised is most likely a name)."""
    ranks: dict[str, int] = {}
    for w in general:
        if w not in ranks:
            ranks[w] = len(ranks) + 1
    counts: Counter[str] = Counter()
    lowered: set[str] = set()
    for text in texts:
        for token in text.split():
            core = _CORE.match(token)
            word = core.group(2) if core else token
            if _ALPHA.match(word):
                counts[word.lower()] += 1
                if word.islower():
                    lowered.add(word)
    for w, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if w not in ranks:
            ranks[w] = len(ranks) + 1
    general_set = set(general)
    pool = tuple(
        w
        for w in ranks
        if (w in lowered or w in general_set)
        and _ALPHA.match(w)
        and any(v in w for v in _VOWELS)  # not an abbreviation such as "sq"
        and (len(w) >= 3 or w in FUNCTION_WORDS)
    )
    keys = tuple(sound_key(w) for w in pool)
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (w, k) in enumerate(zip(pool, keys, strict=True)):
        if not k:
            continue
        cls = word_class(w)
        index[(cls, f"^{k[:2]}")].append(i)
        index[(cls, f"${k[-2:]}")].append(i)
        index[(cls, f"^{k[:1]}{len(k)}")].append(i)
    return Lexicon(ranks=ranks, pool=pool, keys=keys, index={k: tuple(v) for k, v in index.items()})


@functools.cache
def general_words() -> tuple[str, ...]:
    """Whole English words in the MiniLM vocabulary's order (roughly by frequency), or none if it is not installed."""
    from podscope.search.embed import model_dir

    try:
        lines = (model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    except (ModelError, OSError):
        return ()
    return tuple(w for w in lines if len(w) >= 2 and w.isascii() and w.isalpha() and w.islower())


@functools.cache
def general_lexicon() -> Lexicon:
    return build_lexicon(general_words())


# -- generation -------------------------------------------------------------------------------------------------------


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
            m = _CORE.match(w.text.strip())
            prefix, core, suffix = m.groups() if m else ("", w.text.strip(), "")
            out.append(_Slot(w, s, p, core, prefix, suffix))
    return out


def _gappable(slots: Sequence[_Slot], i: int) -> bool:
    slot = slots[i]
    w = slot.word
    if not _ALPHA.match(slot.core) or len(slot.core) < 2 or slot.core.lower() in FILLERS:
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
    if start is not None and end is not None and end <= start:
        raise InputError(f"--end {end} is not after --start {start}")
    slots = _slots(transcript)
    if "gap" in kinds and not slots:
        raise InputError(
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


# -- the library's quizzes --------------------------------------------------------------------------------------------


class Quizzes:
    """Quizzes over a library's episodes, and each learner's answers and progress."""

    def __init__(self, attempts: QuizRepository, episodes: EpisodeRepository, people: PeopleRepository):
        self._attempts = attempts
        self._episodes = episodes
        self._people = people
        self._lexicon: Lexicon | None = None

    def lexicon(self) -> Lexicon:
        """The general lexicon extended with the library's recent words (built once per `Quizzes`)."""
        if self._lexicon is None:
            self._lexicon = build_lexicon(general_words(), self._attempts.recent_segment_texts())
        return self._lexicon

    def generate(
        self,
        episode_id: int,
        *,
        seed: int,
        level: str = "medium",
        count: int = 10,
        start: float | None = None,
        end: float | None = None,
        kinds: Sequence[str] = KINDS,
    ) -> Quiz:
        transcript = self._episodes.transcript(episode_id)  # NotFound for an unknown episode
        return generate_quiz(
            transcript,
            self._people.speaker_names(episode_id),
            seed=seed,
            level=level,
            count=count,
            start=start,
            end=end,
            kinds=kinds,
            lexicon=self.lexicon(),
        )

    def record_answer(
        self, learner: str, quiz: Quiz, question_id: str, chosen: int, *, at: dt.datetime | None = None
    ) -> QuizAttempt:
        """Store a learner's answer (the index of the option they chose) to one question of a quiz."""
        learner = learner.strip()
        if not learner:
            raise InputError("learner name is empty: expected a name such as 'ana'")
        question = quiz.question(question_id)
        if not 0 <= chosen < len(question.options):
            raise InputError(f"chosen option {chosen}: expected 0 to {len(question.options) - 1}")
        when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._attempts.add_attempt(
            learner=learner,
            episode_id=quiz.episode_id,
            seed=quiz.seed,
            level=quiz.level,
            question_id=question.id,
            kind=question.kind,
            chosen=chosen,
            chosen_text=question.options[chosen],
            answer_text=question.answer_text,
            correct=chosen == question.answer_index,
            at=when,
        )

    def result(self, learner: str, quiz: Quiz) -> QuizResult:
        """How a learner did on a quiz, from their latest answer to each of its questions."""
        latest: dict[str, QuizAttempt] = {}
        for a in self._attempts.attempts(learner.strip(), quiz.episode_id):
            if a.seed == quiz.seed and a.level == quiz.level:
                latest[a.question_id] = a
        ids = {q.id for q in quiz.questions}
        answered = [a for qid, a in latest.items() if qid in ids]
        return QuizResult(
            learner=learner.strip(),
            episode_id=quiz.episode_id,
            seed=quiz.seed,
            level=quiz.level,
            questions=len(quiz.questions),
            answered=len(answered),
            correct=sum(a.correct for a in answered),
            missed=tuple(a.answer_text for a in answered if not a.correct),
        )

    def progress(self, learner: str) -> Progress:
        """Every answer of a learner summed up per episode and per day, with the gapped words they missed."""
        learner = learner.strip()
        attempts = self._attempts.attempts(learner)
        if not attempts:
            known = self._attempts.learners()
            hint = f" (learners: {', '.join(known)})" if known else ""
            raise NotFound(f"no quiz answers from {learner!r}{hint}")
        titles = {e.id: e.title for e in self._episodes.list_episodes()}
        per_episode: dict[int, list[QuizAttempt]] = defaultdict(list)
        per_day: dict[str, list[QuizAttempt]] = defaultdict(list)
        misses: dict[str, list[QuizAttempt]] = defaultdict(list)
        for a in attempts:
            per_episode[a.episode_id].append(a)
            per_day[a.at[:10]].append(a)
            if a.kind == "gap" and not a.correct:
                misses[a.answer_text.lower()].append(a)
        return Progress(
            learner=learner,
            attempts=len(attempts),
            correct=sum(a.correct for a in attempts),
            episodes=tuple(
                EpisodeProgress(
                    episode_id=eid,
                    title=titles.get(eid, ""),
                    attempts=len(rows),
                    correct=sum(a.correct for a in rows),
                    last_at=rows[-1].at,
                )
                for eid, rows in sorted(per_episode.items())
            ),
            days=tuple(
                DayProgress(day=day, attempts=len(rows), correct=sum(a.correct for a in rows))
                for day, rows in sorted(per_day.items())
            ),
            missed=tuple(
                MissedWord(
                    word=word,
                    misses=len(rows),
                    confused_with=tuple(dict.fromkeys(a.chosen_text for a in rows)),
                    episodes=tuple(sorted({a.episode_id for a in rows})),
                )
                for word, rows in sorted(misses.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ),
        )


__all__ = [
    "KINDS",
    "DayProgress",
    "EpisodeProgress",
    "Lexicon",
    "MissedWord",
    "Progress",
    "Question",
    "Quiz",
    "QuizResult",
    "Quizzes",
    "build_lexicon",
    "generate_quiz",
    "sound_key",
]
