"""Words for quizzes: normal forms, sound keys and rough parts of speech, and the lexicon of frequency ranks that
distractors are drawn from."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from podscope.errors import ModelError

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
# a token as its leading punctuation, its word and its trailing punctuation
CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
ALPHA = re.compile(r"^[A-Za-z]+$")


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
            core = CORE.match(token)
            word = core.group(2) if core else token
            if ALPHA.match(word):
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
        and ALPHA.match(w)
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
