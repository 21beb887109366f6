//! salus-fhirpath (placeholder until its issue work lands).
