//! Parsers for argument values shared by subcommands.

use chrono::{DateTime, Duration, Utc};
use std::path::PathBuf;

/// Parse an RFC 3339 time (`2026-01-01T00:00:00Z`).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-01-01T00:00:00Z: {e}"))
}

/// Parse a duration: a number followed by `d`, `h`, `m`, `s` or `ms` (`3d`, `72h`, `500ms`, `0`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 3d, 12h, 30m, 500ms or 0");
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::zero());
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    if unit == "ms" {
        return (n <= 100 * 365 * 86_400_000)
            .then(|| Duration::milliseconds(n))
            .ok_or_else(bad);
    }
    let secs = match unit {
        "d" | "day" | "days" => 86_400,
        "h" | "hour" | "hours" => 3600,
        "m" | "min" | "minutes" => 60,
        "s" | "sec" | "seconds" => 1,
        _ => return Err(bad()),
    };
    n.checked_mul(secs)
        .filter(|v| *v <= 100 * 365 * 86_400)
        .map(Duration::seconds)
        .ok_or_else(bad)
}

/// Parse a size in bytes, with an optional `K`, `M` or `G` (powers of 1024; `KiB` etc. too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size like 1048576, 512K, 10M or 1G");
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(bad)
}

/// A deadline flag's value as a duration above zero.
pub fn deadline(flag: &'static str, d: Duration) -> crate::error::Result<std::time::Duration> {
    d.to_std()
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| crate::error::Error::Argument {
            flag,
            message: "give a duration above zero, like 30m".to_owned(),
        })
}

/// Where `root fetch` keeps roots: `$XDG_DATA_HOME/tufwatch/trusted-roots`, or
/// `$HOME/.local/share/tufwatch/trusted-roots`.
pub fn default_roots_dir() -> Option<PathBuf> {
    crate::source::user_dir("XDG_DATA_HOME", ".local/share", "trusted-roots")
}

/// Refuse, before anything runs, an output file flag naming something tufwatch would not
/// replace (a directory, a device, a FIFO, a symbolic link): only a regular file is replaced.
pub fn output_file(flag: &'static str, path: &std::path::Path) -> crate::error::Result<()> {
    crate::atomic::replaceable(path).map_err(|e| crate::error::Error::Argument {
        flag,
        message: format!("{}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3d").unwrap(), Duration::days(3));
        assert_eq!(parse_duration("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_duration("0").unwrap(), Duration::zero());
        for bad in ["", "d", "3w", "-1d", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        for bad in ["", "0", "M", "1T", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert!(parse_time("2021-01-01T00:00:00Z").is_ok());
        assert!(parse_time("2021-01-01").is_err());
    }
}
