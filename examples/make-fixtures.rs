//! Make the demo repository in `fixtures/demo-repo/`: a Bottlerocket-shaped TUF repository
//! (RSA-3072 rsassa-pss-sha256 keys, consistent snapshots, Bottlerocket target names, a
//! `manifest.json` with releases, waves and migrations) signed with the demo keys in
//! `fixtures/demo-keys/` (made on first run; DEMO KEYS, NEVER FOR REAL USE).
//!
//! Run: `cargo run --example make-fixtures` (again before the metadata is a year from expiry;
//! a test says when).

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};
use std::path::Path;
use tufwatch::testkit::{self, Repo, RoleKeys, SigningKey};

const VARIANTS: [&str; 2] = ["aws-k8s-1.31", "aws-ecs-2"];
const ARCHES: [&str; 2] = ["x86_64", "aarch64"];
/// (version, build commit, release day)
const RELEASES: [(&str, &str, (i32, u32, u32)); 3] = [
    ("1.25.0", "0f3e5a1c", (2026, 9, 2)),
    ("1.26.0", "7b9d2e44", (2026, 10, 14)),
    ("1.26.1", "c41a8f09", (2026, 11, 25)),
];
/// Bottlerocket's default waves: (hours after release, share of the fleet in percent).
const WAVES: [(i64, u32); 7] = [
    (1, 1),
    (4, 5),
    (24, 15),
    (48, 40),
    (96, 60),
    (120, 90),
    (144, 100),
];

fn key(dir: &Path, name: &str) -> Result<SigningKey, Box<dyn std::error::Error>> {
    let path = dir.join(format!("{name}.pem"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(SigningKey::from_pem(&text)?);
    }
    eprintln!("generating demo key {}", path.display());
    let k = SigningKey::generate_rsa3072()?;
    std::fs::write(&path, k.to_pem())?;
    Ok(k)
}

fn image(name: &str) -> Vec<u8> {
    let line = format!("tufwatch demo target {name}: not a real image\n");
    line.repeat(64).into_bytes()
}

fn manifest() -> Value {
    let mut updates = Vec::new();
    for variant in VARIANTS {
        for arch in ARCHES {
            for (version, commit, (y, m, d)) in RELEASES {
                let start = Utc
                    .with_ymd_and_hms(y, m, d, 17, 0, 0)
                    .single()
                    .unwrap_or_default();
                let mut waves = Map::new();
                for (hours, percent) in WAVES {
                    let seed = 2048 * percent / 100;
                    waves.insert(
                        seed.to_string(),
                        json!(testkit::tuf_time(start + Duration::hours(hours))),
                    );
                }
                let stem = format!("bottlerocket-{variant}-{arch}-{version}-{commit}");
                updates.push(json!({
                    "variant": variant,
                    "arch": arch,
                    "version": version,
                    "max_version": RELEASES[RELEASES.len() - 1].0,
                    "waves": waves,
                    "images": {
                        "boot": format!("{stem}-boot.ext4.lz4"),
                        "root": format!("{stem}-root.ext4.lz4"),
                        "hash": format!("{stem}-root.verity.lz4"),
                    }
                }));
            }
        }
    }
    json!({
        "updates": updates,
        "migrations": {
            "(1.25.0, 1.26.0)": ["migrate_v1.26.0_demo-settings.lz4", "migrate_v1.26.0_demo-kubelet.lz4"],
            "(1.26.0, 1.26.1)": [],
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let keys = fixtures.join("demo-keys");
    let out = fixtures.join("demo-repo");
    std::fs::create_dir_all(&keys)?;
    let now = Utc::now();
    let expires = now + Duration::days(6 * 365);

    let r: Vec<SigningKey> = (1..=4)
        .map(|i| key(&keys, &format!("root-{i}")))
        .collect::<Result<_, _>>()?;
    let [r1, r2, r3, r4] = <[SigningKey; 4]>::try_from(r).map_err(|_| "four root keys")?;
    let root1 = RoleKeys {
        keys: vec![r1, r2, r3],
        threshold: 2,
    };
    let mut repo = Repo::new(
        root1,
        key(&keys, "timestamp")?,
        key(&keys, "snapshot")?,
        key(&keys, "targets")?,
        now,
    );
    repo.root_expires = expires;
    repo.timestamp_expires = expires;
    repo.snapshot_expires = expires;
    repo.targets_expires = expires;

    let manifest = manifest();
    let mut names = vec![];
    for u in manifest["updates"].as_array().into_iter().flatten() {
        for part in ["boot", "root", "hash"] {
            if let Some(n) = u["images"][part].as_str() {
                names.push(n.to_owned());
            }
        }
    }
    for list in manifest["migrations"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for n in list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            names.push(n.to_owned());
        }
    }
    for n in names {
        let bytes = image(&n);
        repo.add_target(&n, bytes);
    }
    repo.add_target("manifest.json", testkit::to_bytes(&manifest));

    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let meta = out.join("metadata");
    std::fs::create_dir_all(&meta)?;
    // Root 1, the demo trust anchor; then a rotation to root 2 that replaces root-3 by root-4,
    // signed by two keys of root 1 and two keys of root 2, as Bottlerocket's 1 -> 2 rotation.
    let root1 = testkit::to_bytes(&repo.root_doc()?);
    std::fs::write(meta.join("1.root.json"), &root1)?;
    std::fs::write(out.join("root.json"), &root1)?;
    let old = std::mem::replace(&mut repo.root_keys.keys[2], r4);
    repo.root_version = 2;
    let signed = repo.root_signed();
    let k = &repo.root_keys.keys;
    let root2 = testkit::sign_metadata(&signed, &[&k[0], &k[1], &k[2], &old])?;
    std::fs::write(meta.join("2.root.json"), testkit::to_bytes(&root2))?;
    for (name, bytes) in repo.sign_top()? {
        std::fs::write(meta.join(name), bytes)?;
    }
    repo.write_targets(&out.join("targets"))?;
    println!(
        "wrote {} (expires {})",
        out.display(),
        testkit::tuf_time(expires)
    );
    Ok(())
}
