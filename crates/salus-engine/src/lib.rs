//! salus-engine (placeholder until its issue work lands).
