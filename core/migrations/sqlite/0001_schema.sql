-- raddraft study store, SQLite dialect (keep in step with ../postgres/0001_schema.sql).
-- Timestamps are RFC 3339 UTC text; JSON columns hold text written by raddraft.

CREATE TABLE studies (
    id            INTEGER PRIMARY KEY,
    study_uid     TEXT NOT NULL UNIQUE,
    patient_name  TEXT,
    patient_id    TEXT,
    birth_date    TEXT,
    sex           TEXT,
    study_date    TEXT,
    accession     TEXT,
    description   TEXT,
    view_position TEXT,
    indication    TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE images (
    id               INTEGER PRIMARY KEY,
    study_id         INTEGER NOT NULL REFERENCES studies (id),
    sop_instance_uid TEXT NOT NULL UNIQUE,
    path             TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    modality         TEXT,
    pixel_rows       INTEGER NOT NULL,
    pixel_columns    INTEGER NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX images_study ON images (study_id);

CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    directory   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    summary     TEXT NOT NULL,
    added_at    TEXT NOT NULL
);

CREATE TABLE drafts (
    id                INTEGER PRIMARY KEY,
    study_id          INTEGER NOT NULL REFERENCES studies (id),
    model_name        TEXT NOT NULL,
    weights_sha256    TEXT NOT NULL,
    prompt            TEXT NOT NULL,
    indication        TEXT,
    preprocessing     TEXT NOT NULL,
    generation_params TEXT NOT NULL,
    generated_text    TEXT NOT NULL,
    token_ids         TEXT NOT NULL,
    token_logprobs    TEXT NOT NULL,
    timings           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    failure           TEXT,
    created_at        TEXT NOT NULL,
    finished_at       TEXT,
    UNIQUE (id, study_id)
);
CREATE INDEX drafts_study ON drafts (study_id);

CREATE TABLE report_versions (
    id         INTEGER PRIMARY KEY,
    study_id   INTEGER NOT NULL REFERENCES studies (id),
    number     INTEGER NOT NULL CHECK (number > 0),
    draft_id   INTEGER,
    findings   TEXT NOT NULL,
    impression TEXT NOT NULL,
    provenance TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (study_id, number),
    UNIQUE (id, study_id),
    FOREIGN KEY (draft_id, study_id) REFERENCES drafts (id, study_id)
);

CREATE TABLE signoffs (
    id                INTEGER PRIMARY KEY,
    study_id          INTEGER NOT NULL UNIQUE REFERENCES studies (id),
    report_version_id INTEGER NOT NULL,
    signer            TEXT NOT NULL,
    signed_at         TEXT NOT NULL,
    content_sha256    TEXT NOT NULL,
    FOREIGN KEY (report_version_id, study_id) REFERENCES report_versions (id, study_id)
);

CREATE TABLE addenda (
    id         INTEGER PRIMARY KEY,
    study_id   INTEGER NOT NULL REFERENCES studies (id),
    text       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX addenda_study ON addenda (study_id);

-- seq is assigned by the writer (last + 1) under the write lock, so the chain has no gaps.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    study_uid TEXT,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_study ON audit_log (study_uid);
