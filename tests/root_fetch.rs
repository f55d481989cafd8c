//! `tufwatch root fetch` keeps a root only if its sha512 matches a pin, and `verify --variant`
//! uses the kept root only while it still does.

mod common;

use chrono::Utc;
use common::*;

fn fetch(site: &Site, args: &[&str]) -> std::process::Output {
    tufwatch(site.path())
        .args(["root", "fetch"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_real_bottlerocket_root_matches_its_pin() {
    let site = Site::new();
    let roots = shared_data().join("roots");
    let server = Server::start(&roots);
    let dir = site.path().join("roots");
    let out = fetch(
        &site,
        &[
            "--url",
            &server.url("2.root.json"),
            "--roots-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bottlerocket pin documented 2020-09"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(dir.join("bottlerocket.root.json")).unwrap(),
        std::fs::read(roots.join("2.root.json")).unwrap()
    );

    // Root 1 was never a documented pin: refused, nothing written.
    let dir1 = site.path().join("roots1");
    let out = fetch(
        &site,
        &[
            "--url",
            &server.url("1.root.json"),
            "--roots-dir",
            dir1.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("untrusted_root") && err.contains("matches none"),
        "{err}"
    );
    assert!(!dir1.join("bottlerocket.root.json").exists());

    // A wrong --sha512: refused; a missing file: could not run.
    let out = fetch(
        &site,
        &[
            "--url",
            &server.url("2.root.json"),
            "--sha512",
            &"0".repeat(128),
            "--out",
            dir1.join("x.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir1.join("x.json").exists());
    let out = fetch(
        &site,
        &[
            "--url",
            &server.url("404.root.json"),
            "--roots-dir",
            dir1.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404.root.json"));
}

#[test]
fn a_user_pinned_root_serves_the_bottlerocket_shorthand_until_altered() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    let root = site.publish_mirror(&repo, "aws-ecs-2", "aarch64");
    let server = Server::start(site.path());
    let sha = tufwatch::digest::sha512_hex(&std::fs::read(&root).unwrap());
    let dir = site.path().join("roots");
    let out = fetch(
        &site,
        &[
            "--url",
            &server.url("mirror/root.json"),
            "--sha512",
            &sha,
            "--roots-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sidecar = std::fs::read_to_string(dir.join("bottlerocket.root.json.sha512")).unwrap();
    assert_eq!(sidecar, format!("{sha}  bottlerocket.root.json\n"));

    let verify = || {
        tufwatch(site.path())
            .args([
                "verify",
                "--variant",
                "aws-ecs-2",
                "--arch",
                "arm64",
                "--no-state",
                "--format",
                "json",
            ])
            .args([
                "--repo-base",
                &server.url("mirror"),
                "--roots-dir",
                dir.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["trusted_root"]["pinned_by"]
        .as_str()
        .unwrap()
        .contains("root fetch --sha512"));
    assert_eq!(r["trusted_root"]["sha512"], sha);

    // Someone alters the kept root: it matches neither its .sha512 nor a pin.
    let kept = dir.join("bottlerocket.root.json");
    let mut bytes = std::fs::read(&kept).unwrap();
    bytes.push(b'\n');
    std::fs::write(&kept, bytes).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("untrusted_root"));
}

#[test]
fn pins_are_listed() {
    let site = Site::new();
    let out = tufwatch(site.path())
        .args(["root", "pins"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("https://cache.bottlerocket.aws/root.json"));
    assert!(text.contains("2ff1fbf99b20dd7ff5d2c84243a8e3b51701183b1f524b7d470a6b7a9b0172fbb36a0949b7e586ab7ccb6e348eb77125d6ed9fd1a638f4381e4f3f084ff38596"));
}

#[test]
fn a_local_root_file_can_be_checked_against_the_pins() {
    let site = Site::new();
    let two = shared_data().join("roots/2.root.json");
    let out = site.path().join("kept.json");
    let o = fetch(
        &site,
        &[
            "--url",
            two.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&two).unwrap());
    let o = fetch(&site, &["--url", "ftp://example.com/root.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--url"));
}
