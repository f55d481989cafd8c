//! The exit codes, one meaning each for every command (the README and `--help` list them).

/// Every check passed (warnings allowed).
pub const EXIT_OK: i32 = 0;
/// Findings: a check of the repository, the fleet or the data failed.
pub const EXIT_FINDINGS: i32 = 1;
/// tufwatch could not run: bad arguments, unreadable files, a server out of reach, or a fault
/// of this machine (a full disk, an unwritable temporary directory, standard output).
pub const EXIT_COULD_NOT_RUN: i32 = 2;
