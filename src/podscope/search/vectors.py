"""The vector index for semantic search: a local faiss file derived from the vectors the store keeps, or, on a
PostgreSQL store, the server's own index (`ServerVectors`).

Why it looks like this:
- The store holds every segment's vector (float16), so this index can always be rebuilt from it: on first use, after
  a crash, or when it has grown enough to deserve another layout. A count kept beside it tells whether it is current.
- Small libraries use an exact index (inner product over all vectors). From `IVF_FROM` vectors on, an inverted-file
  index with 8-bit scalar quantisation (IVF-SQ8) keeps memory at about 400 bytes a segment and searches a few
  thousand vectors per query instead of all of them: fast at a million segments on two cores, with recall checked
  against the exact index by `bench/search.py`.
- Writes go to a temporary file renamed into place under a file lock, so two processes never corrupt it.
"""

from __future__ import annotations

import fcntl
import math
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from podscope.errors import ModelError
from podscope.records import SearchFilters

IVF_FROM = 50_000  # vectors from which the inverted-file layout is used
NPROBE = 24  # inverted lists searched per query
Vectors = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]
# (ids, vectors) batches of everything the store holds, for a rebuild.
Source = Callable[[], Iterator[tuple[Ids, Vectors]]]


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ModelError(f"faiss is not installed ({exc}); install podscope with `make setup`") from exc
    return faiss


class VectorIndex:
    """Segment id -> vector, searched by inner product (cosine: vectors are L2-normalised)."""

    def __init__(self, path: Path, dimension: int, threads: int = 2):
        self.path = path
        self.dimension = dimension
        self.threads = threads
        self._index: Any = None
        self._stamp: tuple[float, int] | None = None

    # -- state ----------------------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[Path | None]:
        """The index file, kept from writers while the caller reads it (a backup's copy); None when there is none."""
        with self._locked():
            yield self.path if self.path.exists() else None

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime, st.st_size)

    def _load(self) -> Any:
        faiss = _faiss()
        faiss.omp_set_num_threads(self.threads)
        stamp = self._file_stamp()
        if self._index is None or stamp != self._stamp:
            self._index = faiss.read_index(str(self.path)) if stamp is not None else None
            self._stamp = stamp
        return self._index

    def _save(self, index: Any) -> None:
        faiss = _faiss()
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        faiss.write_index(index, str(tmp))
        os.replace(tmp, self.path)
        self._index = index
        self._stamp = self._file_stamp()

    @property
    def size(self) -> int:
        index = self._load()
        return 0 if index is None else int(index.ntotal)

    def ids(self) -> Ids | None:
        """The segment ids the index holds, ascending (none when there is no index file yet)."""
        index = self._load()
        return None if index is None else np.sort(_faiss().vector_to_array(index.id_map).astype(np.int64))

    def kind(self) -> str:
        index = self._load()
        if index is None:
            return "none"
        return "ivf-sq8" if "IVF" in type(_faiss().downcast_index(index.index)).__name__ else "exact"

    # -- building -------------------------------------------------------------------------------------------------

    def _empty(self, count: int, sample: Vectors | None) -> Any:
        faiss = _faiss()
        if count < IVF_FROM or sample is None:
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
        nlist = int(min(8192, max(256, 4 * math.sqrt(count))))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        ivf.train(np.ascontiguousarray(sample[: max(40 * nlist, 50_000)], dtype=np.float32))
        ivf.nprobe = NPROBE
        return faiss.IndexIDMap2(ivf)

    def rebuild(self, count: int, source: Source) -> None:
        """Build the index from everything the store holds (`count` vectors, given in batches by `source`)."""
        with self._locked():
            sample = None
            if count >= IVF_FROM:
                rng = np.random.default_rng(0)
                parts = [v[rng.random(len(v)) < min(1.0, 200_000 / count)] for _, v in source()]
                sample = np.concatenate(parts) if parts else None
            index = self._empty(count, sample)
            for ids, vectors in source():
                index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self._save(index)

    def needs_rebuild(self, count: int) -> bool:
        """True when the index does not hold exactly the store's `count` vectors, or has outgrown its layout."""
        index = self._load()
        if index is None:
            return count > 0
        if int(index.ntotal) != count:
            return True
        exact = self.kind() == "exact"
        return (exact and count >= 2 * IVF_FROM) or (not exact and count > 16 * _nlist(index) ** 2)

    def add(self, ids: Ids, vectors: Vectors) -> None:
        with self._locked():
            index = self._load()
            if index is None:
                index = self._empty(0, None)
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self._save(index)

    def remove(self, ids: Ids) -> None:
        if not len(ids):
            return
        with self._locked():
            index = self._load()
            if index is None:
                return
            index.remove_ids(_faiss().IDSelectorBatch(ids.astype(np.int64)))
            self._save(index)

    # -- searching ------------------------------------------------------------------------------------------------

    def search(self, vector: Vectors, k: int) -> tuple[Ids, npt.NDArray[np.float32]]:
        """The k nearest segment ids (best first) and their cosine similarities."""
        index = self._load()
        if index is None or index.ntotal == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, ids = index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), min(k, index.ntotal))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]


def _nlist(index: Any) -> int:
    return int(_faiss().downcast_index(index.index).nlist)


class VectorSearch(Protocol):
    """What the search engine needs of a vector index: the local faiss file (`VectorIndex`) or the store's own
    server-side index (`ServerVectors`)."""

    @property
    def size(self) -> int: ...

    def ids(self) -> Ids | None: ...

    def held(self) -> AbstractContextManager[Path | None]: ...

    def rebuild(self, count: int, source: Source) -> None: ...

    def needs_rebuild(self, count: int) -> bool: ...

    def add(self, ids: Ids, vectors: Vectors) -> None: ...

    def remove(self, ids: Ids) -> None: ...

    def search(self, vector: Vectors, k: int) -> tuple[Ids, npt.NDArray[np.float32]]: ...


@runtime_checkable
class NearestVectors(Protocol):
    """A store that searches its own vectors (PostgreSQL with pgvector's HNSW index)."""

    def nearest(self, vector: Vectors, k: int, f: SearchFilters) -> list[tuple[int, float]]: ...

    def vector_count(self) -> int: ...


class ServerVectors:
    """The vector index the store's server keeps: it is always current, so there is nothing to build, add to or
    remove from here; a search asks the server for the k nearest by cosine."""

    def __init__(self, source: NearestVectors):
        self.source = source

    @property
    def size(self) -> int:
        return self.source.vector_count()

    def ids(self) -> Ids | None:
        return None  # the server's index holds exactly the stored vectors

    @contextmanager
    def held(self) -> Iterator[Path | None]:
        yield None  # no local file: the server's index is in its database

    def rebuild(self, count: int, source: Source) -> None:
        return None

    def needs_rebuild(self, count: int) -> bool:
        return False

    def add(self, ids: Ids, vectors: Vectors) -> None:
        return None

    def remove(self, ids: Ids) -> None:
        return None

    def search(self, vector: Vectors, k: int) -> tuple[Ids, npt.NDArray[np.float32]]:
        found = self.source.nearest(vector, k, SearchFilters())
        return np.array([i for i, _ in found], dtype=np.int64), np.array([s for _, s in found], dtype=np.float32)
