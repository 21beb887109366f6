//! salus-search (placeholder until its issue work lands).
