//! The engine's errors: each says what was wrong with which file or argument.

use std::path::PathBuf;

/// Errors raised while loading a model. Playing one ([`crate::Renderer::process`]) cannot fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read (the cause is part of the message, printed once).
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    /// A model file is malformed, or describes a model the engine cannot play.
    #[error("{origin}: {reason}")]
    ModelFile { origin: String, reason: String },
    /// An argument is out of its valid range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name, reason: reason.into() }
    }
    pub(crate) fn model(origin: &str, reason: impl Into<String>) -> Self {
        Error::ModelFile { origin: origin.into(), reason: reason.into() }
    }
}
