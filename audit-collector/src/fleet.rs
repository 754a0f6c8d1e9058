//! The read side: status of every log, record search across the fleet, and verification of
//! what the database holds. Every query runs in a read-only transaction as the database role
//! `audit_reader`.

use std::fmt::Write as _;

use audit_chain::{
    CompactTree, CosignatureVerifier, NoteVerifier, chain_hash, genesis_chain_hash, leaf_hash,
    open_checkpoint, open_cosigned,
};
use audit_events::{HashValue, LogId, Record, Timestamp};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

use crate::db::{Db, enrolment_of};
use crate::error::CollectorError;
use crate::witness::position;

/// Most records one page of `records` returns.
pub const MAX_PAGE: u32 = 1000;

async fn reader(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, CollectorError> {
    let tx = client.build_transaction().read_only(true).start().await?;
    tx.batch_execute("SET LOCAL ROLE audit_reader").await?;
    Ok(tx)
}

/// The collector's position in one log, as the shipper reads it; `None` if not enrolled.
pub async fn position_json(db: &Db, log_id: &LogId) -> Result<Option<Value>, CollectorError> {
    let mut client = db.client().await?;
    let tx = reader(&mut client).await?;
    let id = log_id.as_bytes().as_slice();
    let Some(row) = tx.query_opt("SELECT origin FROM logs WHERE log_id = $1", &[&id]).await? else {
        return Ok(None);
    };
    let origin: String = row.get(0);
    let pos = position(&*tx, log_id).await?;
    let cosigned = newest_cosigned(&*tx, id).await?;
    Ok(Some(json!({
        "origin": origin,
        "size": pos.size,
        "root": STANDARD.encode(pos.root),
        "cosigned": cosigned,
    })))
}

/// The newest cosigned checkpoint (note with the cosignature line) of a log.
async fn newest_cosigned<C: tokio_postgres::GenericClient>(
    client: &C,
    id: &[u8],
) -> Result<Option<String>, CollectorError> {
    let row = client
        .query_opt(
            "SELECT c.note, s.line FROM cosignatures s JOIN checkpoints c USING (log_id, size)
             WHERE s.log_id = $1 ORDER BY s.size DESC, s.timestamp DESC LIMIT 1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| format!("{}{}", r.get::<_, String>(0), r.get::<_, String>(1))))
}

/// Every log: size held, newest checkpoint and cosignature, last shipment, refusals.
pub async fn status(db: &Db) -> Result<Value, CollectorError> {
    let mut client = db.client().await?;
    let tx = reader(&mut client).await?;
    let rows = tx
        .query(
            "SELECT l.origin, l.service_id, l.public_key,
                    (SELECT max(size) FROM positions p WHERE p.log_id = l.log_id),
                    (SELECT max(accepted_at)::text FROM positions p WHERE p.log_id = l.log_id),
                    (SELECT max(size) FROM checkpoints c WHERE c.log_id = l.log_id),
                    (SELECT max(size) FROM cosignatures s WHERE s.log_id = l.log_id),
                    (SELECT count(*) FROM refusals r WHERE r.log_id = l.log_id),
                    (SELECT reason || ': ' || detail FROM refusals r WHERE r.log_id = l.log_id
                     ORDER BY id DESC LIMIT 1),
                    (SELECT c.note || s.line FROM cosignatures s JOIN checkpoints c
                     USING (log_id, size) WHERE s.log_id = l.log_id
                     ORDER BY s.size DESC LIMIT 1)
             FROM logs l ORDER BY l.origin",
            &[],
        )
        .await?;
    let unknown: i64 =
        tx.query_one("SELECT count(*) FROM refusals WHERE log_id IS NULL", &[]).await?.get(0);
    let logs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "origin": r.get::<_, String>(0),
                "service_id": r.get::<_, String>(1),
                "public_key": r.get::<_, String>(2),
                "size": r.get::<_, Option<i64>>(3).unwrap_or(0),
                "last_accepted_at": r.get::<_, Option<String>>(4),
                "checkpoint_size": r.get::<_, Option<i64>>(5),
                "cosigned_size": r.get::<_, Option<i64>>(6),
                "refusals": r.get::<_, i64>(7),
                "last_refusal": r.get::<_, Option<String>>(8),
                "cosigned": r.get::<_, Option<String>>(9),
            })
        })
        .collect();
    Ok(json!({ "logs": logs, "refusals_without_log": unknown }))
}

/// Query string of `GET /v1/fleet/raw`: one log's stored records, in order.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    /// The log's origin.
    pub origin: String,
    /// The first sequence number (default 0).
    pub from: Option<u64>,
    /// Page size (default and most [`MAX_PAGE`]).
    pub limit: Option<u32>,
}

/// One page of a log's stored records, exactly as stored (base64), up to the newest checkpoint
/// the collector cosigned: `{"records": [...], "next": seq or null, "cosigned_size": n}`.
pub async fn raw(db: &Db, filter: &RawFilter) -> Result<Value, CollectorError> {
    let mut client = db.client().await?;
    let tx = reader(&mut client).await?;
    let Some(row) =
        tx.query_opt("SELECT log_id FROM logs WHERE origin = $1", &[&filter.origin]).await?
    else {
        return Err(CollectorError::Invalid("no log with this origin is enrolled".into()));
    };
    let id: Vec<u8> = row.get(0);
    let cosigned: Option<i64> =
        tx.query_one("SELECT max(size) FROM cosignatures WHERE log_id = $1", &[&id]).await?.get(0);
    let cosigned = cosigned.unwrap_or(0);
    let from = i64::try_from(filter.from.unwrap_or(0))
        .map_err(|_| CollectorError::Invalid("from is out of range".into()))?;
    let limit = i64::from(filter.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE));
    let rows = tx
        .query(
            "SELECT seq, bytes FROM records WHERE log_id = $1 AND seq >= $2 AND seq < $3
             ORDER BY seq LIMIT $4",
            &[&id, &from, &cosigned, &limit],
        )
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.get::<_, i64>(0) + 1))
        .flatten()
        .filter(|&n| n < cosigned);
    let records: Vec<Value> =
        rows.iter().map(|r| Value::String(STANDARD.encode(r.get::<_, &[u8]>(1)))).collect();
    Ok(json!({ "records": records, "next": next, "cosigned_size": cosigned }))
}

/// Filters of the fleet record search (query string of `GET /v1/fleet/records`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFilter {
    /// Only this log (its origin).
    pub origin: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this kind (`auth.failure`...).
    pub kind: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this actor (the subject an event names).
    pub actor: Option<String>,
    /// Only records naming this resource id.
    pub resource: Option<String>,
    /// Only this client address.
    pub ip: Option<String>,
    /// Only this uniform outcome (`success`, `failure`, `unknown`); records stored before
    /// record format 2 reached the collector have none.
    pub outcome: Option<String>,
    /// Only this request (correlation) id.
    pub request_id: Option<String>,
    /// From this time (RFC 3339), inclusive.
    pub since: Option<String>,
    /// Until this time (RFC 3339), exclusive.
    pub until: Option<String>,
    /// Continue after this cursor (the `next` of the previous page).
    pub after: Option<String>,
    /// Page size (default 100, at most [`MAX_PAGE`]).
    pub limit: Option<u32>,
}

/// One page of records across the fleet, ordered by time, then log, then sequence number.
pub async fn records(db: &Db, filter: &RecordFilter) -> Result<Value, CollectorError> {
    let mut sql = String::from(
        "SELECT l.origin, r.seq, r.chain, r.bytes, r.log_id,
                (extract(epoch FROM r.time) * 1000000)::bigint
         FROM records r JOIN logs l USING (log_id) WHERE true",
    );
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut add = |sql: &mut String, clause: &str, value: Box<dyn ToSql + Sync + Send>| {
        params.push(value);
        let _ = write!(sql, " AND {}", clause.replace('?', &format!("${}", params.len())));
    };
    let text = |v: &Option<String>| v.clone();
    if let Some(v) = text(&filter.origin) {
        add(&mut sql, "l.origin = ?", Box::new(v));
    }
    if let Some(v) = text(&filter.service) {
        add(&mut sql, "r.service_id = ?", Box::new(v));
    }
    if let Some(v) = text(&filter.kind) {
        add(&mut sql, "r.kind = ?", Box::new(v));
    }
    if let Some(v) = text(&filter.category) {
        add(&mut sql, "r.category = ?", Box::new(v.to_ascii_lowercase()));
    }
    if let Some(v) = text(&filter.severity) {
        add(&mut sql, "r.severity = ?", Box::new(v.to_ascii_lowercase()));
    }
    if let Some(v) = text(&filter.actor) {
        add(&mut sql, "r.actor = ?", Box::new(v));
    }
    if let Some(v) = text(&filter.resource) {
        add(&mut sql, "r.resources @> ARRAY[?::text]", Box::new(v));
    }
    if let Some(v) = &filter.ip {
        let ip: std::net::IpAddr = v
            .parse()
            .map_err(|_| CollectorError::Invalid(format!("ip {v:?} is not an address")))?;
        add(&mut sql, "r.ip = ?", Box::new(ip));
    }
    if let Some(v) = &filter.outcome {
        let outcome: audit_events::EventOutcome = v.to_ascii_lowercase().parse().map_err(|_| {
            CollectorError::Invalid("outcome must be success, failure or unknown".into())
        })?;
        add(&mut sql, "r.outcome = ?", Box::new(outcome.as_str().to_owned()));
    }
    if let Some(v) = text(&filter.request_id) {
        add(&mut sql, "r.request_id = ?", Box::new(v));
    }
    for (bound, op) in [(&filter.since, ">="), (&filter.until, "<")] {
        if let Some(v) = bound {
            let t = Timestamp::parse_rfc3339(v)
                .map_err(|_| CollectorError::Invalid(format!("{v:?} is not an RFC 3339 time")))?;
            add(
                &mut sql,
                &format!("r.time {op} to_timestamp(?::float8 / 1e9)"),
                Box::new(t.0 as f64),
            );
        }
    }
    if let Some(cursor) = &filter.after {
        let (micros, log, seq) = parse_cursor(cursor)?;
        params.push(Box::new(micros));
        params.push(Box::new(log.as_bytes().to_vec()));
        params.push(Box::new(seq));
        let n = params.len();
        let _ = write!(
            sql,
            " AND ((extract(epoch FROM r.time) * 1000000)::bigint, r.log_id, r.seq) > (${}, ${}, ${})",
            n - 2,
            n - 1,
            n
        );
    }
    let limit = filter.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let _ = write!(sql, " ORDER BY r.time, r.log_id, r.seq LIMIT {}", limit);
    let mut client = db.client().await?;
    let tx = reader(&mut client).await?;
    let refs: Vec<&(dyn ToSql + Sync)> =
        params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
    let rows = tx.query(sql.as_str(), &refs).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut next = None;
    for row in &rows {
        let origin: String = row.get(0);
        let chain: Vec<u8> = row.get(2);
        let bytes: Vec<u8> = row.get(3);
        let record = Record::decode(&bytes).map_err(|e| {
            CollectorError::Invalid(format!("a stored record does not decode: {e}"))
        })?;
        let hash = HashValue(
            chain.try_into().map_err(|_| CollectorError::Invalid("bad chain hash".into()))?,
        );
        let mut value = record
            .to_json_value(None, Some(&hash))
            .map_err(|e| CollectorError::Invalid(e.to_string()))?;
        value["origin"] = Value::String(origin);
        out.push(value);
        next = Some(format!("{}.{}.{}", row.get::<_, i64>(5), record.log_id, record.seq));
    }
    if out.len() < limit as usize {
        next = None;
    }
    Ok(json!({ "records": out, "next": next }))
}

fn parse_cursor(cursor: &str) -> Result<(i64, LogId, i64), CollectorError> {
    let bad = || CollectorError::Invalid("not a cursor from a previous page".into());
    let mut parts = cursor.splitn(3, '.');
    let micros = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let log = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    Ok((micros, log, seq))
}

/// Recomputes every log's chain and Merkle roots from the stored records and checks them
/// against the stored signed checkpoints (with the enrolled key) and the collector's
/// cosignatures (with `witness`). One verdict per log: PASS when every record links, every
/// checkpoint's root matches and its log signature and cosignature verify, and no record the
/// collector held or cosigned is missing; FAIL otherwise. A checkpoint beyond the records that
/// the collector has not cosigned yet is reported as `pending_checkpoint`.
pub async fn verify(db: &Db, witness: &CosignatureVerifier) -> Result<Value, CollectorError> {
    let mut client = db.client().await?;
    let tx = reader(&mut client).await?;
    let logs = tx.query("SELECT log_id, public_key FROM logs ORDER BY origin", &[]).await?;
    let mut verdicts = Vec::new();
    for log in &logs {
        let id: Vec<u8> = log.get(0);
        let enrolled = enrolment_of(&log.get::<_, String>(1))?;
        let verifier = NoteVerifier::parse(&enrolled.public_key)?;
        let checkpoints: Vec<(i64, String, Option<String>)> = tx
            .query(
                "SELECT c.size, c.note, s.line FROM checkpoints c
                 LEFT JOIN cosignatures s USING (log_id, size) WHERE c.log_id = $1 ORDER BY c.size",
                &[&id],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let mut problems: Vec<String> = Vec::new();
        let mut tree = CompactTree::new();
        let mut prev = genesis_chain_hash(enrolled.log_id.as_bytes());
        let mut next_cp = 0;
        let mut cosigned = 0u64;
        // A purge removed a prefix: resume from the position it recorded, after checking the
        // purge rows' chain and that the position is one the collector accepted.
        let purge = tx
            .query_opt(
                "SELECT p.up_to, p.root, p.last_chain, p.frontier,
                        (SELECT bool_and(q.hash = audit_purge_hash(q.prev_hash, q.log_id, q.up_to,
                                 q.root, q.last_chain, q.cutoff, q.reason)
                             AND q.prev_hash = coalesce(
                                 (SELECT r.hash FROM purges r WHERE r.log_id = q.log_id
                                  AND r.up_to < q.up_to ORDER BY r.up_to DESC LIMIT 1),
                                 '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea))
                         FROM purges q WHERE q.log_id = p.log_id),
                        EXISTS (SELECT 1 FROM positions s WHERE s.log_id = p.log_id
                                AND s.size = p.up_to AND s.root = p.root
                                AND s.last_chain = p.last_chain AND s.frontier = p.frontier)
                 FROM purges p WHERE p.log_id = $1 ORDER BY p.up_to DESC LIMIT 1",
                &[&id],
            )
            .await?;
        let mut purged_to = 0u64;
        if let Some(row) = purge {
            let up_to = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
            let chained: Option<bool> = row.get(4);
            let accepted: bool = row.get(5);
            if chained != Some(true) {
                problems.push("the purge records' hash chain does not verify".to_owned());
            }
            if !accepted {
                problems.push(format!(
                    "the purge up to {up_to} names a position the collector never accepted"
                ));
            }
            let frontier_bytes: Vec<u8> = row.get(3);
            let frontier: Vec<audit_chain::Hash> = frontier_bytes
                .chunks_exact(32)
                .filter_map(|c| <audit_chain::Hash>::try_from(c).ok())
                .collect();
            match (
                <audit_chain::Hash>::try_from(row.get::<_, Vec<u8>>(2).as_slice()),
                CompactTree::from_frontier(up_to, frontier),
            ) {
                (Ok(chain), Ok(resumed)) => {
                    prev = chain;
                    tree = resumed;
                    purged_to = up_to;
                }
                _ => problems
                    .push("the purge record's frontier or chain hash is malformed".to_owned()),
            }
            // Checkpoints inside the purged prefix cannot be recomputed; one at its end can.
            while checkpoints.get(next_cp).is_some_and(|(size, _, _)| (*size as u64) < up_to) {
                next_cp += 1;
            }
        }
        let mut check_cps = |tree: &CompactTree, problems: &mut Vec<String>, cosigned: &mut u64| {
            while let Some((size, note, line)) = checkpoints.get(next_cp) {
                if *size as u64 != tree.size() {
                    break;
                }
                match open_checkpoint(note, &verifier) {
                    Ok(cp) if cp.root == tree.root() => {}
                    Ok(_) => problems
                        .push(format!("the records do not match the checkpoint of size {size}")),
                    Err(e) => {
                        problems.push(format!("the checkpoint of size {size} does not verify: {e}"))
                    }
                }
                if let Some(line) = line {
                    match open_cosigned(&format!("{note}{line}"), &verifier, witness) {
                        Ok(_) => *cosigned = *size as u64,
                        Err(e) => problems
                            .push(format!("the cosignature of size {size} does not verify: {e}")),
                    }
                }
                next_cp += 1;
            }
        };
        // A checkpoint at the start: of the empty tree, or at the end of a purge.
        check_cps(&tree, &mut problems, &mut cosigned);
        // One query per log, streamed: rows arrive as they are read, memory stays bounded.
        let from = i64::try_from(purged_to).unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 2] = [&id, &from];
        let rows = tx
            .query_raw(
                "SELECT seq, chain, bytes FROM records WHERE log_id = $1 AND seq >= $2 ORDER BY seq",
                params.iter().copied(),
            )
            .await?;
        futures_util::pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            let seq: i64 = row.get(0);
            if seq as u64 != tree.size() {
                problems.push(format!("record {} is missing", tree.size()));
                break;
            }
            let bytes: &[u8] = row.get(2);
            let leaf = leaf_hash(bytes);
            prev = chain_hash(&prev, &leaf);
            if row.get::<_, &[u8]>(1) != prev.as_slice() {
                problems.push(format!("record {seq}'s stored chain hash does not match its bytes"));
                break;
            }
            tree.try_push(leaf)?;
            check_cps(&tree, &mut problems, &mut cosigned);
        }
        // Records the collector recorded holding, or that a checkpoint it cosigned covers, must
        // be there; a checkpoint beyond them that it has not cosigned awaits its records (a
        // shipper is mid-stream), which is not a finding.
        let held: Option<i64> =
            tx.query_one("SELECT max(size) FROM positions WHERE log_id = $1", &[&id]).await?.get(0);
        let held = held.map_or(0, |n| u64::try_from(n).unwrap_or(0));
        let mut pending = None;
        if problems.is_empty() && tree.size() < held {
            problems.push(format!("records {} to {} are missing", tree.size(), held - 1));
        }
        if problems.is_empty() && next_cp < checkpoints.len() {
            let size = checkpoints[next_cp].0;
            if checkpoints[next_cp..].iter().any(|(_, _, line)| line.is_some()) {
                problems.push(format!("records up to the checkpoint of size {size} are missing"));
            } else {
                pending = Some(size);
            }
        }
        verdicts.push(json!({
            "origin": enrolled.origin,
            "verdict": if problems.is_empty() { "PASS" } else { "FAIL" },
            "records": tree.size() - purged_to,
            "purged_before": purged_to,
            "checkpoints": checkpoints.len(),
            "cosigned_size": cosigned,
            "pending_checkpoint": pending,
            "problems": problems,
        }));
    }
    Ok(json!({ "logs": verdicts }))
}
