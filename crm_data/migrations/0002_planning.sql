-- Planning: resource reservations, reminders as rows, recurring series, recorded conflict warnings.

CREATE SEQUENCE reservations_seq;
CREATE SEQUENCE reminders_seq;
CREATE SEQUENCE recurrences_seq;
CREATE SEQUENCE event_conflicts_seq;

-- A planned event holds a resource from starts_at to ends_at (the event's own times). Two
-- reservations of one resource may not overlap once the resource's buffer is added between
-- them. DuckDB has no exclusion constraint: crm_data.reservations serialises writers per
-- resource and re-checks inside the transaction (see DESIGN.md, invariant 2).
CREATE TABLE reservations (
    id BIGINT PRIMARY KEY DEFAULT nextval('reservations_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

-- "What is due for this user now" is one query over this table.
CREATE TABLE reminders (
    id BIGINT PRIMARY KEY DEFAULT nextval('reminders_seq'),
    user_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events (id),
    remind_at TIMESTAMPTZ NOT NULL,
    shown_at TIMESTAMPTZ,
    dismissed_at TIMESTAMPTZ
);
CREATE INDEX reminders_due ON reminders (user_id, remind_at);

CREATE TABLE recurrences (
    id BIGINT PRIMARY KEY DEFAULT nextval('recurrences_seq'),
    freq VARCHAR NOT NULL CHECK (freq IN ('daily', 'weekly', 'monthly')),
    until_on DATE,
    occurrences INTEGER,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (until_on IS NOT NULL OR occurrences IS NOT NULL)
);

ALTER TABLE events ADD COLUMN recurrence_id BIGINT;

-- An overlap of people that the user was shown and chose to save anyway.
CREATE TABLE event_conflicts (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_conflicts_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    other_event_id BIGINT NOT NULL REFERENCES events (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    accepted_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
