"""The Digipoort simulator's tables in the state database."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS dp_accounts (
    user TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    berichtsoorten TEXT,          -- JSON list, null = all
    identities TEXT,              -- JSON list, null = all
    source TEXT NOT NULL          -- config | api
);
-- One row per processed meta file: the decided response, written and cleaned up after commit.
CREATE TABLE IF NOT EXISTS dp_intake (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    meta_name TEXT NOT NULL,
    response_name TEXT NOT NULL,
    response_bytes BLOB NOT NULL,
    remove TEXT NOT NULL,         -- JSON list of names to remove from IN
    archive TEXT,                 -- where an accepted payload is kept
    state TEXT NOT NULL           -- decided | done
);
CREATE TABLE IF NOT EXISTS dp_submissions (
    kenmerk TEXT PRIMARY KEY,     -- Digipoort's data-reference id
    user TEXT NOT NULL,
    context_id TEXT,              -- the sender's data-reference id
    berichtsoort TEXT,
    aanleverkenmerk TEXT,
    eerder_aanleverkenmerk TEXT,
    identity_number TEXT,
    identity_type TEXT,
    rol TEXT,
    filename TEXT,
    size INTEGER,
    sha256 TEXT,
    meta_json TEXT,
    received_at TEXT NOT NULL,
    phase TEXT NOT NULL,          -- refused | delivering | delivered | accepted | rejected
    plan TEXT,                    -- JSON Plan, decided at transport
    foutcode TEXT,
    detail TEXT,
    first_attempt TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    answer_state TEXT,            -- null | decided | written
    answer_name TEXT,
    answer_bytes BLOB,
    answer_meta BLOB,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS dp_submissions_user ON dp_submissions (user, received_at);
CREATE TABLE IF NOT EXISTS dp_statuses (
    kenmerk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    code INTEGER NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    foutcode TEXT,
    details TEXT,                 -- statusdetails: the recipient's Responsemessage with 500/510
    PRIMARY KEY (kenmerk, seq)
);
"""
