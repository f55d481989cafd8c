//! `SHA256SUMS`: one line per file of the bundle (but itself), `<sha256 hex>  <path>`, sorted
//! by path, `/` between directories: the format `sha256sum -c SHA256SUMS` checks.

use crate::error::FieldError;
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name.
pub const FILE: &str = "SHA256SUMS";

/// Largest file of a bundle (metadata of 100,000 targets, or a job's report of a large fleet,
/// is tens of MB); a larger one is refused before any file is read into memory.
pub const MAX_FILE: u64 = 256 << 20;

/// What a bundle's directory holds.
#[derive(Debug, Default)]
pub struct Contents {
    /// Every regular file below it (relative path with `/` -> its SHA-256), `SHA256SUMS`
    /// among them.
    pub digests: BTreeMap<String, String>,
    /// What no bundle holds, each with why: a symbolic link, a FIFO or a device, a name that
    /// is not UTF-8, a file larger than [`MAX_FILE`]. Faults of the bundle, not of the machine
    /// that checks it; none is read.
    pub odd: Vec<(String, String)>,
}

/// What is below `dir`. A directory or file this machine cannot read is the error: a fault of
/// this machine, not of the bundle.
pub fn digests(dir: &Path) -> crate::error::Result<Contents> {
    let mut out = Contents::default();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// The SHA-256 of a file, read a block at a time.
fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let (mut hasher, _) = crate::digest::MultiHasher::new(["sha256"]);
    let mut block = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut block)? {
            0 => break,
            n => hasher.update(&block[..n]),
        }
    }
    let (digests, _) = hasher.finish();
    Ok(digests.get("sha256").cloned().unwrap_or_default())
}

fn walk(dir: &Path, prefix: &str, out: &mut Contents) -> crate::error::Result<()> {
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |source| crate::error::Error::Read {
            what: "evidence bundle",
            path,
            source,
        }
    };
    let entries = std::fs::read_dir(dir).map_err(unreadable(dir))?;
    for e in entries {
        let e = e.map_err(unreadable(dir))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            let rel = format!("{prefix}{}", name.to_string_lossy());
            out.odd.push((rel, "not a UTF-8 name".to_owned()));
            continue;
        };
        let rel = format!("{prefix}{name}");
        let kind = e.file_type().map_err(unreadable(&e.path()))?;
        if kind.is_dir() {
            walk(&e.path(), &format!("{rel}/"), out)?;
        } else if kind.is_file() {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            if len > MAX_FILE {
                out.odd.push((
                    rel,
                    format!("larger than {MAX_FILE} bytes; not a bundle's file"),
                ));
                continue;
            }
            let sha = sha256_of_file(&e.path()).map_err(unreadable(&e.path()))?;
            out.digests.insert(rel, sha);
        } else {
            let what = crate::atomic::kind_of(&kind);
            out.odd
                .push((rel, format!("{what}, not a file a bundle holds")));
        }
    }
    Ok(())
}

/// The text of `SHA256SUMS` for these digests.
pub fn render(digests: &BTreeMap<String, String>) -> String {
    digests
        .iter()
        .map(|(path, hex)| format!("{hex}  {path}\n"))
        .collect()
}

/// Parse `SHA256SUMS`; the error names the line.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}", n + 1);
        let (hex, path) = line
            .split_once("  ")
            .ok_or_else(|| FieldError::new(at(), "not `<sha256>  <path>`"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(FieldError::new(
                at(),
                format!("{hex:?} is not a SHA-256 in hex"),
            ));
        }
        if out.insert(path.to_owned(), hex.to_owned()).is_some() {
            return Err(FieldError::new(at(), format!("{path} is listed twice")));
        }
    }
    Ok(out)
}

/// How the files on disk differ from the sums: (altered, missing, extra) paths.
pub fn compare(
    listed: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let altered = listed
        .iter()
        .filter(|(p, h)| actual.get(*p).is_some_and(|a| a != *h))
        .map(|(p, _)| p.clone())
        .collect();
    let missing = listed
        .keys()
        .filter(|p| !actual.contains_key(*p))
        .cloned()
        .collect();
    let extra = actual
        .keys()
        .filter(|p| !listed.contains_key(*p))
        .cloned()
        .collect();
    (altered, missing, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_differences() {
        let mut d = BTreeMap::new();
        d.insert("b/x.json".to_owned(), "a".repeat(64));
        d.insert("a.json".to_owned(), "b".repeat(64));
        let text = render(&d);
        assert!(text.starts_with(&format!("{}  a.json\n", "b".repeat(64))));
        assert_eq!(parse(&text).unwrap(), d);
        assert!(parse("zz  a\n").unwrap_err().field == "line 1");
        assert!(parse(&format!("{0}  a\n{0}  a\n", "c".repeat(64)))
            .unwrap_err()
            .why
            .contains("twice"));
        let mut actual = d.clone();
        actual.insert("a.json".to_owned(), "c".repeat(64));
        actual.remove("b/x.json");
        actual.insert("new".to_owned(), "d".repeat(64));
        assert_eq!(
            compare(&d, &actual),
            (
                vec!["a.json".to_owned()],
                vec!["b/x.json".to_owned()],
                vec!["new".to_owned()]
            )
        );
    }
}
