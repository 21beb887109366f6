//! Who is asking. Every engine call takes a [`Caller`] so that access decisions and audit
//! become policy inside the engine, not new parameters on every signature.

/// The party on whose behalf a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Salus itself: start-up, imports run by the operator, jobs.
    System,
    /// A signed-in person (a user id of the identity service, once it exists).
    User { id: String },
    /// A client application acting for itself (SMART backend services).
    Client { id: String },
}

/// A caller: who, through which app, with which SMART scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// The client application's id, when the call comes through one.
    pub app: Option<String>,
    /// Granted scopes (`system/*.read`, `patient/Observation.rs`, ...).
    pub scopes: Vec<String>,
}

impl Caller {
    /// The system itself, with every right. Until the identity issue lands this is the only
    /// caller the HTTP layer can name.
    pub fn system() -> Self {
        Caller { principal: Principal::System, app: None, scopes: vec!["system/*.*".into()] }
    }
}
