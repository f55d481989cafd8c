//! The trust bootstrap for Bottlerocket: `verify --variant` starts from the root embedded in
//! tufwatch (or the newer root a previous run verified from it) and walks `N+1.root.json` in the
//! variant's repository, as Bottlerocket's live repositories serve them (every version, 403 for
//! the next one and for an unversioned `root.json`); `root fetch` keeps the published root only
//! when it is a documented value or a root of that chain.

use crate::common::*;
use chrono::{Duration, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tufwatch::testkit::{sign_metadata, to_bytes, Repo, RoleKeys, SigningKey};

const VARIANT_DIR: &str = "2020-07-07/aws-k8s-1.31/x86_64";

fn fetch(site: &Site, args: &[&str]) -> std::process::Output {
    tufwatch(site.path())
        .args(["root", "fetch"])
        .args(args)
        .output()
        .unwrap()
}

fn real_roots() -> PathBuf {
    project().join("fixtures/bottlerocket/roots")
}

/// `verify --variant aws-k8s-1.31 --arch x86_64 --format json` below `repo_base`, with `extra`.
fn verify_variant(site: &Site, repo_base: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = tufwatch(site.path())
        .args(["verify", "--variant", "aws-k8s-1.31", "--arch", "x86_64"])
        .args(["--repo-base", repo_base, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code().unwrap(), report, stderr)
}

fn chain_of(report: &Value) -> Vec<u64> {
    report["root_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// A mirror with Bottlerocket's real roots as `N.root.json` in one variant's directory.
fn real_mirror(site: &Site, versions: &[u64]) -> PathBuf {
    let mirror = site.path().join("mirror");
    let dir = mirror.join(VARIANT_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    for v in versions {
        let name = format!("{v}.root.json");
        std::fs::copy(real_roots().join(&name), dir.join(&name)).unwrap();
    }
    mirror
}

#[test]
fn the_real_rotation_from_root_1_to_root_2_is_walked_by_both_engines() {
    let site = Site::new();
    let mirror = real_mirror(&site, &[1, 2]);
    let server = Server::like_s3(&mirror);
    let one = real_roots().join("1.root.json");
    for engine in ["both", "strict", "tough"] {
        let (code, r, err) = verify_variant(
            &site,
            &server.url(""),
            &[
                "--root",
                one.to_str().unwrap(),
                "--engine",
                engine,
                "--no-state",
                "--at",
                "2021-01-01T00:00:00Z",
            ],
        );
        // The chain holds; the mirror has no timestamp (403), so the run ends there.
        assert_eq!(code, 1, "{engine}: {err}");
        assert_eq!(chain_of(&r), [1, 2], "{engine}");
        let root = role(&r, "root");
        assert_eq!(root["version"], 2);
        assert_eq!(root["verdict"], "ok", "{engine}: {root}");
        assert_eq!(root["rotation_signatures"]["keys_from"], "root v1");
        assert!(
            root["rotation_signatures"]["valid_keyids"]
                .as_array()
                .unwrap()
                .len()
                >= 2
        );
        assert!(
            findings(&r).contains(&"not_found:timestamp".to_owned()),
            "{engine}: {r}"
        );
    }
    let asked = server.requests();
    assert!(
        asked.contains(&format!("/{VARIANT_DIR}/3.root.json")),
        "{asked:?}"
    );
}

#[test]
fn a_fresh_install_starts_from_the_embedded_root_and_downloads_no_anchor() {
    let site = Site::new();
    let mirror = real_mirror(&site, &[1, 2]);
    let server = Server::like_s3(&mirror);
    let (code, r, err) = verify_variant(
        &site,
        &server.url(""),
        &["--no-state", "--at", "2021-01-01T00:00:00Z"],
    );
    assert_eq!(code, 1, "{err}");
    let anchor = &r["trusted_root"];
    assert_eq!(anchor["version"], 2);
    assert!(
        anchor["pinned_by"]
            .as_str()
            .unwrap()
            .contains("embedded in tufwatch"),
        "{anchor}"
    );
    assert_eq!(anchor["sha512"], "90393204232a1ad6b0a45528b1f7df1a3e37493b1e05b1c149f081849a292c8dafb4ea5f7ee17bcc664e35f66e37e4cfa4aae9de7a2a28aa31ae6ac3d9bea4d5");
    assert_eq!(chain_of(&r), [2]);
    // The walk asks the variant's repository for root 3 and nothing for the anchor itself.
    let asked = server.requests();
    assert!(
        asked.contains(&format!("/{VARIANT_DIR}/3.root.json")),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|p| p.ends_with("/root.json")),
        "{asked:?}"
    );
    // Nothing was kept where `root fetch` keeps roots.
    assert!(!site.path().join("data/tufwatch/trusted-roots").exists());

    // --root-sha512 checks a --root file; alone it is an error, not a silent no-op.
    let out = tufwatch(site.path())
        .args(["verify", "--variant", "aws-k8s-1.31", "--arch", "x86_64"])
        .args(["--root-sha512", &"ab".repeat(64)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root"));
}

/// Bottlerocket's layout, generated: roots 1..=`last` in one variant's directory as
/// `N.root.json` only (no `root.json`), RSA-3072 keys, root 2 of 3, every rotation to another
/// set of root keys signed by two old and two new; timestamp, snapshot and targets signed by the
/// last root's keys.
struct Chain {
    pool: Vec<SigningKey>,
    mirror: PathBuf,
    now: chrono::DateTime<Utc>,
}

impl Chain {
    fn new(site: &Site) -> Self {
        let mut pool: Vec<SigningKey> = ["root-1", "root-2", "root-3", "root-4"]
            .into_iter()
            .map(demo_key)
            .collect();
        pool.push(SigningKey::generate_rsa3072().unwrap());
        Chain {
            pool,
            mirror: site.path().join("mirror"),
            now: Utc::now(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.mirror.join(VARIANT_DIR)
    }

    /// The root keys of version `v`: three of the pool, one further along at each version.
    fn root_keys(&self, v: u64) -> RoleKeys {
        let n = self.pool.len();
        RoleKeys {
            keys: (0..3)
                .map(|i| self.pool[(v as usize - 1 + i) % n].try_clone().unwrap())
                .collect(),
            threshold: 2,
        }
    }

    fn repo(&self, v: u64) -> Repo {
        let mut repo = Repo::new(
            self.root_keys(v),
            demo_key("timestamp"),
            demo_key("snapshot"),
            demo_key("targets"),
            self.now,
        );
        repo.root_version = v;
        repo.root_expires = self.now + Duration::days(365);
        repo.add_target(
            "manifest.json",
            br#"{"updates": [], "migrations": {}}"#.to_vec(),
        );
        repo
    }

    /// `v.root.json`, signed by a threshold of version v-1's root keys and of its own.
    fn root_bytes(&self, v: u64) -> Vec<u8> {
        let repo = self.repo(v);
        let mut signers: Vec<&SigningKey> = repo.root_keys.keys.iter().take(2).collect();
        let old = (v > 1).then(|| self.root_keys(v - 1));
        if let Some(old) = &old {
            for k in old.keys.iter().take(2) {
                if !signers.iter().any(|s| s.keyid() == k.keyid()) {
                    signers.push(k);
                }
            }
        }
        to_bytes(&sign_metadata(&repo.root_signed(), &signers).unwrap())
    }

    /// Publish roots `from..=to` and the top-level roles under root `to`.
    fn publish(&self, from: u64, to: u64, top_version: u64) {
        self.publish_with(from, to, top_version, |_| {});
    }

    /// [`Chain::publish`], with `edit` applied to the repository before its roles are signed.
    fn publish_with(&self, from: u64, to: u64, top_version: u64, edit: impl Fn(&mut Repo)) {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).unwrap();
        for v in from..=to {
            std::fs::write(dir.join(format!("{v}.root.json")), self.root_bytes(v)).unwrap();
        }
        let mut repo = self.repo(to);
        edit(&mut repo);
        repo.timestamp_version = top_version;
        repo.snapshot_version = top_version;
        repo.targets_version = top_version;
        for (name, bytes) in repo.sign_top().unwrap() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        repo.write_targets(&self.mirror.join("targets")).unwrap();
    }

    /// The published `v.root.json` (signing again would give other bytes: RSA-PSS signatures
    /// are randomized).
    fn published(&self, v: u64) -> Vec<u8> {
        std::fs::read(self.dir().join(format!("{v}.root.json"))).unwrap()
    }

    fn anchor(&self, site: &Site) -> PathBuf {
        let path = site.path().join("test-anchor.json");
        std::fs::write(&path, self.published(1)).unwrap();
        path
    }
}

fn versions_asked(server: &Server) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|p| p.ends_with(".root.json") || p.ends_with("/root.json"))
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect()
}

#[test]
fn eight_rotations_then_next_years_rotation_with_no_pin_or_code_change() {
    let site = Site::new();
    let chain = Chain::new(&site);
    chain.publish(1, 9, 1);
    let anchor = chain.anchor(&site);
    let server = Server::like_s3(&chain.mirror);
    let base = server.url("");
    let args = ["--root", anchor.to_str().unwrap(), "--all-targets"];

    // A fresh install: from the anchor through eight rotations, with the default state.
    let (code, r, err) = verify_variant(&site, &base, &args);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(chain_of(&r), (1..=9).collect::<Vec<_>>());
    assert_eq!(r["state"]["updated"], true);
    assert!(
        r["state"]["dir"]
            .as_str()
            .unwrap()
            .starts_with(site.path().join("state/tufwatch/state").to_str().unwrap()),
        "the state is kept under $XDG_STATE_HOME: {}",
        r["state"]["dir"]
    );
    let asked = versions_asked(&server);
    assert!(asked.contains(&"10.root.json".to_owned()), "{asked:?}");
    assert!(!asked.contains(&"root.json".to_owned()), "{asked:?}");

    // Next year: root 10 appears, with the top-level roles re-signed under it.
    server.log.lock().unwrap().clear();
    chain.publish(10, 10, 2);
    let (code, r, err) = verify_variant(&site, &base, &args);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(r["state"]["started_from_root"], 9);
    assert_eq!(chain_of(&r), [9, 10]);
    assert_eq!(r["roles"][0]["version"], 10);
    // Only the new root and the probe for the one after it: the old chain is not walked again.
    assert_eq!(versions_asked(&server), ["10.root.json", "11.root.json"]);

    // A forged root 11, signed by a threshold of its own keys but by only one of root 10's
    // (an attacker who holds one old root key and makes new ones), is refused, and the trusted
    // state stays at 10.
    let forged = {
        let repo = chain.repo(11);
        let old: Vec<String> = chain
            .root_keys(10)
            .keys
            .iter()
            .map(|k| k.keyid().to_owned())
            .collect();
        let (kept, new): (Vec<&SigningKey>, Vec<&SigningKey>) = repo
            .root_keys
            .keys
            .iter()
            .partition(|k| old.contains(&k.keyid().to_owned()));
        assert!(!kept.is_empty() && !new.is_empty());
        let signers = vec![kept[0], new[0]];
        to_bytes(&sign_metadata(&repo.root_signed(), &signers).unwrap())
    };
    std::fs::write(chain.dir().join("11.root.json"), forged).unwrap();
    let (code, r, _) = verify_variant(&site, &base, &args);
    assert_eq!(code, 1, "{r}");
    assert!(findings(&r).iter().any(|f| f.ends_with(":root")), "{r}");
    assert_eq!(r["state"]["updated"], false);
    assert_eq!(r["state"]["previous"]["root"], 10);
}

#[test]
fn what_tough_cannot_do_fails_bottlerocket_layout_and_is_a_warning_elsewhere() {
    let site = Site::new();
    let chain = Chain::new(&site);
    // A target in a directory: tough asks for `<sha256>.dir/file`, the repository (as the
    // specification says) has `dir/<sha256>.file`.
    chain.publish_with(1, 2, 1, |repo| {
        repo.add_target("dir/file.txt", b"in a directory".to_vec())
    });
    let anchor = chain.anchor(&site);
    let server = Server::like_s3(&chain.mirror);
    let root = [
        "--root",
        anchor.to_str().unwrap(),
        "--no-state",
        "--all-targets",
    ];

    // Bottlerocket's layout: hosts run tough, so this is an error.
    let (code, r, err) = verify_variant(&site, &server.url(""), &root);
    assert_eq!(code, 1, "{err}");
    let f = &r["findings"].as_array().unwrap()[0];
    assert_eq!(
        (f["code"].as_str(), f["severity"].as_str()),
        (Some("tough_incompatible"), Some("error")),
        "{r:#}"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("dir/file.txt") && message.contains("Bottlerocket's updater"),
        "{message}"
    );

    // The same repository at plain URLs: the specification's verdict, with a warning; the
    // target is fetched where the specification puts it, and checked.
    let out = tufwatch(site.path())
        .args(["verify", "--format", "json"])
        .args(root)
        .args(["--metadata-url", &server.url(VARIANT_DIR)])
        .args(["--targets-url", &server.url("targets")])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(findings(&r), ["tough_incompatible:-"]);
    assert_eq!(r["findings"][0]["severity"], "warning");
    let fetched = server.requests();
    assert!(
        fetched
            .iter()
            .any(|p| p.starts_with("/targets/dir/") && p.ends_with(".file.txt")),
        "{fetched:?}"
    );
}

#[test]
fn the_published_root_is_kept_when_pinned_or_on_the_chain_and_refused_otherwise() {
    let site = Site::new();
    let chain = Chain::new(&site);
    chain.publish(1, 9, 1);
    let anchor = chain.anchor(&site);
    // The CDN's copy of the newest root, as cache.bottlerocket.aws serves it.
    let cache = chain.mirror.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("root.json"), chain.published(9)).unwrap();
    std::fs::write(cache.join("old.json"), chain.published(4)).unwrap();
    let mut tampered = chain.published(9);
    let at = tampered.len() - 3;
    tampered.insert(at, b' ');
    std::fs::write(cache.join("tampered.json"), tampered).unwrap();
    std::fs::write(
        cache.join("2.root.json"),
        std::fs::read(real_roots().join("2.root.json")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        cache.join("1.root.json"),
        std::fs::read(real_roots().join("1.root.json")).unwrap(),
    )
    .unwrap();
    let server = Server::like_s3(&chain.mirror);
    let base = server.url("");
    let kept = site.path().join("kept.json");
    let run = |file: &str, extra: &[&str]| {
        let _ = std::fs::remove_file(&kept);
        let url = server.url(&format!("cache/{file}"));
        let mut args = vec!["--url", &url, "--out", kept.to_str().unwrap()];
        args.extend_from_slice(extra);
        if !extra.contains(&"--repo-base") {
            args.extend(["--repo-base", &base]);
        }
        let out = fetch(&site, &args);
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let with_anchor = ["--root", anchor.to_str().unwrap()];

    // On the chain walked from the anchor: kept, and the output says which root it is.
    let (code, text) = run("root.json", &with_anchor);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("byte for byte root v9 of the chain walked from root v1"),
        "{text}"
    );
    assert_eq!(std::fs::read(&kept).unwrap(), chain.published(9));
    let (code, text) = run("old.json", &with_anchor);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("root v4") && text.contains("ends at v9"),
        "{text}"
    );

    // Neither pinned nor on the chain: refused, nothing written, and the message says what
    // to check and which command accepts a newly documented value.
    let (code, text) = run("tampered.json", &with_anchor);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("untrusted_root") && text.contains("root fetch --sha512"),
        "{text}"
    );
    assert!(!kept.exists());

    // Bottlerocket's real root 2 matches the value documented in 2020-09, with no walk.
    let (code, text) = run("2.root.json", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("documented on 2020-09-24 for root v2"),
        "{text}"
    );
    // Root 1 was never documented, and the chain from the embedded root 2 cannot reach back
    // to it: refused.
    let real = chain.mirror.join("real").join(VARIANT_DIR);
    std::fs::create_dir_all(&real).unwrap();
    std::fs::copy(real_roots().join("2.root.json"), real.join("2.root.json")).unwrap();
    let real_base = server.url("real");
    let (code, text) = run("1.root.json", &["--repo-base", &real_base]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("untrusted_root") && text.contains("embedded in tufwatch"),
        "{text}"
    );
    assert!(!kept.exists());

    // A user-given value is the only one accepted when given.
    let (code, _) = run("2.root.json", &["--sha512", &"0".repeat(128)]);
    assert_eq!(code, 1);
    assert!(!kept.exists());
    // A file the server does not have: could not run, naming it.
    let (code, text) = run("missing.json", &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("missing.json"), "{text}");
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
    assert!(text.contains("embedded anchor: trusted-roots/bottlerocket/2.root.json (root v2"));
    for v in 2..=8 {
        assert!(text.contains(&format!("root v{v} documented")), "{text}");
    }
    assert!(text.contains("33eb2f01738391907a9380f74b6b2a84fada845b0474d3a30c5756f49067690e520c1d7a531a3e9d1877d3a2f05ec21d9093a8f7307e3fe5b61aa4584472dc9a"));
}

#[test]
fn a_local_root_file_can_be_checked_against_the_pins() {
    let site = Site::new();
    let two = real_roots().join("2.root.json");
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

#[test]
fn state_under_the_cache_directory_moves_to_the_state_directory_once() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let old = site.path().join("cache/tufwatch/state");
    let run = || {
        tufwatch(site.path())
            .args(["verify", "--format", "json", "--root"])
            .arg(site.anchor())
            .args(["--metadata-url", site.metadata().to_str().unwrap()])
            .args(["--targets-url", site.targets().to_str().unwrap()])
            .output()
            .unwrap()
    };
    // A state kept where earlier versions kept it.
    let out = tufwatch(site.path())
        .args(["verify", "--format", "json", "--root"])
        .arg(site.anchor())
        .args(["--metadata-url", site.metadata().to_str().unwrap()])
        .args(["--targets-url", site.targets().to_str().unwrap()])
        .arg("--state-dir")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("moved the saved state"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The moved state served this run: it has a previous state.
    assert!(r["state"]["previous"]["root"].as_u64().is_some(), "{r}");
    assert!(!old.exists());
    assert!(Path::new(&site.path().join("state/tufwatch/state")).is_dir());
    // Once only.
    let out = run();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("moved"));
}
