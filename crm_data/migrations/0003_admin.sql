-- Sign-in throttling per login as typed, whether or not such a user exists, so the answers
-- never tell which logins are real.
CREATE TABLE login_attempts (
    login VARCHAR PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    last_failure_at TIMESTAMPTZ,
    locked_until TIMESTAMPTZ
);

-- The audit log is read by entity and by time.
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
