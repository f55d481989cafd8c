//! Generate a Bottlerocket-shaped TUF repository for the benchmarks: RSA-3072
//! `rsassa-pss-sha256` keys (the demo keys in `fixtures/demo-keys/`), consistent snapshots,
//! targets listed with their sha256 as Bottlerocket's are, and `manifest.json` among them.
//!
//!     cargo run --release --example bench-repo -- OUT --targets N [--size BYTES]
//!
//! Writes `OUT/metadata/`, `OUT/targets/` and the trust anchor `OUT/root.json`. Each target
//! holds `--size` bytes (default 64) of a pattern unique to it. Everything expires a year from
//! now, so a repository made once serves a day of benchmarks.

use chrono::{Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tufwatch::testkit::{Repo, RoleKeys, SigningKey};

fn key(name: &str) -> Result<SigningKey, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo-keys")
        .join(format!("{name}.pem"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    SigningKey::from_pem(&text).map_err(|e| format!("{}: {}", path.display(), e.0))
}

/// `size` bytes of a pattern that differs between targets.
fn content(i: usize, size: usize) -> Vec<u8> {
    let line = format!("bench target {i}\n");
    line.bytes().cycle().take(size).collect()
}

fn generate(out: &Path, targets: usize, size: usize) -> Result<(), String> {
    let now = Utc::now();
    let mut repo = Repo::new(
        RoleKeys {
            keys: vec![key("root-1")?, key("root-2")?, key("root-3")?],
            threshold: 2,
        },
        key("timestamp")?,
        key("snapshot")?,
        key("targets")?,
        now,
    );
    repo.sha512 = false;
    let year = now + Duration::days(365);
    repo.root_expires = year;
    repo.timestamp_expires = year;
    repo.snapshot_expires = year;
    repo.targets_expires = year;
    repo.add_target(
        "manifest.json",
        br#"{"updates": [], "migrations": {}}"#.to_vec(),
    );
    for i in 0..targets {
        let name = format!(
            "bottlerocket-aws-k8s-1.31-x86_64-1.{}.{}-c41a8f09-root.ext4.lz4",
            i / 1000,
            i % 1000
        );
        repo.add_target(&name, content(i, size));
    }
    let root = repo.write(out).map_err(|e| e.0)?;
    std::fs::copy(&root, out.join("root.json")).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut targets, mut size) = (1000usize, 64usize);
    while let Some(a) = args.next() {
        let mut number = |flag: &str| -> Option<usize> {
            let v = args.next().and_then(|v| v.parse().ok());
            if v.is_none() {
                eprintln!("bench-repo: {flag} needs a number");
            }
            v
        };
        match a.as_str() {
            "--targets" => match number("--targets") {
                Some(n) => targets = n,
                None => return ExitCode::from(2),
            },
            "--size" => match number("--size") {
                Some(n) => size = n,
                None => return ExitCode::from(2),
            },
            "-h" | "--help" => {
                println!("usage: bench-repo OUT --targets N [--size BYTES]");
                return ExitCode::SUCCESS;
            }
            _ if out.is_none() && !a.starts_with('-') => out = Some(PathBuf::from(a)),
            _ => {
                eprintln!("bench-repo: unexpected argument {a:?}; see --help");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("bench-repo: name the output directory; see --help");
        return ExitCode::from(2);
    };
    if out.exists() {
        eprintln!(
            "bench-repo: {} exists; remove it or name another",
            out.display()
        );
        return ExitCode::from(2);
    }
    match generate(&out, targets, size) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-repo: {e}");
            ExitCode::from(1)
        }
    }
}
