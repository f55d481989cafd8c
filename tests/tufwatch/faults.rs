//! A server that misbehaves on demand: server errors and throttling a few times then success,
//! a connection dropped mid-body, a body that trickles, redirects. tufwatch retries what is worth
//! retrying, with backoff and a bound, gives up with a clear finding, and never hangs.

use crate::common::*;
use chrono::Utc;
use std::time::{Duration, Instant};

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
        assert_eq!(server.count("/repo/metadata/timestamp.json"), 3);

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
        assert_eq!(server.count("/repo/metadata/timestamp.json"), 3);
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
    assert_eq!(server.count("/repo/metadata/timestamp.json"), 1);
}

#[test]
fn a_connection_dropped_mid_body_is_asked_again() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/1.snapshot.json", Behavior::drop_first(1));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(server.count("/repo/metadata/1.snapshot.json"), 2);
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
    assert_eq!(server.count("/repo/metadata/1.snapshot.json"), 3);
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
    assert!(
        message.contains("below the minimum of 100 bytes a second"),
        "{message}"
    );
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

#[test]
fn a_body_that_stalls_is_given_up_after_the_timeout() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("repo/metadata/1.snapshot.json", Behavior::Stall);
    let started = Instant::now();
    let (code, r) = verify_http(&site, &server, &["--no-state", "--timeout", "1"]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["unreachable:snapshot"], "{r:#}");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("1.snapshot.json"), "{message}");
    // Three tries of one second each, and the backoff between them.
    assert_eq!(server.count("/repo/metadata/1.snapshot.json"), 3);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn bytes_beyond_the_declared_length_are_not_read_as_the_next_answer() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    // After the timestamp, an answer for a request not yet made: a snapshot of the attacker's.
    let forged = b"{\"signed\": {}, \"signatures\": []}";
    let mut smuggled = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
        forged.len()
    )
    .into_bytes();
    smuggled.extend_from_slice(forged);
    server.set("repo/metadata/timestamp.json", Behavior::Overlong(smuggled));
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        role(&r, "snapshot")["sha256"],
        tufwatch::digest::sha256_hex(&site.read_metadata("1.snapshot.json"))
    );
}

#[test]
fn a_redirect_to_another_host_is_followed_and_what_it_serves_is_checked() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let other = Server::start(site.path());
    let elsewhere = format!(
        "http://localhost:{}/repo/metadata/1.snapshot.json",
        other.port
    );
    server.set(
        "repo/metadata/1.snapshot.json",
        Behavior::Redirect(elsewhere.clone()),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(other.count("/repo/metadata/1.snapshot.json"), 1);

    // The other host serves something else: refused as if the first host had.
    other.set(
        "repo/metadata/1.snapshot.json",
        Behavior::Body(site.read_metadata("timestamp.json")),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(
        findings(&r).iter().any(|f| f.ends_with(":snapshot")),
        "{r:#}"
    );
}

#[test]
fn a_redirect_loop_ends_after_five() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set(
        "repo/metadata/timestamp.json",
        Behavior::Redirect("/repo/metadata/timestamp.json".to_owned()),
    );
    let (code, r) = verify_http(&site, &server, &["--no-state"]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(findings(&r), ["unreachable:timestamp"], "{r:#}");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("more than 5 redirects"), "{message}");
    // The first request and five redirects, not retried.
    assert_eq!(server.count("/repo/metadata/timestamp.json"), 6);
}

#[test]
fn a_target_served_short_is_a_finding_and_is_not_written() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let name = "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-c41a8f09-boot.ext4.lz4";
    let bytes = &repo.targets[name].bytes;
    let hash = tufwatch::digest::sha256_hex(bytes);
    server.set(
        &format!("repo/targets/{hash}.{name}"),
        Behavior::Body(bytes[..bytes.len() / 2].to_vec()),
    );
    let out = site.path().join("out");
    let (code, r) = verify_http(
        &site,
        &server,
        &[
            "--no-state",
            "--target",
            name,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(findings(&r).len(), 1, "{r:#}");
    assert!(findings(&r)[0].ends_with(&format!(":{name}")), "{r:#}");
    assert_eq!(files(&out), Vec::<String>::new());
}
