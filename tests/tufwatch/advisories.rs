//! A regression test for each published tough advisory (the domain notes beside this project), on both
//! engines: `verify` with `--engine both` (tough and the strict engine must each reject, or each
//! accept what is right), and the strict engine's own client where the advisory is about finding
//! or writing targets.
//!
//! 1. duplicate signatures counted toward a threshold;
//! 2. a root version not required to be N+1;
//! 3. terminating delegations ignored;
//! 4. delegated roles' rollback and expiry not checked;
//! 5. a timestamp kept after failing its rollback check;
//! 6. path traversal through target names and symbolic links.

use crate::common::*;
use chrono::{Duration, Utc};
use serde_json::Value;
use tufwatch::testkit::{sign_metadata, to_bytes, Delegation, Repo, RoleKeys};

fn repo() -> Repo {
    ed_repo(Utc::now())
}

fn verify(site: &Site, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--engine", "both"];
    args.extend_from_slice(extra);
    args.push("--no-state");
    verify_json(
        site,
        site.metadata().to_str().unwrap(),
        site.targets().to_str().unwrap(),
        &args,
    )
}

/// Each engine's verdict.
fn verdicts(report: &Value) -> Vec<String> {
    report["engines"]
        .as_array()
        .unwrap_or_else(|| panic!("no engines: {report:#}"))
        .iter()
        .map(|e| e["verdict"].as_str().unwrap().to_owned())
        .collect()
}

/// Both engines reject, and the run fails.
fn both_reject(site: &Site) -> Value {
    let (code, report) = verify(site, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdicts(&report), ["rejected", "rejected"], "{report:#}");
    report
}

/// `tufwatch client` over the site's files: init from the anchor, then `args`.
fn client(site: &Site, md: &str, args: &[&str]) -> i32 {
    let md = site.path().join(md);
    let metadata = url::Url::from_directory_path(site.metadata()).unwrap();
    let targets = url::Url::from_directory_path(site.targets()).unwrap();
    if !md.join("root.json").exists() {
        let out = tufwatch(site.path())
            .args(["client", "--metadata-dir"])
            .arg(&md)
            .arg("init")
            .arg(site.anchor())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    let out = tufwatch(site.path())
        .args([
            "client",
            "--metadata-url",
            metadata.as_str(),
            "--metadata-dir",
        ])
        .arg(&md)
        .args(["--target-base-url", targets.as_str()])
        .args(args)
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[test]
fn advisory_1_a_signature_repeated_does_not_meet_a_threshold_of_two() {
    let site = Site::new();
    let mut r = repo();
    r.timestamp_keys = RoleKeys {
        keys: vec![ed_key(), ed_key()],
        threshold: 2,
    };
    site.publish_with_anchor(&r);
    // The timestamp signed by its first key alone, that signature listed twice.
    let ts: Value = serde_json::from_slice(&site.read_metadata("timestamp.json")).unwrap();
    let mut one: Value = sign_metadata(&ts["signed"], &[&r.timestamp_keys.keys[0]]).unwrap();
    let sig = one["signatures"][0].clone();
    one["signatures"].as_array_mut().unwrap().push(sig);
    site.put_metadata("timestamp.json", &to_bytes(&one));
    both_reject(&site);
    assert_eq!(client(&site, "md", &["refresh"]), 1);
}

#[test]
fn advisory_2_a_root_must_be_version_n_plus_1() {
    let site = Site::new();
    let mut r = repo();
    site.publish_with_anchor(&r);
    // 2.root.json that says it is version 3, validly signed.
    r.root_version = 3;
    let doc = sign_metadata(&r.root_signed(), &[&r.root_keys.keys[0]]).unwrap();
    site.put_metadata("2.root.json", &to_bytes(&doc));
    let report = both_reject(&site);
    assert!(report["engines"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("expected 2"));
    assert_eq!(client(&site, "md", &["refresh"]), 1);
}

#[test]
fn advisory_3_a_terminating_delegation_ends_the_search() {
    let site = Site::new();
    let mut r = repo();
    let later = Utc::now() + Duration::days(14);
    r.delegations = vec![
        Delegation {
            paths: vec!["*".to_owned()],
            terminating: true,
            ..delegation("first", "unused", 1, later, &[])
        },
        Delegation {
            paths: vec!["*".to_owned()],
            ..delegation("second", "unused", 1, later, &[("x.txt", b"from second")])
        },
    ];
    site.publish_with_anchor(&r);
    // tough (with tufwatch's search): x.txt is not found, the first role terminates the search.
    let (code, report) = verify(&site, &["--target", "x.txt"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        findings(&report).contains(&"target_missing:x.txt".to_owned()),
        "{report:#}"
    );
    // The strict engine's client: not found either, and nothing written.
    let td = site.path().join("td");
    let code = client(
        &site,
        "md",
        &[
            "--target-name",
            "x.txt",
            "--target-dir",
            td.to_str().unwrap(),
            "download",
        ],
    );
    assert_eq!(code, 1);
    assert!(!td.join("x.txt").exists());
}

#[test]
fn advisory_4_delegated_roles_are_checked_for_expiry_and_version() {
    let later = Utc::now() + Duration::days(14);
    // Expired.
    let site = Site::new();
    let mut r = repo();
    r.delegations = vec![delegation(
        "team",
        "team",
        1,
        Utc::now() - Duration::hours(1),
        &[("team/x.txt", b"x")],
    )];
    site.publish_with_anchor(&r);
    both_reject(&site);

    // Not the version the snapshot lists (a delegated role rolled back under a new snapshot).
    let site = Site::new();
    let mut r = repo();
    r.delegations = vec![delegation(
        "team",
        "team",
        2,
        later,
        &[("team/x.txt", b"x")],
    )];
    site.publish_with_anchor(&r);
    r.delegations[0].version = 1;
    let files = r
        .sign_top_with(|role, signed| {
            if role == "snapshot" {
                signed["meta"]["team.json"]["version"] = serde_json::json!(2);
                signed["meta"]["team.json"]
                    .as_object_mut()
                    .unwrap()
                    .remove("hashes");
                signed["meta"]["team.json"]
                    .as_object_mut()
                    .unwrap()
                    .remove("length");
            }
        })
        .unwrap();
    for (name, bytes) in &files {
        // The version 1 file served where the snapshot names version 2.
        let name = if name == "1.team.json" {
            "2.team.json"
        } else {
            name
        };
        site.put_metadata(name, bytes);
    }
    both_reject(&site);
}

#[test]
fn advisory_5_a_timestamp_that_failed_its_rollback_check_is_not_kept() {
    let site = Site::new();
    let mut r = repo();
    r.timestamp_version = 2;
    site.publish_with_anchor(&r);
    // verify_json keeps the state in the site's state directory.
    let run = |site: &Site| {
        verify_json(
            site,
            site.metadata().to_str().unwrap(),
            site.targets().to_str().unwrap(),
            &["--engine", "both"],
        )
    };
    assert_eq!(run(&site).0, 0);
    assert_eq!(client(&site, "md", &["refresh"]), 0);
    let good = site.read_metadata("timestamp.json");
    // The rolled-back timestamp is refused by both...
    r.timestamp_version = 1;
    site.publish_top(&r);
    let (code, report) = run(&site);
    assert_eq!(code, 1);
    assert!(findings(&report).contains(&"rollback:timestamp".to_owned()));
    assert_eq!(client(&site, "md", &["refresh"]), 1);
    // ...and kept by neither: with version 2 served again, both pass, and version 1 is still
    // refused after that.
    site.put_metadata("timestamp.json", &good);
    assert_eq!(run(&site).0, 0);
    assert_eq!(client(&site, "md", &["refresh"]), 0);
    assert_eq!(
        std::fs::read(site.path().join("md/timestamp.json")).unwrap(),
        good
    );
}

#[test]
fn advisory_6_target_names_and_links_cannot_write_outside_the_directory() {
    let site = Site::new();
    let mut r = repo();
    r.add_target("../escape.txt", b"escape".to_vec());
    r.add_target("sub/link/x.txt", b"through a link".to_vec());
    site.publish_with_anchor(&r);
    let out = site.path().join("out");
    std::fs::create_dir_all(out.join("sub")).unwrap();
    let outside = site.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, out.join("sub/link")).unwrap();

    // tough's side (tufwatch writes the targets): the name is a finding against the repository;
    // the link, in the user's own directory, stops the run (exit 2) and is not followed.
    for (name, exit) in [("../escape.txt", 1), ("sub/link/x.txt", 2)] {
        let (code, _) = verify(&site, &["--target", name, "--out", out.to_str().unwrap()]);
        assert_eq!(code, exit, "{name}");
    }
    assert!(!site.path().join("escape.txt").exists());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // The strict engine's client writes each target as one flat, percent-encoded file name in
    // the target directory: no name or link leads out of it. A name whose URL would leave the
    // target base URL (`../escape.txt`, fetched as `dir/<hash>.<name>`) is not requested at all.
    let sha = |b: &[u8]| tufwatch::digest::sha256_hex(b);
    let beside = site
        .path()
        .join(format!("repo/{}.escape.txt", sha(b"escape")));
    std::fs::write(&beside, b"escape").unwrap();
    let linked = site.targets().join("sub/link");
    std::fs::create_dir_all(&linked).unwrap();
    std::fs::write(
        linked.join(format!("{}.x.txt", sha(b"through a link"))),
        b"through a link",
    )
    .unwrap();
    for (name, exit) in [("../escape.txt", 1), ("sub/link/x.txt", 0)] {
        let td = out.to_str().unwrap();
        let code = client(
            &site,
            "md",
            &["--target-name", name, "--target-dir", td, "download"],
        );
        assert_eq!(code, exit, "{name}");
    }
    assert!(!out.join("..%2Fescape.txt").exists());
    assert!(out.join("sub%2Flink%2Fx.txt").is_file());
    assert!(!site.path().join("escape.txt").exists());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}
