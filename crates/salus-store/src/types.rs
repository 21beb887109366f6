//! The plain values that cross the store boundary.

/// One stored version of a resource, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// Position in the system-wide history; newer versions have larger numbers.
    pub seq: i64,
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub last_updated_ms: i64,
    pub deleted: bool,
    /// The resource JSON, with `meta.versionId` and `meta.lastUpdated` already set; `None` for
    /// a deletion.
    pub body: Option<Vec<u8>>,
    /// SHA-256 of the content without server meta, to recognise an update that changes nothing.
    pub sha256: Option<[u8; 32]>,
}

/// A version to store. The writer has already decided its number and content.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    /// The Patient whose compartment the resource belongs to, if any.
    pub patient_key: Option<String>,
    pub last_updated_ms: i64,
    pub deleted: bool,
    pub body: Option<Vec<u8>>,
    pub sha256: Option<[u8; 32]>,
    /// The search index rows of this version; they replace the previous version's (a deletion
    /// passes none).
    pub terms: salus_search::IndexTerms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryScope {
    System,
    Type(String),
    Instance { resource_type: String, id: String },
}

/// What a `_history` interaction asks for.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub scope: HistoryScope,
    /// `_since`: only versions updated at or after this instant.
    pub since_ms: Option<i64>,
    /// `_at`: only versions that were current at this instant.
    pub at_ms: Option<i64>,
    /// Page size.
    pub count: usize,
    /// Paging cursor: only versions older than this history position.
    pub before_seq: Option<i64>,
}

/// A background job as stored: the engine owns the meaning of `status`, `request` and `state`
/// (JSON text); the store keeps them durable so a job survives a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    /// What runs it (`export`).
    pub kind: String,
    pub status: String,
    pub request: String,
    pub state: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub created_ms: i64,
    pub updated_ms: i64,
}
