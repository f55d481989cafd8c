//! Errors that stop tufwatch from running at all (exit code 2).
//!
//! A repository that fails a check is not an error: it is a [`crate::report::Finding`] in a report.
//! These are the failures before or around verification: bad arguments, files that cannot be read
//! or written, a trust anchor that is not a TUF root.

use std::path::PathBuf;

/// A failure that stops a run before it can judge the repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// What the file is for, e.g. "trusted root".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A file or directory could not be written.
    #[error("cannot write {what} {path}: {source}")]
    Write {
        /// What the file is for, e.g. "state".
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A file's content is not what it should be.
    #[error("{what} {path}: {message}")]
    Invalid {
        /// What the file is for.
        what: &'static str,
        /// The file (or URL).
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// A command-line value is not usable.
    #[error("{flag}: {message}")]
    Argument {
        /// The flag to fix, e.g. `--metadata-url`.
        flag: &'static str,
        /// What is wrong, and what would do.
        message: String,
    },

    /// A setting's value is not usable. The command line names the flag or the configuration
    /// key it came from (`cli::names`).
    #[error("{setting}: {message}")]
    Setting {
        /// The setting.
        setting: crate::settings::Setting,
        /// What is wrong, and what would do.
        message: String,
    },

    /// The trusted root does not match what it was pinned to.
    #[error("{0}")]
    UntrustedRoot(String),

    /// A download failed before any verification could start.
    #[error("cannot fetch {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },

    /// Standard output could not take what tufwatch printed (closed, a full disk, a reader
    /// that went away).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),

    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
}

impl Error {
    /// Whether this is a fault of the local machine (a file or directory it could not read or
    /// write: disk, permissions, temporary directory, standard output), as opposed to bad
    /// input or a server out of reach. A run with such a fault gives no verdict.
    pub fn is_local_fault(&self) -> bool {
        matches!(
            self,
            Error::Read { .. } | Error::Write { .. } | Error::Stdout(_)
        )
    }

    /// The exit code for this error: 1 for a root that matches no pin (a finding about the trust
    /// anchor), 2 for everything else (tufwatch could not run).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::UntrustedRoot(_) => crate::exit::EXIT_FINDINGS,
            _ => crate::exit::EXIT_COULD_NOT_RUN,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
