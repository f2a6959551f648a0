-- The collection each answer came from (issue 23); answers logged before collections came from 'default'.
ALTER TABLE answers ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
CREATE INDEX answers_collection ON answers (collection, created_at);
