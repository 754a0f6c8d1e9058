//! One realistic example event of every kind: for documentation, demos, golden vectors and
//! tests in every crate that needs "an event of kind K".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::catalogue::{AuditEvent, EventKind};
use crate::ids::Timestamp;
use crate::secrets::{Digest, PromptDigest, TokenFingerprint};
use crate::types::{Actor, AuthMethod, FieldChange, Outcome, Resource, RiskScore, Severity};

const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
const V6_IP: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x17));
/// 2026-11-22T09:00:00Z.
const EXAMPLE_TIME: Timestamp = Timestamp(1_795_338_000_000_000_000);

fn admin() -> Actor {
    Actor::new("admin@example.com", AuthMethod::BearerToken)
        .with_ip(CLIENT_IP)
        .with_session("sess-4f1c")
}

fn operator() -> Actor {
    Actor::new("svc-orchestrator", AuthMethod::MTls)
        .with_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
        .with_session("mtls-9a0e")
}

fn model_digest() -> Digest {
    Digest::Blake3([0x5a; 32])
}

impl EventKind {
    /// A realistic example event of this kind (fixed values, no randomness). Every optional
    /// field is present and every list non-empty, so the example exercises every field.
    pub fn example(self) -> AuditEvent {
        let s = String::from;
        match self {
            Self::AuthSuccess => AuditEvent::AuthSuccess {
                actor: admin(),
                method: AuthMethod::BearerToken,
                path: s("/v1/tasks"),
                service_id: s("orchestrator"),
            },
            Self::AuthFailure => AuditEvent::AuthFailure {
                attempted_user: Some(s("mallory")),
                reason: s("invalid credentials"),
                ip: CLIENT_IP,
                path: s("/v1/login"),
                service_id: s("orchestrator"),
            },
            Self::TokenCreated => AuditEvent::TokenCreated {
                actor: admin(),
                token_fingerprint: TokenFingerprint::of_token("example-token"),
                scope: vec![s("tasks:write"), s("pools:read")],
                expires_at: Some(EXAMPLE_TIME),
            },
            Self::TokenRevoked => AuditEvent::TokenRevoked {
                actor: admin(),
                token_fingerprint: TokenFingerprint::of_token("example-token"),
                reason: s("rotated after suspected leak"),
            },
            Self::AuthorizationGranted => AuditEvent::AuthorizationGranted {
                actor: admin(),
                resource: Resource {
                    resource_type: s("pool"),
                    resource_id: s("pool-llama-70b"),
                    parent_id: Some(s("gpu-node-1")),
                },
                action: s("scale"),
            },
            Self::AuthorizationDenied => AuditEvent::AuthorizationDenied {
                actor: Actor::new("intern", AuthMethod::ApiKey)
                    .with_ip(V6_IP)
                    .with_session("sess-77aa"),
                resource: Resource {
                    resource_type: s("node"),
                    resource_id: s("gpu-node-3"),
                    parent_id: Some(s("rack-a")),
                },
                action: s("drain"),
                reason: s("role viewer cannot drain nodes"),
            },
            Self::PermissionChanged => AuditEvent::PermissionChanged {
                actor: admin(),
                subject: s("intern"),
                old_permissions: vec![s("viewer")],
                new_permissions: vec![s("viewer"), s("operator")],
            },
            Self::PoolCreated => AuditEvent::PoolCreated {
                actor: admin(),
                pool_id: s("pool-llama-70b"),
                model_ref: s("hf:meta-llama/Llama-3-70B"),
                node_id: s("gpu-node-1"),
                replicas: 2,
                gpu_devices: vec![0, 1],
            },
            Self::PoolDeleted => AuditEvent::PoolDeleted {
                actor: admin(),
                pool_id: s("pool-llama-70b"),
                model_ref: s("hf:meta-llama/Llama-3-70B"),
                node_id: s("gpu-node-1"),
                reason: s("decommissioned"),
                replicas_terminated: 2,
            },
            Self::PoolModified => AuditEvent::PoolModified {
                actor: admin(),
                pool_id: s("pool-llama-70b"),
                changes: vec![FieldChange { field: s("replicas"), old: s("2"), new: s("4") }],
            },
            Self::NodeRegistered => AuditEvent::NodeRegistered {
                actor: operator(),
                node_id: s("gpu-node-3"),
                gpu_count: 8,
                total_vram_bytes: 8 * 80 * (1 << 30),
                capabilities: vec![s("cuda-12"), s("nvlink")],
            },
            Self::NodeDeregistered => AuditEvent::NodeDeregistered {
                actor: operator(),
                node_id: s("gpu-node-3"),
                reason: s("hardware fault"),
                pools_affected: vec![s("pool-llama-70b")],
            },
            Self::TaskSubmitted => AuditEvent::TaskSubmitted {
                actor: admin(),
                task_id: s("task-000042"),
                model_ref: s("hf:meta-llama/Llama-3-70B"),
                prompt: PromptDigest::of_prompt("Summarise the quarterly report."),
                max_tokens: 512,
            },
            Self::TaskCompleted => AuditEvent::TaskCompleted {
                task_id: s("task-000042"),
                worker_id: s("worker-gpu-0"),
                tokens_generated: 311,
                duration_ms: 2_480,
                outcome: Outcome::PartialSuccess { details: s("stopped at max_tokens") },
            },
            Self::TaskCanceled => AuditEvent::TaskCanceled {
                actor: admin(),
                task_id: s("task-000043"),
                reason: s("client disconnected"),
            },
            Self::VramSealed => AuditEvent::VramSealed {
                shard_id: s("llama-70b-shard-0"),
                gpu_device: 0,
                vram_bytes: 1 << 30,
                digest: model_digest(),
                worker_id: s("worker-gpu-0"),
            },
            Self::SealVerified => AuditEvent::SealVerified {
                shard_id: s("llama-70b-shard-0"),
                gpu_device: 0,
                digest: model_digest(),
                worker_id: s("worker-gpu-0"),
            },
            Self::SealVerificationFailed => AuditEvent::SealVerificationFailed {
                shard_id: s("llama-70b-shard-1"),
                gpu_device: 1,
                reason: s("digest mismatch"),
                expected_digest: model_digest(),
                actual_digest: Some(Digest::Blake3([0xa5; 32])),
                worker_id: s("worker-gpu-1"),
            },
            Self::VramAllocated => AuditEvent::VramAllocated {
                requested_bytes: 1 << 30,
                allocated_bytes: 1 << 30,
                available_bytes: 79 * (1 << 30),
                used_bytes: 1 << 30,
                gpu_device: 0,
                worker_id: s("worker-gpu-0"),
            },
            Self::VramAllocationFailed => AuditEvent::VramAllocationFailed {
                requested_bytes: 96 * (1 << 30),
                available_bytes: 79 * (1 << 30),
                reason: s("insufficient VRAM"),
                gpu_device: 0,
                worker_id: s("worker-gpu-0"),
            },
            Self::VramDeallocated => AuditEvent::VramDeallocated {
                shard_id: s("llama-70b-shard-0"),
                freed_bytes: 1 << 30,
                remaining_used: 0,
                gpu_device: 0,
                worker_id: s("worker-gpu-0"),
            },
            Self::RateLimitExceeded => AuditEvent::RateLimitExceeded {
                ip: CLIENT_IP,
                endpoint: s("/v1/tasks"),
                limit: 100,
                actual: 250,
                window_seconds: 60,
            },
            Self::PathTraversalAttempt => AuditEvent::PathTraversalAttempt {
                actor: Actor::new("mallory", AuthMethod::ApiKey)
                    .with_ip(CLIENT_IP)
                    .with_session("sess-dead"),
                attempted_path: s("pool-../../../etc/passwd"),
                endpoint: s("/v1/pools"),
            },
            Self::InvalidTokenUsed => AuditEvent::InvalidTokenUsed {
                ip: CLIENT_IP,
                token_fingerprint: TokenFingerprint::of_token("forged-token"),
                endpoint: s("/v1/tasks"),
            },
            Self::PolicyViolation => AuditEvent::PolicyViolation {
                policy: s("vram-only"),
                violation: s("managed memory enabled"),
                details: s("device reports unified addressing with pageable access"),
                severity: Severity::Critical,
                worker_id: s("worker-gpu-1"),
                action_taken: s("worker refused to start"),
            },
            Self::SuspiciousActivity => AuditEvent::SuspiciousActivity {
                actor: Actor::new("mallory", AuthMethod::ApiKey)
                    .with_ip(CLIENT_IP)
                    .with_session("sess-dead"),
                activity_type: s("credential stuffing"),
                details: s("42 failed logins in 60 s"),
                risk_score: RiskScore::saturating(85),
            },
            Self::IntegrityViolation => AuditEvent::IntegrityViolation {
                resource_type: s("model_shard"),
                resource_id: s("llama-70b-shard-1"),
                expected_hash: model_digest(),
                actual_hash: Digest::Blake3([0xa5; 32]),
                severity: Severity::Critical,
                action_taken: s("shard quarantined"),
                worker_id: Some(s("worker-gpu-1")),
            },
            Self::MalformedModelRejected => AuditEvent::MalformedModelRejected {
                model_ref: s("hf:unknown/model"),
                validation_error: s("header length exceeds file size"),
                severity: Severity::High,
                action_taken: s("load refused"),
                worker_id: Some(s("worker-gpu-0")),
            },
            Self::ResourceLimitViolation => AuditEvent::ResourceLimitViolation {
                resource_type: s("vram"),
                limit_type: s("per_pool_bytes"),
                limit_value: 40 * (1 << 30),
                actual_value: 48 * (1 << 30),
                severity: Severity::High,
                action_taken: s("allocation refused"),
                worker_id: Some(s("worker-gpu-1")),
            },
            Self::InferenceExecuted => AuditEvent::InferenceExecuted {
                customer_id: s("cust-1001"),
                job_id: s("job-77"),
                model_ref: s("hf:meta-llama/Llama-3-70B"),
                tokens_processed: 823,
                provider_id: Some(s("provider-eu-1")),
                outcome: Outcome::Failure { reason: s("context length exceeded") },
            },
            Self::ModelAccessed => AuditEvent::ModelAccessed {
                customer_id: s("cust-1001"),
                model_ref: s("hf:meta-llama/Llama-3-70B"),
                access_type: s("inference"),
                provider_id: Some(s("provider-eu-1")),
            },
            Self::DataDeleted => AuditEvent::DataDeleted {
                customer_id: s("cust-1001"),
                data_types: vec![s("prompts"), s("outputs")],
                reason: s("retention expired"),
            },
            Self::GdprDataAccessRequest => AuditEvent::GdprDataAccessRequest {
                customer_id: s("cust-1001"),
                requester: s("dpo@example.com"),
                scope: vec![s("account"), s("usage")],
            },
            Self::GdprDataExport => AuditEvent::GdprDataExport {
                customer_id: s("cust-1001"),
                data_types: vec![s("account"), s("usage")],
                export_format: s("json"),
                file_hash: Digest::sha256(b"export"),
            },
            Self::GdprRightToErasure => AuditEvent::GdprRightToErasure {
                customer_id: s("cust-1001"),
                completed_at: EXAMPLE_TIME,
                data_types_deleted: vec![s("account"), s("prompts"), s("outputs")],
            },
        }
    }
}
