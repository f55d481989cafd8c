//! Standard output, checked: what tufwatch prints is written whole and flushed, or the run
//! fails (exit 2) naming why. A full disk behind `> file`, a closed stdout or a reader that went
//! away never passes for a run that printed its report.

use crate::error::{Error, Result};
use std::io::Write;

/// Print `text` on standard output, all of it, flushed.
pub fn print(text: &str) -> Result<()> {
    print_with(|out| out.write_all(text.as_bytes()))
}

/// Print what `write` writes on standard output (buffered, then flushed); any write error is
/// the run's.
pub fn print_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

/// Tell the user something on standard error, its misleading characters escaped (a path or a
/// message may carry a terminal's escape sequences). A standard error that cannot take it is
/// not a reason to fail, nor to panic as `eprintln!` does.
pub fn note(text: impl std::fmt::Display) {
    let text = crate::report::text::page(format!("{text}\n"));
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
