"""The ledger's schema: versioned migrations, applied in order by `Store` on open.

Each entry is one version; a database records how many it has applied (`PRAGMA
user_version`), so a new version is a new entry at the end, never an edit of an old one.
"""

from __future__ import annotations

# The oldest schema that read-only commands (`preview`, `history`, `status`) can read, so that
# they work on a ledger that no writing command has upgraded yet: later versions only add what
# readers can do without (the embeddings cache, read from EMBEDDINGS_SINCE on; an index).
READABLE_FROM = 2
EMBEDDINGS_SINCE = 3

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE papers (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,              -- the Paper's fields as JSON
        first_listed_on TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE listings (
        paper_id TEXT NOT NULL REFERENCES papers(id),
        source TEXT NOT NULL,
        listed_on TEXT NOT NULL,
        PRIMARY KEY (paper_id, source, listed_on)
    );
    CREATE INDEX listings_by_day ON listings(listed_on, source);
    CREATE TABLE fetches (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        listed_on TEXT,
        at TEXT NOT NULL,
        status TEXT NOT NULL,            -- ok | empty | error
        new INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        subscriber TEXT NOT NULL,
        digest_date TEXT NOT NULL,
        window_start TEXT NOT NULL,
        state TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        planned_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        last_reply TEXT NOT NULL DEFAULT '',
        UNIQUE (subscriber, digest_date)
    );
    CREATE INDEX digests_by_state ON digests(state);
    CREATE TABLE digest_papers (
        digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        paper_id TEXT NOT NULL REFERENCES papers(id),
        score REAL NOT NULL,
        reasons TEXT NOT NULL,
        PRIMARY KEY (digest_id, position)
    );
    CREATE TABLE attempts (
        digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reply TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (digest_id, attempt)
    );
    CREATE TABLE seen (
        subscriber TEXT NOT NULL,
        paper_id TEXT NOT NULL REFERENCES papers(id),
        digest_id INTEGER NOT NULL REFERENCES digests(id),
        PRIMARY KEY (subscriber, paper_id)
    );
    CREATE TABLE subscriber_state (
        subscriber TEXT PRIMARY KEY,
        hard_bounces INTEGER NOT NULL DEFAULT 0,
        disabled_at TEXT,
        disabled_reason TEXT NOT NULL DEFAULT ''
    );
    """,
    # 2: validators (ETag, Last-Modified) and bodies of upstream responses, for conditional GETs
    """
    CREATE TABLE http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        body BLOB NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 3: sentence embeddings of the semantic ranker, by model and a hash of the text embedded
    """
    CREATE TABLE embeddings (
        model TEXT NOT NULL,
        text_key BLOB NOT NULL,
        vector BLOB NOT NULL,            -- float32, little-endian
        PRIMARY KEY (model, text_key)
    );
    """,
    # 4: indexes, so that a run costs no more after years of history than on the first day:
    # the papers a subscriber was sent, from their recent digests (`Store.seen_ids`); their
    # undelivered digests (`expire_unsent`); the attempts of the last hour (`rate_free_at`);
    # the latest papers (`recent_texts`); the latest digests of all (`history`, `status`).
    # IF NOT EXISTS: one made by hand under the same name (to speed a query up) is kept
    """
    CREATE INDEX IF NOT EXISTS seen_by_digest ON seen(digest_id);
    CREATE INDEX IF NOT EXISTS digests_unsent ON digests(subscriber, digest_date)
        WHERE state IN ('planned', 'sending', 'retry');
    CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts(at);
    CREATE INDEX IF NOT EXISTS papers_by_listing ON papers(first_listed_on, id);
    CREATE INDEX IF NOT EXISTS digests_by_day ON digests(digest_date, subscriber);
    """,
)
