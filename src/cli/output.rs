//! Standard output, checked: what tufwatch prints is written whole and flushed, or the run
//! fails (exit 2) naming why. A full disk behind `> file`, a closed stdout or a reader that went
//! away never passes for a run that printed its report.

use crate::config::OutputFormat;
use crate::error::{Error, Result};
use crate::present::html::Made;
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
    let text = crate::text::page(format!("{text}\n"));
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Print a value as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    print(&(crate::present::json_text(value)? + "\n"))
}

/// Print a job's report on standard output in each format (human when none is asked). JSON
/// goes out as it is made (a fleet report can be tens of MB); the others are rendered first,
/// so that a rendering error is not a write error.
pub fn print_report(
    report: &crate::job::JobReport,
    formats: &[OutputFormat],
    made: &Made,
) -> Result<()> {
    let rendered = formats_or_human(formats)
        .iter()
        .map(|f| match f {
            OutputFormat::Json => Ok(None),
            _ => crate::present::render(report, *f, None, made).map(Some),
        })
        .collect::<Result<Vec<Option<String>>>>()?;
    print_with(|out| {
        for text in &rendered {
            match text {
                Some(text) => out.write_all(text.as_bytes())?,
                None => {
                    serde_json::to_writer_pretty(&mut *out, report)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        Ok(())
    })
}

/// The formats asked, or human when none is.
pub fn formats_or_human(formats: &[OutputFormat]) -> &[OutputFormat] {
    if formats.is_empty() {
        &[OutputFormat::Human]
    } else {
        formats
    }
}

/// Print the report on standard output in each format, or, with `out_dir`, write each to its
/// file there, atomically.
pub fn emit(
    report: &crate::job::JobReport,
    formats: &[OutputFormat],
    out_dir: Option<&std::path::Path>,
    made: &Made,
) -> Result<()> {
    match out_dir {
        None => print_report(report, formats, made),
        Some(dir) => {
            let written = crate::present::write_dir(report, formats_or_human(formats), dir, made)?;
            for path in written {
                note(format_args!("tufwatch: wrote {}", path.display()));
            }
            Ok(())
        }
    }
}

/// Write a text to a file the user named, atomically, and say so.
pub fn write_text(path: &std::path::Path, text: &str) -> Result<()> {
    crate::present::write_text(path, text)?;
    note(format_args!("tufwatch: wrote {}", path.display()));
    Ok(())
}

/// Print a job's outcome; with JSON, a run that cannot make a report still prints one JSON
/// error document.
pub fn finish(
    result: Result<crate::job::JobReport>,
    format: OutputFormat,
    made: &Made,
) -> Result<i32> {
    match result {
        Ok(report) => {
            print_report(&report, &[format], made)?;
            Ok(report.exit_code())
        }
        Err(e) => {
            if format == OutputFormat::Json {
                // The run's own error is what to tell, even when stdout fails too.
                let _ = print_json(&crate::report::ErrorReport::of(&e));
            }
            Err(e)
        }
    }
}

/// Refuse, before anything runs, an output file flag naming something tufwatch would not
/// replace (a directory, a device, a FIFO, a symbolic link): only a regular file is replaced.
pub fn output_file(flag: &'static str, path: &std::path::Path) -> Result<()> {
    crate::atomic::replaceable(path).map_err(|e| Error::Argument {
        flag,
        message: format!("{}: {e}", path.display()),
    })
}
