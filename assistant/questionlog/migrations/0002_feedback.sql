-- Thumbs up/down from the chat and POST /v1/feedback; the latest row per answer is its rating.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    answer_id   TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    rating      TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment     TEXT,
    correction  TEXT,                                -- the answer the user says is right
    client      TEXT
);
CREATE INDEX feedback_answer_id ON feedback (answer_id, id);
