//! What goes wrong in a run: a message naming the node and the cause, and its kind.

use std::fmt;

/// Why a run could not start or did not finish cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The program uses something `flowc run` does not execute yet.
    Unsupported,
    /// An option value that cannot be used (an unset `${VAR}`, a bad regex).
    Config,
    /// Reading or writing failed; trying again may work (a full disk, a lost connection).
    Io,
    /// The system refused in a way trying again cannot change (permission denied, a read-only file
    /// system, refused credentials): a sink fails at once, without retries. A file where a directory
    /// must be is not one: someone may move it, so it is retried like a sink that is down.
    Denied,
    /// An expression could not be evaluated on some records (they are counted and dropped).
    Eval,
    /// A broken invariant: a bug in flowc.
    Internal,
}

impl RunError {
    pub fn unsupported(what: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Unsupported, message: format!("{what} cannot run yet") }
    }
    pub fn config(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Config, message: message.to_string() }
    }
    pub fn io(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Io, message: message.to_string() }
    }
    pub fn denied(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Denied, message: message.to_string() }
    }
    /// An I/O error with its context: [`ErrorKind::Denied`] when retrying cannot help, else `Io`.
    pub fn from_io(context: impl fmt::Display, err: &std::io::Error) -> RunError {
        use std::io::ErrorKind as K;
        let message = format!("{context}: {err}");
        match err.kind() {
            K::PermissionDenied | K::ReadOnlyFilesystem | K::InvalidFilename => RunError::denied(message),
            _ => RunError::io(message),
        }
    }
    pub fn eval(err: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Eval, message: err.to_string() }
    }
    pub fn internal(message: impl fmt::Display) -> RunError {
        RunError { kind: ErrorKind::Internal, message: message.to_string() }
    }
    pub(crate) fn in_node(mut self, node: &str) -> RunError {
        self.message = format!("{node}: {}", self.message);
        self
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}
