"""The Centraal Boekhuis simulator's tables in the state database."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS cb_accounts (
    relation_id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    name TEXT,
    email TEXT,
    invoice_channel TEXT NOT NULL,
    source TEXT NOT NULL              -- config | api
);
-- Every file that went into in/ (names are remembered: a file once placed is never replaced) and
-- every file CB placed in out/.
CREATE TABLE IF NOT EXISTS cb_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    relation_id TEXT NOT NULL,
    folder TEXT NOT NULL,             -- in | out
    name TEXT NOT NULL,
    kind TEXT NOT NULL,               -- order, attachment, receipt, error, invoice
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    at TEXT NOT NULL,
    state TEXT NOT NULL,              -- in: processed; out: present, downloaded, deleted, expired, removed
    detail TEXT
);
CREATE INDEX IF NOT EXISTS cb_files_name ON cb_files (relation_id, folder, name);
CREATE TABLE IF NOT EXISTS cb_logins (
    relation_id TEXT PRIMARY KEY,
    last_login TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cb_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    relation_id TEXT,
    session TEXT,
    rule TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cb_invoices (
    number TEXT PRIMARY KEY,
    relation_id TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    type_code TEXT NOT NULL,
    payable TEXT NOT NULL,
    channel TEXT NOT NULL,
    xml_name TEXT NOT NULL,
    pdf_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
