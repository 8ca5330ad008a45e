-- Sign-in sessions carried by a cookie: the browser holds a random token, the database only its
-- SHA-256. A session slides: each use moves expires_at to last_seen_at + its idle window.
CREATE SEQUENCE sessions_seq;
CREATE TABLE sessions (
    id BIGINT PRIMARY KEY DEFAULT nextval('sessions_seq'),
    token_hash VARCHAR NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- "keep me signed in": a 30-day idle window instead of 12 hours, and a cookie that outlives the browser
    is_persistent BOOLEAN NOT NULL DEFAULT false,
    user_agent VARCHAR NOT NULL DEFAULT '',
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Private calendar subscription URLs (/calendar/<secret>.ics): only the secret's SHA-256 is kept.
CREATE SEQUENCE calendar_feeds_seq;
CREATE TABLE calendar_feeds (
    id BIGINT PRIMARY KEY DEFAULT nextval('calendar_feeds_seq'),
    user_id BIGINT NOT NULL REFERENCES users (id),
    secret_hash VARCHAR NOT NULL UNIQUE,
    include_delegated BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id);
