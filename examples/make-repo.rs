//! Make a Bottlerocket-shaped repository with many targets, for measurements: RSA-3072 keys (the
//! demo keys), consistent snapshots, N targets listed with their lengths and hashes. Only
//! `manifest.json` is written as a file; the other targets are listed but not stored, which is
//! all a metadata-only verification reads.
//!
//! Run: `cargo run --release --example make-repo -- DIR N`

use chrono::{Duration, Utc};
use std::path::Path;
use tufwatch::testkit::{self, Repo, RoleKeys, SigningKey};

fn key(name: &str) -> Result<SigningKey, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo-keys")
        .join(format!("{name}.pem"));
    Ok(SigningKey::from_pem(&std::fs::read_to_string(path)?)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        return Err("usage: make-repo DIR NUMBER-OF-TARGETS".into());
    };
    let n: usize = n.parse()?;
    let dir = Path::new(&dir);
    let now = Utc::now();
    let root = RoleKeys {
        keys: vec![key("root-1")?, key("root-2")?, key("root-3")?],
        threshold: 2,
    };
    let mut repo = Repo::new(
        root,
        key("timestamp")?,
        key("snapshot")?,
        key("targets")?,
        now,
    );
    repo.root_expires = now + Duration::days(365);
    for i in 0..n {
        let name = format!(
            "bottlerocket-aws-k8s-1.31-x86_64-1.{}.{}-{:08x}-root.ext4.lz4",
            i / 1000,
            i % 1000,
            i
        );
        repo.add_target(&name, name.as_bytes().to_vec());
    }
    repo.add_target(
        "manifest.json",
        br#"{"updates": [], "migrations": {}}"#.to_vec(),
    );
    let meta = dir.join("metadata");
    let targets = dir.join("targets");
    std::fs::create_dir_all(&meta)?;
    std::fs::create_dir_all(&targets)?;
    let root = testkit::to_bytes(&repo.root_doc()?);
    std::fs::write(meta.join("1.root.json"), &root)?;
    std::fs::write(dir.join("root.json"), &root)?;
    for (name, bytes) in repo.sign_top()? {
        std::fs::write(meta.join(name), bytes)?;
    }
    let manifest = &repo.targets["manifest.json"].bytes;
    std::fs::write(
        targets.join(format!(
            "{}.manifest.json",
            tufwatch::digest::sha256_hex(manifest)
        )),
        manifest,
    )?;
    println!("{}", dir.display());
    Ok(())
}
