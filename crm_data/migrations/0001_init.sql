-- The whole data model of the CRM: people, clients, dictionaries, threads, events and their
-- children, attachments and the audit log. Times are TIMESTAMPTZ (UTC), money DECIMAL(18,2).
-- Dictionary rows are archived (active = false), never deleted, so old records keep their names.
--
-- Foreign keys only on columns that never change after insert. DuckDB indexes foreign-key
-- columns and turns an update of an indexed column into delete + insert, which it refuses for a
-- row that other rows reference. So mutable references (a thread's owner and stage, an event's
-- assignee, type and stage) are checked by the services inside the writing transaction, and
-- tables that other tables reference carry no secondary index on a column that is updated.

CREATE SEQUENCE users_seq;
CREATE SEQUENCE clients_seq;
CREATE SEQUENCE contacts_seq;
CREATE SEQUENCE event_types_seq;
CREATE SEQUENCE pipelines_seq;
CREATE SEQUENCE stages_seq;
CREATE SEQUENCE amount_types_seq;
CREATE SEQUENCE products_seq;
CREATE SEQUENCE resources_seq;
CREATE SEQUENCE lost_reasons_seq;
CREATE SEQUENCE dictionaries_seq;
CREATE SEQUENCE dictionary_values_seq;
CREATE SEQUENCE threads_seq;
CREATE SEQUENCE events_seq;
CREATE SEQUENCE event_amounts_seq;
CREATE SEQUENCE event_products_seq;
CREATE SEQUENCE event_participants_seq;
CREATE SEQUENCE attachments_seq;
CREATE SEQUENCE audit_log_seq;

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY DEFAULT nextval('users_seq'),
    login VARCHAR NOT NULL UNIQUE,
    display_name VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('admin', 'manager', 'member')),
    locale VARCHAR NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'pl')),
    active BOOLEAN NOT NULL DEFAULT true,
    -- bumped on password change and sign-out everywhere; a session remembers the epoch it began in
    session_epoch INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE clients (
    id BIGINT PRIMARY KEY DEFAULT nextval('clients_seq'),
    name VARCHAR NOT NULL,
    -- rules.name_skeleton(name): names that look alike collide here
    name_key VARCHAR NOT NULL,
    tax_id VARCHAR,
    address VARCHAR NOT NULL DEFAULT '',
    email VARCHAR NOT NULL DEFAULT '',
    phone VARCHAR NOT NULL DEFAULT '',
    notes VARCHAR NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT true,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE contacts (
    id BIGINT PRIMARY KEY DEFAULT nextval('contacts_seq'),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    name VARCHAR NOT NULL,
    position VARCHAR NOT NULL DEFAULT '',
    email VARCHAR NOT NULL DEFAULT '',
    phone VARCHAR NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE event_types (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_types_seq'),
    name VARCHAR NOT NULL,
    color VARCHAR NOT NULL DEFAULT '#4c78a8',
    default_duration_min INTEGER NOT NULL DEFAULT 30 CHECK (default_duration_min > 0),
    is_meeting BOOLEAN NOT NULL DEFAULT false,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE pipelines (
    id BIGINT PRIMARY KEY DEFAULT nextval('pipelines_seq'),
    name VARCHAR NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE stages (
    id BIGINT PRIMARY KEY DEFAULT nextval('stages_seq'),
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id),
    sequence INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    is_won BOOLEAN NOT NULL DEFAULT false,
    is_lost BOOLEAN NOT NULL DEFAULT false,
    active BOOLEAN NOT NULL DEFAULT true,
    CHECK (NOT (is_won AND is_lost))
);

CREATE TABLE amount_types (
    id BIGINT PRIMARY KEY DEFAULT nextval('amount_types_seq'),
    name VARCHAR NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE products (
    id BIGINT PRIMARY KEY DEFAULT nextval('products_seq'),
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    unit VARCHAR NOT NULL DEFAULT 'pcs',
    price DECIMAL(18, 2) NOT NULL DEFAULT 0 CHECK (price >= 0),
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE resources (
    id BIGINT PRIMARY KEY DEFAULT nextval('resources_seq'),
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL DEFAULT 'room',
    buffer_min INTEGER NOT NULL DEFAULT 0 CHECK (buffer_min >= 0),
    active BOOLEAN NOT NULL DEFAULT true,
    -- bumped by every reservation write so that two writers of one resource conflict fast
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE lost_reasons (
    id BIGINT PRIMARY KEY DEFAULT nextval('lost_reasons_seq'),
    name VARCHAR NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE dictionaries (
    id BIGINT PRIMARY KEY DEFAULT nextval('dictionaries_seq'),
    name VARCHAR NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE dictionary_values (
    id BIGINT PRIMARY KEY DEFAULT nextval('dictionary_values_seq'),
    dictionary_id BIGINT NOT NULL REFERENCES dictionaries (id),
    value VARCHAR NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);

-- which event types show a dictionary on the log form, and whether it must be filled there
CREATE TABLE dictionary_event_types (
    dictionary_id BIGINT NOT NULL REFERENCES dictionaries (id),
    event_type_id BIGINT NOT NULL REFERENCES event_types (id),
    is_required BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (dictionary_id, event_type_id)
);

CREATE TABLE threads (
    id BIGINT PRIMARY KEY DEFAULT nextval('threads_seq'),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id),
    title VARCHAR NOT NULL,
    owner_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost', 'closed')),
    lost_reason_id BIGINT,
    opened_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    last_event_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status <> 'lost' OR lost_reason_id IS NOT NULL)
);

CREATE TABLE events (
    id BIGINT PRIMARY KEY DEFAULT nextval('events_seq'),
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    type_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    assignee_id BIGINT NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('done', 'planned', 'cancelled')),
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    note VARCHAR NOT NULL DEFAULT '',
    -- set only when this event moved the thread to a stage
    stage_id BIGINT,
    lost_reason_id BIGINT,
    -- the event whose "next step" planned this one
    planned_by_event_id BIGINT,
    remind_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at)
);

CREATE TABLE event_amounts (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_amounts_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    amount_type_id BIGINT NOT NULL REFERENCES amount_types (id),
    value DECIMAL(18, 2) NOT NULL
);

CREATE TABLE event_products (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_products_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity DECIMAL(18, 3) NOT NULL CHECK (quantity > 0),
    unit_price DECIMAL(18, 2) NOT NULL CHECK (unit_price >= 0),
    -- quantity * unit_price rounded half up to the cent, stored so reports never re-round
    value DECIMAL(18, 2) NOT NULL
);

CREATE TABLE event_participants (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_participants_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    contact_id BIGINT REFERENCES contacts (id),
    user_id BIGINT REFERENCES users (id),
    -- a third party from outside the client, by name
    name VARCHAR,
    CHECK ((contact_id IS NOT NULL)::INTEGER + (user_id IS NOT NULL)::INTEGER
           + (name IS NOT NULL)::INTEGER = 1)
);

CREATE TABLE event_dictionary_values (
    event_id BIGINT NOT NULL REFERENCES events (id),
    dictionary_id BIGINT NOT NULL REFERENCES dictionaries (id),
    value_id BIGINT NOT NULL REFERENCES dictionary_values (id),
    PRIMARY KEY (event_id, dictionary_id)
);

CREATE TABLE attachments (
    id BIGINT PRIMARY KEY DEFAULT nextval('attachments_seq'),
    event_id BIGINT NOT NULL REFERENCES events (id),
    sha256 VARCHAR NOT NULL CHECK (length(sha256) = 64),
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    mime_type VARCHAR NOT NULL,
    -- sanitised for display and download only; the bytes live under their sha256
    display_name VARCHAR NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    logged_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    user_id BIGINT,
    entity VARCHAR NOT NULL,
    entity_id BIGINT,
    action VARCHAR NOT NULL,
    -- JSON object {field: [old, new]}
    changes VARCHAR NOT NULL DEFAULT '{}'
);
