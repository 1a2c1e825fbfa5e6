"""The Twinfield simulator's tables in the state database.

Amounts are stored as text (``Decimal`` strings), so nothing is ever rounded by a float on the way.
"""

TABLES = ("tw_organisations", "tw_offices", "tw_users", "tw_clients", "tw_login_requests", "tw_codes",
          "tw_tokens", "tw_dimensions", "tw_vatcodes", "tw_articles", "tw_sequences", "tw_transactions",
          "tw_lines", "tw_invoices", "tw_matches")

SCHEMA = """
CREATE TABLE IF NOT EXISTS tw_organisations (
    code TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tw_offices (
    code TEXT PRIMARY KEY,
    organisation TEXT NOT NULL,
    name TEXT NOT NULL,
    shortname TEXT NOT NULL,
    masks TEXT NOT NULL,              -- JSON {type: mask}
    reporting_currency TEXT,
    invoice_types TEXT NOT NULL,      -- JSON list
    journals TEXT NOT NULL DEFAULT '{}'  -- JSON {code: sales | journal}
);
CREATE TABLE IF NOT EXISTS tw_users (
    organisation TEXT NOT NULL,
    user TEXT NOT NULL,
    password TEXT NOT NULL,
    name TEXT NOT NULL,
    offices TEXT,                     -- JSON list, null = every office of the organisation
    PRIMARY KEY (organisation, user)
);
CREATE TABLE IF NOT EXISTS tw_clients (
    client_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,      -- JSON list
    name TEXT NOT NULL
);
-- An authorize request between the login page, the consent page and the redirect.
CREATE TABLE IF NOT EXISTS tw_login_requests (
    id TEXT PRIMARY KEY,
    params TEXT NOT NULL,             -- JSON: client_id, redirect_uri, scope, state, nonce
    organisation TEXT,
    user TEXT,                        -- set once the login form was passed
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tw_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    organisation TEXT NOT NULL,
    user TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tw_tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,               -- access | refresh | session
    client_id TEXT,
    organisation TEXT NOT NULL,
    user TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT,                  -- null: never (refresh tokens live 25 years at Twinfield)
    revoked INTEGER NOT NULL DEFAULT 0,
    company TEXT,                     -- a session's selected office
    refresh_token TEXT                -- the refresh token an access token was issued with
);
CREATE TABLE IF NOT EXISTS tw_dimensions (
    office TEXT NOT NULL,
    type TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    data TEXT NOT NULL,               -- JSON: every other field
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    PRIMARY KEY (office, type, code)
);
CREATE TABLE IF NOT EXISTS tw_vatcodes (
    office TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,               -- JSON: percentages, icp, shortname
    PRIMARY KEY (office, code)
);
CREATE TABLE IF NOT EXISTS tw_articles (
    office TEXT NOT NULL,
    code TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (office, code)
);
CREATE TABLE IF NOT EXISTS tw_sequences (
    office TEXT NOT NULL,
    name TEXT NOT NULL,               -- a journal code with its year (VRK/2026), INV/FACTUUR, MATCH
    last INTEGER NOT NULL,
    PRIMARY KEY (office, name)
);
CREATE TABLE IF NOT EXISTS tw_transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office TEXT NOT NULL,
    code TEXT NOT NULL,
    number TEXT NOT NULL,
    location TEXT NOT NULL,           -- temporary | final
    date TEXT NOT NULL,
    period TEXT NOT NULL,
    invoicenumber TEXT,
    currency TEXT NOT NULL,
    duedate TEXT,
    user TEXT NOT NULL,
    header TEXT NOT NULL,             -- JSON: header fields as sent plus what Twinfield adds
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    UNIQUE (office, code, number)
);
CREATE INDEX IF NOT EXISTS tw_transactions_invoice ON tw_transactions (office, code, invoicenumber);
CREATE TABLE IF NOT EXISTS tw_lines (
    txn INTEGER NOT NULL REFERENCES tw_transactions (id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    type TEXT NOT NULL,               -- total | detail | vat
    dim1 TEXT NOT NULL,
    dim2 TEXT,
    dim3 TEXT,
    debitcredit TEXT NOT NULL,
    value TEXT NOT NULL,
    vatcode TEXT,
    vatvalue TEXT,
    vatturnover TEXT,
    description TEXT,
    invoicenumber TEXT,
    performancetype TEXT,
    performancecountry TEXT,
    performancevatnumber TEXT,
    performancedate TEXT,
    baseline INTEGER,
    matchable INTEGER NOT NULL DEFAULT 0,
    openvalue TEXT,                   -- signed: debit positive
    matchstatus TEXT NOT NULL,        -- available | matched | notmatchable
    matchnumber TEXT,
    matchdate TEXT,
    extra TEXT NOT NULL DEFAULT '[]', -- JSON [[tag, text], ...]: fields sent that we keep as they came
    PRIMARY KEY (txn, id)
);
CREATE TABLE IF NOT EXISTS tw_invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office TEXT NOT NULL,
    invoicetype TEXT NOT NULL,
    invoicenumber TEXT NOT NULL,
    status TEXT NOT NULL,             -- concept | final
    customer TEXT NOT NULL,
    data TEXT NOT NULL,               -- JSON: header, lines, totals, vatlines
    txn_code TEXT,
    txn_number TEXT,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    UNIQUE (office, invoicetype, invoicenumber)
);
CREATE TABLE IF NOT EXISTS tw_matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office TEXT NOT NULL,
    matchcode TEXT NOT NULL,
    matchdate TEXT NOT NULL,
    matchnumber TEXT NOT NULL,
    value TEXT NOT NULL,
    lines TEXT NOT NULL,              -- JSON [{code, number, line, matchvalue}]
    created_at TEXT NOT NULL
);
"""
