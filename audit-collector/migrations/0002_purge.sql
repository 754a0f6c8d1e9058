-- Purges: the only way records leave the fleet store. A purge removes a whole prefix of one
-- log, up to a position the collector accepted (so verification resumes from that position's
-- frontier and chain hash), and is first written as a row of `purges`, each row chained to the
-- previous one of its log by SHA-256.

CREATE TABLE purges (
    log_id     bytea NOT NULL REFERENCES logs (log_id),
    up_to      bigint NOT NULL CHECK (up_to > 0),
    root       bytea NOT NULL CHECK (length(root) = 32),
    last_chain bytea NOT NULL CHECK (length(last_chain) = 32),
    frontier   bytea NOT NULL,
    cutoff     timestamptz NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    prev_hash  bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, up_to)
);
CREATE TRIGGER purges_append_only BEFORE UPDATE OR DELETE ON purges
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER purges_no_truncate BEFORE TRUNCATE ON purges
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
GRANT SELECT ON purges TO audit_ingest, audit_reader;

-- The row's hash: SHA-256 over the previous hash and the fields, in a fixed text form.
CREATE FUNCTION audit_purge_hash(prev bytea, log bytea, up_to bigint, root bytea,
                                 last_chain bytea, cutoff timestamptz, reason text)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to('audit-purge/v1' || E'\n' || encode(prev, 'hex') || E'\n'
        || encode(log, 'hex') || E'\n' || up_to::text || E'\n' || encode(root, 'hex') || E'\n'
        || encode(last_chain, 'hex') || E'\n'
        || to_char(cutoff AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n'
        || reason, 'UTF8'))
$$;

-- Records are deleted only inside audit_purge, which sets this flag for its own transaction
-- after writing the purge row.
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME LIKE 'records%'
       AND current_setting('audit.purge_in_progress', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit store tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Purges the records of `log` older than `cutoff`: up to the largest accepted position whose
-- records are all older than the cutoff. Returns the number of records removed (0 when no
-- position qualifies). The purge row is written, chained, before any record is deleted.
CREATE FUNCTION audit_purge(log bytea, cutoff timestamptz, why text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_young bigint;
    pos record;
    prev bytea;
    removed bigint;
BEGIN
    IF why IS NULL OR length(why) = 0 THEN
        RAISE EXCEPTION 'a purge needs a reason';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended((SELECT origin FROM logs WHERE log_id = log), 0));
    SELECT min(seq) INTO first_young FROM records WHERE log_id = log AND time >= cutoff;
    SELECT size, root, last_chain, frontier INTO pos FROM positions
        WHERE log_id = log AND (first_young IS NULL OR size <= first_young)
        ORDER BY size DESC LIMIT 1;
    IF pos IS NULL OR pos.size <= coalesce((SELECT max(up_to) FROM purges WHERE log_id = log), 0) THEN
        RETURN 0;
    END IF;
    SELECT hash INTO prev FROM purges WHERE log_id = log ORDER BY up_to DESC LIMIT 1;
    prev := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    INSERT INTO purges (log_id, up_to, root, last_chain, frontier, cutoff, reason, prev_hash, hash)
    VALUES (log, pos.size, pos.root, pos.last_chain, pos.frontier, cutoff, why, prev,
            audit_purge_hash(prev, log, pos.size, pos.root, pos.last_chain, cutoff, why));
    PERFORM set_config('audit.purge_in_progress', 'on', true);
    DELETE FROM records WHERE log_id = log AND seq < pos.size;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('audit.purge_in_progress', 'off', true);
    RETURN removed;
END
$$;
