//! salus-validator (placeholder until its issue work lands).
