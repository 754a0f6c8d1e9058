//! The shared types events are built from: actors, resources, outcomes, severities, categories.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::EventError;
use crate::secrets::TokenFingerprint;

/// Who did something.
///
/// `user_id` is an opaque id or a token fingerprint (`token:3f2c1a0b9e8d`), never a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// An opaque user id, or `token:<fingerprint>` for a bearer of an unnamed token.
    pub user_id: String,
    /// The address the request came from, when known.
    pub ip: Option<IpAddr>,
    /// How the actor authenticated.
    pub auth_method: AuthMethod,
    /// The session the action belongs to, when there is one.
    pub session_id: Option<String>,
}

impl Actor {
    /// An actor with no address and no session.
    pub fn new(user_id: impl Into<String>, auth_method: AuthMethod) -> Self {
        Self { user_id: user_id.into(), ip: None, auth_method, session_id: None }
    }

    /// An actor known only by the bearer token it presented: the token is hashed to a
    /// fingerprint on the spot and never stored.
    pub fn from_bearer_token(token: &str) -> Self {
        Self::new(format!("token:{}", TokenFingerprint::of_token(token)), AuthMethod::BearerToken)
    }

    /// The same actor with an address.
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// The same actor with a session id.
    #[must_use]
    pub fn with_session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}

/// How an actor authenticated. Variants are only ever appended (the index is encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A bearer token (`Authorization: Bearer ...`).
    BearerToken,
    /// An API key.
    ApiKey,
    /// Mutual TLS with a client certificate.
    MTls,
    /// A call between services of the same deployment.
    Internal,
}

/// What was acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The type of resource (`pool`, `model`, `node`...).
    pub resource_type: String,
    /// Its id.
    pub resource_id: String,
    /// The id of the resource it belongs to, if any.
    pub parent_id: Option<String>,
}

impl Resource {
    /// A resource without a parent.
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            parent_id: None,
        }
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It failed.
    Failure {
        /// Why.
        reason: String,
    },
    /// Part of it succeeded.
    PartialSuccess {
        /// What did and did not happen.
        details: String,
    },
}

/// One changed setting of a pool: typed and bounded, never free-form JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    /// The setting's name.
    pub field: String,
    /// Its value before the change.
    pub old: String,
    /// Its value after the change.
    pub new: String,
}

/// How serious an event is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Routine.
    Low,
    /// Worth a look.
    Medium,
    /// Needs attention.
    High,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The lowercase name used in JSON, queries and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(EventError::UnknownName { what: "severity" })
    }
}

/// The uniform outcome of an event (`success`, `failure`, `unknown`), the same on every kind
/// where it has a meaning, for search and reports. Derived from the event (its kind, or its own
/// [`Outcome`] field), never stored apart from it, so it cannot contradict the event; see
/// [`crate::AuditEvent::outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// The action the event records was carried out.
    Success,
    /// It was refused or failed (a partial success counts as a failure).
    Failure,
    /// It was attempted, and the event does not say with what result.
    Unknown,
}

impl EventOutcome {
    /// Every value.
    pub const ALL: [EventOutcome; 3] = [Self::Success, Self::Failure, Self::Unknown];

    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventOutcome {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(EventError::UnknownName { what: "outcome" })
    }
}

impl Outcome {
    /// The uniform outcome: a partial success is a failure (not everything happened).
    pub const fn uniform(&self) -> EventOutcome {
        match self {
            Self::Success => EventOutcome::Success,
            Self::Failure { .. } | Self::PartialSuccess { .. } => EventOutcome::Failure,
        }
    }
}

/// The category an event kind belongs to; system records have their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Sign-ins and tokens.
    Authentication,
    /// Access decisions and permission changes.
    Authorization,
    /// Pools, nodes and tasks.
    Resource,
    /// GPU memory and model-shard seals.
    Vram,
    /// Attacks, policy violations and integrity failures.
    Security,
    /// Access to customer data and models.
    DataAccess,
    /// GDPR requests, exports and erasures.
    Compliance,
    /// Records the log writes about itself (opens, seals, drops, recoveries, purges).
    System,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 8] = [
        Self::Authentication,
        Self::Authorization,
        Self::Resource,
        Self::Vram,
        Self::Security,
        Self::DataAccess,
        Self::Compliance,
        Self::System,
    ];

    /// The lowercase name used in JSON, queries and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Authorization => "authorization",
            Self::Resource => "resource",
            Self::Vram => "vram",
            Self::Security => "security",
            Self::DataAccess => "data_access",
            Self::Compliance => "compliance",
            Self::System => "system",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(EventError::UnknownName { what: "category" })
    }
}

/// A risk score from 0 to 100 inclusive; other values cannot be built or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct RiskScore(u8);

impl RiskScore {
    /// The highest score.
    pub const MAX: u8 = 100;

    /// A score, if `value <= 100`.
    pub const fn new(value: u8) -> Result<Self, EventError> {
        if value <= Self::MAX {
            Ok(Self(value))
        } else {
            Err(EventError::RiskScoreOutOfRange { value })
        }
    }

    /// A score, with values above 100 clamped to 100.
    pub const fn saturating(value: u8) -> Self {
        if value <= Self::MAX { Self(value) } else { Self(Self::MAX) }
    }

    /// The score.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The severity a score maps to: 80+ critical, 50+ high, 20+ medium, else low.
    pub const fn severity(self) -> Severity {
        match self.0 {
            80.. => Severity::Critical,
            50..=79 => Severity::High,
            20..=49 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

impl TryFrom<u8> for RiskScore {
    type Error = EventError;
    fn try_from(value: u8) -> Result<Self, EventError> {
        Self::new(value)
    }
}

impl From<RiskScore> for u8 {
    fn from(score: RiskScore) -> u8 {
        score.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
        }
        assert!("CRITICAL".parse::<Severity>().is_err());
        assert!("bogus".parse::<Category>().is_err());
    }

    #[test]
    fn risk_scores_are_checked() {
        assert_eq!(RiskScore::new(100).map(RiskScore::get), Ok(100));
        assert_eq!(RiskScore::new(101), Err(EventError::RiskScoreOutOfRange { value: 101 }));
        assert_eq!(RiskScore::new(85).map(RiskScore::severity), Ok(Severity::Critical));
        assert_eq!(RiskScore::new(10).map(RiskScore::severity), Ok(Severity::Low));
        assert!(serde_json::from_str::<RiskScore>("250").is_err());
        assert!(postcard::from_bytes::<RiskScore>(&[200]).is_err());
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
    }

    #[test]
    fn bearer_token_actors_hold_only_a_fingerprint() {
        let token = "eyJhbGciOiJIUzI1NiJ9.secret-token-body";
        let actor = Actor::from_bearer_token(token);
        assert!(actor.user_id.starts_with("token:"));
        assert!(!actor.user_id.contains("secret"));
        assert!(!format!("{actor:?}").contains("secret"));
    }
}
