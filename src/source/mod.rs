//! Where a repository is and what anchors trust in it: locations, Bottlerocket's layout, pinned
//! roots, the transport that fetches (and records) bytes, and the state kept between runs.

pub mod bottlerocket;
pub mod location;
pub mod pins;
pub mod state;
pub mod transport;

/// A per-user directory: `$<var>/tufwatch/<leaf>` (an XDG base directory), or
/// `$HOME/<home_rel>/tufwatch/<leaf>` when the variable is unset or empty.
pub fn user_dir(var: &str, home_rel: &str, leaf: &str) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    // A relative path in an XDG variable is invalid and to be ignored (the XDG Base Directory
    // specification): it would put the state wherever the job happens to start.
    let base = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|v| v.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(home_rel))
        })?;
    Some(base.join("tufwatch").join(leaf))
}

/// Read a whole file, refusing more than `max` bytes (an `InvalidData` error saying so): for
/// files tufwatch reads back (its state, a client's trusted metadata), which a full disk or a
/// hand could have made anything.
pub fn read_at_most(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    // A FIFO would hold the run until someone writes to it; a device could be anything.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// Read a whole input file, or standard input for `-`, refusing more than `max` bytes so that a
/// wrong file (a disk image, a device) fails with a clear error instead of filling memory.
pub fn read_limited(
    path: &std::path::Path,
    max: u64,
    what: &'static str,
) -> crate::error::Result<Vec<u8>> {
    use std::io::Read;
    let error = |source| crate::error::Error::Read {
        what,
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(error)?;
        // Read a large file into one allocation of its size, not by doubling.
        if let Ok(m) = file.metadata() {
            bytes.reserve(m.len().min(max).saturating_add(1) as usize);
        }
        Box::new(file)
    };
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(error)?;
    if bytes.len() as u64 > max {
        return Err(crate::error::Error::Invalid {
            what,
            path: path.display().to_string(),
            message: format!("larger than {max} bytes; is this the right file?"),
        });
    }
    Ok(bytes)
}

/// `bytes` without a leading UTF-8 byte order mark (some Windows tools write one before JSON or
/// CSV).
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// `path` made absolute (not resolving links), as a bundle's directory is recorded: so that the
/// command that checks it works from anywhere, and cannot be taken for an option.
pub fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
