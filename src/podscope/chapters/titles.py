"""Titles and key moments, taken from what was said (extractive: no word is generated).

- A segment's centrality in a chapter is the cosine of its vector to the chapter's centroid (the word-weighted mean
  of the chapter's vectors), damped for short segments (`length_factor`): "Yeah, exactly." can sit at the centre of
  anything.
- A chapter's title is a phrase from its most central segments: each clause of them is cut to its best run of at
  most `TITLE_WORDS` words, scored by how much of the chapter's own vocabulary it holds (words frequent in this
  chapter and rare in the others), times its segment's centrality; leading and trailing fillers and function words
  are trimmed, so a title starts and ends on a word that carries meaning.
- A key moment is a chapter's most central segment; the episode's moments are those of its chapters, at most one a
  chapter, the best `MAX_MOMENTS` of them by their centrality to both their chapter and the whole episode.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from podscope.chapters.segmentation import Units

TITLE_WORDS = 9
MAX_MOMENTS = 10  # an episode with 5 to 10 chapters has as many key moments; a longer one its best 10
CANDIDATE_SEGMENTS = 4  # the most central segments whose clauses are title candidates
FULL_LENGTH_WORDS = 12  # a segment this long counts at full centrality; shorter ones less

# English function words and talk fillers: never the first or last word of a title, never a key word.
_STOPWORDS = """a about above after again against all also am an and any are aren't as at be because been before
    being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
    for from further get gets getting got gonna had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just kind
    know let let's like lot me mean might more most much must mustn't my myself no nor not now of off oh ok okay on once
    one only or other ought our ours ourselves out over own pretty quite really right said same say says shall shan't
    she she'd she'll she's should shouldn't so some something sort stuff such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've thing things think this those though
    through to too uh um under until up us very was wasn't we we'd we'll we're we've well were weren't what what's
    when when's where where's which while who who's whom why why's will with won't would wouldn't yeah yes yet you
    you'd you'll you're you've your yours yourself yourselves actually basically literally wanna hmm mhm"""
STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CLAUSE = re.compile(r"[.!?;:,()\[\]\"“”—–]+|\s-\s|\s--\s")


def _key(word: str) -> str:
    return word.lower().replace("’", "'")


def content_words(text: str) -> list[str]:
    """The words of a text that carry meaning, lower-cased."""
    found = _WORD.findall(text.lower().replace("’", "'"))
    return [w for w in found if len(w) > 2 and w not in STOPWORDS and not w.isdigit()]


def length_factor(words: int) -> float:
    """1 for a segment of FULL_LENGTH_WORDS or more, less for shorter ones (the square root of the fraction)."""
    return math.sqrt(min(words, FULL_LENGTH_WORDS) / FULL_LENGTH_WORDS)


def centroid(units: Units, members: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """The word-weighted mean of the members' vectors, normalised (zeros when none is embedded)."""
    total = (units.vectors[members] * units.weights[members, None].astype(np.float32)).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else total


def centrality(
    units: Units, members: npt.NDArray[np.int64], centre: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """Each member's cosine to the centre, times its length factor (0 for a member without a vector)."""
    cos = units.vectors[members] @ centre
    damp = np.array([length_factor(int(w)) for w in units.weights[members]])
    return np.asarray(cos, dtype=np.float64) * damp


def _meaningful(word: str) -> bool:
    """Whether a word may start or end a title: it has letters or digits and is no function word or filler."""
    key = _key(word).strip(".,;:!?\"'()[]")
    return bool(_WORD.search(key)) and key not in STOPWORDS


def _best_run(clause: str, weight: dict[str, float]) -> tuple[float, list[str]]:
    """The best run of at most TITLE_WORDS words of a clause that starts and ends on a meaningful word, and its score:
    the summed weight of the distinct key words it holds (the longer run wins a tie)."""
    words = clause.split()
    keys = [content_words(w) for w in words]
    meaningful = [_meaningful(w) for w in words]
    best: tuple[float, list[str]] = (0.0, [])
    for i in range(len(words)):
        if not meaningful[i]:
            continue
        seen: set[str] = set()
        score = 0.0
        for j in range(i, min(i + TITLE_WORDS, len(words))):
            for k in keys[j]:
                if k not in seen:
                    seen.add(k)
                    score += weight.get(k, 0.0)
            if meaningful[j] and (score > best[0] or (score == best[0] and score > 0 and j + 1 - i > len(best[1]))):
                best = (score, words[i : j + 1])
    return best


def title(texts: Sequence[str], scores: Sequence[float], weight: dict[str, float]) -> str:
    """The title phrase from candidate segments (`texts`, with their centralities `scores`)."""
    best: tuple[float, list[str]] = (-1.0, [])
    for text, score in zip(texts, scores, strict=True):
        for clause in _CLAUSE.split(text):
            found, run = _best_run(clause, weight)
            if run and found * max(score, 0.05) > best[0]:
                best = (found * max(score, 0.05), run)
    if not best[1]:  # nothing but function words: the start of the most central segment as it is
        best = (0.0, (texts[0].split() if texts else [])[:TITLE_WORDS])
    phrase = " ".join(best[1]).strip(" ,;:-")
    return phrase[:1].upper() + phrase[1:]


def keyword_weights(chapter_texts: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """Per chapter, each content word's weight: how often the chapter says it, times how few chapters do (tf-idf)."""
    counts = [Counter(w for text in texts for w in content_words(text)) for texts in chapter_texts]
    spread = Counter(w for c in counts for w in c)
    n = len(counts)
    return [{w: tf * math.log(1 + n / spread[w]) for w, tf in c.items()} for c in counts]
