//! Ingestion with witnessing: every shipment is checked against what the collector already holds
//! for the log before anything is stored, in one transaction under a per-log lock.
//!
//! Checks, in order (the refusal reason in brackets; every refusal is also a `refusals` row):
//!
//! 1. the body parses (`malformed`, 400) and names an enrolled log (`unknown-log`, 404);
//! 2. the checkpoint verifies with the key registered at enrolment and names the log
//!    (`bad-signature`, 403), and covers the records shipped with a size the database can hold
//!    (`malformed`, 400);
//! 3. the records start exactly where the collector's accepted history ends: a shipment that
//!    starts earlier is a `replay` (409, nothing changes), one that starts later a `gap` (409);
//!    both answers carry the collector's size so an honest shipper resumes there;
//! 4. a checkpoint smaller than the largest one accepted is a `rollback` (422) or, when it is
//!    one accepted earlier, `stale` (422: a replay and a log rolled back to it look alike), and
//!    one whose root differs from an accepted checkpoint of the same size a `fork` (422);
//! 5. every record decodes, belongs to the log and its enrolled service, has the next sequence
//!    number, and its chain hash links to the previous record's (`chain`, 422); no searchable
//!    text of it (actor, resources) holds a NUL, which the database cannot store (`malformed`,
//!    400);
//! 6. the Merkle root after the records, computed from the stored frontier, passes through the
//!    root of every accepted checkpoint it reaches (`fork`) and is consistent with the shipped
//!    checkpoint by the shipped RFC 9162 proof (`fork`, 422).
//!
//! Only then are the records copied in (binary `COPY`), the new position and the checkpoint
//! recorded, and, when the records reach the checkpoint's size, the checkpoint cosigned
//! (C2SP tlog-cosignature v1). Nothing accepted is ever changed: the tables are append-only.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audit_chain::{
    CompactTree, ConsistencyProof, Cosigner, Hash, NoteVerifier, chain_hash, genesis_chain_hash,
    leaf_hash, open_checkpoint, verify_consistency,
};
use audit_events::{LogId, Record, Timestamp};
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use sha2::Digest as _;

use crate::db::Db;
use crate::error::CollectorError;
use crate::shipment::Shipment;

/// What the collector answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The records were stored.
    Accepted {
        /// The collector's tree size for the log now.
        size: u64,
        /// The cosigned checkpoint (log signature and cosignature), when the records reached
        /// the checkpoint's size.
        cosigned: Option<String>,
    },
    /// The shipment was refused and the refusal recorded.
    Refused(Refusal),
}

/// A refused shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// Short reason: malformed, unknown-log, bad-signature, replay, gap, stale, rollback, fork,
    /// chain.
    pub reason: &'static str,
    /// What exactly is wrong.
    pub detail: String,
    /// The collector's tree size for the log, when known (replay and gap answers).
    pub size: Option<u64>,
}

/// The collector's accepted position in one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Records held.
    pub size: u64,
    /// Merkle root at `size`.
    pub root: Hash,
    /// Chain hash of the last record held (the genesis value when none).
    pub last_chain: Hash,
    /// Merkle frontier at `size`.
    pub frontier: Vec<Hash>,
}

fn refuse(status: u16, reason: &'static str, detail: impl Into<String>) -> Outcome {
    Outcome::Refused(Refusal { status, reason, detail: detail.into(), size: None })
}

/// The position of `log_id` (as of the transaction or connection `client` sees).
pub async fn position<C: tokio_postgres::GenericClient>(
    client: &C,
    log_id: &LogId,
) -> Result<Position, CollectorError> {
    let row = client
        .query_opt(
            "SELECT size, root, last_chain, frontier FROM positions WHERE log_id = $1
             ORDER BY size DESC LIMIT 1",
            &[&log_id.as_bytes().as_slice()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Position {
            size: 0,
            root: audit_chain::EMPTY_ROOT,
            last_chain: genesis_chain_hash(log_id.as_bytes()),
            frontier: Vec::new(),
        });
    };
    let size: i64 = row.get(0);
    let hash = |v: Vec<u8>| -> Result<Hash, CollectorError> {
        v.try_into().map_err(|_| CollectorError::Invalid("a stored hash is not 32 bytes".into()))
    };
    let frontier_bytes: Vec<u8> = row.get(3);
    if !frontier_bytes.len().is_multiple_of(32) {
        return Err(CollectorError::Invalid("a stored frontier is not whole hashes".into()));
    }
    let frontier =
        frontier_bytes.chunks_exact(32).map(|c| hash(c.to_vec())).collect::<Result<_, _>>()?;
    Ok(Position {
        size: u64::try_from(size).unwrap_or(0),
        root: hash(row.get(1))?,
        last_chain: hash(row.get(2))?,
        frontier,
    })
}

/// Checks and stores one shipment (see the module docs).
pub async fn ingest(db: &Db, witness: &Cosigner, body: &[u8]) -> Result<Outcome, CollectorError> {
    let shipment = match Shipment::decode(body) {
        Ok(s) => s,
        Err(detail) => {
            let outcome = refuse(400, "malformed", detail);
            record_refusal(db, None, None, &outcome, None).await?;
            return Ok(outcome);
        }
    };
    // The refusal is recorded only after `decide` has given its connection back: waiting for a
    // second connection while holding one would let concurrent refusals exhaust the pool.
    let (outcome, log_id) = decide(db, witness, &shipment).await?;
    record_refusal(db, log_id.as_ref(), Some(&shipment), &outcome, None).await?;
    Ok(outcome)
}

/// Checks a decoded shipment and stores it when accepted; a refusal is returned, not recorded.
async fn decide(
    db: &Db,
    witness: &Cosigner,
    shipment: &Shipment,
) -> Result<(Outcome, Option<LogId>), CollectorError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL ROLE audit_ingest").await?;
    let row = tx
        .query_opt(
            "SELECT log_id, public_key, service_id FROM logs WHERE origin = $1",
            &[&shipment.origin],
        )
        .await?;
    let Some(row) = row else {
        return Ok((refuse(404, "unknown-log", "no log with this origin is enrolled"), None));
    };
    let id_bytes: Vec<u8> = row.get(0);
    let log_id =
        LogId(id_bytes.try_into().map_err(|_| CollectorError::Invalid("bad log id".into()))?);
    let public_key: String = row.get(1);
    let service_id: String = row.get(2);
    let verifier = NoteVerifier::parse(&public_key)?;
    let checkpoint = match open_checkpoint(&shipment.note, &verifier) {
        Ok(cp) if cp.origin == shipment.origin => cp,
        Ok(_) => {
            return Ok((
                refuse(403, "bad-signature", "the checkpoint names another log"),
                Some(log_id),
            ));
        }
        Err(e) => {
            let outcome =
                refuse(403, "bad-signature", format!("the checkpoint does not verify: {e}"));
            return Ok((outcome, Some(log_id)));
        }
    };
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&shipment.origin])
        .await?;
    let decision = check(&tx, &log_id, &service_id, shipment, &checkpoint).await?;
    let (tree, last_chain, records) = match decision {
        Checked::Refused(outcome) => return Ok((outcome, Some(log_id))),
        Checked::Ok { tree, last_chain, records } => (tree, last_chain, records),
    };
    let end = shipment.end();
    if !records.is_empty() {
        copy_records(&tx, &log_id, shipment, &records).await?;
        let frontier: Vec<u8> = tree.frontier().concat();
        tx.execute(
            "INSERT INTO positions (log_id, size, root, last_chain, frontier, checkpoint_size)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &log_id.as_bytes().as_slice(),
                &to_i64(end)?,
                &tree.root().as_slice(),
                &last_chain.as_slice(),
                &frontier,
                &to_i64(checkpoint.size)?,
            ],
        )
        .await?;
    }
    let mut cosigned = None;
    if end == checkpoint.size {
        let line = store_and_cosign(&tx, &log_id, &checkpoint, &shipment.note, witness).await?;
        cosigned = Some(format!("{}{line}", shipment.note));
    } else {
        store_checkpoint(&tx, &log_id, &checkpoint, &shipment.note).await?;
    }
    tx.commit().await?;
    Ok((Outcome::Accepted { size: end, cosigned }, None))
}

/// A record checked and ready to store.
struct Checked1 {
    record: Record,
    chain: Hash,
}

enum Checked {
    Refused(Outcome),
    Ok { tree: CompactTree, last_chain: Hash, records: Vec<Checked1> },
}

async fn check(
    tx: &tokio_postgres::Transaction<'_>,
    log_id: &LogId,
    service_id: &str,
    shipment: &Shipment,
    checkpoint: &audit_chain::Checkpoint,
) -> Result<Checked, CollectorError> {
    let end = shipment.end();
    if i64::try_from(checkpoint.size).is_err() {
        return Ok(Checked::Refused(refuse(
            400,
            "malformed",
            format!(
                "the checkpoint's size {} is beyond any log the collector can store",
                checkpoint.size
            ),
        )));
    }
    if checkpoint.size < end {
        return Ok(Checked::Refused(refuse(
            400,
            "malformed",
            format!(
                "the checkpoint (size {}) does not cover the records (up to {end})",
                checkpoint.size
            ),
        )));
    }
    let pos = position(tx, log_id).await?;
    let id = log_id.as_bytes().as_slice();
    // An accepted checkpoint of the same size must have the same root.
    if let Some(row) = tx
        .query_opt(
            "SELECT root FROM checkpoints WHERE log_id = $1 AND size = $2",
            &[&id, &to_i64(checkpoint.size)?],
        )
        .await?
        && row.get::<_, Vec<u8>>(0) != checkpoint.root
    {
        return Ok(Checked::Refused(refuse(
            422,
            "fork",
            format!("the log signed two different roots for tree size {}", checkpoint.size),
        )));
    }
    let newest: Option<i64> =
        tx.query_one("SELECT max(size) FROM checkpoints WHERE log_id = $1", &[&id]).await?.get(0);
    let newest = newest.map_or(0, |n| u64::try_from(n).unwrap_or(0));
    if checkpoint.size < newest.max(pos.size) {
        // A checkpoint accepted earlier, shown again, is what a replay of an old request and a
        // log rolled back to that point both look like: the collector cannot tell them apart
        // (the shipper can, from the log). One it never accepted is a rollback.
        let accepted_before = tx
            .query_opt(
                "SELECT 1 FROM checkpoints WHERE log_id = $1 AND size = $2 AND root = $3",
                &[&id, &to_i64(checkpoint.size)?, &checkpoint.root.as_slice()],
            )
            .await?
            .is_some();
        let (reason, what) = if accepted_before {
            ("stale", "a replay of an accepted checkpoint, or a log rolled back to it")
        } else {
            ("rollback", "the log was rolled back")
        };
        return Ok(Checked::Refused(refuse(
            422,
            reason,
            format!(
                "the checkpoint is for tree size {}, but a checkpoint of size {} was accepted: \
                 {what}",
                checkpoint.size,
                newest.max(pos.size)
            ),
        )));
    }
    if shipment.first != pos.size {
        let (reason, what) = if shipment.first < pos.size {
            ("replay", "already holds")
        } else {
            ("gap", "holds only")
        };
        return Ok(Checked::Refused(Outcome::Refused(Refusal {
            status: 409,
            reason,
            detail: format!(
                "the shipment starts at record {} but the collector {what} records up to {}",
                shipment.first, pos.size
            ),
            size: Some(pos.size),
        })));
    }
    // Accepted checkpoints the new records reach: the tree must pass through their roots.
    let reached: Vec<(u64, Vec<u8>)> = tx
        .query(
            "SELECT size, root FROM checkpoints WHERE log_id = $1 AND size > $2 AND size <= $3
             ORDER BY size",
            &[&id, &to_i64(pos.size)?, &to_i64(end)?],
        )
        .await?
        .iter()
        .map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1)))
        .collect();
    let mut reached = reached.into_iter().peekable();
    let mut tree = CompactTree::from_frontier(pos.size, pos.frontier.clone())?;
    let mut prev = pos.last_chain;
    let mut records = Vec::with_capacity(shipment.frames.len());
    for (i, frame) in shipment.frames.iter().enumerate() {
        let seq = shipment.first + i as u64;
        let chain_refusal = |detail: String| Ok(Checked::Refused(refuse(422, "chain", detail)));
        let record = match Record::decode(&frame.bytes) {
            Ok(r) => r,
            Err(e) => return chain_refusal(format!("record {seq} does not decode: {e}")),
        };
        if record.log_id != *log_id || record.seq != seq {
            return chain_refusal(format!("record {seq} names another log or sequence number"));
        }
        if record.service_id != service_id {
            return chain_refusal(format!("record {seq} names another service"));
        }
        // PostgreSQL text cannot hold NUL: refuse (with evidence) rather than fail the COPY.
        if record.event().is_some_and(|e| {
            e.subject_id().is_some_and(|a| a.contains('\0'))
                || e.resource_ids().iter().any(|r| r.contains('\0'))
        }) || record.request_id().is_some_and(|r| r.contains('\0'))
        {
            return Ok(Checked::Refused(refuse(
                400,
                "malformed",
                format!("record {seq} holds a NUL character in a searchable field"),
            )));
        }
        let leaf = leaf_hash(&frame.bytes);
        let chain = chain_hash(&prev, &leaf);
        if chain != frame.chain {
            return chain_refusal(format!(
                "record {seq} does not link to the record before it: the log was rewritten or \
                 forged"
            ));
        }
        prev = chain;
        tree.try_push(leaf)?;
        while let Some((size, root)) = reached.peek() {
            if *size != tree.size() {
                break;
            }
            if tree.root().as_slice() != root.as_slice() {
                return Ok(Checked::Refused(refuse(
                    422,
                    "fork",
                    format!(
                        "the records do not match the checkpoint of size {size} accepted earlier"
                    ),
                )));
            }
            reached.next();
        }
        records.push(Checked1 { record, chain });
    }
    let proof =
        ConsistencyProof { old_size: end, new_size: checkpoint.size, path: shipment.proof.clone() };
    let root = tree.root();
    if let Err(e) = verify_consistency(&proof, &root, &checkpoint.root) {
        return Ok(Checked::Refused(refuse(
            422,
            "fork",
            format!(
                "the records are not consistent with the signed checkpoint of size {}: {e}",
                checkpoint.size
            ),
        )));
    }
    Ok(Checked::Ok { tree, last_chain: prev, records })
}

async fn copy_records(
    tx: &tokio_postgres::Transaction<'_>,
    log_id: &LogId,
    shipment: &Shipment,
    records: &[Checked1],
) -> Result<(), CollectorError> {
    let sink = tx
        .copy_in(
            "COPY records (log_id, seq, time, kind, category, severity, actor, resources, ip,
                           outcome, request_id, service_id, chain, bytes)
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::BYTEA,
            Type::INT8,
            Type::TIMESTAMPTZ,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT_ARRAY,
            Type::INET,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::BYTEA,
        ],
    );
    pin_mut!(writer);
    let id = log_id.as_bytes().as_slice();
    for (checked, frame) in records.iter().zip(&shipment.frames) {
        let record = &checked.record;
        let kind = record.kind();
        let event = record.event();
        let seq = to_i64(record.seq)?;
        let time = system_time(record.time);
        let category = kind.category().as_str();
        let severity = record.severity().as_str();
        let actor = event.and_then(|e| e.subject_id());
        let resources: Vec<&str> = event.map(|e| e.resource_ids()).unwrap_or_default();
        let ip: Option<IpAddr> = event.and_then(|e| e.ip());
        let outcome = record.outcome().map(|o| o.as_str());
        let request_id = record.request_id();
        let row: [&(dyn ToSql + Sync); 14] = [
            &id,
            &seq,
            &time,
            &kind.as_str(),
            &category,
            &severity,
            &actor,
            &resources,
            &ip,
            &outcome,
            &request_id,
            &record.service_id,
            &checked.chain.as_slice(),
            &frame.bytes,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// The record time as a `SystemTime` (nanosecond timestamps before 1970 included).
fn system_time(t: Timestamp) -> SystemTime {
    if t.0 >= 0 {
        UNIX_EPOCH + Duration::from_nanos(t.0.unsigned_abs())
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_nanos(t.0.unsigned_abs())).unwrap_or(UNIX_EPOCH)
    }
}

fn to_i64(n: u64) -> Result<i64, CollectorError> {
    i64::try_from(n).map_err(|_| CollectorError::Invalid(format!("{n} is out of range")))
}

/// Records a refusal as evidence, in its own transaction (call it holding no connection of the
/// pool: it takes one).
pub async fn record_refusal(
    db: &Db,
    log_id: Option<&LogId>,
    shipment: Option<&Shipment>,
    outcome: &Outcome,
    _remote: Option<&str>,
) -> Result<(), CollectorError> {
    let Outcome::Refused(refusal) = outcome else { return Ok(()) };
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL ROLE audit_ingest").await?;
    // Out of range only for a shipment the decoder let through by mistake: keep the evidence.
    let first = shipment.and_then(|s| i64::try_from(s.first).ok());
    let count = shipment.map(|s| s.frames.len() as i64);
    tx.execute(
        "INSERT INTO refusals (log_id, origin, reason, detail, first_seq, count, checkpoint)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &log_id.map(|l| l.as_bytes().to_vec()),
            &shipment.map(|s| s.origin.clone()),
            &refusal.reason,
            &refusal.detail,
            &first,
            &count,
            // The checkpoint is evidence only when it names an enrolled log; from anyone else it
            // is unauthenticated input, kept as its SHA-256 so refusals cannot fill the disk.
            &shipment.map(|s| match log_id {
                Some(_) => s.note.clone(),
                None => format!(
                    "sha256:{}",
                    base16ct::lower::encode_string(&sha2::Sha256::digest(s.note.as_bytes()))
                ),
            }),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A C2SP tlog-witness `add-checkpoint` request body, parsed: the old size, the consistency
/// proof, the checkpoint note.
fn parse_add_checkpoint(body: &[u8]) -> Result<(u64, Vec<Hash>, String), String> {
    use base64::Engine as _;
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let (head, note) = text.split_once("\n\n").ok_or("no empty line before the checkpoint")?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| *n == "0" || !n.starts_with('0'))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("the first line is not `old <size>`")?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == 63 {
            return Err("more than 63 proof lines".into());
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(|_| "a proof line is not base64".to_owned())?;
        proof.push(
            <Hash>::try_from(raw.as_slice())
                .map_err(|_| "a proof line is not a hash".to_owned())?,
        );
    }
    Ok((old, proof, note.to_owned()))
}

/// C2SP tlog-witness `add-checkpoint` (c2sp.org/tlog-witness): cosigns a checkpoint of an
/// enrolled log that is consistent with the newest one this collector accepted for it (cosigned,
/// or proven by shipped records: the specification's "latest cosigned checkpoint"), without
/// records. Status codes as the specification defines them: 404 unknown origin, 403 no valid
/// signature from the enrolled key, 400 old size above the checkpoint's, 409 (with
/// `text/x.tlog.size`) when the old size is not the newest cosigned size, 422 when the proof
/// does not verify; 200 with the cosignature line. The checkpoint and cosignature are stored;
/// later shipments must pass through its root. Refusals of a signed checkpoint are recorded.
pub async fn add_checkpoint(
    db: &Db,
    witness: &Cosigner,
    body: &[u8],
) -> Result<Outcome, CollectorError> {
    // The refusal is recorded after the deciding connection is given back (see `ingest`).
    let (outcome, evidence) = decide_add_checkpoint(db, witness, body).await?;
    if let Some((log_id, shipment)) = evidence {
        record_refusal(db, Some(&log_id), Some(&shipment), &outcome, None).await?;
    }
    Ok(outcome)
}

/// What an `add-checkpoint` request gets, and the evidence to record when it is a refusal of a
/// checkpoint the log's key signed.
async fn decide_add_checkpoint(
    db: &Db,
    witness: &Cosigner,
    body: &[u8],
) -> Result<(Outcome, Option<(LogId, Shipment)>), CollectorError> {
    let (old, proof, note) = match parse_add_checkpoint(body) {
        Ok(parsed) => parsed,
        Err(detail) => return Ok((refuse(400, "malformed", detail), None)),
    };
    let origin = note.split('\n').next().unwrap_or_default().to_owned();
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL ROLE audit_ingest").await?;
    let Some(row) =
        tx.query_opt("SELECT log_id, public_key FROM logs WHERE origin = $1", &[&origin]).await?
    else {
        return Ok((refuse(404, "unknown-log", "no log with this origin is enrolled"), None));
    };
    let id_bytes: Vec<u8> = row.get(0);
    let log_id =
        LogId(id_bytes.try_into().map_err(|_| CollectorError::Invalid("bad log id".into()))?);
    let verifier = NoteVerifier::parse(&row.get::<_, String>(1))?;
    let checkpoint = match open_checkpoint(&note, &verifier) {
        Ok(cp) if cp.origin == origin => cp,
        _ => {
            return Ok((
                refuse(403, "bad-signature", "no valid signature from the enrolled key"),
                None,
            ));
        }
    };
    if old > checkpoint.size {
        return Ok((refuse(400, "malformed", "the old size is above the checkpoint's size"), None));
    }
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&origin]).await?;
    let id = log_id.as_bytes().as_slice();
    // The newest checkpoint accepted: cosigned here, or proven by shipped records (records
    // never go past the newest accepted checkpoint, so the new one is checked against them too).
    let newest = tx
        .query_opt(
            "SELECT size, root FROM checkpoints WHERE log_id = $1 ORDER BY size DESC LIMIT 1",
            &[&id],
        )
        .await?
        .map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get::<_, Vec<u8>>(1)));
    let (newest_size, newest_root) = newest.unwrap_or((0, audit_chain::EMPTY_ROOT.to_vec()));
    let shipment = Shipment {
        origin: origin.clone(),
        first: old,
        note: note.clone(),
        proof: proof.clone(),
        frames: Vec::new(),
    };
    if old != newest_size {
        let outcome = Outcome::Refused(Refusal {
            status: 409,
            reason: "replay",
            detail: format!("the old size is {old} but the newest accepted size is {newest_size}"),
            size: Some(newest_size),
        });
        return Ok((outcome, Some((log_id, shipment))));
    }
    let old_root: Hash = newest_root
        .try_into()
        .map_err(|_| CollectorError::Invalid("a stored root is not 32 bytes".into()))?;
    let consistent = (old != 0 || proof.is_empty())
        && (checkpoint.size != 0 || checkpoint.root == audit_chain::EMPTY_ROOT)
        && verify_consistency(
            &ConsistencyProof { old_size: old, new_size: checkpoint.size, path: proof },
            &old_root,
            &checkpoint.root,
        )
        .is_ok();
    // An accepted checkpoint of the same size must have the same root.
    let same_size = tx
        .query_opt(
            "SELECT root FROM checkpoints WHERE log_id = $1 AND size = $2",
            &[&id, &to_i64(checkpoint.size)?],
        )
        .await?
        .map(|r| r.get::<_, Vec<u8>>(0));
    if !consistent || same_size.is_some_and(|root| root != checkpoint.root) {
        let outcome = refuse(
            422,
            "fork",
            format!(
                "the checkpoint of size {} is not consistent with the newest cosigned one (size {old})",
                checkpoint.size
            ),
        );
        return Ok((outcome, Some((log_id, shipment))));
    }
    let line = store_and_cosign(&tx, &log_id, &checkpoint, &note, witness).await?;
    tx.commit().await?;
    Ok((Outcome::Accepted { size: checkpoint.size, cosigned: Some(line) }, None))
}

/// Stores an accepted checkpoint (once per size).
async fn store_checkpoint(
    tx: &tokio_postgres::Transaction<'_>,
    log_id: &LogId,
    checkpoint: &audit_chain::Checkpoint,
    note: &str,
) -> Result<(), CollectorError> {
    tx.execute(
        "INSERT INTO checkpoints (log_id, size, root, note) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &[
            &log_id.as_bytes().as_slice(),
            &to_i64(checkpoint.size)?,
            &checkpoint.root.as_slice(),
            &note,
        ],
    )
    .await?;
    Ok(())
}

/// Stores an accepted checkpoint and returns this witness's cosignature line on it, made now
/// unless one was made before (a checkpoint is cosigned once).
async fn store_and_cosign(
    tx: &tokio_postgres::Transaction<'_>,
    log_id: &LogId,
    checkpoint: &audit_chain::Checkpoint,
    note: &str,
    witness: &Cosigner,
) -> Result<String, CollectorError> {
    store_checkpoint(tx, log_id, checkpoint, note).await?;
    let id = log_id.as_bytes().as_slice();
    let size = to_i64(checkpoint.size)?;
    let existing = tx
        .query_opt(
            "SELECT line FROM cosignatures WHERE log_id = $1 AND size = $2 AND witness = $3",
            &[&id, &size, &witness.name()],
        )
        .await?;
    if let Some(row) = existing {
        return Ok(row.get(0));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_secs().max(1));
    let line = witness.cosign(checkpoint, now)?;
    tx.execute(
        "INSERT INTO cosignatures (log_id, size, witness, timestamp, line)
         VALUES ($1, $2, $3, $4, $5)",
        &[&id, &size, &witness.name(), &to_i64(now)?, &line],
    )
    .await?;
    Ok(line)
}
