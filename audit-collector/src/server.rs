//! The collector's HTTPS service (axum over rustls).
//!
//! Ingestion (no credentials: a shipment is authenticated by the log's own checkpoint signature,
//! checked with the key registered at enrolment):
//! - `POST /v1/ship`: one shipment ([`crate::shipment`]). 200 with the cosigned checkpoint (or
//!   an empty body when the records stop short of the checkpoint) and `audit-size: N`; refusals
//!   as [`crate::witness`] lists them, with `audit-size` on 409.
//! - `GET /v1/logs/<log id hex>/position`: the collector's size, root and newest cosigned
//!   checkpoint for one log, so a shipper resumes where the collector is.
//! - `POST /add-checkpoint`: C2SP tlog-witness, so a log (or `audit consistency --proof-out`)
//!   can be witnessed without shipping its records ([`witness::add_checkpoint`]).
//!
//! Read API (auditor tokens only, `Authorization: Bearer <token>`; its queries run as the
//! database role `audit_reader`, which can only read):
//! - `GET /v1/fleet/status`, `GET /v1/fleet/records?...`, `GET /v1/fleet/verify`,
//!   `GET /v1/fleet/raw?origin=...` (one log's records as stored, for `audit fleet report`)
//!   ([`crate::fleet`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use audit_chain::Cosigner;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::db::Db;
use crate::error::CollectorError;
use crate::fleet::{self, RecordFilter};
use crate::shipment::MAX_BODY;
use crate::tls::TlsIdentity;
use crate::witness::{self, Outcome};

/// Requests served at once; more wait for a slot (bounds memory: each may hold one body).
const MAX_CONCURRENT_REQUESTS: usize = 64;
/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The fleet database.
    pub db: Db,
    /// The collector's cosigning key.
    pub witness: Arc<Cosigner>,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/ship", post(ship))
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/v1/logs/{log_id}/position", get(position))
        .route("/v1/fleet/status", get(status))
        .route("/v1/fleet/records", get(records))
        .route("/v1/fleet/verify", get(verify))
        .route("/v1/fleet/raw", get(raw))
        // Bodies are read by the handlers, with a size cap and a deadline (`read_body`).
        .layer(DefaultBodyLimit::disable())
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT_REQUESTS))
        .with_state(state)
}

/// A running collector.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting and ends open connections at once (as a crash would for clients).
    pub async fn stop(self) {
        self.handle.shutdown();
        let _ = self.task.await;
    }

    /// Waits until the server ends.
    pub async fn wait(self) -> Result<(), CollectorError> {
        match self.task.await {
            Ok(result) => {
                result.map_err(|e| CollectorError::Io { what: "serving".into(), source: e })
            }
            Err(e) => Err(CollectorError::Invalid(format!("the server task failed: {e}"))),
        }
    }
}

/// Starts serving HTTPS on `addr` (port 0: any free port) in the current Tokio runtime.
pub async fn start(
    addr: SocketAddr,
    tls: &TlsIdentity,
    state: AppState,
) -> Result<Running, CollectorError> {
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.server_config()?);
    let handle = axum_server::Handle::new();
    let app = router(state);
    let mut server = axum_server::bind_rustls(addr, config).handle(handle.clone());
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
    let addr = handle
        .listening()
        .await
        .ok_or_else(|| CollectorError::Invalid(format!("could not listen on {addr}")))?;
    Ok(Running { addr, handle, task })
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn unavailable(e: &CollectorError) -> Response {
    text(StatusCode::SERVICE_UNAVAILABLE, format!("the collector cannot store or read now: {e}\n"))
}

/// Reads a request body of at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`]; the error is the
/// answer to give.
async fn read_body(body: Body) -> Result<Bytes, (StatusCode, &'static str)> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err((StatusCode::PAYLOAD_TOO_LARGE, "oversized")),
        Err(_) => Err((StatusCode::REQUEST_TIMEOUT, "too-slow")),
    }
}

async fn ship(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err((status, reason)) => {
            let detail = format!("the body was larger than {MAX_BODY} bytes or not sent in time");
            let outcome = Outcome::Refused(witness::Refusal {
                status: status.as_u16(),
                reason,
                detail: detail.clone(),
                size: None,
            });
            if let Err(e) = witness::record_refusal(&state.db, None, None, &outcome, None).await {
                return unavailable(&e);
            }
            return text(status, format!("{reason}: {detail}\n"));
        }
    };
    match witness::ingest(&state.db, &state.witness, &body).await {
        Ok(Outcome::Accepted { size, cosigned }) => {
            (StatusCode::OK, [("audit-size", size.to_string())], cosigned.unwrap_or_default())
                .into_response()
        }
        Ok(Outcome::Refused(r)) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut response = text(status, format!("{}: {}\n", r.reason, r.detail));
            if let Some(size) = r.size
                && let Ok(value) = size.to_string().parse()
            {
                response.headers_mut().insert("audit-size", value);
            }
            response
        }
        Err(e) => unavailable(&e),
    }
}

/// C2SP tlog-witness `add-checkpoint`: the answer body is the cosignature line alone.
async fn add_checkpoint(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err((status, reason)) => return text(status, format!("{reason}\n")),
    };
    match witness::add_checkpoint(&state.db, &state.witness, &body).await {
        Ok(Outcome::Accepted { cosigned, .. }) => {
            text(StatusCode::OK, cosigned.unwrap_or_default())
        }
        Ok(Outcome::Refused(r)) if r.status == 409 => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{}\n", r.size.unwrap_or(0)),
        )
            .into_response(),
        Ok(Outcome::Refused(r)) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, format!("{}: {}\n", r.reason, r.detail))
        }
        Err(e) => unavailable(&e),
    }
}

async fn position(State(state): State<AppState>, Path(log_id): Path<String>) -> Response {
    let Ok(log_id) = log_id.parse::<audit_events::LogId>() else {
        return text(StatusCode::BAD_REQUEST, "not a log id\n".into());
    };
    match fleet::position_json(&state.db, &log_id).await {
        Ok(Some(json)) => axum::Json(json).into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "unknown-log: this log is not enrolled\n".into()),
        Err(e) => unavailable(&e),
    }
}

/// Checks the bearer token; `None` when it is a valid auditor token.
async fn auditor(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return Some(text(StatusCode::UNAUTHORIZED, "an auditor token is required\n".into()));
    };
    match state.db.auditor_token_valid(token).await {
        Ok(true) => None,
        Ok(false) => Some(text(StatusCode::FORBIDDEN, "not an auditor token\n".into())),
        Err(e) => Some(unavailable(&e)),
    }
}

async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(denied) = auditor(&state, &headers).await {
        return denied;
    }
    match fleet::status(&state.db).await {
        Ok(json) => axum::Json(json).into_response(),
        Err(e) => unavailable(&e),
    }
}

async fn records(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<RecordFilter>,
) -> Response {
    if let Some(denied) = auditor(&state, &headers).await {
        return denied;
    }
    match fleet::records(&state.db, &filter).await {
        Ok(json) => axum::Json(json).into_response(),
        Err(CollectorError::Invalid(e)) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        Err(e) => unavailable(&e),
    }
}

async fn raw(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<fleet::RawFilter>,
) -> Response {
    if let Some(denied) = auditor(&state, &headers).await {
        return denied;
    }
    match fleet::raw(&state.db, &filter).await {
        Ok(json) => axum::Json(json).into_response(),
        Err(CollectorError::Invalid(e)) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        Err(e) => unavailable(&e),
    }
}

async fn verify(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(denied) = auditor(&state, &headers).await {
        return denied;
    }
    match fleet::verify(&state.db, &state.witness.verifier()).await {
        Ok(json) => axum::Json(json).into_response(),
        Err(e) => unavailable(&e),
    }
}
