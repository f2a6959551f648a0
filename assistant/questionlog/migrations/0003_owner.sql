-- Who was given each answer: only that client may rate or correct it (POST /v1/feedback, the chat's thumbs).
-- 'key:<key id>' with API keys; 'chat:<hash of the browser session>' in the chat without keys;
-- 'anonymous' for API calls without keys and the CLI. Answers logged before: from their client column.
ALTER TABLE answers ADD COLUMN owner TEXT;
UPDATE answers SET owner = CASE WHEN client IS NULL THEN 'anonymous' ELSE 'key:' || client END;
