//! `tufwatch verify` against repositories that must fail: expiry (and `--at`), rollback against
//! the saved state, signatures, rotations, malformed and missing files, size limits.

use crate::common::*;
use chrono::{Duration, SecondsFormat, Utc};
use tufwatch::testkit::{self, RoleKeys, SigningKey};

fn at(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[test]
fn expired_roles_fail_each_one() {
    let now = Utc::now();
    for name in ["root", "timestamp", "snapshot", "targets"] {
        let site = Site::new();
        let mut repo = demo_repo(now);
        let past = now - Duration::hours(1);
        match name {
            "root" => repo.root_expires = past,
            "timestamp" => repo.timestamp_expires = past,
            "snapshot" => repo.snapshot_expires = past,
            _ => repo.targets_expires = past,
        }
        site.publish_with_anchor(&repo);
        let server = Server::start(site.path());
        let (code, r) = verify_http(&site, &server, &[]);
        assert_eq!(code, 1, "{name}: {r:#}");
        assert_eq!(findings(&r), [format!("expired:{name}")], "{name}");
        assert_eq!(role(&r, name)["verdict"], "fail");
        assert!(role(&r, name)["expires_in_seconds"].as_i64().unwrap() < 0);
        assert_eq!(
            r["state"]["updated"], false,
            "a failed run keeps the old state"
        );
        // The same over file:// URLs.
        let (m, t) = (site.metadata(), site.targets());
        let (code, r) = verify_json(
            &site,
            m.to_str().unwrap(),
            t.to_str().unwrap(),
            &["--no-state"],
        );
        assert_eq!(
            (code, findings(&r)),
            (1, vec![format!("expired:{name}")]),
            "{name} over file://"
        );
    }
}

#[test]
fn an_expired_delegated_role_fails() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.delegations.push(delegation(
        "extras",
        "extras",
        1,
        now - Duration::minutes(5),
        &[],
    ));
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["expired:extras".to_owned()]),
        "{r:#}"
    );
    let then = at(now - Duration::hours(1));
    let (code, _) = verify_http(&site, &server, &["--at", &then]);
    assert_eq!(code, 0, "valid an hour ago");
}

#[test]
fn an_expired_intermediate_root_is_allowed_but_not_a_final_one() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.root_expires = now - Duration::days(100);
    site.publish_with_anchor(&repo);
    repo.root_version = 2;
    repo.root_expires = now + Duration::days(300);
    site.publish(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["root_chain"], serde_json::json!([1, 2]));
    // Without version 2 on the server, the expired version 1 is the final root.
    site.remove_metadata("2.root.json");
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["expired:root"]);
}

#[test]
fn the_warning_window_warns_without_failing() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.timestamp_expires = now + Duration::hours(30);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(findings(&r), ["expiring_soon:timestamp"]);
    assert_eq!(r["findings"][0]["severity"], "warning");
    assert_eq!(role(&r, "timestamp")["verdict"], "warning");
    let (code, r) = verify_http(&site, &server, &["--expiry-warning", "1d"]);
    assert_eq!((code, findings(&r)), (0, vec![]));
}

#[test]
fn at_judges_expiry_at_another_time() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now - Duration::days(10));
    // Timestamp expired 3 days ago; snapshot and targets 4 days ahead; root a year.
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["expired:timestamp".to_owned()])
    );
    // Valid then: 5 days ago everything was current (timestamp expired 2 days later).
    let then = at(now - Duration::days(8));
    let (code, r) = verify_http(
        &site,
        &server,
        &["--no-state", "--at", &then, "--expiry-warning", "0"],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["reference_time"], then);
    // Expired then: in two months every role but root has expired; in two years root too.
    repo.timestamp_expires = now + Duration::days(7);
    site.publish_top(&repo);
    let later = at(now + Duration::days(60));
    let (code, r) = verify_http(&site, &server, &["--no-state", "--at", &later]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&r),
        ["expired:snapshot", "expired:targets", "expired:timestamp"]
    );
    let much_later = at(now + Duration::days(800));
    let (_, r) = verify_http(&site, &server, &["--no-state", "--at", &much_later]);
    assert!(findings(&r).contains(&"expired:root".to_owned()), "{r:#}");
}

#[test]
fn rollback_of_each_role_against_the_state_fails() {
    let now = Utc::now();
    // timestamp
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.timestamp_version = 5;
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    repo.timestamp_version = 4;
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["rollback:timestamp"]);
    assert_eq!(r["state"]["previous"]["timestamp"], 5);
    assert_eq!(r["state"]["updated"], false);
    // The state still holds version 5: the rollback is refused again.
    assert_eq!(verify_http(&site, &server, &[]).0, 1);

    // snapshot (and the timestamp that names it)
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.snapshot_version = 3;
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    repo.snapshot_version = 2;
    repo.timestamp_version = 2;
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["rollback:snapshot", "rollback:timestamp"]);

    // targets (and the snapshot that names it)
    let site = Site::new();
    let mut repo = demo_repo(now);
    repo.targets_version = 7;
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    repo.targets_version = 6;
    repo.snapshot_version = 2;
    repo.timestamp_version = 2;
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["rollback:snapshot", "rollback:targets"]);

    // root: the state trusts version 2; a server that hides it cannot take the client back to
    // version 1, since the run starts from the saved root (TUF 5.2).
    let site = Site::new();
    let mut repo = demo_repo(now);
    site.publish_with_anchor(&repo);
    repo.root_version = 2;
    site.publish(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    site.remove_metadata("2.root.json");
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["state"]["started_from_root"], 2);
    assert_eq!(r["root_chain"], serde_json::json!([2]));
    // Without the state, the anchor's version 1 is all there is.
    let (_, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(r["root_chain"], serde_json::json!([1]));
}

#[test]
fn a_fork_of_the_root_chain_by_revoked_keys_fails_against_the_state() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    site.publish_with_anchor(&repo);
    // Version 2 revokes root-1..3 for two new keys.
    let old = std::mem::replace(
        &mut repo.root_keys,
        RoleKeys {
            keys: vec![ed_key(), ed_key()],
            threshold: 2,
        },
    );
    repo.root_version = 2;
    let k = &repo.root_keys.keys;
    let v2 = testkit::sign_metadata(
        &repo.root_signed(),
        &[&old.keys[0], &old.keys[1], &k[0], &k[1]],
    )
    .unwrap();
    site.put_metadata("2.root.json", &testkit::to_bytes(&v2));
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    // Someone with the revoked keys forks: another version 2, and a version 3 after it.
    let fork = RoleKeys {
        keys: vec![ed_key(), ed_key()],
        threshold: 2,
    };
    repo.root_keys = fork;
    let f = &repo.root_keys.keys;
    let v2f = testkit::sign_metadata(
        &repo.root_signed(),
        &[&old.keys[0], &old.keys[1], &f[0], &f[1]],
    )
    .unwrap();
    repo.root_version = 3;
    let v3f = testkit::sign_metadata(&repo.root_signed(), &[&f[0], &f[1]]).unwrap();
    site.put_metadata("2.root.json", &testkit::to_bytes(&v2f));
    site.put_metadata("3.root.json", &testkit::to_bytes(&v3f));
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), ["signature_threshold:root"]);
    assert_eq!(role(&r, "root")["version"], 3);
    assert_eq!(role(&r, "root")["verdict"], "fail");
    assert_eq!(r["root_chain"], serde_json::json!([2]));
    assert_eq!(r["state"]["updated"], false);
}

#[test]
fn newer_versions_update_the_state() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (_, r) = verify_http(&site, &server, &[]);
    assert_eq!(r["state"]["updated"], true);
    assert!(r["state"]["previous"].as_object().unwrap().is_empty());
    repo.timestamp_version = 2;
    repo.snapshot_version = 2;
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["state"]["previous"]["timestamp"], 1);
    let (_, r) = verify_http(&site, &server, &[]);
    assert_eq!(r["state"]["previous"]["timestamp"], 2);
    assert_eq!(r["state"]["previous"]["snapshot"], 2);
}

#[test]
fn a_same_version_timestamp_with_new_bytes_fails() {
    let now = Utc::now();
    let site = Site::new();
    let mut repo = demo_repo(now);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    // The same bytes again pass.
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    repo.timestamp_expires = now + Duration::days(6);
    site.publish_top(&repo);
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), ["version_reused:timestamp"]);
}

#[test]
fn signatures_below_threshold_duplicated_or_by_unknown_keys_fail() {
    let now = Utc::now();
    let k1 = ed_key();
    let unknown = ed_key();
    for (case, signers, expected) in [
        (
            "below threshold",
            vec![&k1],
            "signature_threshold:timestamp",
        ),
        (
            "duplicated",
            vec![&k1, &k1],
            "duplicate_signature:timestamp",
        ),
        (
            "unknown key",
            vec![&unknown, &k1],
            "signature_threshold:timestamp",
        ),
    ] {
        let site = Site::new();
        let mut repo = demo_repo(now);
        repo.timestamp_keys = RoleKeys {
            keys: vec![ed_key(), ed_key()],
            threshold: 2,
        };
        repo.timestamp_keys.keys[0] = SigningKey::from_pem(&k1.to_pem()).unwrap();
        site.publish_with_anchor(&repo);
        let ts = site.read_metadata("timestamp.json");
        site.put_metadata("timestamp.json", &resign(&ts, &signers));
        let server = Server::start(site.path());
        let (code, r) = verify_http(&site, &server, &[]);
        assert_eq!(code, 1, "{case}: {r:#}");
        assert_eq!(findings(&r), [expected], "{case}");
        let t = role(&r, "timestamp");
        assert_eq!(t["verdict"], "fail");
        let statuses: Vec<&str> = t["signatures"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        match case {
            "below threshold" => assert_eq!(statuses, ["valid"]),
            "duplicated" => assert_eq!(statuses, ["valid", "duplicate"]),
            _ => assert_eq!(statuses, ["unknown_key", "valid"]),
        }
        assert_eq!(t["signatures"]["valid_keyids"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn a_rotation_without_the_old_threshold_fails() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let old = std::mem::replace(
        &mut repo.root_keys,
        RoleKeys {
            keys: vec![ed_key(), ed_key()],
            threshold: 2,
        },
    );
    repo.root_version = 2;
    // Signed by both new keys but only one of the old root's keys (threshold 2).
    let doc = testkit::sign_metadata(
        &repo.root_signed(),
        &[
            &repo.root_keys.keys[0],
            &repo.root_keys.keys[1],
            &old.keys[0],
        ],
    )
    .unwrap();
    site.put_metadata("2.root.json", &testkit::to_bytes(&doc));
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r), ["signature_threshold:root"]);
    let root = role(&r, "root");
    assert_eq!(root["verdict"], "fail");
    assert_eq!(
        root["rotation_signatures"]["valid_keyids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn malformed_missing_and_oversized_metadata_fail() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    site.put_metadata("1.snapshot.json", b"{\"signed\": {\"_type\": \"snapshot\"");
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1);
    // The timestamp lists the snapshot's hash, so tough refuses the bytes before parsing them.
    assert_eq!(findings(&r), ["hash_mismatch:snapshot"], "{r:#}");

    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    site.put_metadata("timestamp.json", b"{not json");
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["malformed:timestamp".to_owned()])
    );

    site.remove_metadata("timestamp.json");
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["not_found:timestamp".to_owned()])
    );
    assert!(r["findings"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/timestamp.json"));

    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let (code, r) = verify_http(
        &site,
        &server,
        &["--no-state", "--max-timestamp-size", "200"],
    );
    assert_eq!(
        (code, findings(&r)),
        (1, vec!["length_exceeded:timestamp".to_owned()])
    );
    // An endless root: the N+1 root is cut off at the size limit.
    server.set("repo/metadata/2.root.json", Behavior::Endless);
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(
        findings(&r).contains(&"length_exceeded:root".to_owned())
            || findings(&r).contains(&"unreachable:root".to_owned()),
        "{r:#}"
    );
}

#[test]
fn a_failing_server_cannot_hide_a_newer_root() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/2.root.json", Behavior::Status(503));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    // tough alone would stop at root 1 and pass; tufwatch cannot tell whether root 2 exists.
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["unreachable:root"]);
    assert_eq!(role(&r, "timestamp")["verdict"], "ok");
}

#[test]
fn real_bottlerocket_root_rotation_1_to_2() {
    let site = Site::new();
    let roots = bottlerocket_data().join("roots");
    std::fs::create_dir_all(site.metadata()).unwrap();
    std::fs::create_dir_all(site.targets()).unwrap();
    std::fs::copy(roots.join("1.root.json"), site.anchor()).unwrap();
    let two = std::fs::read(roots.join("2.root.json")).unwrap();
    site.put_metadata("2.root.json", &two);
    let server = Server::start(site.path());
    let args = ["--no-state", "--at", "2021-01-01T00:00:00Z"];
    let (code, r) = verify_http(&site, &server, &args);
    // Root 2 is accepted; the repository has nothing more, so the timestamp is missing.
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["not_found:timestamp"], "{r:#}");
    assert_eq!(r["root_chain"], serde_json::json!([1, 2]));
    let root = role(&r, "root");
    assert_eq!(root["verdict"], "ok");
    assert_eq!(root["signatures"]["threshold"], 2);
    assert_eq!(
        root["signatures"]["valid_keyids"].as_array().unwrap().len(),
        3
    );
    assert_eq!(root["rotation_signatures"]["threshold"], 2);
    assert_eq!(
        root["rotation_signatures"]["valid_keyids"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // One byte changed in one signature: that signature no longer counts, the others still
    // meet both thresholds (3 of 3 sign, 2 of 3 are needed), so the rotation still holds.
    let text = String::from_utf8(two.clone()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sig0 = doc["signatures"][0]["sig"].as_str().unwrap();
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b[10] = if b[10] == b'0' { b'1' } else { b'0' };
        String::from_utf8(b).unwrap()
    };
    site.put_metadata(
        "2.root.json",
        text.replacen(sig0, &flip(sig0), 1).as_bytes(),
    );
    let (_, r) = verify_http(&site, &server, &args);
    assert_eq!(r["root_chain"], serde_json::json!([1, 2]));
    let statuses: Vec<&str> = role(&r, "root")["rotation_signatures"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"invalid"), "{statuses:?}");

    // One byte changed in the signatures of two of the old root's three keys: root 2 lacks
    // the old threshold and is rejected.
    let old_ids: Vec<String> = {
        let one: serde_json::Value =
            serde_json::from_slice(&std::fs::read(roots.join("1.root.json")).unwrap()).unwrap();
        one["signed"]["roles"]["root"]["keyids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    let mut tampered = text.clone();
    for s in doc["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| old_ids.contains(&s["keyid"].as_str().unwrap().to_owned()))
        .take(2)
    {
        let sig = s["sig"].as_str().unwrap();
        tampered = tampered.replacen(sig, &flip(sig), 1);
    }
    site.put_metadata("2.root.json", tampered.as_bytes());
    let (code, r) = verify_http(&site, &server, &args);
    assert_eq!(code, 1);
    assert_eq!(findings(&r), ["signature_threshold:root"], "{r:#}");
}

#[test]
fn metadata_with_two_readings_is_refused_even_where_tough_accepts_it() {
    // Two keys that are one once normalized (NFC): tough's canonical form keeps only one of them
    // (which one depends on a HashMap's random order, so tough accepts this metadata on some runs
    // and rejects it on others); the bytes on the wire say two different things. tufwatch
    // always refuses it.
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    let entry = repo.targets.get_mut("manifest.json").unwrap();
    entry.custom = Some(serde_json::json!({"e\u{301}": "one", "\u{e9}": "other"}));
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 1, "{r:#}");
    let f = findings(&r);
    assert!(
        f == ["malformed:targets"] || f == ["signature_threshold:targets"],
        "{r:#}"
    );
    assert_eq!(role(&r, "targets")["verdict"], "fail");
    let why = role(&r, "targets")["signatures"]["unreadable"]
        .as_str()
        .unwrap();
    assert!(why.contains("twice"), "{why}");
}

/// A damaged state stops the run (exit 2, no verdict): the error says what is damaged, and the
/// command line's hint names the flag that runs without it.
#[test]
fn a_damaged_state_stops_the_run_and_the_hint_names_the_flag() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    assert_eq!(verify_http(&site, &server, &[]).0, 0);
    let mut damaged = 0;
    for dir in std::fs::read_dir(site.state()).unwrap() {
        let current = dir.unwrap().path().join("CURRENT");
        if current.is_file() {
            std::fs::write(&current, "../../etc").unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 1);
    let out = tufwatch(site.path())
        .args(["verify", "--root"])
        .arg(site.anchor())
        .args(["--metadata-url", &server.url("repo/metadata/")])
        .args(["--targets-url", &server.url("repo/targets/")])
        .arg("--state-dir")
        .arg(site.state())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the state directory is damaged"), "{err}");
    assert!(err.contains("tufwatch: hint: --no-state"), "{err}");
}
