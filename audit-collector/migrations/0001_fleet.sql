-- Fleet store, version 1. Every table is append-only: rows are inserted, never changed.

CREATE TABLE logs (
    log_id      bytea PRIMARY KEY CHECK (length(log_id) = 16),
    origin      text NOT NULL UNIQUE,
    service_id  text NOT NULL,
    public_key  text NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now()
);

-- One row per record: the exact stored bytes, its chain hash, and columns extracted for search.
-- Partitioned by the record's time, one partition per month (created by
-- audit_create_month_partitions); records outside every month partition go to records_default.
CREATE TABLE records (
    -- No foreign key to logs: the collector checks enrolment in the transaction that inserts,
    -- and a per-row key check halves the insert rate (measured).
    log_id      bytea NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 0),
    time        timestamptz NOT NULL,
    kind        text NOT NULL,
    category    text NOT NULL,
    severity    text NOT NULL,
    actor       text,
    resources   text[] NOT NULL,
    ip          inet,
    outcome     text,
    service_id  text NOT NULL,
    chain       bytea NOT NULL CHECK (length(chain) = 32),
    bytes       bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, seq, time)
) PARTITION BY RANGE (time);

CREATE TABLE records_default PARTITION OF records DEFAULT;
-- Indexes are the cost of ingestion (measured on 2 cores, 10^5 records, 4 shippers: 163k
-- records/s with none, 126k with these, 60k with btree indexes on time, kind, ip and a GIN index
-- on resources as well). The primary key serves a log's records in order (fleet verify, purges);
-- actor searches use the btree; time ranges use the BRIN index (records arrive roughly in time
-- order) and the monthly partitions; kind, category, severity, resource and ip filters are
-- applied to the rows those select.
CREATE INDEX records_actor ON records (actor, time);
CREATE INDEX records_time ON records USING brin (time);

-- The collector's position in each log after every accepted shipment: the tree size, its root,
-- the chain hash of the last record, and the Merkle frontier (the roots of the perfect subtrees,
-- largest first, concatenated), from which the next shipment is checked.
CREATE TABLE positions (
    log_id          bytea NOT NULL REFERENCES logs (log_id),
    size            bigint NOT NULL CHECK (size > 0),
    root            bytea NOT NULL CHECK (length(root) = 32),
    last_chain      bytea NOT NULL CHECK (length(last_chain) = 32),
    frontier        bytea NOT NULL,
    checkpoint_size bigint NOT NULL,
    accepted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, size)
);

-- Signed checkpoints the collector accepted (a shipment proved consistent with them).
CREATE TABLE checkpoints (
    log_id      bytea NOT NULL REFERENCES logs (log_id),
    size        bigint NOT NULL,
    root        bytea NOT NULL CHECK (length(root) = 32),
    note        text NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, size)
);

-- The collector's own cosignatures (C2SP tlog-cosignature v1 lines) on accepted checkpoints.
CREATE TABLE cosignatures (
    log_id    bytea NOT NULL REFERENCES logs (log_id),
    size      bigint NOT NULL,
    witness   text NOT NULL,
    timestamp bigint NOT NULL,
    line      text NOT NULL,
    PRIMARY KEY (log_id, size, witness),
    FOREIGN KEY (log_id, size) REFERENCES checkpoints (log_id, size)
);

-- Every refused shipment, with the offending checkpoint: evidence of a fork, a rollback, a gap,
-- a replay or a forgery.
CREATE TABLE refusals (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    log_id     bytea,
    origin     text,
    reason     text NOT NULL,
    detail     text NOT NULL,
    first_seq  bigint,
    count      bigint,
    checkpoint text
);
CREATE INDEX refusals_log ON refusals (log_id, at);

-- Read-API credentials: the SHA-256 of each auditor token (the token itself is shown once).
CREATE TABLE auditor_tokens (
    name         text PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit store tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['logs', 'records', 'positions', 'checkpoints', 'cosignatures',
                             'refusals', 'auditor_tokens'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                       'EXECUTE FUNCTION audit_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION audit_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;
CREATE TRIGGER records_default_no_truncate BEFORE TRUNCATE ON records_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Monthly partitions of records from the month of `first` for `months` months. A month whose
-- rows already sit in records_default is left there (PostgreSQL cannot attach a partition over
-- rows of the default one without moving them, and moving rows is a change).
CREATE FUNCTION audit_create_month_partitions(first date, months int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', first)::date;
    name text;
    made int := 0;
BEGIN
    FOR i IN 1..months LOOP
        name := format('records_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(name) IS NULL AND NOT EXISTS (
            SELECT 1 FROM records_default WHERE time >= m AND time < (m + interval '1 month')
        ) THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF records FOR VALUES FROM (%L) TO (%L)',
                           name, m, (m + interval '1 month')::date);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION audit_refuse_change()', name || '_no_truncate', name);
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END
$$;

-- Ingestion inserts and reads; auditors read. Neither may change or delete anything.
DO $$
BEGIN
    CREATE ROLE audit_ingest NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;
DO $$
BEGIN
    CREATE ROLE audit_reader NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;
GRANT SELECT, INSERT ON logs, records, positions, checkpoints, cosignatures, refusals
    TO audit_ingest;
GRANT SELECT ON auditor_tokens TO audit_ingest;
GRANT USAGE ON SEQUENCE refusals_id_seq TO audit_ingest;
GRANT SELECT ON logs, records, positions, checkpoints, cosignatures, refusals TO audit_reader;
