//! Batch and transaction Bundles (`POST /fhir`), translated into the one write path.
//!
//! A transaction becomes one [`Engine::commit`] (see `plan.rs` for the order and the
//! references between entries); any failure rolls everything back with an error naming the
//! entry. Its searches are checked before the commit and run after it, so they see its writes.
//! A batch runs each entry as a transaction of its own, through the same code, and reports
//! each outcome in its own response entry.

mod plan;
mod response;

pub(crate) use plan::{EntryOrder, TransactionPlan, plan_transaction};

use crate::{Caller, Engine, EngineError, clock};
use plan::Read;
use response::{error_entry, response_bundle, write_entry};
use serde_json::{Value, json};

/// Most entries accepted in one Bundle, unless configured otherwise.
pub const DEFAULT_MAX_BUNDLE_ENTRIES: usize = 10_000;

impl Engine {
    /// Processes a `transaction` or `batch` Bundle and returns the response Bundle. `base` is
    /// the server's base URL: absolute `request.url`s under it are accepted, and search
    /// results name their resources by it.
    pub async fn process_bundle(&self, caller: &Caller, bundle: Value, base: &str) -> Result<Value, EngineError> {
        if salus_fhir::resource::resource_type(&bundle) != Some("Bundle") {
            return Err(EngineError::bad_request("POST to the base URL takes a Bundle", Some("resourceType")));
        }
        let mut bundle = bundle;
        let entries = match bundle.get_mut("entry").map(Value::take) {
            None => Vec::new(),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(EngineError::bad_request("Bundle.entry must be an array", Some("Bundle.entry"))),
        };
        if entries.len() > self.max_bundle_entries {
            return Err(EngineError::bad_request(
                format!(
                    "the Bundle has {} entries; this server takes at most {} per Bundle: split it",
                    entries.len(),
                    self.max_bundle_entries
                ),
                Some("Bundle.entry"),
            ));
        }
        match bundle.get("type").and_then(Value::as_str) {
            Some("transaction") => {
                Ok(response_bundle("transaction-response", self.run_transaction(caller, entries, base).await?))
            }
            Some("batch") => {
                let mut responses = Vec::with_capacity(entries.len());
                for (i, entry) in entries.into_iter().enumerate() {
                    let response = match self.run_transaction(caller, vec![entry], base).await {
                        Ok(mut one) => one.pop().unwrap_or(Value::Null),
                        Err(e) => error_entry(i, &e),
                    };
                    responses.push(response);
                }
                Ok(response_bundle("batch-response", responses))
            }
            other => Err(EngineError::bad_request(
                format!(
                    "Bundle.type is {}: POST to the base URL takes a `transaction` or `batch` Bundle",
                    other.map_or("missing".to_string(), |t| format!("`{t}`"))
                ),
                Some("Bundle.type"),
            )),
        }
    }

    /// Runs `entries` as one transaction and returns their response entries, in the Bundle's
    /// order.
    async fn run_transaction(&self, caller: &Caller, entries: Vec<Value>, base: &str) -> Result<Vec<Value>, EngineError> {
        let count = entries.len();
        let TransactionPlan { writes, order, links, reads } = plan_transaction(entries, Some(base))?;
        for (i, read) in &reads {
            if let Read::Search { request, .. } = read {
                self.check_search(caller, request.clone()).await.map_err(|e| EngineError::in_entry(*i, e))?;
            }
        }
        let committed = self.commit_linked(caller, writes, links).await.map_err(|e| order.entry_error(e))?;
        let mut responses: Vec<Value> = vec![Value::Null; count];
        for (i, c) in order.positions().zip(&committed) {
            responses[i] = write_entry(c);
        }
        for (i, read) in reads {
            responses[i] = match self.read_entry(caller, read, base).await {
                Ok(response) => response,
                Err(e) => error_entry(i, &e),
            };
        }
        Ok(responses)
    }

    async fn read_entry(&self, caller: &Caller, read: Read, base: &str) -> Result<Value, EngineError> {
        match read {
            Read::Instance { resource_type, id, version } => {
                let v = match version {
                    Some(v) => self.vread(caller, &resource_type, &id, &v).await?,
                    None => self.read(caller, &resource_type, &id).await?,
                };
                let resource: Value = v.body.as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
                Ok(json!({
                    "resource": resource,
                    "response": {
                        "status": "200 OK",
                        "etag": format!("W/\"{}\"", v.version),
                        "lastModified": clock::format_instant(v.last_updated_ms),
                    }
                }))
            }
            Read::Search { request, path } => {
                let params = request.params.clone();
                let result = self.search(caller, request).await?;
                let endpoint = if path.is_empty() { base.to_string() } else { format!("{base}/{path}") };
                let searchset = crate::searchset(base, &endpoint, &params, &result);
                let resource: Value = serde_json::from_slice(&searchset).unwrap_or(Value::Null);
                Ok(json!({ "resource": resource, "response": { "status": "200 OK" } }))
            }
        }
    }
}
