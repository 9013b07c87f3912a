//! This crate answers questions over a tracehound store: what it holds (`info`), one session's
//! timeline with the provenance of every tool argument, and every detector over every session (`scan`).
//! It reads the store through its manifest only, so files of an uncommitted ingest are never seen. The
//! detectors are plain Rust over [`Session`]s: no query engine inside them.

mod detectors;
mod events;
mod export;
mod finding;
mod hunt;
mod info;
mod instruction;
mod literal;
mod memory;
mod policy;
mod provenance;
mod report;
mod respond;
mod safe;
mod scan;
mod search;
mod stats;
mod store;
mod time;
mod timeline;

pub use detectors::{
    find_secrets, hosts_in, redact_secrets, redacted, redacted_as, reference_markdown, registry,
    Analysis, Detector, SecretMatch, SessionStats,
};
pub use events::{events_from_batch, EventRow, Session, Text};
pub use export::{export_events, timesketch_record, ExportSelection};
pub use finding::{findings_batch, write_findings_parquet, Evidence, Finding, Severity};
pub use hunt::{
    campaigns, payload_fingerprint, similar, Campaign, SameValueCall, Similar, SimilarOutput,
    CAMPAIGN_SIMILARITY, SIMILAR_CONTAINMENT,
};
pub use info::{info, FormatCount, StoreInfo};
pub use instruction::{instruction_score, instruction_score_at_least, Cue, InstructionScore};
pub use memory::tune_allocator;
pub use policy::{Policy, PolicyError};
pub use provenance::{
    argument_values, embedded_values, session_provenance, ArgValue, Origin, ValueKind,
    ValueProvenance,
};
pub use report::{
    build_report, html_escape, Report, SessionRank, TimeBucket, MAX_LISTED, MAX_SESSIONS,
};
pub use respond::{
    contain, effect_of, eval_case, postmortem, shell_quote, timeline_command, ActionImpact,
    AgentAction, Containment, CredentialAction, EvalCase, EvalMessage, EvidenceRef, ForbiddenCall,
    HostAction, OffendingValue, Postmortem, RemediationItem, RootCause, ToolAction, Trigger,
};
pub use safe::is_deceptive_char;
pub use scan::{
    session_findings, Payload, Scan, ScanBuilder, ScanResult, SessionScan, DEFAULT_MAX_FINDINGS,
};
pub use search::{CountBy, SearchBuilder, SearchError, SearchHit, SearchResult, SEARCH_FIELDS};
pub use stats::{
    archive_stats, findings_by_detector, ArchiveStats, ChangePoint, GroupStats,
    CHANGE_MIN_SESSIONS, CHANGE_THRESHOLD,
};
pub use store::{QueryError, Store};
pub use time::{day_utc, format_utc, rfc3339_utc};
pub use timeline::{timeline, Around, Entry, Timeline};
