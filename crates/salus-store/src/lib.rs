//! salus-store (placeholder until its issue work lands).
