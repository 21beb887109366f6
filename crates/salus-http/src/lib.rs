//! salus-http (placeholder until its issue work lands).
