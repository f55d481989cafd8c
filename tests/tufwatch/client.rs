//! `tufwatch client` (the strict engine) on repositories built at test time and served over
//! loopback HTTP: one test per category of the TUF conformance suite, which CI cannot fetch.
//! Root rotation, rollback, fast-forward recovery, expiry under a fixed clock, hash
//! algorithms, delegation graphs and target search, consistent snapshot target paths, metadata
//! bytes kept exactly, and the order of requests.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::path::PathBuf;
use tufwatch::testkit::{sign_metadata, to_bytes, Delegation, Repo, RoleKeys, SigningKey};

/// A client of a site served over loopback, initialised with the site's anchor.
struct Client {
    site: Site,
    server: Server,
    md: PathBuf,
    td: PathBuf,
    seen: std::cell::Cell<usize>,
}

impl Client {
    fn new(repo: &Repo) -> Self {
        let site = Site::new();
        site.publish_with_anchor(repo);
        let server = Server::start(site.path());
        let md = site.path().join("md");
        let td = site.path().join("td");
        std::fs::create_dir_all(&td).unwrap();
        let c = Client {
            site,
            server,
            md,
            td,
            seen: std::cell::Cell::new(0),
        };
        let anchor = c.site.anchor();
        assert_eq!(
            c.run(&[
                "--metadata-dir",
                c.md.to_str().unwrap(),
                "init",
                anchor.to_str().unwrap()
            ]),
            0
        );
        assert!(c.server.requests().is_empty(), "init makes no request");
        c
    }

    fn run(&self, args: &[&str]) -> i32 {
        let out = tufwatch(self.site.path())
            .arg("client")
            .args(args)
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            eprintln!("client {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        code
    }

    fn metadata_url(&self) -> String {
        self.server.url("repo/metadata/")
    }

    fn refresh(&self, extra: &[&str]) -> i32 {
        let url = self.metadata_url();
        let mut args = vec![
            "--metadata-url",
            &url,
            "--metadata-dir",
            self.md.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push("refresh");
        self.run(&args)
    }

    fn download(&self, names: &[&str]) -> i32 {
        let url = self.metadata_url();
        let targets = self.server.url("repo/targets/");
        let mut args = vec![
            "--metadata-url",
            &url,
            "--metadata-dir",
            self.md.to_str().unwrap(),
        ];
        for n in names {
            args.extend_from_slice(&["--target-name", n]);
        }
        args.extend_from_slice(&[
            "--target-dir",
            self.td.to_str().unwrap(),
            "--target-base-url",
            &targets,
            "download",
        ]);
        self.run(&args)
    }

    /// The requests since the last call, relative to `/repo/`.
    fn requests(&self) -> Vec<String> {
        let all = self.server.requests();
        let new = all[self.seen.get()..]
            .iter()
            .map(|p| p.trim_start_matches("/repo/").to_owned())
            .collect();
        self.seen.set(all.len());
        new
    }

    fn stored(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.md.join(name)).ok()
    }

    fn version(&self, name: &str) -> Option<u64> {
        let v: Value = serde_json::from_slice(&self.stored(name)?).ok()?;
        v["signed"]["version"].as_u64()
    }

    /// The `*.json` files of the metadata directory.
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.md)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        v.sort();
        v
    }
}

/// A repository with ed25519 keys (fast), threshold 1 each.
fn repo(now: DateTime<Utc>) -> Repo {
    ed_repo(now)
}

fn key_copy(k: &SigningKey) -> SigningKey {
    k.try_clone().unwrap()
}

/// Write root version `repo.root_version` signed by `signers`.
fn publish_root(c: &Client, repo: &Repo, signers: &[&SigningKey]) {
    let doc = sign_metadata(&repo.root_signed(), signers).unwrap();
    c.site
        .put_metadata(&format!("{}.root.json", repo.root_version), &to_bytes(&doc));
}

#[test]
fn requests_come_in_the_specified_order_and_metadata_is_kept_byte_for_byte() {
    let mut r = repo(Utc::now());
    let c = Client::new(&r);
    assert_eq!(c.refresh(&[]), 0);
    // 5.3: the next root (none); 5.4 the timestamp; 5.5 the snapshot it names; 5.6 targets.
    assert_eq!(
        c.requests(),
        [
            "metadata/2.root.json",
            "metadata/timestamp.json",
            "metadata/1.snapshot.json",
            "metadata/1.targets.json"
        ]
    );
    assert_eq!(
        c.files(),
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    assert_eq!(
        c.stored("timestamp.json").unwrap(),
        c.site.read_metadata("timestamp.json")
    );
    // Nothing new: the stored snapshot and targets serve.
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(
        c.requests(),
        ["metadata/2.root.json", "metadata/timestamp.json"]
    );

    // A new timestamp is kept with exactly the bytes received (a trailing space included).
    r.timestamp_version = 2;
    c.site.publish_top(&r);
    let mut served = c.site.read_metadata("timestamp.json");
    served.push(b' ');
    c.site.put_metadata("timestamp.json", &served);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.stored("timestamp.json").unwrap(), served);

    // A different timestamp of the same version is dropped, and the trusted one kept
    // (5.4.3.1); the snapshot it names is not fetched.
    let files = r
        .sign_top_with(|role, signed| {
            if role == "timestamp" {
                signed["meta"]["snapshot.json"]["version"] = json!(100);
            }
        })
        .unwrap();
    for (name, bytes) in files.iter().filter(|(n, _)| n == "timestamp.json") {
        c.site.put_metadata(name, bytes);
    }
    c.requests();
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(
        c.requests(),
        ["metadata/2.root.json", "metadata/timestamp.json"]
    );
    assert_eq!(c.stored("timestamp.json").unwrap(), served);
}

#[test]
fn root_rotation_needs_the_old_and_the_new_keys_and_version_n_plus_1() {
    let mut r = repo(Utc::now());
    let k1 = key_copy(&r.root_keys.keys[0]);
    let c = Client::new(&r);
    // v2: the root key rotates, signed by the old key and the new.
    let k2 = ed_key();
    r.root_keys = RoleKeys {
        keys: vec![key_copy(&k2)],
        threshold: 1,
    };
    r.root_version = 2;
    publish_root(&c, &r, &[&k1, &k2]);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.version("root.json"), Some(2));
    assert_eq!(
        c.stored("root.json").unwrap(),
        c.site.read_metadata("2.root.json")
    );

    // v3 signed by its own new key only, not by v2's: refused, v2 stays trusted.
    let k3 = ed_key();
    r.root_keys = RoleKeys {
        keys: vec![key_copy(&k3)],
        threshold: 1,
    };
    r.root_version = 3;
    publish_root(&c, &r, &[&k3]);
    assert_eq!(c.refresh(&[]), 1);
    assert_eq!(c.version("root.json"), Some(2));

    // 3.root.json that says version 4, signed by both: not N+1, refused.
    r.root_version = 4;
    let doc = sign_metadata(&r.root_signed(), &[&k2, &k3]).unwrap();
    c.site.put_metadata("3.root.json", &to_bytes(&doc));
    assert_eq!(c.refresh(&[]), 1);
    assert_eq!(c.version("root.json"), Some(2));

    // v3 signed by both: trusted.
    r.root_version = 3;
    publish_root(&c, &r, &[&k2, &k3]);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.version("root.json"), Some(3));
}

#[test]
fn rollbacks_of_timestamp_snapshot_and_targets_are_refused() {
    let mut r = repo(Utc::now());
    r.timestamp_version = 2;
    r.snapshot_version = 2;
    r.targets_version = 2;
    let c = Client::new(&r);
    assert_eq!(c.refresh(&[]), 0);

    // A timestamp older than the trusted one (5.4.3.1).
    r.timestamp_version = 1;
    c.site.publish_top(&r);
    assert_eq!(c.refresh(&[]), 1);
    assert_eq!(c.version("timestamp.json"), Some(2));
    assert_eq!(
        c.requests().last().map(String::as_str),
        Some("metadata/timestamp.json")
    );

    // A timestamp that names an older snapshot (5.4.3.2).
    r.timestamp_version = 3;
    r.snapshot_version = 1;
    c.site.publish_top(&r);
    assert_eq!(c.refresh(&[]), 1);
    assert_eq!(c.version("timestamp.json"), Some(2));

    // A snapshot that lists an older targets (5.5.5).
    r.timestamp_version = 4;
    r.snapshot_version = 3;
    r.targets_version = 1;
    c.site.publish_top(&r);
    assert_eq!(c.refresh(&[]), 1);
    assert_eq!(c.version("snapshot.json"), Some(2));
    assert_eq!(c.version("targets.json"), Some(2));
}

#[test]
fn fast_forward_attacks_are_recovered_from_when_the_keys_rotate() {
    let mut r = repo(Utc::now());
    let root_key = key_copy(&r.root_keys.keys[0]);
    r.timestamp_version = 100;
    let c = Client::new(&r);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.version("timestamp.json"), Some(100));

    // The timestamp key is replaced (root v2) and the timestamp starts again at 1: the stored
    // v100 no longer verifies under the new root, so it holds nothing back (5.3.11).
    r.timestamp_keys = RoleKeys {
        keys: vec![ed_key()],
        threshold: 1,
    };
    r.root_version = 2;
    r.timestamp_version = 1;
    publish_root(&c, &r, &[&root_key]);
    c.site.publish_top(&r);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.version("root.json"), Some(2));
    assert_eq!(c.version("timestamp.json"), Some(1));
}

#[test]
fn expiry_is_judged_at_the_fixed_start_time() {
    let now = Utc::now();
    let mut r = repo(now);
    let root_key = key_copy(&r.root_keys.keys[0]);
    let c = Client::new(&r);
    let at = |d: i64| (now + Duration::days(d)).to_rfc3339();
    // The timestamp expires in 7 days: a refresh as of day 8 fails, and stores nothing.
    assert_eq!(c.refresh(&["--at", &at(8)]), 1);
    assert_eq!(c.files(), ["root.json"]);
    assert_eq!(c.refresh(&["--at", &at(1)]), 0);

    // An expired intermediate root does not matter (5.3.5); the final root's expiry does.
    r.root_version = 2;
    r.root_expires = now - Duration::days(1);
    publish_root(&c, &r, &[&root_key]);
    r.root_version = 3;
    r.root_expires = now + Duration::days(30);
    publish_root(&c, &r, &[&root_key]);
    assert_eq!(c.refresh(&[]), 0);
    assert_eq!(c.version("root.json"), Some(3));
    assert_eq!(c.refresh(&["--at", &at(31)]), 1);
}

#[test]
fn targets_are_checked_against_every_hash_listed() {
    let mut r = repo(Utc::now());
    r.add_target("b.txt", b"artifact b".to_vec());
    r.add_target("c.txt", b"artifact c".to_vec());
    r.add_target("d.txt", b"artifact d".to_vec());
    let c = Client::new(&r);
    // b.txt is listed with sha512 alone; c.txt with an algorithm nobody knows.
    let files = r
        .sign_top_with(|role, signed| {
            if role == "targets" {
                let b = &mut signed["targets"]["b.txt"]["hashes"];
                b.as_object_mut().unwrap().remove("sha256");
                signed["targets"]["c.txt"]["hashes"] = json!({"md4": "00"});
            }
        })
        .unwrap();
    for (name, bytes) in &files {
        c.site.put_metadata(name, bytes);
    }
    let b_sha512 = tufwatch::digest::sha512_hex(b"artifact b");
    std::fs::write(
        c.site.targets().join(format!("{b_sha512}.b.txt")),
        b"artifact b",
    )
    .unwrap();
    // d.txt is served with other bytes of the same length.
    let d_sha256 = tufwatch::digest::sha256_hex(b"artifact d");
    std::fs::write(
        c.site.targets().join(format!("{d_sha256}.d.txt")),
        b"artifact D",
    )
    .unwrap();

    assert_eq!(c.download(&["a.txt", "b.txt"]), 0);
    assert_eq!(std::fs::read(c.td.join("b.txt")).unwrap(), b"artifact b");
    let requests = c.requests();
    assert!(
        requests.contains(&format!("targets/{b_sha512}.b.txt")),
        "{requests:?}"
    );
    // Already there with its length and hashes: not fetched again.
    assert_eq!(c.download(&["a.txt"]), 0);
    assert!(!c.requests().iter().any(|p| p.starts_with("targets/")));
    assert_eq!(c.download(&["c.txt"]), 1);
    assert!(!c.td.join("c.txt").exists());
    assert_eq!(c.download(&["d.txt"]), 1);
    assert!(!c.td.join("d.txt").exists());
}

#[test]
fn delegations_are_searched_in_order_and_consistent_paths_are_dir_hash_name() {
    let now = Utc::now();
    let mut r = repo(now);
    r.delegations = vec![
        Delegation {
            paths: vec!["*.md".to_owned()],
            ..delegation(
                "A",
                "unused",
                1,
                now + Duration::days(14),
                &[("README.md", b"a readme")],
            )
        },
        Delegation {
            paths: vec!["releases/*/*".to_owned()],
            ..delegation(
                "B",
                "unused",
                1,
                now + Duration::days(14),
                &[("releases/x/y.zip", b"release y")],
            )
        },
    ];
    let c = Client::new(&r);
    // The spec's consistent-snapshot path of a target in a directory: dir/<hash>.<name>.
    let sha = tufwatch::digest::sha256_hex(b"release y");
    let dir = c.site.targets().join("releases/x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{sha}.y.zip")), b"release y").unwrap();

    // A refresh loads no delegated role.
    assert_eq!(c.refresh(&[]), 0);
    assert!(!c
        .requests()
        .iter()
        .any(|p| p.contains(".A.") || p.contains(".B.")));
    // releases/x/y.zip: only B is trusted for it (`*` does not match `/`).
    assert_eq!(c.download(&["releases/x/y.zip"]), 0);
    let requests = c.requests();
    assert!(
        requests.contains(&"metadata/1.B.json".to_owned()),
        "{requests:?}"
    );
    assert!(!requests.iter().any(|p| p.contains(".A.")), "{requests:?}");
    assert!(
        requests.contains(&format!("targets/releases/x/{sha}.y.zip")),
        "{requests:?}"
    );
    assert_eq!(
        std::fs::read(c.td.join("releases%2Fx%2Fy.zip")).unwrap(),
        b"release y"
    );
    // README.md is A's; a README.md in a directory is nobody's.
    assert_eq!(c.download(&["README.md"]), 0);
    assert_eq!(c.download(&["releases/README.md"]), 1);
    assert!(c.files().contains(&"A.json".to_owned()));

    // A terminating delegation that matches ends the search: B is never asked.
    let mut t = repo(now);
    t.delegations = vec![
        Delegation {
            paths: vec!["*".to_owned()],
            terminating: true,
            ..delegation("A", "unused", 1, now + Duration::days(14), &[])
        },
        Delegation {
            paths: vec!["*".to_owned()],
            ..delegation("B", "unused", 1, now + Duration::days(14), &[("x", b"x")])
        },
    ];
    let c = Client::new(&t);
    assert_eq!(c.download(&["x"]), 1);
    let requests = c.requests();
    assert!(
        requests.contains(&"metadata/1.A.json".to_owned()),
        "{requests:?}"
    );
    assert!(!requests.iter().any(|p| p.contains(".B.")), "{requests:?}");
}

#[test]
fn a_delegation_graph_is_walked_in_pre_order_each_role_once() {
    // targets -> A, B; A -> C; C -> A (a cycle). The target is B's: the search visits A, C (A
    // again is skipped), then B.
    let now = Utc::now();
    let mut r = repo(now);
    let later = now + Duration::days(14);
    r.delegations = vec![
        Delegation {
            paths: vec!["*".to_owned()],
            ..delegation("A", "unused", 1, later, &[])
        },
        Delegation {
            paths: vec!["*".to_owned()],
            ..delegation("B", "unused", 1, later, &[("x", b"from B")])
        },
        Delegation {
            paths: vec!["*".to_owned()],
            ..delegation("C", "unused", 1, later, &[])
        },
    ];
    let entry = |d: &Delegation| {
        let k = &d.keys.keys[0];
        (
            json!({ k.keyid(): k.public() }),
            json!([{"name": d.name, "keyids": [k.keyid()], "threshold": 1, "paths": ["*"], "terminating": false}]),
        )
    };
    let (a_keys, a_roles) = entry(&r.delegations[0]);
    let (c_keys, c_roles) = entry(&r.delegations[2]);
    let files = r
        .sign_top_with(|role, signed| match role {
            // C is A's, not the top-level targets'.
            "targets" => {
                let roles = signed["delegations"]["roles"].as_array_mut().unwrap();
                roles.retain(|x| x["name"] != "C");
            }
            "A" => signed["delegations"] = json!({"keys": c_keys, "roles": c_roles}),
            "C" => signed["delegations"] = json!({"keys": a_keys, "roles": a_roles}),
            _ => {}
        })
        .unwrap();
    let c = Client::new(&r);
    for (name, bytes) in &files {
        c.site.put_metadata(name, bytes);
    }
    assert_eq!(c.download(&["x"]), 0);
    let delegated: Vec<String> = c
        .requests()
        .into_iter()
        .filter(|p| [".A.", ".B.", ".C."].iter().any(|d| p.contains(d)))
        .collect();
    assert_eq!(
        delegated,
        [
            "metadata/1.A.json",
            "metadata/1.C.json",
            "metadata/1.B.json"
        ]
    );
    assert_eq!(std::fs::read(c.td.join("x")).unwrap(), b"from B");
}
