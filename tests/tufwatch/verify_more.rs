//! Layouts and conditions beyond the Bottlerocket default: no consistent snapshots, delegated
//! role names that need encoding, signed lengths of metadata, targets that cannot be written,
//! audits that leave the state alone, one run at a time per state, the JSON error document.

use crate::common::*;
use chrono::{Duration, SecondsFormat, Utc};

#[test]
fn a_repository_without_consistent_snapshots() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.consistent_snapshot = false;
    repo.timestamp_version = 3;
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &["--all-targets"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(role(&r, "snapshot")["url"]
        .as_str()
        .unwrap()
        .ends_with("/snapshot.json"));
    assert!(role(&r, "targets")["url"]
        .as_str()
        .unwrap()
        .ends_with("/targets.json"));
    assert!(server
        .requests()
        .iter()
        .any(|p| p == "/repo/targets/manifest.json"));
    repo.timestamp_version = 2;
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["rollback:timestamp".to_owned()])
    );
}

#[test]
fn delegated_roles_with_odd_names_and_their_rollback() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.delegations.push(delegation(
        "team a/b",
        "team",
        5,
        now + Duration::days(20),
        &[("team/tool", b"t")],
    ));
    site.publish_with_anchor(&repo);
    // tough asks for `5.team%20a%2Fb.json`; a web server decodes that to `5.team a/b.json`.
    let serve_decoded = |version: u64| {
        let dir = site.metadata().join(format!("{version}.team a"));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = site.read_metadata(&format!("{version}.team%20a%2Fb.json"));
        std::fs::write(dir.join("b.json"), bytes).unwrap();
    };
    serve_decoded(5);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &["--target", "team/tool"]);
    assert_eq!(code, 0, "{r:#}");
    let d = role(&r, "team a/b");
    assert!(
        d["url"].as_str().unwrap().ends_with("/5.team%20a%2Fb.json"),
        "{}",
        d["url"]
    );
    assert_eq!(r["targets"][0]["verified"], true);
    assert_eq!(r["state"]["previous"].as_object().unwrap().len(), 0);
    let (_, r) = verify_http(&site, &server, &[]);
    assert_eq!(r["state"]["previous"]["team a/b"], 5);
    // The delegated role goes back to version 4.
    repo.delegations[0].version = 4;
    repo.snapshot_version = 2;
    repo.timestamp_version = 2;
    site.publish_top(&repo);
    serve_decoded(4);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1);
    // (Its target `team/tool` is in a directory, which tough would request at another path than
    // the specification's: named as a warning, this being no Bottlerocket repository.)
    assert_eq!(
        findings(&r),
        [
            "rollback:snapshot",
            "rollback:team a/b",
            "tough_incompatible:-"
        ]
    );
}

#[test]
fn metadata_longer_than_its_signed_length_is_cut_off() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let mut snapshot = site.read_metadata("1.snapshot.json");
    snapshot.extend_from_slice(&[b' '; 4096]);
    site.put_metadata("1.snapshot.json", &snapshot);
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["length_exceeded:snapshot".to_owned()])
    );
}

#[test]
fn targets_whose_paths_conflict_do_not_stop_the_others() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.add_target("a", b"file a".to_vec());
    repo.add_target("a/b", b"file under a".to_vec());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let out = site.path().join("out");
    let (code, r) = verify_http(
        &site,
        &server,
        &["--all-targets", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{r:#}");
    let f = findings(&r);
    assert!(f.contains(&"path_conflict:a/b".to_owned()), "{f:?}");
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"file a");
    assert!(out.join("manifest.json").exists());
    assert_eq!(
        r["state"]["updated"], true,
        "the metadata verified; only targets failed"
    );
}

#[test]
fn a_symbolic_link_in_the_output_directory_stops_the_run() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.add_target("link/x", b"x".to_vec());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let out = site.path().join("out");
    // A symbolic link inside --out that points outside it: this machine's directory, not the
    // repository, is at fault; the run stops with no verdict and writes nothing through it.
    std::fs::create_dir_all(&out).unwrap();
    let outside = site.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("link")).unwrap();
    let (code, r) = verify_http(
        &site,
        &server,
        &["--all-targets", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        (&r["error"], &r["verdict"]),
        (&"could_not_run".into(), &"incomplete".into())
    );
    let message = r["message"].as_str().unwrap();
    assert!(
        message.contains(&out.join("link").display().to_string())
            && message.contains("symbolic link"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through the link"
    );
}

#[test]
fn an_audit_with_at_leaves_the_state_alone() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let at = (Utc::now() + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let (code, r) = verify_http(&site, &server, &["--at", &at]);
    assert_eq!(code, 0);
    assert_eq!(r["state"]["updated"], false);
    let (_, r) = verify_http(&site, &server, &[]);
    assert!(r["state"]["previous"].as_object().unwrap().is_empty());
}

#[test]
fn a_definite_failure_outranks_an_incomplete_run() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.timestamp_expires = Utc::now() - Duration::hours(1);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    server.set("repo/metadata/2.root.json", Behavior::Status(503));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(findings(&r), ["expired:timestamp", "unreachable:root"]);
}

#[test]
fn a_second_run_on_the_same_state_waits() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0);
    let dir = std::path::PathBuf::from(r["state"]["dir"].as_str().unwrap());
    let lock = std::fs::File::options()
        .write(true)
        .open(dir.join("LOCK"))
        .unwrap();
    lock.lock().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tufwatch"))
        .args(["verify", "--format", "json", "--root"])
        .arg(site.anchor())
        .args([
            "--metadata-url",
            &server.url("repo/metadata/"),
            "--targets-url",
            &server.url("repo/targets/"),
        ])
        .arg("--state-dir")
        .arg(site.state())
        .env("HOME", site.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (however slow the machine) until the second run says it waits, then release.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .unwrap();
    assert!(line.contains("waiting"), "{line}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the second run waits for the lock"
    );
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"], "pass");
}

#[test]
fn json_output_is_one_document_even_when_nothing_can_be_verified() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let out = tufwatch(site.path())
        .args([
            "verify",
            "--format",
            "json",
            "--root-sha512",
            &"ab".repeat(64),
            "--root",
        ])
        .arg(site.anchor())
        .repo(&site.path().join("repo"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"], "untrusted_root");
    assert_eq!(doc["verdict"], "fail");
    let out = tufwatch(site.path())
        .args([
            "verify",
            "--format",
            "json",
            "--root",
            "/missing.json",
            "--metadata-url",
        ])
        .arg(site.metadata())
        .arg("--targets-url")
        .arg(site.targets())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"], "could_not_run");
    assert!(doc["message"].as_str().unwrap().contains("/missing.json"));
}

/// Replace a metadata file and re-sign the snapshot and timestamp that list it (demo keys).
fn replace_listed(site: &Site, listed_as: &str, file: &str, bytes: &[u8]) {
    site.put_metadata(file, bytes);
    let relist = |doc_file: &str, entry: &str, bytes: &[u8], key: &str| -> Vec<u8> {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&site.read_metadata(doc_file)).unwrap();
        let meta = &mut doc["signed"]["meta"][entry];
        meta["length"] = bytes.len().into();
        meta["hashes"]["sha256"] = tufwatch::digest::sha256_hex(bytes).into();
        let signed = tufwatch::testkit::sign_metadata(&doc["signed"], &[&demo_key(key)]).unwrap();
        let out = tufwatch::testkit::to_bytes(&signed);
        site.put_metadata(doc_file, &out);
        out
    };
    let snapshot = relist("1.snapshot.json", listed_as, bytes, "snapshot");
    relist("timestamp.json", "snapshot.json", &snapshot, "timestamp");
}

#[test]
fn a_badly_signed_delegated_role_is_named() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.delegations.push(delegation(
        "extras",
        "extras",
        1,
        now + Duration::days(20),
        &[],
    ));
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &["--no-state"]).0, 0);
    let forged = resign(&site.read_metadata("1.extras.json"), &[&ed_key()]);
    replace_listed(&site, "extras.json", "1.extras.json", &forged);
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), ["signature_threshold:extras"]);
    assert_eq!(role(&r, "extras")["verdict"], "fail");
    assert_eq!(role(&r, "targets")["verdict"], "ok");
}

#[test]
fn a_server_that_trickles_cannot_hold_the_run_past_its_deadline() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/timestamp.json", Behavior::Trickle);
    let started = std::time::Instant::now();
    let (code, r) = verify_http(&site, &server, &["--no-state", "--deadline", "3s"]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["unreachable:-"]);
    assert!(r["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("the run's deadline"));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn a_state_made_from_another_anchor_is_not_a_starting_point() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    repo.root_version = 2;
    site.publish(&repo);
    let server = Server::start(site.path());
    let (_, r) = verify_http(&site, &server, &[]);
    assert_eq!(r["state"]["updated"], true);
    let (_, r) = verify_http(&site, &server, &[]);
    assert_eq!(
        r["state"]["started_from_root"], 2,
        "same anchor: start from the saved root"
    );
    // Another anchor (root 1 signed again: other bytes, other sha512) starts from itself.
    repo.root_version = 1;
    let again = tufwatch::testkit::to_bytes(&repo.root_doc().unwrap());
    assert_ne!(again, std::fs::read(site.anchor()).unwrap());
    std::fs::write(site.anchor(), again).unwrap();
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["state"]["started_from_root"].is_null());
    assert_eq!(r["root_chain"], serde_json::json!([1, 2]));
}

#[test]
fn a_refused_next_root_with_a_wrong_version_is_shown_as_refused() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    repo.root_version = 5;
    let bogus = tufwatch::testkit::sign_metadata(&repo.root_signed(), &[&ed_key()]).unwrap();
    site.put_metadata("2.root.json", &tufwatch::testkit::to_bytes(&bogus));
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), ["signature_threshold:root"]);
    assert_eq!(r["root_chain"], serde_json::json!([1]));
    assert_eq!(role(&r, "root")["version"], 5);
    assert_eq!(role(&r, "root")["verdict"], "fail");
}

#[test]
fn a_deadline_while_downloading_targets_keeps_what_verified() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    // Targets go in name order: the boot image first, then manifest.json, which trickles.
    let boot = "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-c41a8f09-boot.ext4.lz4";
    let sha = tufwatch::digest::sha256_hex(&repo.targets["manifest.json"].bytes);
    server.set(
        &format!("repo/targets/{sha}.manifest.json"),
        Behavior::Trickle,
    );
    let out = site.path().join("out");
    let (code, r) = verify_http(
        &site,
        &server,
        &[
            "--target",
            "manifest.json",
            "--target",
            boot,
            "--out",
            out.to_str().unwrap(),
            "--deadline",
            "3s",
        ],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["unreachable:manifest.json"]);
    assert!(out.join(boot).exists());
    assert!(!out.join("manifest.json").exists());
    assert_eq!(r["targets"][0]["verified"], true);
    assert_eq!(r["state"]["updated"], true, "the metadata verified");
}

#[test]
fn a_targets_file_above_the_size_limit_is_read_to_the_length_the_snapshot_lists() {
    // TUF 5.6.1, as tough does: the length the snapshot lists, when it lists one, is the most
    // read of targets.json; the size limit is for files whose length nobody listed.
    let site = Site::new();
    let mut repo = ed_repo(Utc::now());
    for i in 0..200 {
        repo.add_target(&format!("t{i}"), vec![i as u8; 8]);
    }
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let size = site.read_metadata("1.targets.json").len();
    assert!(size > 20_000);
    let (code, r) = verify_http(
        &site,
        &server,
        &["--no-state", "--max-targets-size", "10000"],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(role(&r, "targets")["length"], size);
    // One request for it, though two engines read it.
    assert_eq!(server.count("/repo/metadata/1.targets.json"), 1);
}

#[test]
fn the_timestamp_is_downloaded_while_the_next_root_is_asked_for() {
    // One round trip fewer: timestamp.json (5.4.1) is on its way while the engines ask for
    // 2.root.json (5.3.3); they read it only once the walk is over.
    let site = Site::new();
    site.publish_with_anchor(&ed_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set(
        "repo/metadata/2.root.json",
        Behavior::AnswerAfter(404, "/repo/metadata/timestamp.json".to_owned()),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");
    let log = server.requests();
    let at = |p: &str| log.iter().position(|l| l == p);
    let asked = at("/repo/metadata/timestamp.json").unwrap();
    let answered = at("answered /repo/metadata/2.root.json").unwrap();
    assert!(asked < answered, "{log:#?}");
    assert_eq!(server.count("/repo/metadata/timestamp.json"), 1);
}
