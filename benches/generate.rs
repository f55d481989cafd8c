//! Generate a Bottlerocket-shaped TUF repository for the benchmarks: RSA-3072
//! `rsassa-pss-sha256` keys (the demo keys in `fixtures/demo-keys/`), consistent snapshots,
//! targets listed with their sha256 as Bottlerocket's are, and `manifest.json` among them.
//!
//!     cargo run --release --example bench-repo -- OUT --targets N [--size BYTES] [--mirror R]
//!
//! Writes `OUT/metadata/`, `OUT/targets/` and the trust anchor `OUT/root.json`. Each target
//! holds `--size` bytes (default 64) of a pattern unique to it. Everything expires a year from
//! now, so a repository made once serves a day of benchmarks.
//!
//! With `--mirror R`, writes R repositories as Bottlerocket lays them out instead:
//! `OUT/2020-07-07/<variant>/<arch>/` for variants `bench-1` ... and both architectures, each
//! with N targets of its own, one `manifest.json` they all list (the same file), one
//! `OUT/targets/` and one trust anchor `OUT/root.json` for them all.

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

/// The variant and architecture of the `i`th repository of a mirror.
fn variant_arch(i: usize) -> (String, &'static str) {
    let arch = if i.is_multiple_of(2) {
        "x86_64"
    } else {
        "aarch64"
    };
    (format!("bench-{}", i / 2 + 1), arch)
}

/// One `manifest.json` for a mirror of `repos` repositories: a release of each.
fn manifest(repos: usize) -> Vec<u8> {
    let updates: Vec<serde_json::Value> = (0..repos)
        .map(|i| {
            let (variant, arch) = variant_arch(i);
            let image = |part: &str| format!("bottlerocket-{variant}-{arch}-1.0.0-c41a8f09-{part}");
            serde_json::json!({
                "variant": variant,
                "arch": arch,
                "version": "1.0.0",
                "max_version": "1.0.0",
                "waves": {"2048": "2026-01-01T00:00:00Z"},
                "images": {
                    "boot": image("boot.ext4.lz4"),
                    "root": image("root.ext4.lz4"),
                    "hash": image("root.verity.lz4"),
                },
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"updates": updates, "migrations": {}}))
        .unwrap_or_default()
}

fn generate(out: &Path, targets: usize, size: usize, mirror: usize) -> Result<(), String> {
    let now = Utc::now();
    if mirror == 0 {
        let root = repository(out, targets, size, now, "aws-k8s-1.31-x86_64", &manifest(0))?;
        std::fs::copy(&root, out.join("root.json")).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let shared = manifest(mirror);
    let build = out.join("build");
    std::fs::create_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;
    for i in 0..mirror {
        let (variant, arch) = variant_arch(i);
        let dir = build.join(i.to_string());
        let root = repository(
            &dir,
            targets,
            size,
            now,
            &format!("{variant}-{arch}"),
            &shared,
        )?;
        if i == 0 {
            std::fs::copy(&root, out.join("root.json")).map_err(|e| e.to_string())?;
        }
        let meta = out.join("2020-07-07").join(&variant).join(arch);
        let moved = std::fs::create_dir_all(meta.parent().unwrap_or(out))
            .and_then(|()| std::fs::rename(dir.join("metadata"), &meta))
            .and_then(|()| std::fs::create_dir_all(out.join("targets")));
        moved.map_err(|e| format!("{}: {e}", meta.display()))?;
        for f in std::fs::read_dir(dir.join("targets")).map_err(|e| e.to_string())? {
            let f = f.map_err(|e| e.to_string())?;
            std::fs::rename(f.path(), out.join("targets").join(f.file_name()))
                .map_err(|e| e.to_string())?;
        }
    }
    std::fs::remove_dir_all(&build).map_err(|e| e.to_string())
}

/// One repository in `out`, its targets named for `image`; returns its root.
fn repository(
    out: &Path,
    targets: usize,
    size: usize,
    now: chrono::DateTime<Utc>,
    image: &str,
    manifest: &[u8],
) -> Result<PathBuf, String> {
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
    repo.add_target("manifest.json", manifest.to_vec());
    for i in 0..targets {
        let name = format!(
            "bottlerocket-{image}-1.{}.{}-c41a8f09-root.ext4.lz4",
            i / 1000,
            i % 1000
        );
        repo.add_target(&name, content(i, size));
    }
    repo.write(out).map_err(|e| e.0)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut targets, mut size, mut mirror) = (1000usize, 64usize, 0usize);
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
            "--mirror" => match number("--mirror") {
                Some(n) => mirror = n,
                None => return ExitCode::from(2),
            },
            "-h" | "--help" => {
                println!(
                    "usage: bench-repo OUT --targets N [--size BYTES] [--mirror REPOSITORIES]"
                );
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
    match generate(&out, targets, size, mirror) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-repo: {e}");
            ExitCode::from(1)
        }
    }
}
