//! `tufwatch verify` on good repositories: over HTTP, file:// and plain directories, root
//! rotations, delegations, the Bottlerocket layout, the human report and exit codes.

use crate::common::*;
use chrono::{Duration, Utc};
use tufwatch::testkit::{self, RoleKeys};

#[test]
fn a_valid_repository_passes_over_http() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(findings(&r), Vec::<String>::new());
    let names: Vec<&str> = r["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["role"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root", "timestamp", "snapshot", "targets"]);
    let root = role(&r, "root");
    assert_eq!(root["signatures"]["threshold"], 2);
    assert_eq!(
        root["signatures"]["valid_keyids"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        root["signatures"]["valid_keyids"][0],
        demo_key("root-1").keyid()
    );
    for name in ["timestamp", "snapshot", "targets"] {
        let x = role(&r, name);
        assert_eq!(x["verdict"], "ok");
        assert_eq!(x["signatures"]["signatures"][0]["status"], "valid");
        assert!(x["expires_in_seconds"].as_i64().unwrap() > 6 * 86_400);
    }
    // No repeated fetches: the metadata requested once each, in workflow order, but for the
    // timestamp, which is on its way while the next root is asked for (either may come first).
    let mut asked = server.requests();
    asked[..2].sort();
    assert_eq!(
        asked,
        [
            "/repo/metadata/2.root.json",
            "/repo/metadata/timestamp.json",
            "/repo/metadata/1.snapshot.json",
            "/repo/metadata/1.targets.json"
        ]
    );
}

#[test]
fn file_urls_and_plain_directories_work() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let m = site.metadata();
    let t = site.targets();
    let (code, r) = verify_json(&site, m.to_str().unwrap(), t.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{r:#}");
    let murl = url::Url::from_directory_path(&m).unwrap().to_string();
    let turl = url::Url::from_directory_path(&t).unwrap().to_string();
    let (code, r) = verify_json(&site, &murl, &turl, &["--all-targets"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["repository"]["metadata_url"], murl);
    assert_eq!(r["targets"].as_array().unwrap().len(), 2);
}

#[test]
fn root_rotation_1_2_3_is_followed() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    // v2: root-3 replaced by a new key, signed by the old threshold and the new.
    let new = ed_key();
    let old3 = std::mem::replace(&mut repo.root_keys.keys[2], new);
    repo.root_version = 2;
    let k = &repo.root_keys.keys;
    let doc = testkit::sign_metadata(&repo.root_signed(), &[&k[0], &k[1], &k[2], &old3]).unwrap();
    site.put_metadata("2.root.json", &testkit::to_bytes(&doc));
    // v3: threshold 1 of a single new key, signed by two v2 keys and the new key.
    let v3 = ed_key();
    let old = std::mem::replace(
        &mut repo.root_keys,
        RoleKeys {
            keys: vec![v3],
            threshold: 1,
        },
    );
    repo.root_version = 3;
    let doc = testkit::sign_metadata(
        &repo.root_signed(),
        &[&old.keys[0], &old.keys[2], &repo.root_keys.keys[0]],
    )
    .unwrap();
    site.put_metadata("3.root.json", &testkit::to_bytes(&doc));
    let server = Server::start(site.path());
    let (code, r) = verify_http(&site, &server, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["root_chain"], serde_json::json!([1, 2, 3]));
    let root = role(&r, "root");
    assert_eq!(root["version"], 3);
    assert_eq!(root["rotation_signatures"]["keys_from"], "root v2");
    assert_eq!(
        root["rotation_signatures"]["valid_keyids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn delegated_roles_are_reported() {
    let site = Site::new();
    let now = Utc::now();
    let mut repo = demo_repo(now);
    let mut d = delegation(
        "extras",
        "extras",
        4,
        now + Duration::days(30),
        &[("extras/tool.lz4", b"tool")],
    );
    d.terminating = true;
    repo.delegations.push(d);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let out = site.path().join("out");
    let (code, r) = verify_http(
        &site,
        &server,
        &[
            "--target",
            "extras/tool.lz4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{r:#}");
    let d = role(&r, "extras");
    assert_eq!(d["delegated_by"], "targets");
    assert_eq!(d["version"], 4);
    assert_eq!(d["signatures"]["valid_keyids"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read(out.join("extras/tool.lz4")).unwrap(), b"tool");
}

#[test]
fn bottlerocket_layout_and_arch_aliases() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    let root = site.publish_mirror(&repo, "aws-k8s-1.31", "x86_64");
    std::fs::copy(root, site.anchor()).unwrap();
    let server = Server::start(site.path());
    let out = tufwatch(site.path())
        .args([
            "verify",
            "--variant",
            "aws-k8s-1.31",
            "--arch",
            "amd64",
            "--format",
            "json",
            "--no-state",
            "--root",
        ])
        .arg(site.anchor())
        .args([
            "--repo-base",
            &server.url("mirror"),
            "--target",
            "manifest.json",
        ])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(
        r["repository"]["metadata_url"],
        server.url("mirror/2020-07-07/aws-k8s-1.31/x86_64/")
    );
    assert_eq!(
        r["repository"]["targets_url"],
        server.url("mirror/targets/")
    );
    assert_eq!(r["repository"]["arch"], "x86_64");
    assert_eq!(r["targets"][0]["verified"], true);
}

#[test]
fn the_human_report_names_roles_keys_and_verdict() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let out = tufwatch(site.path())
        .args(["verify", "--no-state", "--root"])
        .arg(site.anchor())
        .repo(&site.path().join("repo"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "ROLE",
        "root",
        "timestamp",
        "snapshot",
        "targets",
        "2/3 (need 2)",
        "in 6 days",
        "PASS",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let key = demo_key("timestamp");
    let id = &key.keyid()[..8];
    assert!(
        text.contains(id),
        "timestamp key id {id} missing from:\n{text}"
    );
}

#[test]
fn exit_code_2_for_what_cannot_run() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    // Missing root file.
    let out = tufwatch(site.path())
        .args(["verify", "--root", "/no/such/root.json", "--metadata-url"])
        .arg(site.metadata())
        .arg("--targets-url")
        .arg(site.targets())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such/root.json"), "{err}");
    // A root file that is not a root.
    std::fs::write(site.path().join("bad.json"), b"{\"signed\": 1}").unwrap();
    let out = tufwatch(site.path())
        .args(["verify", "--root"])
        .arg(site.path().join("bad.json"))
        .repo(&site.path().join("repo"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
    // Bad arguments.
    for args in [
        vec!["verify", "--variant", "aws-k8s-1.31", "--arch", "sparc"],
        vec![
            "verify",
            "--metadata-url",
            "ftp://x/",
            "--targets-url",
            "ftp://x/",
            "--root",
            "x",
        ],
        vec!["verify", "--at", "yesterday"],
        vec!["verify"],
        vec!["nonsense"],
    ] {
        let out = tufwatch(site.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
    // A format the command does not print is refused with the ones it does.
    for (args, possible) in [
        (vec!["verify", "--format", "prometheus"], "human, json"),
        (
            vec!["evidence", "verify", "x", "--format", "html"],
            "human, json",
        ),
        (
            vec!["releases", "--format", "markdown"],
            "human, json, html",
        ),
    ] {
        let out = tufwatch(site.path()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("[possible values: {possible}]")),
            "{args:?}: {err}"
        );
    }
    // --help explains and exits 0.
    let out = tufwatch(site.path())
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--expiry-warning"));
}

#[test]
fn an_unreachable_server_is_exit_2() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    // A port with nothing listening: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let (code, r) = verify_json(
        &site,
        &format!("{base}/m/"),
        &format!("{base}/t/"),
        &["--timeout", "2"],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["verdict"], "incomplete");
    assert!(
        findings(&r).iter().any(|f| f.starts_with("unreachable:")),
        "{r:#}"
    );
}

#[test]
fn root_sha512_pins_the_anchor() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let good = tufwatch::digest::sha512_hex(&std::fs::read(site.anchor()).unwrap());
    let m = site.metadata();
    let t = site.targets();
    let (code, _) = verify_json(
        &site,
        m.to_str().unwrap(),
        t.to_str().unwrap(),
        &["--root-sha512", &good],
    );
    assert_eq!(code, 0);
    let out = tufwatch(site.path())
        .args(["verify", "--root-sha512", &"ab".repeat(64), "--root"])
        .arg(site.anchor())
        .arg("--metadata-url")
        .arg(&m)
        .arg("--targets-url")
        .arg(&t)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("untrusted_root") && err.contains(&good),
        "{err}"
    );
}
