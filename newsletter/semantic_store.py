"""The semantic ranker's vectors kept in the ledger, so that a text is embedded once, ever.

Embedding is most of what the semantic ranker costs (about 0.1 s a paper on a 2-core machine),
and the model's own cache lasts one process: every `send` from cron embedded its windows again
(a weekly reader's window is a week of papers), and every `preview --lookback 31` embedded the
month (40 s). `StoredEmbedder` asks the ledger first, embeds only what it lacks, and stores
that. A ledger opened read-only (`preview`) is only read. Vectors are a cache: one that cannot
be stored is logged and embedded again next time, and the digest goes out all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from newsletter.errors import RunError
from newsletter.ranking_semantic import DIMENSIONS, MODEL, Embeddings, MiniLM, text_key
from newsletter.store import Store

log = logging.getLogger(__name__)
_STORED = np.dtype("<f4")  # how a vector is stored: float32, little-endian
_SIZE = DIMENSIONS * _STORED.itemsize  # bytes of a stored vector (any other row is ignored)


class StoredEmbedder:
    """An `Embedder` that reads and writes its vectors in the ledger (see the module)."""

    def __init__(self, embedder: MiniLM, store: Store) -> None:
        self._embedder = embedder
        self._store = store
        self._looked_up: set[bytes] = set()  # keys asked of the ledger (and stored if missing)

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit vectors of the texts: from the ledger, else from the model (then stored)."""
        keys = [text_key(text) for text in texts]
        new = [key for key in dict.fromkeys(keys) if key not in self._looked_up]
        stored = self._store.embeddings(MODEL, new) if new else {}
        found = {key: vector for key, vector in stored.items() if len(vector) == _SIZE}
        self._embedder.keep({
            key: np.frombuffer(vector, dtype=_STORED).astype(np.float32)
            for key, vector in found.items()
        })
        vectors = self._embedder.embed(texts)
        if new:
            at = {key: i for i, key in enumerate(keys)}
            self._keep({key: vectors[at[key]].astype(_STORED).tobytes()
                        for key in new if key not in found})
            self._looked_up.update(new)
        return vectors

    def _keep(self, vectors: dict[bytes, bytes]) -> None:
        """Store new vectors, unless the ledger is read-only or cannot take them now."""
        if not vectors or self._store.readonly:
            return
        try:
            self._store.keep_embeddings(MODEL, vectors)
        except RunError as exc:
            log.warning("%d embeddings not stored, they will be computed again: %s",
                        len(vectors), exc)
