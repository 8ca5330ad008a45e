-- Moving in (issue 23): deals and activities imported from another CRM keep their original
-- ids, so importing the same export again updates instead of doubling; the mappings a team
-- chose on the import screen can be saved and reused.

CREATE TABLE import_keys (
    kind VARCHAR NOT NULL CHECK (kind IN ('deal', 'activity')),
    external_id VARCHAR NOT NULL,
    -- the thread a deal became, the event an activity became
    entity_id BIGINT NOT NULL,
    -- a digest of the row as imported: the same row again is "unchanged"
    fingerprint VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, external_id)
);

CREATE TABLE import_mappings (
    kind VARCHAR NOT NULL CHECK (kind IN ('deals', 'activities')),
    name VARCHAR NOT NULL,
    mapping VARCHAR NOT NULL,
    saved_by BIGINT NOT NULL REFERENCES users (id),
    saved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, name)
);
