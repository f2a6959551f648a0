-- One row per answer given by the CLI, the API or the chat.
-- Texts (question, query, answer, dropped sentences) are NULL / empty when ASSISTANT_LOG_TEXTS=false;
-- their sha256 is kept either way, so repeats can still be counted.
CREATE TABLE answers (
    id              TEXT PRIMARY KEY,                -- the answer_id returned to the caller
    created_at      TEXT NOT NULL,                   -- UTC, ISO 8601 (sortable as text)
    channel         TEXT NOT NULL,                   -- cli | api | openai | chat
    client          TEXT,                            -- the API key's id, never the key; NULL without keys
    question        TEXT,
    question_sha256 TEXT NOT NULL,
    query           TEXT,                            -- the standalone query retrieval used
    query_sha256    TEXT NOT NULL,
    language        TEXT NOT NULL,
    generator       TEXT NOT NULL,                   -- local | openai | extractive
    model           TEXT,                            -- the generator's model, e.g. qwen2.5-1.5b
    prompt_name     TEXT,
    prompt_sha256   TEXT,
    answer          TEXT,
    answer_sha256   TEXT NOT NULL,
    refused         INTEGER NOT NULL CHECK (refused IN (0, 1)),
    citations       TEXT NOT NULL DEFAULT '[]',      -- JSON [{marker, passage_id, passage_sha256}]
    passages        TEXT NOT NULL DEFAULT '[]',      -- JSON, retrieval order: [{passage_id, passage_sha256, score}]
    dropped         TEXT NOT NULL DEFAULT '[]',      -- JSON: sentences the citation check dropped
    timings         TEXT NOT NULL DEFAULT '{}',      -- JSON {stage_ms: milliseconds}
    total_ms        REAL,
    index_build     TEXT                             -- the index build folder that answered
);
CREATE INDEX answers_created_at ON answers (created_at);
CREATE INDEX answers_question_sha256 ON answers (question_sha256);
