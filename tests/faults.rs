//! A server that misbehaves on demand: server errors and throttling a few times then success,
//! a connection dropped mid-body, a body that trickles, redirects. tufwatch retries what is worth
//! retrying, with backoff and a bound, gives up with a clear finding, and never hangs.

mod common;

use chrono::Utc;
use common::*;
use std::time::{Duration, Instant};

fn count(server: &Server, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|p| p.as_str() == path)
        .count()
}

#[test]
fn server_errors_and_throttling_are_retried_with_a_bound() {
    for status in [503, 429, 500] {
        let site = Site::new();
        site.publish_with_anchor(&demo_repo(Utc::now()));
        let server = Server::start(site.path());
        // Twice, then the file: the third try gets it.
        server.set(
            "repo/metadata/timestamp.json",
            Behavior::fail_first(status, 2),
        );
        let (code, r) = verify_http(&site, &server, &["--no-state"]);
        assert_eq!(code, 0, "{status}: {r:#}");
        assert_eq!(count(&server, "/repo/metadata/timestamp.json"), 3);

        // Always: three tries, then a finding that names the status; the run is incomplete.
        let site = Site::new();
        site.publish_with_anchor(&demo_repo(Utc::now()));
        let server = Server::start(site.path());
        server.set("repo/metadata/timestamp.json", Behavior::Status(status));
        let (code, r) = verify_http(&site, &server, &["--no-state"]);
        assert_eq!(code, 2, "{status}: {r:#}");
        assert_eq!(findings(&r), ["unreachable:timestamp"], "{r:#}");
        let message = r["findings"][0]["message"].as_str().unwrap();
        assert!(message.contains(&status.to_string()), "{message}");
        assert_eq!(count(&server, "/repo/metadata/timestamp.json"), 3);
    }
}

#[test]
fn a_client_error_is_not_retried() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/timestamp.json", Behavior::Status(400));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(count(&server, "/repo/metadata/timestamp.json"), 1);
}

#[test]
fn a_connection_dropped_mid_body_is_asked_again() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/1.snapshot.json", Behavior::drop_first(1));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(count(&server, "/repo/metadata/1.snapshot.json"), 2);
    // The bytes are those of the file, whole: the report's length and hash.
    let snapshot = role(&r, "snapshot");
    assert_eq!(
        snapshot["sha256"],
        tufwatch::digest::sha256_hex(&site.read_metadata("1.snapshot.json"))
    );

    // Always dropped: three tries, then `unreachable`.
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/1.snapshot.json", Behavior::drop_first(100));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 2, "{r:#}");
    assert!(
        findings(&r).iter().any(|f| f.starts_with("unreachable:")),
        "{r:#}"
    );
    assert_eq!(count(&server, "/repo/metadata/1.snapshot.json"), 3);
}

#[test]
fn a_trickling_body_is_a_slow_retrieval_finding() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/timestamp.json", Behavior::Trickle);
    let started = Instant::now();
    let (code, r) = verify_http(
        &site,
        &server,
        &["--no-state", "--timeout", "2", "--min-rate", "100"],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["slow_retrieval:timestamp"], "{r:#}");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("--min-rate"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn redirects_are_followed_but_never_to_another_scheme() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    // Within HTTP: followed.
    let ts = site.read_metadata("timestamp.json");
    site.put_metadata("moved-timestamp.json", &ts);
    server.set(
        "repo/metadata/timestamp.json",
        Behavior::Redirect("/repo/metadata/moved-timestamp.json".to_owned()),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");

    // To another scheme: refused, and named.
    server.set(
        "repo/metadata/timestamp.json",
        Behavior::Redirect("file:///etc/passwd".to_owned()),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 2, "{r:#}");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("redirect to file:///etc/passwd"),
        "{message}"
    );
    assert!(message.contains("may not change the scheme"), "{message}");
}
