//! One error type for the library: every variant says what was wrong with which file or argument.

use std::path::PathBuf;

/// Errors raised by ampsim-core. Messages name the file or argument at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read, written or renamed. The cause is part of the message
    /// (not a chained source), so that error chains print it once.
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    /// A file is not a readable WAV file (wrong header, truncated data, unsupported encoding).
    #[error("{path}: not a readable WAV file: {reason}")]
    Wav { path: PathBuf, reason: String },
    /// The audio is readable but not usable as asked (empty, wrong channel count, mismatch).
    #[error("{path}: {reason}")]
    Audio { path: PathBuf, reason: String },
    /// The amp channel could not be aligned to the DI with confidence.
    #[error("{name}: cannot align the amp to the DI: {reason}. If you know the latency, give it: `ampsim train --latency N` or `Recording::aligned_by(N)`")]
    Alignment { name: String, reason: String },
    /// A recording fails a check that training cannot go past (see `recording::check`).
    #[error("{name}: {reason}")]
    BadRecording { name: String, reason: String },
    /// A model file (`.nam`) or a training checkpoint is malformed, or describes a model that
    /// ampsim cannot run.
    #[error("{path}: {reason}")]
    ModelFile { path: String, reason: String },
    /// Training produced a loss that is not a finite number.
    #[error("training diverged (loss {loss}) in epoch {epoch}; lower the learning rate")]
    Diverged { epoch: usize, loss: f64 },
    /// Training was stopped (Ctrl-C, a stop flag) before its first epoch ended: there is no
    /// model to keep.
    #[error("stopped before the first epoch finished; nothing was written")]
    Stopped,
    /// A training worker thread failed.
    #[error("a training worker thread failed {during}")]
    Worker { during: &'static str },
    /// A function argument is out of its valid range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// Drawing a figure failed.
    #[error("plot `{title}`: {reason}")]
    Plot { title: String, reason: String },
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// polars reported an error while building a table.
    #[error("table: {0}")]
    Table(#[from] polars::error::PolarsError),
}

/// The engine's errors (it reads the `.nam` layouts) become the same kind of error here.
impl From<ampsim_engine::Error> for Error {
    fn from(e: ampsim_engine::Error) -> Self {
        match e {
            ampsim_engine::Error::Io { path, cause } => Error::Io { path, cause },
            ampsim_engine::Error::ModelFile { origin, reason } => Error::ModelFile { path: origin, reason },
            ampsim_engine::Error::InvalidArgument { name, reason } => Error::InvalidArgument { name, reason },
        }
    }
}

/// The captures manifest's errors (`ampsim-captures`) say the manifest and the entry at fault.
impl From<ampsim_captures::Error> for Error {
    fn from(e: ampsim_captures::Error) -> Self {
        match e {
            ampsim_captures::Error::Io { path, cause } => Error::Io { path, cause },
            ampsim_captures::Error::Manifest { origin, reason } => Error::invalid("captures", format!("{origin}: {reason}")),
            ampsim_captures::Error::Pattern(reason) => Error::invalid("pattern", reason),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), cause: source }
    }
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name, reason: reason.into() }
    }
}
