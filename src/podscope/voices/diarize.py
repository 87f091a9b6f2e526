"""Speaker diarization (who spoke when) for conversations: segmentation windows + CAM++ + constrained clustering.

Why this design (pyannote 3.1's recipe, re-built for a 2-core CPU and 3-hour files):
- Voice activity plus fixed-length embedding windows fails on real conversations: a window straddling a speaker
  change gets an embedding of two voices, one-word answers vanish, and overlapped speech is attributed to one
  person. The segmentation model (`podscope.voices.segmentation`) instead says, for every 17 ms frame of a 10 s
  window, which of up to three *local* speakers talk, including two at once.
- Each (window, local speaker) becomes one embedding, pooled from that speaker's clean (non-overlapped) frames only.
  CAM++'s expensive trunk runs once over the recording in consecutive blocks (not once per overlapping window), and
  each local speaker pools the block frames that fall under its mask: the embedding cost is one pass over the audio
  whatever the window step.
- Local speakers are linked across windows by agglomerative clustering (centroid linkage, cosine distance) with a
  cannot-link between local speakers of the same window (the segmentation model already told them apart). The
  automatic stopping threshold decides the number of speakers. The cannot-link yields to embeddings that are
  clearly one voice (the segmentation model sometimes labels one voice twice in a window). Clusters with too little
  speech are merged into their nearest cluster, smallest first: a laugh or a cough joins a real speaker, while a
  person who only interjects, whose few short stretches form several small clusters, is gathered into one speaker of
  their own instead of vanishing into the main voice.
- Frame-level activity is rebuilt by mapping each window's local speakers to global speakers (an optimal one-to-one
  assignment per window) and averaging the overlapping windows; how many speakers talk in each frame comes from the
  segmentation itself, so overlapped speech yields two simultaneous turns.
- Memory stays bounded for 3-hour files: the waveform is only sliced, per-window outputs are a few KB, CAM++ frames
  are held for about two blocks, and clustering of very long recordings runs first within time blocks and then over
  the block clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from podscope.records import SAMPLE_RATE, Diarization, Hook, SpeakerTrack, Turn
from podscope.voices.embed import FRAME_OFFSET_SECONDS, FRAME_STEP_SECONDS, load_embedder
from podscope.voices.segmentation import (
    NUM_LOCAL_SPEAKERS,
    WINDOW_SECONDS,
    Segmentation,
    SegmentationModel,
    load_segmentation,
)

FloatArray = npt.NDArray[np.float32]


class FrameEmbedder(Protocol):
    """What diarization needs from a speaker-embedding model: frame-level features and masked pooling
    (`podscope.voices.embed.CamPlusPlus` provides both)."""

    dimension: int

    def frame_features(self, waveform: npt.NDArray[np.float32]) -> FloatArray: ...

    def pool(self, frames: FloatArray, mask: npt.NDArray[np.bool_] | None = None) -> FloatArray: ...


_EMB_MIN_SAMPLES = 400
# A local speaker's embedding pools its clean (non-overlapped) frames when it has at least this many (0.42 s), else
# all its active frames.
_MIN_CLEAN_POOL_FRAMES = 25


@dataclass(frozen=True)
class DiarizationOptions:
    """Settings of `diarize`, and the data each default was chosen on.

    Data: "real" is bench/diarization.py's real set (the pyannote sample, the 9.5-minute gecko sales call and nine
    45 s excerpts of it, the pyAudioAnalysis four-speaker excerpt, and room / far-field / telephone versions of four
    of them); "synthetic" is its generated set (1-8 flite, LibriSpeech and SpeechBrain voices, quiet, telephone,
    reverberant and overlapping conversations). A constant chosen on the real set was checked not to move the
    synthetic one (total DER and speaker counts), and the reverse.

    step: seconds between the starts of consecutive 10 s segmentation windows (synthetic: 1.25 s gives mean DER 0.72%
        instead of 0.89% for twice the segmentation time).
    threshold: cosine distance between cluster centroids below which two clusters are one speaker. Synthetic: every
        count right anywhere in 0.30-0.475. Real: same speaker's clusters merge below 0.3 (0.39 far-field), different
        people sit 0.42-0.84 apart (0.40 between two similar voices under a telephone channel); 0.35 and 0.45 were
        both worse on the real set. 0.4.
    cannot_link: two clusters that hold different local speakers of the same window in more than this share of the
        smaller one's windows are different people (synthetic).
    same_voice: ... unless they are closer than this: the segmentation model sometimes gives one voice two local
        labels in a window (around an interjection, in reverberation), and embeddings that close are one voice.
        Real: splits of one person sat 0.10-0.26 apart; 0.2 left them split, 0.3 merged two telephone voices. 0.25.
    min_embedding_seconds: clean speech a local speaker needs in a window to take part in clustering (shorter ones
        are only assigned to the speakers found). Real: 0.5 and 0.75 were no better, 0.5 split a reverberant voice.
    mixed_distance: a local speaker whose stretches (between pauses) sound further apart than this is a blend of two
        voices and is left out of clustering (synthetic; 0.6 lost a real interjecting speaker).
    min_cluster_seconds: clusters with less speech (counted so that a speaker's clusters add up to their speaking
        time) are merged into their nearest cluster, which may be another small one: a speaker who only interjects
        leaves several small clusters that together are that speaker (real: 3 s of interjections in 45 s).
    min_speaker_seconds, min_speaker_share: after reconstruction, a speaker with less talk than the smaller of these
        (seconds, share of all speech) is dropped and their windows mapped again; the share protects short clips
        (real: 0.03 keeps a four-speaker broadcast's 6 s speaker under a telephone channel, 0.05 dropped them).
    run_margin: a stretch of a local speaker moves to another speaker when its own embedding is this much closer.
    num_speakers / min_speakers / max_speakers: the number of speakers if known, or bounds on it.
    min_gap: same-speaker turns separated by less than this are joined (a scoring collar of 0.25 s per side forgives
        gaps up to 0.5 s, and annotators bridge short pauses). min_turn: shorter turns are dropped.
    embedding_block: seconds of speech per CAM++ pass.
    max_leaves: above this many local-speaker embeddings, cluster within time blocks first (bounded memory).
    """

    step: float = 2.5
    threshold: float = 0.4
    cannot_link: float = 0.2
    same_voice: float = 0.25
    min_embedding_seconds: float = 1.0
    mixed_distance: float = 0.7
    min_cluster_seconds: float = 2.0
    min_speaker_seconds: float = 8.0
    min_speaker_share: float = 0.03
    run_margin: float = 0.1
    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int | None = None
    min_gap: float = 0.45
    min_turn: float = 0.1
    embedding_block: float = 10.0
    max_leaves: int = 1200
    segmentation_weights: Path | None = None


# --------------------------------------------------------------------------------------------------------------------
# Leaves: one (window, local speaker) with enough activity
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Leaves:
    window: npt.NDArray[np.int64]  # (L,) window index
    local: npt.NDArray[np.int64]  # (L,) local speaker 0..2
    active: npt.NDArray[np.int64]  # (L,) active frames
    clean: npt.NDArray[np.int64]  # (L,) active frames where nobody else talks
    use_clean: npt.NDArray[np.bool_]  # (L,) pool over clean frames (else over all active frames)
    embedding: FloatArray  # (L, 192), NaN rows when nothing could be pooled
    # Runs: stretches of a leaf's activity between pauses, which may belong to different people when the
    # segmentation model missed a speaker change. Frames are window-relative [start, end).
    run_leaf: npt.NDArray[np.int64]
    run_start: npt.NDArray[np.int64]
    run_end: npt.NDArray[np.int64]
    run_clean: npt.NDArray[np.int64]
    run_embedding: FloatArray

    def __len__(self) -> int:
        return len(self.window)


def _find_leaves(seg: Segmentation, min_clean_frames: int, dimension: int) -> _Leaves:
    """Every (window, local speaker) with any activity, and the pause-separated runs of those with several."""
    act = seg.activity.astype(bool)  # (W, F, 3)
    overlap = act.sum(axis=2, keepdims=True) >= 2
    clean = act & ~overlap
    n_active = act.sum(axis=1)  # (W, 3)
    n_clean = clean.sum(axis=1)
    w_idx, k_idx = np.nonzero(n_active > 0)
    run_leaf, run_start, run_end, run_clean = [], [], [], []
    for i, (w, k) in enumerate(zip(w_idx, k_idx, strict=True)):
        runs = _runs(act[w, :, k])
        if len(runs) < 2:
            continue  # a single run is the leaf itself
        for a, b in runs:
            run_leaf.append(i)
            run_start.append(a)
            run_end.append(b)
            run_clean.append(int(clean[w, a:b, k].sum()))
    return _Leaves(
        window=w_idx.astype(np.int64),
        local=k_idx.astype(np.int64),
        active=n_active[w_idx, k_idx].astype(np.int64),
        clean=n_clean[w_idx, k_idx].astype(np.int64),
        use_clean=(n_clean[w_idx, k_idx] >= min_clean_frames),
        embedding=np.full((len(w_idx), dimension), np.nan, dtype=np.float32),
        run_leaf=np.asarray(run_leaf, dtype=np.int64),
        run_start=np.asarray(run_start, dtype=np.int64),
        run_end=np.asarray(run_end, dtype=np.int64),
        run_clean=np.asarray(run_clean, dtype=np.int64),
        run_embedding=np.full((len(run_leaf), dimension), np.nan, dtype=np.float32),
    )


# --------------------------------------------------------------------------------------------------------------------
# Embeddings: CAM++ frames computed block by block, pooled under each leaf's mask
# --------------------------------------------------------------------------------------------------------------------


def _embed_leaves(
    waveform: npt.NDArray[np.float32],
    seg: Segmentation,
    leaves: _Leaves,
    embedder: FrameEmbedder,
    block_seconds: float,
    hook: Hook | None,
    min_run_seconds: float = 0.5,
) -> None:
    n = seg.num_samples
    grid = seg.grid
    window_samples = int(WINDOW_SECONDS * SAMPLE_RATE)
    step_samples = seg.step_frames * grid.step
    if len(leaves) == 0:
        return
    windows = np.unique(leaves.window)
    rows_of: dict[int, npt.NDArray[np.int64]] = {}
    order = np.argsort(leaves.window, kind="stable")
    bounds = np.searchsorted(leaves.window[order], windows)
    for i, w in enumerate(windows):
        end = bounds[i + 1] if i + 1 < len(windows) else len(order)
        rows_of[int(w)] = order[bounds[i] : end]

    run_rows_of: dict[int, npt.NDArray[np.int64]] = {}
    if len(leaves.run_leaf):
        run_window = leaves.window[leaves.run_leaf]
        long_enough = np.nonzero(leaves.run_clean * grid.step_seconds >= min_run_seconds)[0]
        for w in np.unique(run_window[long_enough]):
            run_rows_of[int(w)] = long_enough[run_window[long_enough] == w]
    min_run_frames = max(1, int(min_run_seconds / FRAME_STEP_SECONDS))

    blocks = _speech_blocks(seg, block_seconds)
    win_start = windows * step_samples
    win_end = np.minimum(win_start + window_samples, n)
    buf_t: list[npt.NDArray[np.float64]] = []
    buf_f: list[FloatArray] = []
    next_w = 0
    frame_features = embedder.frame_features
    pool = embedder.pool
    for b, pieces in enumerate(blocks):
        chunk = np.concatenate([np.asarray(waveform[p0:p1], dtype=np.float32) for p0, p1 in pieces])
        if chunk.size >= _EMB_MIN_SAMPLES:
            peak = float(np.max(np.abs(chunk)))
            if 0.0 < peak < 0.25:  # quiet recording: lift it (log-mel + mean normalisation is otherwise level-free)
                chunk = chunk * np.float32(min(0.5 / peak, 1000.0))
            feats = frame_features(chunk)
            # frame centres in the concatenated speech, mapped back to the recording's time line
            centre = (FRAME_OFFSET_SECONDS + FRAME_STEP_SECONDS * np.arange(len(feats))) * SAMPLE_RATE
            lengths = np.array([p1 - p0 for p0, p1 in pieces])
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            piece = np.clip(np.searchsorted(offsets, centre, side="right") - 1, 0, len(pieces) - 1)
            buf_t.append((np.array([p0 for p0, _ in pieces])[piece] + centre - offsets[piece]) / SAMPLE_RATE)
            buf_f.append(feats)
        upto = blocks[b + 1][0][0] if b + 1 < len(blocks) else n
        # every window that ends before the next block's speech is now complete
        while next_w < len(windows) and (win_end[next_w] <= upto or b == len(blocks) - 1):
            w = int(windows[next_w])
            if buf_t:
                t_all = np.concatenate(buf_t)
                f_all = np.concatenate(buf_f) if len(buf_f) > 1 else buf_f[0]
                t0 = win_start[next_w] / SAMPLE_RATE
                sel = (t_all >= t0) & (t_all < win_end[next_w] / SAMPLE_RATE)
                if sel.any():
                    local_frame = np.rint(
                        ((t_all[sel] - t0) * SAMPLE_RATE - grid.offset - (grid.size - 1) / 2) / grid.step
                    ).astype(np.int64)
                    local_frame = np.clip(local_frame, 0, seg.frames_per_window - 1)
                    act = seg.activity[w].astype(bool)[local_frame]  # (T, 3)
                    clean = act & (act.sum(axis=1, keepdims=True) == 1)
                    rows = rows_of[w]
                    masks = np.stack(
                        [clean[:, leaves.local[r]] if leaves.use_clean[r] else act[:, leaves.local[r]] for r in rows]
                    )
                    ok = masks.any(axis=1)
                    if ok.any():
                        leaves.embedding[rows[ok]] = pool(f_all[sel], masks[ok])
                    run_rows = run_rows_of.get(w)
                    if run_rows is not None:
                        run_masks = np.stack(
                            [
                                clean[:, leaves.local[leaves.run_leaf[r]]]
                                & (local_frame >= leaves.run_start[r])
                                & (local_frame < leaves.run_end[r])
                                for r in run_rows
                            ]
                        )
                        ok = run_masks.sum(axis=1) >= min_run_frames
                        if ok.any():
                            leaves.run_embedding[run_rows[ok]] = pool(f_all[sel], run_masks[ok])
            next_w += 1
        # drop frames no later window needs
        if next_w < len(windows) and buf_t:
            keep_from = win_start[next_w] / SAMPLE_RATE
            pairs = [(t, f) for t, f in zip(buf_t, buf_f, strict=True) if t[-1] >= keep_from]
            buf_t = [t for t, _ in pairs]
            buf_f = [f for _, f in pairs]
        if hook is not None:
            hook("embeddings", b + 1, len(blocks))


def _speech_blocks(seg: Segmentation, block_seconds: float, pad: float = 0.2) -> list[list[tuple[int, int]]]:
    """Stretches of speech (any window hears anyone, padded by `pad` s) grouped into blocks of about `block_seconds`
    of speech each, as lists of (start, end) samples. CAM++ then runs on speech only: no time spent on silence, and
    its mean normalisation sees speech statistics rather than those of pauses."""
    n_frames = seg.num_frames
    speech = np.zeros(n_frames, dtype=bool)
    for w in range(seg.num_windows):
        a = w * seg.step_frames
        b = min(a + seg.frames_per_window, n_frames)
        if b > a:
            speech[a:b] |= seg.activity[w, : b - a].any(axis=1)
    grow = round(pad / seg.grid.step_seconds)
    if grow > 0 and speech.any():
        speech = np.convolve(speech.astype(np.int32), np.ones(2 * grow + 1, dtype=np.int32), mode="same") > 0
    step, c0 = seg.grid.step, seg.grid.offset + (seg.grid.size - 1) / 2
    limit = max(int(block_seconds * SAMPLE_RATE), _EMB_MIN_SAMPLES)
    # Every block holds exactly `limit` samples of speech (the last one up to 1.5x): one input shape for CAM++, so
    # its compiled kernels and buffers are reused instead of piling up for every new length.
    blocks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    filled = 0
    for a, b in _runs(speech):
        s0 = max(0, int(c0 + (a - 0.5) * step))
        s1 = min(seg.num_samples, int(c0 + (b - 0.5) * step))
        while s1 > s0:
            take = min(s1 - s0, limit - filled)
            current.append((s0, s0 + take))
            filled += take
            s0 += take
            if filled >= limit:
                blocks.append(current)
                current, filled = [], 0
    if current:
        if filled < limit // 2 and blocks:
            blocks[-1].extend(current)
        else:
            blocks.append(current)
    return blocks


# --------------------------------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------------------------------


def _normalise(x: npt.NDArray[np.floating]) -> FloatArray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


@dataclass
class _Dendrogram:
    """Merge history of constrained centroid-linkage clustering over m items."""

    merges: list[tuple[int, int, float]]  # (kept, absorbed, distance) in merge order
    size: int

    def labels(self, n_merges: int) -> npt.NDArray[np.int64]:
        """Cluster label (0..k-1) of each item after the first `n_merges` merges."""
        parent = np.arange(self.size)
        for a, b, _ in self.merges[:n_merges]:
            parent[b] = a

        def root(i: int) -> int:
            while parent[i] != i:
                i = int(parent[i])
            return i

        roots = np.array([root(i) for i in range(self.size)])
        _, labels = np.unique(roots, return_inverse=True)
        return labels.astype(np.int64)

    def merges_below(self, threshold: float) -> int:
        """Number of merges done before the first one whose distance reaches `threshold`."""
        for i, (_, _, d) in enumerate(self.merges):
            if d >= threshold:
                return i
        return len(self.merges)


_FORBIDDEN = 4.0  # added to the distance of cannot-linked pairs: beyond any cosine distance (max 2)


def _forbidden(
    shared: npt.NDArray[np.float64],
    size_a: float,
    sizes: npt.NDArray[np.float64],
    dist: npt.NDArray[np.floating],
    ratio: float,
    same_voice: float,
) -> npt.NDArray[np.bool_]:
    """Cannot-link test: clusters that share windows (as different local speakers) in more than `ratio` of the
    smaller one's windows are different people, unless their distance `dist` is under `same_voice`. A few shared
    windows between large clusters are tolerated, and so are embeddings that are clearly one voice: the segmentation
    model occasionally gives one voice two local labels, which must not split a speaker forever."""
    return (shared >= np.maximum(1.0, ratio * np.minimum(size_a, sizes))) & (dist >= same_voice)


def _agglomerate(
    vectors: FloatArray,
    weights: npt.NDArray[np.float64],
    shared: npt.NDArray[np.float64],
    ratio: float = 0.2,
    same_voice: float = 0.0,
) -> _Dendrogram:
    """Centroid-linkage agglomerative clustering on cosine distance, cannot-linked pairs merged last (if ever).

    `vectors` are unit rows, `weights` how many leaves each stands for (a centroid is the weighted mean),
    `shared[i, j]` how many windows hold both i and j as different local speakers. O(m^2) memory and about O(m^2)
    time with cached row minima.
    """
    m = len(vectors)
    sums = vectors.astype(np.float64) * weights[:, None]
    sizes = weights.astype(np.float64).copy()
    cent = _normalise(sums)
    shared = shared.astype(np.float64, copy=True)
    dist = (1.0 - cent @ cent.T).astype(np.float64)
    for i in range(m):
        dist[i] += _FORBIDDEN * _forbidden(shared[i], sizes[i], sizes, dist[i], ratio, same_voice)
    np.fill_diagonal(dist, np.inf)
    alive = np.ones(m, dtype=bool)
    row_min = dist.min(axis=1) if m > 1 else np.full(m, np.inf)
    row_arg = dist.argmin(axis=1) if m > 1 else np.zeros(m, dtype=np.int64)
    merges: list[tuple[int, int, float]] = []
    for _ in range(m - 1):
        a = int(np.argmin(np.where(alive, row_min, np.inf)))
        b = int(row_arg[a])
        d = float(row_min[a])
        if not np.isfinite(d):
            break
        a, b = min(a, b), max(a, b)
        merges.append((a, b, d))
        sums[a] += sums[b]
        sizes[a] += sizes[b]
        alive[b] = False
        shared[a] += shared[b]
        shared[:, a] = shared[a]
        ca = _normalise(sums[a])
        new = 1.0 - cent @ ca
        cent[a] = ca
        new = new + _FORBIDDEN * _forbidden(shared[a], sizes[a], sizes, new, ratio, same_voice)
        new[~alive] = np.inf
        new[a] = np.inf
        dist[a] = new
        dist[:, a] = new
        dist[b] = np.inf
        dist[:, b] = np.inf
        row_min[b] = np.inf
        # rows whose best partner was a or b need a full recompute; others may just have found a closer a
        stale = alive & ((row_arg == a) | (row_arg == b))
        stale[a] = True
        for r in np.nonzero(stale)[0]:
            row_arg[r] = int(np.argmin(dist[r]))
            row_min[r] = dist[r, row_arg[r]]
        closer = alive & ~stale & (new < row_min)
        row_min[closer] = new[closer]
        row_arg[closer] = a
    return _Dendrogram(merges=merges, size=m)


def _large_after_each_merge(dend: _Dendrogram, mass: npt.NDArray[np.float64], minimum: float) -> npt.NDArray[np.int64]:
    """Number of clusters with at least `minimum` mass before any merge (index 0) and after each merge."""
    mass = mass.astype(np.float64, copy=True)
    count = int((mass >= minimum).sum())
    out = [count]
    for a, b, _ in dend.merges:
        before = int(mass[a] >= minimum) + int(mass[b] >= minimum)
        mass[a] += mass[b]
        mass[b] = 0.0
        count += int(mass[a] >= minimum) - before
        out.append(count)
    return np.asarray(out, dtype=np.int64)


def _mixed_leaves(leaves: _Leaves, distance: float) -> npt.NDArray[np.bool_]:
    """Leaves whose runs sound like different people (two runs further apart than `distance`): the segmentation model
    missed a speaker change inside them, so their pooled embedding is a blend that would pull clusters together or
    form a cluster of its own. They are left out of clustering (their runs are still assigned one by one)."""
    mixed = np.zeros(len(leaves), dtype=bool)
    if distance >= 2.0:
        return mixed
    has = ~np.isnan(leaves.run_embedding[:, 0])
    runs = np.nonzero(has)[0]
    if len(runs) < 2:
        return mixed
    owner = leaves.run_leaf[runs]
    bounds = np.flatnonzero(np.diff(owner)) + 1
    for group in np.split(np.arange(len(runs)), bounds):
        if len(group) < 2:
            continue
        vecs = leaves.run_embedding[runs[group]]
        if float((vecs @ vecs.T).min()) < 1.0 - distance:
            mixed[owner[group[0]]] = True
    return mixed


def _leaf_seconds(leaves: _Leaves, selected: npt.NDArray[np.int64], seg: Segmentation) -> npt.NDArray[np.float64]:
    """Seconds of speech each selected leaf stands for: its active frames, each divided by the number of windows that
    cover it, so that a speaker's leaves add up to their speaking time (at the edges of a recording fewer windows cover
    a frame: a speaker heard only in the first seconds is not undercounted)."""
    f = seg.frames_per_window
    cover = np.zeros(seg.num_windows * seg.step_frames + f, dtype=np.float64)
    for w in range(seg.num_windows):
        cover[w * seg.step_frames : w * seg.step_frames + f] += 1.0
    out = np.empty(len(selected), dtype=np.float64)
    for i, leaf in enumerate(selected):
        w, k = int(leaves.window[leaf]), int(leaves.local[leaf])
        a = w * seg.step_frames
        out[i] = float((seg.activity[w, :, k] / cover[a : a + f]).sum())
    return out * seg.grid.step_seconds


def _absorb_small(
    labels: npt.NDArray[np.int64],
    vectors: FloatArray,
    counts: npt.NDArray[np.float64],
    mass: npt.NDArray[np.float64],
    shared: npt.NDArray[np.float64],
    opts: DiarizationOptions,
) -> npt.NDArray[np.int64]:
    """Merge each cluster with less than `min_cluster_seconds` of speech into its nearest cluster, smallest first,
    until every cluster is large enough (or one is left). The nearest may be another small one: a speaker who only
    interjects ("Right.", "Oh really?") leaves several small, noisy clusters that together are that speaker, and the
    cannot-link of the windows they share with the main voices keeps them from being folded into someone else."""
    labels = labels.copy()
    n = int(labels.max()) + 1
    onehot = np.zeros((len(labels), n), dtype=np.float64)
    onehot[np.arange(len(labels)), labels] = 1.0
    sums = onehot.T @ (vectors.astype(np.float64) * counts[:, None])
    sizes = onehot.T @ counts
    cmass = onehot.T @ mass
    link = onehot.T @ shared @ onehot
    alive = np.ones(n, dtype=bool)
    while alive.sum() > 1:
        small = np.nonzero(alive & (cmass < opts.min_cluster_seconds))[0]
        if len(small) == 0:
            break
        a = int(small[np.argmin(cmass[small])])
        cent = _normalise(sums)
        dist = 1.0 - cent @ cent[a]
        forbidden = _forbidden(link[a], sizes[a], sizes, dist, opts.cannot_link, opts.same_voice)
        dist = dist + _FORBIDDEN * forbidden
        dist[~alive] = np.inf
        dist[a] = np.inf
        b = int(np.argmin(dist))
        sums[b] += sums[a]
        sizes[b] += sizes[a]
        cmass[b] += cmass[a]
        link[b] += link[a]
        link[:, b] = link[b]
        alive[a] = False
        labels[labels == a] = b
    _, labels = np.unique(labels, return_inverse=True)
    return labels.astype(np.int64)


def _cluster(
    leaves: _Leaves, selected: npt.NDArray[np.int64], opts: DiarizationOptions, seg: Segmentation
) -> FloatArray:
    """Cluster the selected leaves; returns the (speakers, dimension) unit centroids of the speakers found."""
    emb = leaves.embedding[selected]
    windows = leaves.window[selected]
    mass = _leaf_seconds(leaves, selected, seg)

    # Stage 1 (very long recordings only): cluster within time blocks so that no matrix exceeds max_leaves^2.
    groups: list[npt.NDArray[np.int64]] = []
    if len(selected) > opts.max_leaves:
        for start in range(0, len(selected), opts.max_leaves):
            groups.append(np.arange(start, min(start + opts.max_leaves, len(selected))))
    item_of = np.arange(len(selected))
    item_vec = emb
    item_mass = mass.astype(np.float64)
    item_windows: list[set[int]] = [{int(w)} for w in windows]
    if groups:
        vecs: list[FloatArray] = []
        masses: list[float] = []
        wins: list[set[int]] = []
        item_of = np.empty(len(selected), dtype=np.int64)
        for g in groups:
            same = (windows[g][:, None] == windows[g][None, :]).astype(np.float64)
            np.fill_diagonal(same, 0.0)
            dend = _agglomerate(emb[g], np.ones(len(g)), same, opts.cannot_link, opts.same_voice)
            lab = dend.labels(dend.merges_below(opts.threshold * 0.8))
            for c in range(int(lab.max()) + 1):
                members = g[lab == c]
                item_of[members] = len(vecs)
                vecs.append(_normalise(emb[members].sum(axis=0)))
                masses.append(float(mass[members].sum()))
                wins.append({int(w) for w in windows[members]})
        item_vec = np.stack(vecs)
        item_mass = np.asarray(masses)
        item_windows = wins

    m = len(item_vec)
    counts = np.bincount(item_of, minlength=m).astype(np.float64)
    if groups:
        shared = np.zeros((m, m), dtype=np.float64)
        owner: dict[int, list[int]] = {}
        for i, ws in enumerate(item_windows):
            for w in ws:
                owner.setdefault(w, []).append(i)
        for members_list in owner.values():
            if len(members_list) > 1:
                idx = np.asarray(members_list)
                shared[np.ix_(idx, idx)] += 1.0
        np.fill_diagonal(shared, 0.0)
    else:
        shared = (windows[:, None] == windows[None, :]).astype(np.float64)
        np.fill_diagonal(shared, 0.0)
    dend = _agglomerate(item_vec, counts, shared, opts.cannot_link, opts.same_voice)

    def summarise(n_merges: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        lab = dend.labels(n_merges)
        return lab, np.bincount(lab, weights=item_mass, minlength=int(lab.max()) + 1).astype(np.float64)

    n_merges = dend.merges_below(opts.threshold)
    labels, cmass = summarise(n_merges)
    if opts.num_speakers is None:
        labels = _absorb_small(labels, item_vec, counts, item_mass, shared, opts)
        cmass = np.bincount(labels, weights=item_mass).astype(np.float64)
    large = cmass >= opts.min_cluster_seconds
    if not large.any():
        large = cmass == cmass.max()
    target: int | None = opts.num_speakers
    if target is None:
        n_large = int(large.sum())
        lo = max(opts.min_speakers, 1)
        hi = opts.max_speakers if opts.max_speakers is not None else n_large
        if not lo <= n_large <= hi:
            target = min(max(n_large, lo), hi)
    if target is not None:
        # Cut the dendrogram where the number of large clusters is closest to the target (nearest the threshold cut
        # among equals). Replaying the merges once gives that number after every merge.
        big = _large_after_each_merge(dend, item_mass, opts.min_cluster_seconds)
        k_all = np.arange(len(big))
        miss = np.abs(np.maximum(big, 1) - target)
        n_merges = int(k_all[np.lexsort((np.abs(k_all - n_merges), miss))[0]])
        labels, cmass = summarise(n_merges)
        if opts.num_speakers is not None:
            order = np.argsort(-cmass)
            large = np.zeros(len(cmass), dtype=bool)
            large[order[:target]] = True
        else:
            large = cmass >= opts.min_cluster_seconds
            if not large.any():
                large = cmass == cmass.max()

    # Centroids of the large clusters; members of small clusters join the closest large one.
    item_w = counts[:, None] * item_vec.astype(np.float64)
    keep = np.nonzero(large)[0]
    centroids = np.stack([_normalise(item_w[labels == c].sum(axis=0)) for c in keep])
    remap = -np.ones(len(cmass), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    item_label = remap[labels]
    small = item_label < 0
    if small.any():
        item_label[small] = np.argmax(item_vec[small] @ centroids.T, axis=1)
        # recompute centroids with the absorbed members
        centroids = np.stack([_normalise(item_w[item_label == c].sum(axis=0)) for c in range(len(keep))])
    return centroids


# --------------------------------------------------------------------------------------------------------------------
# Assignment and reconstruction
# --------------------------------------------------------------------------------------------------------------------


def _assign(leaves: _Leaves, centroids: FloatArray, num_windows: int) -> npt.NDArray[np.int64]:
    """(W, 3) global speaker of each window's local speakers (-1: inactive), one-to-one within a window."""
    mapping = -np.ones((num_windows, NUM_LOCAL_SPEAKERS), dtype=np.int64)
    k = len(centroids)
    has_emb = ~np.isnan(leaves.embedding[:, 0])
    sims = np.full((len(leaves), k), -1.0, dtype=np.float32)
    sims[has_emb] = leaves.embedding[has_emb] @ centroids.T
    order = np.argsort(leaves.window, kind="stable")
    w_sorted = leaves.window[order]
    splits = np.nonzero(np.diff(w_sorted))[0] + 1
    for group in np.split(order, splits):
        rows = group[has_emb[group]]  # a leaf without an embedding (a few frames) is left out
        if len(rows) == 0:
            continue
        w = int(leaves.window[rows[0]])
        score = sims[rows]
        if len(rows) <= k:
            r, c = linear_sum_assignment(score, maximize=True)
            mapping[w, leaves.local[rows[r]]] = c
        else:  # more local speakers than speakers overall: each goes to its closest
            mapping[w, leaves.local[rows]] = np.argmax(score, axis=1)
    return mapping


def _refine_runs(
    leaves: _Leaves, centroids: FloatArray, mapping: npt.NDArray[np.int64], margin: float, min_similarity: float
) -> dict[int, list[tuple[int, int, int, int]]]:
    """Runs whose own embedding clearly belongs to another speaker than their local speaker's.

    The segmentation model sometimes keeps one local speaker across a change between two similar voices; the pause
    between them splits the activity into runs, and a run's embedding tells who it is. Returns, per window, the
    (local, start frame, end frame, speaker) of every run moved to another speaker.
    """
    moved: dict[int, list[tuple[int, int, int, int]]] = {}
    has = np.nonzero(~np.isnan(leaves.run_embedding[:, 0]))[0]
    if len(has) == 0 or len(centroids) < 2:
        return moved
    sims = leaves.run_embedding[has] @ centroids.T
    leaf = leaves.run_leaf[has]
    assigned = mapping[leaves.window[leaf], leaves.local[leaf]]
    best = np.argmax(sims, axis=1)
    rows = np.arange(len(has))
    s_best = sims[rows, best]
    s_assigned = np.where(assigned >= 0, sims[rows, np.maximum(assigned, 0)], -1.0)
    switch = (best != assigned) & (s_best - s_assigned > margin) & (s_best > min_similarity)
    for i in np.nonzero(switch)[0]:
        r = has[i]
        w = int(leaves.window[leaves.run_leaf[r]])
        moved.setdefault(w, []).append(
            (int(leaves.local[leaves.run_leaf[r]]), int(leaves.run_start[r]), int(leaves.run_end[r]), int(best[i]))
        )
    return moved


def _reconstruct(
    seg: Segmentation,
    mapping: npt.NDArray[np.int64],
    k: int,
    moved: dict[int, list[tuple[int, int, int, int]]] | None = None,
) -> npt.NDArray[np.bool_]:
    """(frames, k) global speaker activity from the windows' local activity and the per-frame speaker count."""
    n_frames = seg.num_frames
    f = seg.frames_per_window
    total = np.zeros((n_frames, k), dtype=np.float32)
    count_sum = np.zeros(n_frames, dtype=np.float32)
    covered = np.zeros(n_frames, dtype=np.float32)
    moved = moved or {}
    for w in range(seg.num_windows):
        a = w * seg.step_frames
        b = min(a + f, n_frames)
        if b <= a:
            break
        act = seg.activity[w, : b - a]
        count_sum[a:b] += act.sum(axis=1)
        covered[a:b] += 1.0
        target = np.repeat(mapping[w][None, :], b - a, axis=0)  # (frames, 3) speaker of each local, per frame
        for local, r0, r1, c in moved.get(w, ()):
            target[r0:r1, local] = c
        window_act = np.zeros((b - a, k), dtype=np.float32)
        frames = np.arange(b - a)
        for local in range(NUM_LOCAL_SPEAKERS):
            c_idx = target[:, local]
            ok = c_idx >= 0
            if ok.any():  # two local speakers mapped to one speaker: the union of their activity
                cur = window_act[frames[ok], c_idx[ok]]
                window_act[frames[ok], c_idx[ok]] = np.maximum(cur, act[ok, local])
        total[a:b] += window_act
    covered = np.maximum(covered, 1.0)
    score = total / covered[:, None]
    count = np.rint(count_sum / covered).astype(np.int64)
    count = np.minimum(count, k)
    ranked = np.argsort(-score, axis=1)
    active = np.zeros((n_frames, k), dtype=bool)
    rows = np.arange(n_frames)
    for j in range(min(k, 3)):
        sel = (count > j) & (score[rows, ranked[:, j]] > 0)
        active[rows[sel], ranked[sel, j]] = True
    return active


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is true."""
    if not mask.any():
        return []
    padded = np.concatenate([[False], mask, [False]])
    edges = np.nonzero(np.diff(padded.astype(np.int8)))[0]
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _turns(
    active: npt.NDArray[np.bool_], seg: Segmentation, opts: DiarizationOptions
) -> list[tuple[float, float, int]]:
    step = seg.grid.step_seconds
    c0 = float(seg.grid.center(0))
    duration = seg.num_samples / SAMPLE_RATE
    out: list[tuple[float, float, int]] = []
    for c in range(active.shape[1]):
        spans: list[list[float]] = []
        for a, b in _runs(active[:, c]):
            start = max(0.0, c0 + (a - 0.5) * step)
            end = min(duration, c0 + (b - 0.5) * step)
            if spans and start - spans[-1][1] < opts.min_gap:
                spans[-1][1] = end
            else:
                spans.append([start, end])
        out.extend((s, e, c) for s, e in spans if e - s >= opts.min_turn)
    out.sort()
    return out


# --------------------------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------------------------


def _empty() -> Diarization:
    return Diarization(turns=(), speakers=())


@dataclass
class Analysis:
    """What the models say about a recording, before any clustering decision (reusable to try other settings)."""

    segmentation: Segmentation
    leaves: _Leaves


def analyse(
    waveform: npt.NDArray[np.float32],
    opts: DiarizationOptions,
    hook: Hook | None = None,
    segmentation: SegmentationModel | None = None,
    embedder: FrameEmbedder | None = None,
) -> Analysis | None:
    """Segmentation of every window and an embedding for every local speaker; None when nobody speaks."""
    if waveform.ndim != 1:
        raise ValueError(f"diarize expects a 1-D mono waveform, got shape {waveform.shape}")
    if waveform.size < SAMPLE_RATE // 10:
        return None
    seg_model = segmentation or load_segmentation(opts.segmentation_weights)
    seg = seg_model(waveform, step=opts.step, hook=(lambda d, t: hook("segmentation", d, t)) if hook else None)
    if embedder is None:
        embedder = load_embedder()
    min_clean = max(1, math.ceil(opts.min_embedding_seconds / seg.grid.step_seconds))
    leaves = _find_leaves(seg, min(min_clean, _MIN_CLEAN_POOL_FRAMES), embedder.dimension)
    if len(leaves) == 0:
        return None
    _embed_leaves(waveform, seg, leaves, embedder, opts.embedding_block, hook)
    return Analysis(segmentation=seg, leaves=leaves)


def finish(analysis: Analysis, opts: DiarizationOptions) -> Diarization:
    """Clustering, reconstruction and turns from an `Analysis`."""
    seg, leaves = analysis.segmentation, analysis.leaves
    min_clean = max(1, math.ceil(opts.min_embedding_seconds / seg.grid.step_seconds))
    has_emb = ~np.isnan(leaves.embedding[:, 0])
    usable = has_emb & leaves.use_clean & (leaves.clean >= min_clean)
    good = np.nonzero(usable & ~_mixed_leaves(leaves, opts.mixed_distance))[0]
    if len(good) == 0:
        good = np.nonzero(usable)[0]
    if len(good) == 0:
        good = np.nonzero(has_emb)[0]
    if len(good) == 0:
        return _empty()
    centroids = _cluster(leaves, good, opts, seg)
    while True:
        k = len(centroids)
        mapping = _assign(leaves, centroids, seg.num_windows)
        moved = None
        if opts.run_margin < 1.0:
            moved = _refine_runs(leaves, centroids, mapping, opts.run_margin, 1.0 - opts.threshold)
        active = _reconstruct(seg, mapping, k, moved)
        # A speaker left with less talk than min_speaker_seconds (or min_speaker_share of all speech, for short
        # clips) after reconstruction is a by-product (a blend of two voices, one voice the segmentation model
        # labelled twice, a laugh): drop the weakest such one and map the windows again.
        if opts.num_speakers is not None or k <= max(opts.min_speakers, 1):
            break
        seconds = active.sum(axis=0) * seg.grid.step_seconds
        weakest = int(np.argmin(seconds))
        speech = float(active.any(axis=1).sum()) * seg.grid.step_seconds
        if seconds[weakest] >= min(opts.min_speaker_seconds, opts.min_speaker_share * speech):
            break
        centroids = centroids[np.arange(k) != weakest]
    raw_turns = _turns(active, seg, opts)
    if not raw_turns:
        return _empty()

    # Labels by first appearance; tracks with representative embeddings.
    first: dict[int, float] = {}
    for s, _, c in raw_turns:
        first.setdefault(c, s)
    order = sorted(first, key=lambda c: first[c])
    label_of = {c: f"SPEAKER_{i:02d}" for i, c in enumerate(order)}
    turns = tuple(Turn(start=round(s, 3), end=round(e, 3), speaker=label_of[c]) for s, e, c in raw_turns)
    leaf_cluster = mapping[leaves.window, leaves.local]
    clean_leaves = usable & ~_mixed_leaves(leaves, opts.mixed_distance)
    tracks = []
    for c in order:
        speaking = sum(e - s for s, e, cc in raw_turns if cc == c)
        members = np.nonzero((leaf_cluster == c) & clean_leaves)[0]
        if len(members):  # only members that sound like the speaker (not blends that were assigned here)
            members = members[leaves.embedding[members] @ centroids[c] >= 1.0 - opts.threshold]
        tracks.append(
            SpeakerTrack(
                label=label_of[c],
                embedding=_representative(leaves, members, centroids[c]),
                speaking_time=round(speaking, 3),
                turn_embeddings=_samples(leaves, members),
            )
        )
    return Diarization(turns=turns, speakers=tuple(tracks))


def diarize(
    waveform: npt.NDArray[np.float32],
    *,
    options: DiarizationOptions | None = None,
    hook: Hook | None = None,
    segmentation: SegmentationModel | None = None,
    embedder: FrameEmbedder | None = None,
) -> Diarization:
    """Who spoke when in a 16 kHz mono float32 recording.

    Returns turns (possibly overlapping, sorted by start) and one SpeakerTrack per speaker, labelled SPEAKER_00,
    SPEAKER_01, ... in order of first appearance. Silence gives no turns and no speakers. `hook(stage, done, total)`
    reports progress for the stages "segmentation", "embeddings" and "clustering".
    """
    opts = options or DiarizationOptions()
    analysis = analyse(waveform, opts, hook, segmentation, embedder)
    if hook is not None:
        hook("clustering", 0, 1)
    result = _empty() if analysis is None else finish(analysis, opts)
    if hook is not None:
        hook("clustering", 1, 1)
    return result


def _representative(leaves: _Leaves, members: npt.NDArray[np.int64], fallback: FloatArray) -> FloatArray:
    """L2-normalised mean of the embeddings of the members with the most clean speech (the longer half, at least 3):
    what a voice profile is matched against, so short and blended stretches stay out."""
    if len(members) == 0:
        return fallback.astype(np.float32)
    longest = members[np.argsort(-leaves.clean[members], kind="stable")]
    top = longest[: max(3, len(longest) // 2)]
    return _normalise(leaves.embedding[top].mean(axis=0))


def _samples(leaves: _Leaves, members: npt.NDArray[np.int64], count: int = 10) -> tuple[FloatArray, ...]:
    """Up to `count` member embeddings from the longer clean stretches, spread over the recording."""
    if len(members) == 0:
        return ()
    longest = members[np.argsort(-leaves.clean[members], kind="stable")][: max(count, len(members) // 2)]
    by_time = np.sort(longest)
    picks = by_time[np.unique(np.linspace(0, len(by_time) - 1, min(count, len(by_time))).round().astype(int))]
    return tuple(leaves.embedding[i].copy() for i in picks)
