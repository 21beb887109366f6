//! salus-fhir (placeholder until its issue work lands).
