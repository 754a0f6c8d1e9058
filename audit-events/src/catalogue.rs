//! The event catalogue: all 35 kinds, their dotted names, categories, default severities and
//! lanes, generated from one table so that the kind enum, the names and the field visitor can
//! never disagree with the event enum.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::describe::FieldSpec;
use crate::error::EventError;
use crate::ids::Timestamp;
use crate::secrets::{Digest, PromptDigest, TokenFingerprint};
use crate::types::{
    Actor, AuthMethod, Category, EventOutcome, FieldChange, Outcome, Resource, RiskScore, Severity,
};
use crate::visit::{FieldPath, TextVisitor, Visit};

/// Builds [`AuditEvent`], [`EventKind`] and the per-variant plumbing from one table.
///
/// Each row: variant, dotted kind name, category, default severity, lane (`critical` takes the
/// critical lane and forces a durable flush; `routine` does not), then the fields.
macro_rules! event_catalogue {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $name:literal, $category:ident, $severity:ident, $lane:ident {
            $($field:ident : $ty:ty),* $(,)?
        }
    )*) => {
        /// One security-relevant event. Fields are listed in `docs/EVENTS.md`, by `audit kinds`
        /// and by [`EventKind::fields`];
        /// the record envelope (time, sequence number, ids) is added by the logger and store.
        ///
        /// Variants are only ever appended: the variant index is part of the stored encoding.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[non_exhaustive]
        #[allow(missing_docs)] // fields: see the variant docs and `docs/EVENTS.md`
        pub enum AuditEvent {
            $($(#[doc = $doc])* $variant { $($field: $ty),* },)*
        }

        /// The kind of an [`AuditEvent`]: a `Copy` tag with the stable dotted name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum EventKind {
            $($(#[doc = $doc])* $variant,)*
        }

        impl EventKind {
            /// Every kind, in catalogue order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The stable dotted name (`auth.success`), used in JSON, queries and reports.
            pub const fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// The category this kind belongs to.
            pub const fn category(self) -> Category {
                match self { $(EventKind::$variant => Category::$category,)* }
            }

            /// The severity of events of this kind that carry no severity of their own.
            pub const fn default_severity(self) -> Severity {
                match self { $(EventKind::$variant => Severity::$severity,)* }
            }

            /// Whether events of this kind take the critical lane and force a durable flush.
            pub const fn is_critical(self) -> bool {
                match self { $(EventKind::$variant => event_catalogue!(@lane $lane),)* }
            }

            /// The fields of events of this kind, in the order they are encoded.
            pub const fn fields(self) -> &'static [FieldSpec] {
                match self {
                    $(EventKind::$variant => const {
                        &[$(FieldSpec::of::<$ty>(stringify!($field)),)*]
                    },)*
                }
            }

            /// The lines of this kind's doc comment in the catalogue.
            pub(crate) const fn doc_lines(self) -> &'static [&'static str] {
                match self { $(EventKind::$variant => &[$($doc),*],)* }
            }

            /// The Rust variant name, the key serde uses for the event's fields.
            pub(crate) const fn variant_name(self) -> &'static str {
                match self { $(EventKind::$variant => stringify!($variant),)* }
            }
        }

        impl AuditEvent {
            /// This event's kind.
            pub const fn kind(&self) -> EventKind {
                match self { $(AuditEvent::$variant { .. } => EventKind::$variant,)* }
            }

            /// Calls `f` with the path, class and a mutable reference of every text field,
            /// including list items and the text inside nested types. The logger uses this to
            /// escape and bound every field.
            pub fn for_each_text_mut(&mut self, f: &mut TextVisitor<'_>) {
                match self {
                    $(AuditEvent::$variant { $($field),* } => {
                        $(Visit::visit_text($field, FieldPath::root(stringify!($field)), f);)*
                    })*
                }
            }

            /// Cuts every list field to `max_items`; returns the paths of the lists cut.
            pub(crate) fn bound_lists(&mut self, max_items: usize) -> Vec<String> {
                let mut cut = Vec::new();
                match self {
                    $(AuditEvent::$variant { $($field),* } => {
                        $(Visit::bound_lists($field, FieldPath::root(stringify!($field)), max_items, &mut cut);)*
                    })*
                }
                cut
            }
        }
    };
    (@lane critical) => { true };
    (@lane routine) => { false };
}

event_catalogue! {
    // Authentication.
    /// A successful sign-in: `actor`, `method`, `path`, `service_id`.
    AuthSuccess = "auth.success", Authentication, Low, routine {
        actor: Actor, method: AuthMethod, path: String, service_id: String,
    }
    /// A failed sign-in: `attempted_user` (if given), `reason`, `ip`, `path`, `service_id`.
    AuthFailure = "auth.failure", Authentication, Medium, critical {
        attempted_user: Option<String>, reason: String, ip: IpAddr, path: String, service_id: String,
    }
    /// A token was issued: `actor`, `token_fingerprint`, `scope`, `expires_at`.
    TokenCreated = "token.created", Authentication, Low, routine {
        actor: Actor, token_fingerprint: TokenFingerprint, scope: Vec<String>,
        expires_at: Option<Timestamp>,
    }
    /// A token was revoked: `actor`, `token_fingerprint`, `reason`.
    TokenRevoked = "token.revoked", Authentication, Medium, critical {
        actor: Actor, token_fingerprint: TokenFingerprint, reason: String,
    }

    // Authorization.
    /// Access was granted: `actor`, `resource`, `action`.
    AuthorizationGranted = "authz.granted", Authorization, Low, routine {
        actor: Actor, resource: Resource, action: String,
    }
    /// Access was denied: `actor`, `resource`, `action`, `reason`.
    AuthorizationDenied = "authz.denied", Authorization, Medium, routine {
        actor: Actor, resource: Resource, action: String, reason: String,
    }
    /// Permissions changed: `actor`, `subject`, `old_permissions`, `new_permissions`.
    PermissionChanged = "authz.permission_changed", Authorization, Medium, routine {
        actor: Actor, subject: String, old_permissions: Vec<String>, new_permissions: Vec<String>,
    }

    // Resource operations.
    /// A pool was created: `actor`, `pool_id`, `model_ref`, `node_id`, `replicas`, `gpu_devices`.
    PoolCreated = "pool.created", Resource, Low, routine {
        actor: Actor, pool_id: String, model_ref: String, node_id: String, replicas: u32,
        gpu_devices: Vec<u32>,
    }
    /// A pool was deleted: `actor`, `pool_id`, `model_ref`, `node_id`, `reason`,
    /// `replicas_terminated`.
    PoolDeleted = "pool.deleted", Resource, Medium, routine {
        actor: Actor, pool_id: String, model_ref: String, node_id: String, reason: String,
        replicas_terminated: u32,
    }
    /// A pool's settings changed: `actor`, `pool_id`, `changes`.
    PoolModified = "pool.modified", Resource, Low, routine {
        actor: Actor, pool_id: String, changes: Vec<FieldChange>,
    }
    /// A node joined: `actor`, `node_id`, `gpu_count`, `total_vram_bytes`, `capabilities`.
    NodeRegistered = "node.registered", Resource, Low, routine {
        actor: Actor, node_id: String, gpu_count: u32, total_vram_bytes: u64,
        capabilities: Vec<String>,
    }
    /// A node left: `actor`, `node_id`, `reason`, `pools_affected`.
    NodeDeregistered = "node.deregistered", Resource, Medium, routine {
        actor: Actor, node_id: String, reason: String, pools_affected: Vec<String>,
    }
    /// A task was submitted: `actor`, `task_id`, `model_ref`, `prompt` (length and hash only),
    /// `max_tokens`.
    TaskSubmitted = "task.submitted", Resource, Low, routine {
        actor: Actor, task_id: String, model_ref: String, prompt: PromptDigest, max_tokens: u32,
    }
    /// A task finished: `task_id`, `worker_id`, `tokens_generated`, `duration_ms`, `outcome`.
    TaskCompleted = "task.completed", Resource, Low, routine {
        task_id: String, worker_id: String, tokens_generated: u64, duration_ms: u64,
        outcome: Outcome,
    }
    /// A task was canceled: `actor`, `task_id`, `reason`.
    TaskCanceled = "task.canceled", Resource, Low, routine {
        actor: Actor, task_id: String, reason: String,
    }

    // VRAM operations.
    /// A model shard was sealed in VRAM: `shard_id`, `gpu_device`, `vram_bytes`, `digest`,
    /// `worker_id`.
    VramSealed = "vram.sealed", Vram, Low, routine {
        shard_id: String, gpu_device: u32, vram_bytes: u64, digest: Digest, worker_id: String,
    }
    /// A sealed shard verified: `shard_id`, `gpu_device`, `digest`, `worker_id`.
    SealVerified = "seal.verified", Vram, Low, routine {
        shard_id: String, gpu_device: u32, digest: Digest, worker_id: String,
    }
    /// A sealed shard failed verification: `shard_id`, `gpu_device`, `reason`,
    /// `expected_digest`, `actual_digest` (when computed), `worker_id`.
    SealVerificationFailed = "seal.verification_failed", Vram, Critical, critical {
        shard_id: String, gpu_device: u32, reason: String, expected_digest: Digest,
        actual_digest: Option<Digest>, worker_id: String,
    }
    /// VRAM was allocated: `requested_bytes`, `allocated_bytes`, `available_bytes`,
    /// `used_bytes`, `gpu_device`, `worker_id`.
    VramAllocated = "vram.allocated", Vram, Low, routine {
        requested_bytes: u64, allocated_bytes: u64, available_bytes: u64, used_bytes: u64,
        gpu_device: u32, worker_id: String,
    }
    /// A VRAM allocation failed: `requested_bytes`, `available_bytes`, `reason`, `gpu_device`,
    /// `worker_id`.
    VramAllocationFailed = "vram.allocation_failed", Vram, Medium, routine {
        requested_bytes: u64, available_bytes: u64, reason: String, gpu_device: u32,
        worker_id: String,
    }
    /// VRAM was freed: `shard_id`, `freed_bytes`, `remaining_used`, `gpu_device`, `worker_id`.
    VramDeallocated = "vram.deallocated", Vram, Low, routine {
        shard_id: String, freed_bytes: u64, remaining_used: u64, gpu_device: u32,
        worker_id: String,
    }

    // Security incidents.
    /// A client exceeded a rate limit: `ip`, `endpoint`, `limit`, `actual`, `window_seconds`.
    RateLimitExceeded = "security.rate_limit_exceeded", Security, Medium, routine {
        ip: IpAddr, endpoint: String, limit: u32, actual: u32, window_seconds: u32,
    }
    /// A request tried to leave its directory: `actor`, `attempted_path`, `endpoint`.
    PathTraversalAttempt = "security.path_traversal_attempt", Security, High, critical {
        actor: Actor, attempted_path: String, endpoint: String,
    }
    /// An invalid token was presented: `ip`, `token_fingerprint`, `endpoint`.
    InvalidTokenUsed = "security.invalid_token_used", Security, High, critical {
        ip: IpAddr, token_fingerprint: TokenFingerprint, endpoint: String,
    }
    /// A policy was violated: `policy`, `violation`, `details`, `severity`, `worker_id`,
    /// `action_taken`.
    PolicyViolation = "security.policy_violation", Security, High, critical {
        policy: String, violation: String, details: String, severity: Severity,
        worker_id: String, action_taken: String,
    }
    /// Suspicious behaviour: `actor`, `activity_type`, `details`, `risk_score` (0..=100).
    SuspiciousActivity = "security.suspicious_activity", Security, High, critical {
        actor: Actor, activity_type: String, details: String, risk_score: RiskScore,
    }
    /// Data did not match its expected hash: `resource_type`, `resource_id`, `expected_hash`,
    /// `actual_hash`, `severity`, `action_taken`, `worker_id`.
    IntegrityViolation = "security.integrity_violation", Security, Critical, critical {
        resource_type: String, resource_id: String, expected_hash: Digest, actual_hash: Digest,
        severity: Severity, action_taken: String, worker_id: Option<String>,
    }
    /// A model failed validation and was refused: `model_ref`, `validation_error`, `severity`,
    /// `action_taken`, `worker_id`.
    MalformedModelRejected = "security.malformed_model_rejected", Security, High, critical {
        model_ref: String, validation_error: String, severity: Severity, action_taken: String,
        worker_id: Option<String>,
    }
    /// A resource limit was exceeded: `resource_type`, `limit_type`, `limit_value`,
    /// `actual_value`, `severity`, `action_taken`, `worker_id`.
    ResourceLimitViolation = "security.resource_limit_violation", Security, High, critical {
        resource_type: String, limit_type: String, limit_value: u64, actual_value: u64,
        severity: Severity, action_taken: String, worker_id: Option<String>,
    }

    // Data access.
    /// An inference ran on customer data: `customer_id`, `job_id`, `model_ref`,
    /// `tokens_processed`, `provider_id`, `outcome`.
    InferenceExecuted = "data.inference_executed", DataAccess, Low, routine {
        customer_id: String, job_id: String, model_ref: String, tokens_processed: u64,
        provider_id: Option<String>, outcome: Outcome,
    }
    /// A model was accessed: `customer_id`, `model_ref`, `access_type`, `provider_id`.
    ModelAccessed = "data.model_accessed", DataAccess, Low, routine {
        customer_id: String, model_ref: String, access_type: String, provider_id: Option<String>,
    }
    /// Customer data was deleted: `customer_id`, `data_types`, `reason`.
    DataDeleted = "data.deleted", DataAccess, Medium, routine {
        customer_id: String, data_types: Vec<String>, reason: String,
    }

    // Compliance.
    /// A GDPR access request: `customer_id`, `requester`, `scope`.
    GdprDataAccessRequest = "compliance.gdpr_data_access_request", Compliance, Medium, routine {
        customer_id: String, requester: String, scope: Vec<String>,
    }
    /// A GDPR data export: `customer_id`, `data_types`, `export_format`, `file_hash`.
    GdprDataExport = "compliance.gdpr_data_export", Compliance, Medium, routine {
        customer_id: String, data_types: Vec<String>, export_format: String, file_hash: Digest,
    }
    /// A GDPR erasure completed: `customer_id`, `completed_at`, `data_types_deleted`.
    GdprRightToErasure = "compliance.gdpr_right_to_erasure", Compliance, Medium, routine {
        customer_id: String, completed_at: Timestamp, data_types_deleted: Vec<String>,
    }
}

impl EventKind {
    /// The uniform outcome every event of this kind has; `None` where an outcome has no meaning
    /// and for the two kinds that carry their own (`task.completed`, `data.inference_executed`:
    /// see [`AuditEvent::outcome`]).
    pub const fn outcome(self) -> Option<EventOutcome> {
        match self {
            Self::AuthSuccess
            | Self::TokenCreated
            | Self::TokenRevoked
            | Self::AuthorizationGranted
            | Self::PermissionChanged
            | Self::PoolCreated
            | Self::PoolDeleted
            | Self::PoolModified
            | Self::NodeRegistered
            | Self::NodeDeregistered
            | Self::TaskSubmitted
            | Self::TaskCanceled
            | Self::VramSealed
            | Self::SealVerified
            | Self::VramAllocated
            | Self::VramDeallocated
            | Self::ModelAccessed
            | Self::DataDeleted
            | Self::GdprDataExport
            | Self::GdprRightToErasure => Some(EventOutcome::Success),
            Self::AuthFailure
            | Self::AuthorizationDenied
            | Self::SealVerificationFailed
            | Self::VramAllocationFailed
            | Self::RateLimitExceeded
            | Self::InvalidTokenUsed
            | Self::IntegrityViolation
            | Self::MalformedModelRejected => Some(EventOutcome::Failure),
            Self::PathTraversalAttempt | Self::GdprDataAccessRequest => Some(EventOutcome::Unknown),
            Self::TaskCompleted
            | Self::InferenceExecuted
            | Self::PolicyViolation
            | Self::SuspiciousActivity
            | Self::ResourceLimitViolation => None,
        }
    }

    /// Whether events of this kind carry a uniform outcome.
    pub const fn has_outcome(self) -> bool {
        self.outcome().is_some() || matches!(self, Self::TaskCompleted | Self::InferenceExecuted)
    }

    /// Looks a kind up by its dotted name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        Self::from_name(s).ok_or(EventError::UnknownKind)
    }
}

impl AuditEvent {
    /// The event's category.
    pub const fn category(&self) -> Category {
        self.kind().category()
    }

    /// The event's severity: its own `severity` field where it has one, the band of its risk
    /// score for suspicious activity, else the kind's default.
    pub const fn severity(&self) -> Severity {
        match self {
            Self::PolicyViolation { severity, .. }
            | Self::IntegrityViolation { severity, .. }
            | Self::MalformedModelRejected { severity, .. }
            | Self::ResourceLimitViolation { severity, .. } => *severity,
            Self::SuspiciousActivity { risk_score, .. } => risk_score.severity(),
            _ => self.kind().default_severity(),
        }
    }

    /// The uniform outcome (FORMAT.md, "Uniform outcome"): fixed by the kind where the kind
    /// says what happened, taken from the event's own `outcome` field for `task.completed` and
    /// `data.inference_executed`, `unknown` for an attempt whose result the event does not
    /// state, and `None` for an observation that is no attempt at anything.
    pub const fn outcome(&self) -> Option<EventOutcome> {
        match self {
            Self::TaskCompleted { outcome, .. } | Self::InferenceExecuted { outcome, .. } => {
                Some(outcome.uniform())
            }
            _ => self.kind().outcome(),
        }
    }

    /// Whether this event takes the critical lane: its kind is critical, or its severity is.
    pub const fn is_critical(&self) -> bool {
        self.kind().is_critical() || matches!(self.severity(), Severity::Critical)
    }

    /// The actor's user id, for events that have an actor (queries and reports).
    pub const fn actor(&self) -> Option<&Actor> {
        match self {
            Self::AuthSuccess { actor, .. }
            | Self::TokenCreated { actor, .. }
            | Self::TokenRevoked { actor, .. }
            | Self::AuthorizationGranted { actor, .. }
            | Self::AuthorizationDenied { actor, .. }
            | Self::PermissionChanged { actor, .. }
            | Self::PoolCreated { actor, .. }
            | Self::PoolDeleted { actor, .. }
            | Self::PoolModified { actor, .. }
            | Self::NodeRegistered { actor, .. }
            | Self::NodeDeregistered { actor, .. }
            | Self::TaskSubmitted { actor, .. }
            | Self::TaskCanceled { actor, .. }
            | Self::PathTraversalAttempt { actor, .. }
            | Self::SuspiciousActivity { actor, .. } => Some(actor),
            _ => None,
        }
    }

    /// Who an event is about, for search: the actor's user id where there is an actor, else the
    /// attempted user, customer or worker the event names.
    pub fn subject_id(&self) -> Option<&str> {
        if let Some(actor) = self.actor() {
            return Some(&actor.user_id);
        }
        match self {
            Self::AuthFailure { attempted_user, .. } => attempted_user.as_deref(),
            Self::InferenceExecuted { customer_id, .. }
            | Self::ModelAccessed { customer_id, .. }
            | Self::DataDeleted { customer_id, .. }
            | Self::GdprDataAccessRequest { customer_id, .. }
            | Self::GdprDataExport { customer_id, .. }
            | Self::GdprRightToErasure { customer_id, .. } => Some(customer_id),
            _ => None,
        }
    }

    /// The ids of the resources an event is about (pool, node, task, shard, job, resource...),
    /// for search by resource.
    pub fn resource_ids(&self) -> Vec<&str> {
        let mut ids = Vec::new();
        match self {
            Self::AuthorizationGranted { resource, .. }
            | Self::AuthorizationDenied { resource, .. } => {
                ids.push(resource.resource_id.as_str());
                ids.extend(resource.parent_id.as_deref());
            }
            Self::PoolCreated { pool_id, node_id, .. }
            | Self::PoolDeleted { pool_id, node_id, .. } => {
                ids.extend([pool_id.as_str(), node_id.as_str()]);
            }
            Self::PoolModified { pool_id, .. } => ids.push(pool_id),
            Self::NodeRegistered { node_id, .. } => ids.push(node_id),
            Self::NodeDeregistered { node_id, pools_affected, .. } => {
                ids.push(node_id);
                ids.extend(pools_affected.iter().map(String::as_str));
            }
            Self::TaskSubmitted { task_id, .. } | Self::TaskCanceled { task_id, .. } => {
                ids.push(task_id);
            }
            Self::TaskCompleted { task_id, worker_id, .. } => {
                ids.extend([task_id.as_str(), worker_id.as_str()]);
            }
            Self::VramSealed { shard_id, worker_id, .. }
            | Self::SealVerified { shard_id, worker_id, .. }
            | Self::SealVerificationFailed { shard_id, worker_id, .. }
            | Self::VramDeallocated { shard_id, worker_id, .. } => {
                ids.extend([shard_id.as_str(), worker_id.as_str()]);
            }
            Self::VramAllocated { worker_id, .. }
            | Self::VramAllocationFailed { worker_id, .. }
            | Self::PolicyViolation { worker_id, .. } => ids.push(worker_id),
            Self::IntegrityViolation { resource_id, worker_id, .. } => {
                ids.push(resource_id);
                ids.extend(worker_id.as_deref());
            }
            Self::MalformedModelRejected { model_ref, worker_id, .. } => {
                ids.push(model_ref);
                ids.extend(worker_id.as_deref());
            }
            Self::ResourceLimitViolation { worker_id, .. } => ids.extend(worker_id.as_deref()),
            Self::InferenceExecuted { job_id, model_ref, .. } => {
                ids.extend([job_id.as_str(), model_ref.as_str()]);
            }
            Self::ModelAccessed { model_ref, .. } => ids.push(model_ref),
            _ => {}
        }
        ids
    }

    /// The source address the event names, if any (actor address or client address).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::AuthFailure { ip, .. }
            | Self::RateLimitExceeded { ip, .. }
            | Self::InvalidTokenUsed { ip, .. } => Some(*ip),
            _ => self.actor().and_then(|a| a.ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Category;

    #[test]
    fn the_catalogue_has_35_kinds_in_7_categories() {
        assert_eq!(EventKind::ALL.len(), 35);
        let mut categories: Vec<Category> = EventKind::ALL.iter().map(|k| k.category()).collect();
        categories.dedup();
        assert_eq!(categories.len(), 7);
        assert!(!categories.contains(&Category::System));
    }

    #[test]
    fn names_are_unique_dotted_and_round_trip() {
        let mut names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(*kind));
            assert!(kind.as_str().contains('.'), "{kind}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 35);
        assert_eq!("auth.nope".parse::<EventKind>(), Err(EventError::UnknownKind));
    }

    #[test]
    fn the_critical_kinds_are_those_marked_in_the_catalogue() {
        let critical: Vec<&str> =
            EventKind::ALL.iter().filter(|k| k.is_critical()).map(|k| k.as_str()).collect();
        assert_eq!(
            critical,
            [
                "auth.failure",
                "token.revoked",
                "seal.verification_failed",
                "security.path_traversal_attempt",
                "security.invalid_token_used",
                "security.policy_violation",
                "security.suspicious_activity",
                "security.integrity_violation",
                "security.malformed_model_rejected",
                "security.resource_limit_violation",
            ]
        );
    }
}
