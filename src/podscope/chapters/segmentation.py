"""Where the meaning moves: topic boundaries in an episode from its segments' sentence vectors (TextTiling over
embeddings).

    units = units_of(segments, vectors)
    curve = similarity_curve(units, SegmentationOptions())
    starts = boundaries(units, curve, duration, SegmentationOptions())      # the chapter starts, in seconds

1. Each gap between two segments is scored by how alike the speech on either side of it is: the cosine between the
   length-weighted mean vector of the `window` seconds before the gap and that of the `window` seconds after it.
2. The curve is smoothed over `smooth` seconds (a moving average in time), since segments are short and noisy.
3. A gap's depth is how far its similarity lies below the highest similarity within `window` seconds on each side
   (both sides: a valley, not a slope), the depth score of TextTiling.
4. Boundaries are the deepest local minima at or above `threshold`, taken deepest first, each at least
   `min_chapter` seconds from the episode's ends and from every boundary taken before it.

Segments are weighted by their words, so a "Yeah." between two long answers hardly moves a block's meaning. Times
are in seconds; all of it is numpy over arrays an episode's size (a 3-hour episode is a few thousand segments), so it
runs on demand in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from podscope.records import Segment

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SegmentationOptions:
    """How boundaries are found. `threshold` is the depth (in cosine) a boundary needs, calibrated by
    `bench/chapters.py` on real transcripts joined at known topic changes; `min_chapter` is the shortest chapter in
    seconds, else `min_fraction` of the episode when that is longer (an hour-long episode does not get 2-minute
    chapters), at most `max_min_chapter`."""

    window: float = 60.0
    smooth: float = 20.0
    threshold: float = 0.08
    min_chapter: float = 45.0
    min_fraction: float = 0.05
    max_min_chapter: float = 300.0

    def shortest(self, duration: float) -> float:
        return min(max(self.min_chapter, self.min_fraction * duration), self.max_min_chapter)


@dataclass(frozen=True)
class Units:
    """An episode's segments as arrays: start times, word weights, and unit vectors (zero rows: not embedded)."""

    starts: npt.NDArray[np.float64]
    ends: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    vectors: Vectors

    def __len__(self) -> int:
        return len(self.starts)


def units_of(segments: Sequence[Segment], vectors: Vectors) -> Units:
    """The segments (in transcript order) with their vectors, normalised, each weighted by its number of words."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else np.zeros((0, 1), np.float32)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    words = np.array([max(len(s.text.split()), 1) for s in segments], dtype=np.float64)
    weights = np.where(norms[:, 0] > 0, words, 0.0) if len(segments) else words
    return Units(
        starts=np.array([s.start for s in segments], dtype=np.float64),
        ends=np.array([max(s.end, s.start) for s in segments], dtype=np.float64),
        weights=weights,
        vectors=unit,
    )


def _window_sums(units: Units, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> Vectors:
    """The weighted sum of the vectors of units lo[k]..hi[k]-1, for every k (by cumulative sums)."""
    weighted = units.vectors * units.weights[:, None].astype(np.float32)
    cumulative = np.vstack([np.zeros((1, weighted.shape[1]), np.float32), np.cumsum(weighted, axis=0)])
    return cumulative[hi] - cumulative[lo]


def _cosines(a: Vectors, b: Vectors) -> npt.NDArray[np.float64]:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((na > 0) & (nb > 0), dots / (na * nb), 1.0)
    return out.astype(np.float64)


def similarity_curve(units: Units, options: SegmentationOptions) -> npt.NDArray[np.float64]:
    """For each gap k (before unit k, k = 1..n-1), the smoothed cosine between the `window` seconds of speech before
    it and the `window` seconds after it. Empty for fewer than two units."""
    n = len(units)
    if n < 2 or units.vectors.shape[1] == 0:
        return np.zeros(0)
    gaps = np.arange(1, n)
    at = units.starts[gaps]
    left = np.minimum(np.searchsorted(units.starts, at - options.window, side="left"), gaps - 1)
    right = np.maximum(np.searchsorted(units.starts, at + options.window, side="left"), gaps + 1)
    before = _window_sums(units, left.astype(np.int64), gaps.astype(np.int64))
    after = _window_sums(units, gaps.astype(np.int64), np.minimum(right, n).astype(np.int64))
    raw = _cosines(before, after)
    return _smoothed(at, raw, options.smooth)


def _smoothed(at: npt.NDArray[np.float64], values: npt.NDArray[np.float64], span: float) -> npt.NDArray[np.float64]:
    """The mean of the values within span/2 seconds of each point."""
    if span <= 0 or len(values) < 3:
        return values
    lo = np.searchsorted(at, at - span / 2, side="left")
    hi = np.searchsorted(at, at + span / 2, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return (cumulative[hi] - cumulative[lo]) / np.maximum(hi - lo, 1)


def depth_scores(units: Units, curve: npt.NDArray[np.float64], options: SegmentationOptions) -> npt.NDArray[np.float64]:
    """Each gap's depth: (highest similarity within `window` s before it - its own) + (the same after it)."""
    if len(curve) == 0:
        return curve
    at = units.starts[1:]
    lo = np.searchsorted(at, at - options.window, side="left")
    hi = np.searchsorted(at, at + options.window, side="right")
    left_peak = np.array([curve[a : k + 1].max() for k, a in enumerate(lo)])
    right_peak = np.array([curve[k:b].max() for k, b in enumerate(hi)])
    return (left_peak - curve) + (right_peak - curve)


def boundaries(
    units: Units, curve: npt.NDArray[np.float64], duration: float, options: SegmentationOptions
) -> list[float]:
    """The chapter starts after the first (which is 0): the deepest valleys of the curve at or above the threshold,
    each at least the shortest chapter length from the ends and from each other; in time order."""
    if len(curve) == 0:
        return []
    depth = depth_scores(units, curve, options)
    at = units.starts[1:]
    shortest = options.shortest(duration)
    end = max(duration, float(units.ends.max()) if len(units) else 0.0)
    # a valley: no lower similarity among the gaps within 5 s either side (a flat bottom counts once, at its first)
    lo = np.searchsorted(at, at - 5.0, side="left")
    hi = np.searchsorted(at, at + 5.0, side="right")
    minima = [k for k in range(len(curve)) if curve[k] <= curve[lo[k] : hi[k]].min() and depth[k] >= options.threshold]
    chosen: list[float] = []
    for k in sorted(minima, key=lambda k: (-depth[k], at[k])):
        t = float(at[k])
        if t < shortest or end - t < shortest or any(abs(t - c) < shortest for c in chosen):
            continue
        chosen.append(t)
    return sorted(chosen)


def find_boundaries(units: Units, duration: float, options: SegmentationOptions | None = None) -> list[float]:
    """The chapter starts after 0 for an episode's units: `boundaries` over their `similarity_curve`."""
    options = options or SegmentationOptions()
    return boundaries(units, similarity_curve(units, options), duration, options)
