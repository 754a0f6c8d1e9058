-- Record format 2: the request (correlation) id of a record, for search. `outcome` (from
-- 0001_fleet.sql) is filled at ingest from the same version on; rows stored before keep it
-- empty (rows are never changed). No index: like kind and ip, these filters are applied to the
-- rows a time range or an actor selects, so ingestion keeps its rate.
ALTER TABLE records ADD COLUMN request_id text;
