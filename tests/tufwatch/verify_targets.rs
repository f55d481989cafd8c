//! Targets: length and every hash checked, endless data cut off, names that would escape the
//! output directory refused, files written atomically and only when verified.

use crate::common::*;
use chrono::Utc;

const BOOT: &str = "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-c41a8f09-boot.ext4.lz4";

fn target_file(site: &Site, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    site.targets()
        .join(format!("{}.{name}", tufwatch::digest::sha256_hex(bytes)))
}

/// Every file below `dir`, relative, sorted.
#[test]
fn targets_are_checked_and_written_atomically() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let out = site.path().join("out");
    let (code, r) = verify_http(
        &site,
        &server,
        &["--all-targets", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{r:#}");
    let t = r["targets"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    for entry in t {
        assert_eq!(entry["verified"], true);
        assert!(entry["hashes"]["sha256"].is_string() && entry["hashes"]["sha512"].is_string());
    }
    assert_eq!(files(&out), [BOOT, "manifest.json"]);
    assert_eq!(
        std::fs::read(out.join(BOOT)).unwrap(),
        repo.targets[BOOT].bytes
    );
    // Without --out, targets are checked and nothing is written.
    let (code, r) = verify_http(&site, &server, &["--target", "manifest.json"]);
    assert_eq!(code, 0);
    assert!(r["targets"][0]["written_to"].is_null());
}

#[test]
fn a_wrong_hash_or_length_fails_and_writes_nothing() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let good = &repo.targets[BOOT].bytes;
    let path = target_file(&site, BOOT, good);
    let out = site.path().join("out");
    let out_s = out.to_str().unwrap().to_owned();

    // Same length, one byte different.
    let mut bad = good.clone();
    bad[3] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let (code, r) = verify_http(&site, &server, &["--target", BOOT, "--out", &out_s]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), [format!("hash_mismatch:{BOOT}")]);
    assert_eq!(r["targets"][0]["verified"], false);
    assert_eq!(files(&out), Vec::<String>::new(), "no partial file is left");

    // Shorter, and longer, than signed.
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    let (code, r) = verify_http(&site, &server, &["--target", BOOT, "--out", &out_s]);
    assert_eq!(code, 1);
    assert!(
        matches!(
            findings(&r)[0].split(':').next(),
            Some("hash_mismatch" | "length_mismatch")
        ),
        "{r:#}"
    );
    let mut longer = good.clone();
    longer.extend_from_slice(b"more");
    std::fs::write(&path, &longer).unwrap();
    let (code, r) = verify_http(&site, &server, &["--target", BOOT, "--out", &out_s]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), [format!("length_exceeded:{BOOT}")]);
    assert_eq!(files(&out), Vec::<String>::new());

    // A good file already in --out is not replaced by a bad download.
    std::fs::write(&path, good).unwrap();
    assert_eq!(
        verify_http(&site, &server, &["--target", BOOT, "--out", &out_s]).0,
        0
    );
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(
        verify_http(&site, &server, &["--target", BOOT, "--out", &out_s]).0,
        1
    );
    assert_eq!(&std::fs::read(out.join(BOOT)).unwrap(), good);
}

#[test]
fn endless_target_data_is_cut_off() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let rel = target_file(&site, BOOT, &repo.targets[BOOT].bytes);
    let rel = rel.strip_prefix(site.path()).unwrap().display().to_string();
    server.set(&rel, Behavior::Endless);
    let (code, r) = verify_http(&site, &server, &["--target", BOOT]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), [format!("length_exceeded:{BOOT}")]);
}

#[test]
fn unknown_targets_are_findings() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &["--target", "nope.img"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["target_missing:nope.img"]);
}

#[test]
fn names_that_escape_the_output_directory_are_refused() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    for name in ["../x", "/abs", "a/../../b"] {
        repo.add_target(name, format!("payload of {name}").into_bytes());
    }
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let nest = site.path().join("deep/er");
    let out = nest.join("out");
    let before = files(site.path());
    let (code, r) = verify_http(
        &site,
        &server,
        &["--all-targets", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{r:#}");
    let f = findings(&r);
    for name in ["../x", "/abs", "a/../../b"] {
        assert!(
            f.contains(&format!("unsafe_target_name:{name}")),
            "{name}: {f:?}"
        );
    }
    // Only the safe targets were written, all inside --out; nothing else appeared anywhere.
    assert_eq!(files(&out), [BOOT, "manifest.json"]);
    let after: Vec<String> = files(site.path())
        .into_iter()
        .filter(|p| !p.starts_with("deep/er/out/") && !p.starts_with("state/"))
        .collect();
    assert_eq!(after, before);
    // Asked for by name, too.
    let (code, r) = verify_http(
        &site,
        &server,
        &["--target", "../x", "--out", out.to_str().unwrap()],
    );
    // (`a/../../b` is in a directory, which tough would request at another path than the
    // specification's: a warning, this being no Bottlerocket repository.)
    assert_eq!(
        (code, findings(&r)),
        (
            1,
            vec![
                "unsafe_target_name:../x".to_owned(),
                "tough_incompatible:-".to_owned()
            ]
        )
    );
}
