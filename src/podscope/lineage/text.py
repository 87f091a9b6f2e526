"""Words for comparing a quote with a transcript: normalised, without fillers, and aligned word by word.

A quote from an article differs from a transcript in ways that do not change what was said: case, punctuation,
curly apostrophes, fillers the writer trimmed ("um", "you know") and ellipses or bracketed words standing for a
stretch left out. Both sides are read the same way here, so only real changes of wording remain.

The alignment finds, for each piece of the quote (the text between ellipses, in order), the stretch of the
transcript's words it agrees with best: rapidfuzz's partial alignment over the words (each distinct word coded as
one character) finds the place, then difflib's opcodes over that place, a few words wider, give the steps.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz import fuzz

from podscope.lineage.records import DiffOp

FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "hm", "mm", "mhm", "eh"})
FILLER_PHRASES = (("you", "know"), ("i", "mean"))
# An ellipsis, or words in square brackets (an editor's words or an elision): a gap in the quote.
_GAP = re.compile(r"\.\s*\.\s*\.|…|\[[^\]]*\]")
_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
MAX_GAP = 80  # words an ellipsis can stand for
WIDEN = 3  # words added on each side of the found place before the exact steps are worked out


def norm(word: str) -> str:
    """Lower case, no accents, no apostrophes ("Don’t" and "dont" are one word)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "'’")


@dataclass(frozen=True)
class Words:
    """A text's words, normalised and without fillers; `surface[i]` is word i as written and `at[i]` its position
    among all the text's words (fillers included), so a span can be shown as it was said."""

    norm: tuple[str, ...]
    surface: tuple[str, ...]
    at: tuple[int, ...]


def read(text: str, offset: int = 0) -> Words:
    found = [m.group() for m in _WORD.finditer(text)]
    keys = [norm(w) for w in found]
    drop = {i for i, k in enumerate(keys) if k in FILLERS}
    for i in range(len(keys) - 1):
        if (keys[i], keys[i + 1]) in FILLER_PHRASES:
            drop.update((i, i + 1))
    keep = [i for i in range(len(keys)) if i not in drop]
    return Words(tuple(keys[i] for i in keep), tuple(found[i] for i in keep), tuple(offset + i for i in keep))


def spoken(text: str) -> list[str]:
    """Every word of a text as written, fillers included (the positions `Words.at` counts)."""
    return [m.group() for m in _WORD.finditer(text)]


def pieces(quote: str) -> list[Words]:
    """The quote's pieces between ellipses (and bracketed words), each read as words; empty pieces dropped."""
    return [w for w in (read(p) for p in _GAP.split(quote)) if w.norm]


def plain(quote: str) -> str:
    """The quote's text without ellipses and brackets, for its meaning."""
    return " ".join(" ".join(p.surface) for p in pieces(quote))


@dataclass(frozen=True)
class Alignment:
    start: int  # the first aligned word of the window (in its filler-free words)
    end: int  # one past the last
    matched: int  # quote words that agree with said words
    quoted: int  # quote words
    spoken: int  # said words over the aligned stretch, gaps left out
    diff: tuple[DiffOp, ...]

    @property
    def agreement(self) -> float:
        """2 x agreeing words / (quote words + said words): 1 only when every word agrees and none is extra."""
        total = self.quoted + self.spoken
        return 2 * self.matched / total if total else 0.0


class _Codes:
    """Each distinct word as one character, so rapidfuzz aligns words rather than letters."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}

    def __call__(self, words: tuple[str, ...] | list[str]) -> str:
        return "".join(self.table.setdefault(w, chr(0x4E00 + len(self.table))) for w in words)


def align(quote: list[Words], window: Words) -> Alignment | None:
    """The quote's pieces aligned in order in the window's words (a piece after the first within MAX_GAP words of
    the previous one), or None when a piece finds nothing."""
    codes = _Codes()
    said = window.norm
    pos, first, matched, quoted, spoken = 0, -1, 0, 0, 0
    steps: list[DiffOp] = []
    for n, piece in enumerate(quote):
        limit = len(said) if n == 0 else min(len(said), pos + MAX_GAP + 2 * len(piece.norm))
        if pos >= limit:
            return None
        found = fuzz.partial_ratio_alignment(codes(piece.norm), codes(said[pos:limit]))
        if found is None or found.score == 0:
            return None
        lo = max(pos, pos + found.dest_start - WIDEN)
        hi = min(limit, pos + found.dest_end + WIDEN)
        ops = SequenceMatcher(None, piece.norm, said[lo:hi], autojunk=False).get_opcodes()
        while ops and ops[0][0] == "insert":  # said words before the quote's first: not part of the match
            ops = ops[1:]
        while ops and ops[-1][0] == "insert":
            ops = ops[:-1]
        if not ops:
            return None
        start, end = lo + ops[0][3], lo + ops[-1][4]
        if n == 0:
            first = start
        elif start > pos:
            steps.append(DiffOp("gap", "…", " ".join(window.surface[pos:start])))
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                matched += i2 - i1
            steps.append(DiffOp(tag, " ".join(piece.surface[i1:i2]), " ".join(window.surface[lo + j1 : lo + j2])))
        quoted += len(piece.norm)
        spoken += end - start
        pos = end
    return Alignment(first, pos, matched, quoted, spoken, tuple(_merge(steps)))


def _merge(steps: list[DiffOp]) -> list[DiffOp]:
    """Adjacent equal steps as one (difflib splits them where the quote's pieces meet)."""
    out: list[DiffOp] = []
    for s in steps:
        if out and s.kind == "equal" and out[-1].kind == "equal":
            out[-1] = DiffOp("equal", f"{out[-1].quoted} {s.quoted}", f"{out[-1].said} {s.said}")
        else:
            out.append(s)
    return out


def content_words(text: str, stopwords: frozenset[str]) -> set[str]:
    """The normalised words of a text that carry meaning (no stop words, no fillers, not single letters)."""
    return {w for w in read(text).norm if len(w) > 1 and w not in stopwords}


def overlap(a: set[str], b: set[str]) -> float:
    """The share of the smaller set's words that the other also has."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
