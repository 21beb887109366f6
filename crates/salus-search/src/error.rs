//! What can be wrong with a search, phrased so that the client can fix the request.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("unknown search parameter `{param}` for {types}: check the spelling, or the CapabilityStatement for the parameters each type supports")]
    UnknownParameter { param: String, types: String },
    #[error("the parameter `{param}` does not support the modifier `:{modifier}`")]
    UnsupportedModifier { param: String, modifier: String },
    #[error("`{value}` is not a valid value for `{param}`: {reason}")]
    BadValue { param: String, value: String, reason: String },
    #[error("`{0}` is not a FHIR R4 resource type")]
    UnknownType(String),
    #[error("`{0}` is not a compartment: use Patient, Encounter, RelatedPerson, Practitioner or Device")]
    UnknownCompartment(String),
    #[error("{0}")]
    Unsupported(String),
    /// Token `:below` / `:above` on a code system whose hierarchy the server does not have.
    #[error("`{param}`: this server cannot evaluate subsumption for the code system `{system}`: {reason}")]
    Subsumption { param: String, system: String, reason: String },
    #[error("the SearchParameter cannot be used: {0}")]
    InvalidSearchParameter(String),
    #[error("the search is too large to run ({weight} predicates over all the types it reaches, at most {max}): name the resource type, the chain's target type (`subject:Patient.name`), or give fewer values")]
    TooLarge { weight: usize, max: usize },
    #[error("the paging cursor is not valid (it may come from another server version): start the search again")]
    BadCursor,
}

impl SearchError {
    /// Whether `Prefer: handling=lenient` may ignore the parameter that caused this.
    pub fn is_ignorable(&self) -> bool {
        matches!(
            self,
            SearchError::UnknownParameter { .. } | SearchError::UnsupportedModifier { .. } | SearchError::Unsupported(_)
        )
    }
}
