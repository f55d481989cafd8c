//! `tufwatch releases`: the signed manifest read after verification, newest and due releases,
//! waves, migrations; a bad manifest is a finding that names the field.

use crate::common::*;
use chrono::Utc;

fn releases_demo(site: &Site, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let out = on_demo(site, "releases", &args);
    let r = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), r)
}

/// `releases --format json` for a site served over loopback HTTP.
fn releases_http(site: &Site, server: &Server) -> (i32, serde_json::Value) {
    let out = tufwatch(site.path())
        .args(["releases", "--no-state", "--format", "json", "--root"])
        .arg(site.anchor())
        .args(["--metadata-url", &server.url("repo/metadata/")])
        .args(["--targets-url", &server.url("repo/targets/")])
        .output()
        .unwrap();
    let r = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap(), r)
}

fn track<'a>(r: &'a serde_json::Value, variant: &str, arch: &str) -> &'a serde_json::Value {
    r["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["variant"] == variant && t["arch"] == arch)
        .unwrap()
}

#[test]
fn newest_and_due_releases_of_the_demo() {
    let site = Site::new();
    // 1.26.1's waves run from 2026-11-25 18:00 to 2026-12-01 17:00.
    let (code, r) = releases_demo(&site, &["--at", "2026-11-28T00:00:00Z", "--from", "1.25.0"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["manifest"]["verified"], true);
    assert_eq!(r["tracks"].as_array().unwrap().len(), 4);
    let t = track(&r, "aws-k8s-1.31", "aarch64");
    assert_eq!(t["newest"], "1.26.1");
    assert_eq!(t["due"], "1.26.0");
    assert_eq!(t["rolling_out"], serde_json::json!(["1.26.1"]));
    let versions: Vec<&str> = t["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.26.1", "1.26.0", "1.25.0"]);
    let newest = &t["releases"][0];
    assert_eq!(newest["rollout"]["state"], "rolling_out");
    let share = newest["rollout"]["share"].as_f64().unwrap();
    assert!(share > 0.05 && share < 0.6, "{share}");
    assert_eq!(newest["waves"].as_array().unwrap().len(), 7);
    assert_eq!(
        t["migrations"]["migrations"],
        serde_json::json!([
            "migrate_v1.26.0_demo-settings.lz4",
            "migrate_v1.26.0_demo-kubelet.lz4"
        ])
    );
    // Once every wave has started, the newest release is due too.
    let (_, r) = releases_demo(&site, &["--at", "2027-01-01T00:00:00Z"]);
    let t = track(&r, "aws-ecs-2", "x86_64");
    assert_eq!(
        (t["newest"].as_str(), t["due"].as_str()),
        (Some("1.26.1"), Some("1.26.1"))
    );
    assert!(t["rolling_out"].as_array().unwrap().is_empty());
    assert!(t.get("migrations").is_none());
    // Before the first release's waves, nothing is due.
    let (_, r) = releases_demo(&site, &["--at", "2026-09-01T00:00:00Z"]);
    assert!(track(&r, "aws-ecs-2", "x86_64")["due"].is_null());
}

#[test]
fn a_bad_manifest_is_a_finding_naming_the_field() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    let bad = std::fs::read(bottlerocket_data().join("manifests/bad-bound.json")).unwrap();
    repo.add_target("manifest.json", bad);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = releases_http(&site, &server);
    assert_eq!(code, 1);
    assert_eq!(r["findings"][0]["code"], "malformed");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("updates[0].waves") && message.contains("234ab32"),
        "{message}"
    );
}

#[test]
fn a_failed_verification_reads_no_manifest() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.timestamp_expires = Utc::now() - chrono::Duration::hours(1);
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let (code, r) = releases_http(&site, &server);
    assert_eq!(code, 1);
    assert_eq!(r["verification"]["verdict"], "fail");
    assert!(r["manifest"].is_null());
    assert!(r["tracks"].as_array().unwrap().is_empty());
    assert!(!server
        .requests()
        .iter()
        .any(|p| p.contains("manifest.json")));
}

#[test]
fn human_releases_of_the_demo() {
    let site = Site::new();
    let demo = demo_dir();
    let out = tufwatch(site.path())
        .args([
            "releases",
            "--no-state",
            "--at",
            "2026-11-28T00:00:00Z",
            "--from",
            "1.25.0",
            "--root",
        ])
        .arg(demo.join("root.json"))
        .repo(&demo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.replace(
        &url::Url::from_directory_path(&demo).unwrap().to_string(),
        "file://[DEMO]/",
    );
    insta::assert_snapshot!(text);
}

#[test]
fn the_releases_of_the_demo_as_an_html_page() {
    let site = Site::new();
    let file = site.path().join("pages/releases.html");
    let out = demo_releases_page(&site, "2026-11-28T00:00:00Z", &file);
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("<title>tufwatch releases: All verified</title>"));
    for id in ["verdict", "findings", "repositories", "releases", "about"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no section {id}");
    }
    // One repository's page: no fleet, no SSM.
    for id in ["fleet", "ssm"] {
        assert!(!html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    assert!(!html.contains("<script"));
    // Each track, with its timeline; the repository's expiries.
    for track in [
        "aws-k8s-1.31 / x86_64",
        "aws-k8s-1.31 / aarch64",
        "aws-ecs-2 / x86_64",
        "aws-ecs-2 / aarch64",
    ] {
        assert!(html.contains(track), "no {track}");
    }
    assert_eq!(html.matches("<svg").count(), 5);
    // 1.26.1's waves reach 19% of hosts by then, in each track.
    assert_eq!(html.matches("rolling out: 19% of hosts").count(), 4);
    // How it was made.
    assert!(html.contains("from tufwatch releases --no-state"));
    // Printed, it is the same page but for the moment it was made and the command.
    let printed = on_demo(
        &site,
        "releases",
        &["--at", "2026-11-28T00:00:00Z", "--format", "html"],
    );
    assert_eq!(printed.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&printed.stdout);
    let body = |s: &str| s[..s.find("<footer").unwrap()].to_owned();
    assert_eq!(body(&printed), body(&html));
}
