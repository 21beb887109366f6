//! salus-clinical (placeholder until its issue work lands).
