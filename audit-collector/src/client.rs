//! The HTTPS client of the collector (ureq over rustls), used by the shipper and the fleet verbs.
//! It trusts only the certificates it is given (the collector's own, or its CA).

use std::time::Duration;

use serde_json::Value;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::error::CollectorError;
use crate::shipment::Shipment;

/// A client of one collector.
#[derive(Debug, Clone)]
pub struct CollectorClient {
    base: String,
    agent: ureq::Agent,
    token: Option<String>,
}

/// The collector's position in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePosition {
    /// Records it holds.
    pub size: u64,
    /// Its newest cosigned checkpoint.
    pub cosigned: Option<String>,
}

/// The collector's answer to a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipReply {
    /// Stored; the collector now holds `size` records.
    Accepted {
        /// Records held.
        size: u64,
        /// The cosigned checkpoint, when the shipment reached the checkpoint's size.
        cosigned: Option<String>,
    },
    /// The shipment does not start where the collector is (409): resume from `size`.
    Conflict {
        /// Records held.
        size: u64,
        /// The collector's explanation.
        message: String,
    },
}

impl CollectorClient {
    /// A client of `base` (`https://host:port`) trusting the PEM certificates `ca_pem`; `token`
    /// is an auditor token for the read API.
    pub fn new(base: &str, ca_pem: &[u8], token: Option<String>) -> Result<Self, CollectorError> {
        let roots: Vec<Certificate<'static>> = crate::tls::certificates(ca_pem)?
            .into_iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&roots))
            .unversioned_rustls_crypto_provider(crate::tls::provider())
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Ok(Self { base: base.trim_end_matches('/').to_owned(), agent, token })
    }

    /// The collector's position in log `log_id` (hex).
    pub fn position(&self, log_id: &str) -> Result<RemotePosition, CollectorError> {
        let (status, body) = self.get(&format!("/v1/logs/{log_id}/position"), false)?;
        if status != 200 {
            return Err(CollectorError::Refused { status, message: body.trim().to_owned() });
        }
        let value: Value = serde_json::from_str(&body).map_err(|e| {
            CollectorError::Invalid(format!("the collector's answer is not JSON: {e}"))
        })?;
        Ok(RemotePosition {
            size: value["size"]
                .as_u64()
                .ok_or_else(|| CollectorError::Invalid("no size in the answer".into()))?,
            cosigned: value["cosigned"].as_str().map(str::to_owned),
        })
    }

    /// Sends one shipment. Refusals other than 409 are [`CollectorError::Refused`].
    pub fn ship(&self, shipment: &Shipment) -> Result<ShipReply, CollectorError> {
        let body = shipment.encode().map_err(CollectorError::Invalid)?;
        let mut response = self
            .agent
            .post(&format!("{}/v1/ship", self.base))
            .content_type("application/octet-stream")
            .send(&body[..])
            .map_err(|e| CollectorError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let size = response
            .headers()
            .get("audit-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| CollectorError::Transport(e.to_string()))?;
        match (status, size) {
            (200, Some(size)) => {
                Ok(ShipReply::Accepted { size, cosigned: (!body.is_empty()).then_some(body) })
            }
            (409, Some(size)) => Ok(ShipReply::Conflict { size, message: body.trim().to_owned() }),
            _ => Err(CollectorError::Refused { status, message: body.trim().to_owned() }),
        }
    }

    /// A C2SP tlog-witness `add-checkpoint` request (`body` as `audit consistency --proof-out`
    /// writes it): the status, the content type and the body of the answer.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<(u16, String, String), CollectorError> {
        self.post("/add-checkpoint", body)
    }

    /// POSTs `body` as it is to `path`: the status, the content type and the body of the answer.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<(u16, String, String), CollectorError> {
        let mut response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .content_type("application/octet-stream")
            .send(body)
            .map_err(|e| CollectorError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| CollectorError::Transport(e.to_string()))?;
        Ok((status, content_type, body))
    }

    /// A read-API GET (`/v1/fleet/...`) with the auditor token; the JSON answer.
    pub fn fleet(&self, path_and_query: &str) -> Result<Value, CollectorError> {
        let (status, body) = self.get(path_and_query, true)?;
        if status != 200 {
            return Err(CollectorError::Refused { status, message: body.trim().to_owned() });
        }
        serde_json::from_str(&body).map_err(|e| {
            CollectorError::Invalid(format!("the collector's answer is not JSON: {e}"))
        })
    }

    fn get(&self, path: &str, auth: bool) -> Result<(u16, String), CollectorError> {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        if auth && let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request.call().map_err(|e| CollectorError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| CollectorError::Transport(e.to_string()))?;
        Ok((status, body))
    }
}
