-- DuckDB's functions that crm_data's statements use, for PostgreSQL: applied at every start of
-- a process on a PostgreSQL database (idempotent), before the migrations. Each is the meaning
-- DuckDB documents, no more.
-- DuckDB's DOUBLE is PostgreSQL's double precision
DO $$ BEGIN
    CREATE DOMAIN double AS double precision;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    CREATE DOMAIN hugeint AS numeric(38, 0);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION epoch(timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT extract(epoch FROM $1)::double precision';
CREATE OR REPLACE FUNCTION epoch(interval) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT extract(epoch FROM $1)::double precision';
CREATE OR REPLACE FUNCTION epoch(date) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT extract(epoch FROM $1::timestamp)::double precision';

CREATE OR REPLACE FUNCTION to_minutes(bigint) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT make_interval(mins => $1::integer)';
CREATE OR REPLACE FUNCTION to_hours(bigint) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT make_interval(hours => $1::integer)';
CREATE OR REPLACE FUNCTION to_days(bigint) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT make_interval(days => $1::integer)';

CREATE OR REPLACE FUNCTION contains(text, text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT strpos($1, $2) > 0';
CREATE OR REPLACE FUNCTION contains(anycompatiblearray, anycompatible) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $2 = ANY($1)';
CREATE OR REPLACE FUNCTION list_contains(anycompatiblearray, anycompatible) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $2 = ANY($1)';

-- DuckDB's strip_accents drops the combining marks of the decomposed text (ß and Ł stay, as in
-- rules.search_key); the unaccent extension would also turn ß into ss and Ł into L
CREATE OR REPLACE FUNCTION strip_accents(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT normalize(regexp_replace(normalize($1, NFD), '[' || chr(768) || '-' || chr(879) || ']', '', 'g'), NFC)$$;

CREATE OR REPLACE FUNCTION range(bigint) RETURNS SETOF bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT generate_series(0::bigint, $1 - 1)';

-- any_value / first: the first non-NULL value of the group (PostgreSQL 16 has any_value)
CREATE OR REPLACE FUNCTION crm_first_value(anyelement, anyelement) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT coalesce($1, $2)';
CREATE OR REPLACE AGGREGATE any_value(anyelement) (SFUNC = crm_first_value, STYPE = anyelement);
CREATE OR REPLACE AGGREGATE first(anyelement) (SFUNC = crm_first_value, STYPE = anyelement);

-- lists: 1-based, NULL when absent, as DuckDB's
CREATE OR REPLACE FUNCTION list_position(anycompatiblearray, anycompatible) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_position($1, $2)';
CREATE OR REPLACE FUNCTION list_extract(anyarray, bigint) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1[$2]';

-- DuckDB's integer division `//` (truncating, as PostgreSQL's div)
CREATE OR REPLACE FUNCTION crm_int_div(bigint, bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1 / $2';
CREATE OR REPLACE FUNCTION crm_int_div(numeric, numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT div($1, $2)';
DO $$ BEGIN
    CREATE OPERATOR // (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = crm_int_div);
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;
DO $$ BEGIN
    CREATE OPERATOR // (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = crm_int_div);
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;
