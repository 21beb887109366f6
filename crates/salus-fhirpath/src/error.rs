//! Errors of the two stages: parsing (with the byte offset in the expression) and evaluation
//! (with the offset of the node that failed, so a message points at the culprit).

use thiserror::Error;

/// The expression text is not valid FHIRPath (or names an unknown function).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("FHIRPath syntax error at {position}: {message}")]
pub struct ParseError {
    /// Byte offset in the expression.
    pub position: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        ParseError { position, message: message.into() }
    }
}

/// Evaluation failed where the specification says the result is an error (a singleton was
/// expected, operands of the wrong type, an unknown type name, ...).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("FHIRPath evaluation error at {position}: {message}")]
pub struct EvalError {
    /// Byte offset in the expression of the node that failed.
    pub position: usize,
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        EvalError { position, message: message.into() }
    }
}

pub type EvalResult<T> = Result<T, EvalError>;
