"""The schema as ordered migrations, so an old state file upgrades in place and a newer one is refused."""

from __future__ import annotations

# "dope" in ASCII: marks a file as a dopebot store, so we never migrate someone else's SQLite file.
APPLICATION_ID = 0x646F7065

# Money and quantity columns are TEXT holding str(Decimal): REAL would round the ledger. Ledger tables are
# WITHOUT ROWID keyed by run: one b-tree each, which halves the cost of recording a long backtest; `seq` keeps
# the order things happened in.
_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('backtest', 'paper', 'live')),
    strategy TEXT NOT NULL,
    symbol TEXT NOT NULL,
    venue TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    quote TEXT NOT NULL DEFAULT '',
    started INTEGER,
    finished INTEGER,
    data_start INTEGER,
    data_end INTEGER,
    candles INTEGER NOT NULL DEFAULT 0,
    starting_balance TEXT,
    final_cash TEXT,
    final_position TEXT,
    final_equity TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    gaps TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'stopped'))
);

CREATE TABLE orders (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    time INTEGER NOT NULL,
    reason TEXT NOT NULL,
    amount TEXT,
    quote_amount TEXT,
    price TEXT,
    group_id TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE order_updates (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    time INTEGER NOT NULL,
    status TEXT NOT NULL,
    filled_amount TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE fills (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    time INTEGER NOT NULL,
    price TEXT NOT NULL,
    amount TEXT NOT NULL,
    fee TEXT NOT NULL,
    fee_currency TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE equity (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time INTEGER NOT NULL,
    cash TEXT NOT NULL,
    position_value TEXT NOT NULL,
    equity TEXT NOT NULL,
    PRIMARY KEY (run_id, time)
) WITHOUT ROWID;

CREATE TABLE round_trips (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    entry_time INTEGER NOT NULL,
    exit_time INTEGER NOT NULL,
    entry_price TEXT NOT NULL,
    exit_price TEXT NOT NULL,
    amount TEXT NOT NULL,
    fees TEXT NOT NULL,
    pnl TEXT NOT NULL,
    exit_reason TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE heartbeats (
    component TEXT PRIMARY KEY,
    run_id TEXT,
    time INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'alive'
);

CREATE TABLE models (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    card TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('candidate', 'champion', 'challenger', 'retired')),
    created INTEGER NOT NULL
);

CREATE TABLE model_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    time INTEGER NOT NULL,
    old_status TEXT,
    new_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_events_model_time ON model_events (model_id, time);
"""

# MIGRATIONS[i] takes a store from user_version i to i + 1. Append only; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (_V1,)

SCHEMA_VERSION = len(MIGRATIONS)
