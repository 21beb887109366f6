//! salus-demo (placeholder until its issue work lands).
