//! `tufwatch evidence`: bundles made and checked again offline; every kind of tampering named;
//! bundles of failed verifications; bundles that outlive their metadata; byte-identical bundles
//! from the same inputs; the statement's fields against in-toto Statement v1 and SLSA VSA v1.

use crate::common::*;
use chrono::{Duration, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The public URL the tests' local copies are declared to be copies of: a statement names a
/// repository by it, never by this machine's path.
pub const RESOURCE: &str = "https://updates.example.com/site/metadata/";

/// `evidence create` of the site's repository (plain directories) into `out`, named
/// [`RESOURCE`].
pub(crate) fn create(site: &Site, out: &Path, extra: &[&str]) -> std::process::Output {
    tufwatch(site.path())
        .args(["evidence", "create", "--no-state", "--out"])
        .arg(out)
        .arg("--root")
        .arg(site.anchor())
        .arg("--metadata-url")
        .arg(site.metadata())
        .arg("--targets-url")
        .arg(site.targets())
        .args(["--resource-uri", RESOURCE])
        .args(extra)
        .output()
        .unwrap()
}

/// `evidence verify --format json`; returns (exit code, check).
fn check(site: &Site, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out = tufwatch(site.path())
        .args(["evidence", "verify", "--format", "json"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

pub(crate) fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["code"].as_str().unwrap(),
                f["target"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

/// The fields of a bundle that say when its verification ran (the statement's `timeVerified`,
/// the reports' `started_at` and `finished_at`): what two runs of the same inputs differ in.
const WHEN_VERIFIED: [&str; 3] = ["timeVerified", "started_at", "finished_at"];

/// A JSON value without the fields that say when the verification ran.
fn without_when(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            for key in WHEN_VERIFIED {
                map.remove(key);
            }
            for (_, x) in map.iter_mut() {
                *x = without_when(x.take());
            }
        }
        Value::Array(items) => {
            for x in items.iter_mut() {
                *x = without_when(x.take());
            }
        }
        _ => {}
    }
    v
}

/// Two bundles hold the same files, byte for byte but for when each verification ran (and so
/// `SHA256SUMS`, which names their digests). Returns the files that differ.
fn assert_same_but_when(a: &Path, b: &Path) -> Vec<String> {
    assert_eq!(files(a), files(b));
    let mut differ = Vec::new();
    for f in files(a).into_iter().filter(|f| f != "SHA256SUMS") {
        let (x, y) = (
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
        );
        if x == y {
            continue;
        }
        let json = |bytes: &[u8]| without_when(serde_json::from_slice(bytes).unwrap());
        assert_eq!(json(&x), json(&y), "{f}: not only when it was verified");
        differ.push(f);
    }
    differ
}

/// A bundle of a good repository; returns the site and the bundle's directory.
fn good_bundle() -> (Site, PathBuf) {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let out = site.path().join("bundle");
    let o = create(&site, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (site, out)
}

#[test]
fn a_bundle_holds_what_was_verified_and_checks_again() {
    let (site, out) = good_bundle();
    assert_eq!(
        files(&out),
        [
            "SHA256SUMS",
            "metadata/1.snapshot.json",
            "metadata/1.targets.json",
            "metadata/timestamp.json",
            "releases.json",
            "report.json",
            "statement.json",
            "targets/manifest.json",
            "trusted-root.json"
        ]
    );
    // Exactly the bytes received.
    assert_eq!(
        std::fs::read(out.join("metadata/timestamp.json")).unwrap(),
        site.read_metadata("timestamp.json")
    );
    assert_eq!(
        std::fs::read(out.join("trusted-root.json")).unwrap(),
        std::fs::read(site.anchor()).unwrap()
    );
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["recorded_result"], "PASSED");
    assert_eq!(v["reverified"], "pass");
    assert_eq!(v["files"], 8);
    // sha256sum -c would agree: the format is `<hex>  <path>`.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (hex, path) = line.split_once("  ").unwrap();
        assert_eq!(
            hex,
            tufwatch::digest::sha256_hex(&std::fs::read(out.join(path)).unwrap())
        );
    }
}

#[test]
fn the_statement_is_an_in_toto_statement_with_a_slsa_vsa() {
    let (site, out) = good_bundle();
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("statement.json")).unwrap()).unwrap();
    // in-toto attestation framework, spec/v1/statement.md: _type, subject (name, digest),
    // predicateType, predicate.
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        s["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    let subjects = s["subject"].as_array().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["name"], "manifest.json");
    let manifest = site.targets().read_dir().unwrap().find_map(|e| {
        let p = e.unwrap().path();
        p.to_string_lossy()
            .ends_with(".manifest.json")
            .then(|| std::fs::read(p).unwrap())
    });
    assert_eq!(
        subjects[0]["digest"]["sha256"],
        tufwatch::digest::sha256_hex(&manifest.unwrap())
    );
    assert!(subjects[0]["digest"]["sha512"].is_string());
    // SLSA v1.0 Verification Summary: verifier.id, timeVerified, resourceUri, policy,
    // verificationResult, verifiedLevels (custom values may not start with SLSA_), slsaVersion.
    let p = &s["predicate"];
    assert!(p["verifier"]["id"].as_str().unwrap().contains(':'));
    assert_eq!(
        p["verifier"]["version"]["tufwatch"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(p["verifier"]["id"], "urn:tufwatch:tuf-verifier");
    // timeVerified is when the verification ran; the reference time it judged expiry at is
    // the policy's annotation (the same moment here: no --at).
    let verified: chrono::DateTime<Utc> = p["timeVerified"].as_str().unwrap().parse().unwrap();
    assert!(Utc::now() - verified < Duration::minutes(5), "{verified}");
    let reference = &p["policy"]["annotations"]["referenceTime"];
    assert!(reference
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .is_ok());
    // The repository by the public URL declared, the anchor by digest (RFC 6920): the same on
    // any machine; this machine's paths are the report's.
    assert_eq!(p["resourceUri"], RESOURCE);
    let anchor = std::fs::read(site.anchor()).unwrap();
    assert_eq!(
        p["policy"]["digest"]["sha512"],
        tufwatch::digest::sha512_hex(&anchor)
    );
    assert_eq!(
        p["policy"]["uri"],
        tufwatch::evidence::ni_uri(&tufwatch::digest::sha256(&anchor)).as_str()
    );
    assert!(p["policy"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("ni:///sha-256;"));
    assert_eq!(p["policy"]["annotations"]["tufRootVersion"], 1);
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(r["repository"]["metadata_url"]
        .as_str()
        .unwrap()
        .starts_with("file://"));
    assert_eq!(r["repository"]["resource_uri"], RESOURCE);
    assert_eq!(
        &r["reference_time"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        reference.as_str().unwrap()
    );
    let started: chrono::DateTime<Utc> = r["started_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(started, verified);
    assert_eq!(p["verificationResult"], "PASSED");
    let levels = p["verifiedLevels"].as_array().unwrap();
    assert_eq!(levels.len(), 1);
    assert!(!levels[0].as_str().unwrap().starts_with("SLSA_"));
    assert_eq!(p["slsaVersion"], "1.0");
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_type", "predicate", "predicateType", "subject"]);
}

#[test]
fn every_kind_of_tampering_is_named() {
    let (site, out) = good_bundle();
    let copy = |name: &str| {
        let dir = site.path().join(name);
        for f in files(&out) {
            std::fs::create_dir_all(dir.join(&f).parent().unwrap()).unwrap();
            std::fs::copy(out.join(&f), dir.join(&f)).unwrap();
        }
        dir
    };
    for (name, tamper, resummed, expected) in TAMPERINGS {
        let d = copy(name);
        tamper(&d);
        if *resummed {
            resum(&d);
        }
        let (code, v) = check(&site, &d, &[]);
        assert_eq!(code, 1, "{name}: {v:#}");
        let found = codes(&v);
        for e in *expected {
            assert!(found.contains(&(*e).to_owned()), "{name}: {e}: {v:#}");
        }
    }
}

/// Replace the first `from` in a file with `to`.
fn flip(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A tampering with a repository's bundle: its name, what it does, whether the sums are
/// recomputed after it, and the findings that must catch it.
type Tampering = (&'static str, fn(&Path), bool, &'static [&'static str]);

const TAMPERINGS: &[Tampering] = &[
    (
        "a metadata byte",
        |d| {
            flip(
                &d.join("metadata/timestamp.json"),
                "\"version\"",
                "\"versioN\"",
            )
        },
        false,
        &["evidence_altered:metadata/timestamp.json"],
    ),
    (
        "a report field",
        |d| {
            flip(
                &d.join("report.json"),
                "\"verdict\": \"pass\"",
                "\"verdict\": \"fail\"",
            )
        },
        false,
        &["evidence_altered:report.json"],
    ),
    (
        "the statement",
        |d| flip(&d.join("statement.json"), "PASSED", "FAILED"),
        false,
        &["evidence_altered:statement.json"],
    ),
    (
        "a sum",
        |d| {
            let sums = std::fs::read_to_string(d.join("SHA256SUMS")).unwrap();
            let line = sums
                .lines()
                .find(|l| l.ends_with("  trusted-root.json"))
                .unwrap();
            let bad = format!("{}{}", "0".repeat(64), &line[64..]);
            std::fs::write(d.join("SHA256SUMS"), sums.replace(line, &bad)).unwrap();
        },
        false,
        &["evidence_altered:trusted-root.json"],
    ),
    (
        "a file added, a file removed",
        |d| {
            std::fs::write(d.join("metadata/2.root.json"), b"{}").unwrap();
            std::fs::remove_file(d.join("metadata/1.snapshot.json")).unwrap();
        },
        false,
        &[
            "evidence_extra:metadata/2.root.json",
            "evidence_missing:metadata/1.snapshot.json",
        ],
    ),
    // Someone who recomputes the sums is still caught by the files disagreeing.
    (
        "the statement, sums recomputed",
        |d| {
            flip(&d.join("statement.json"), "PASSED", "FAILED");
            flip(&d.join("statement.json"), "TUF_METADATA_VERIFIED", "FAILED");
        },
        true,
        &["evidence_inconsistent:statement.json"],
    ),
    (
        "metadata, sums recomputed",
        |d| {
            flip(
                &d.join("metadata/1.targets.json"),
                "\"version\"",
                "\"versioN\"",
            )
        },
        true,
        &["evidence_inconsistent:metadata"],
    ),
];

#[test]
fn the_anchor_must_be_the_one_the_policy_names() {
    let (site, out) = good_bundle();
    // The auditor demands another anchor.
    let (code, v) = check(&site, &out, &["--root-sha512", &"ab".repeat(64)]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"untrusted_root:trusted-root.json".to_owned()),
        "{v:#}"
    );
    // Another root in the bundle, sums recomputed: the statement's policy does not name it.
    let other = Site::new();
    other.publish_with_anchor(&demo_repo(Utc::now() + Duration::days(1)));
    std::fs::copy(other.anchor(), out.join("trusted-root.json")).unwrap();
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let fixed: String = sums
        .lines()
        .map(|l| {
            if l.ends_with("  trusted-root.json") {
                format!(
                    "{}  trusted-root.json\n",
                    tufwatch::digest::sha256_hex(
                        &std::fs::read(out.join("trusted-root.json")).unwrap()
                    )
                )
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(out.join("SHA256SUMS"), fixed).unwrap();
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_inconsistent:trusted-root.json".to_owned()),
        "{v:#}"
    );
}

#[test]
fn a_failed_verification_makes_a_bundle_too() {
    let site = Site::new();
    // Published ten days ago: the timestamp (one week) has expired.
    site.publish_with_anchor(&demo_repo(Utc::now() - Duration::days(10)));
    let out = site.path().join("bundle");
    let o = create(&site, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("verification FAILED"));
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("statement.json")).unwrap()).unwrap();
    assert_eq!(s["predicate"]["verificationResult"], "FAILED");
    assert_eq!(
        s["predicate"]["verifiedLevels"],
        serde_json::json!(["FAILED"])
    );
    // No target was verified: the subjects are the metadata received.
    assert!(s["subject"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["name"].as_str().unwrap().starts_with("metadata/")));
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "expired"));
    // The bundle is intact, and its FAILED result reproduces.
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["recorded_result"], "FAILED");
    assert_eq!(v["reverified"], "fail");
}

#[test]
fn a_bundle_made_at_a_past_time_verifies_after_its_metadata_expired() {
    let site = Site::new();
    let published = Utc::now() - Duration::days(10);
    site.publish_with_anchor(&demo_repo(published));
    let at = (published + Duration::days(1)).to_rfc3339();
    let out = site.path().join("bundle");
    let o = create(&site, &out, &["--at", &at]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Today the timestamp is expired; at the recorded time it was not.
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["reverified"], "pass");
}

#[test]
fn the_same_inputs_at_the_same_time_differ_only_in_when_they_were_verified() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let at = Utc::now().to_rfc3339();
    let (a, b) = (site.path().join("a"), site.path().join("b"));
    assert_eq!(create(&site, &a, &["--at", &at]).status.code(), Some(0));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(create(&site, &b, &["--at", &at]).status.code(), Some(0));
    assert_eq!(
        assert_same_but_when(&a, &b),
        ["report.json", "statement.json"]
    );
    // An audit of the past says when it ran, and the past moment it judged at, apart.
    let s: Value =
        serde_json::from_slice(&std::fs::read(b.join("statement.json")).unwrap()).unwrap();
    let p = &s["predicate"];
    let reference: chrono::DateTime<Utc> = p["policy"]["annotations"]["referenceTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let verified: chrono::DateTime<Utc> = p["timeVerified"].as_str().unwrap().parse().unwrap();
    assert_eq!(reference, at.parse::<chrono::DateTime<Utc>>().unwrap());
    assert!(
        verified - reference >= Duration::seconds(1),
        "{verified} {reference}"
    );
}

#[test]
fn a_local_copy_is_named_by_the_public_url_given_or_refused() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let out = site.path().join("bundle");
    for (given, named) in [
        (None, "--resource-uri"),
        (Some("not a uri"), "--resource-uri"),
        (Some("https://x.example/m"), ""),
    ] {
        let mut cmd = tufwatch(site.path());
        cmd.args(["evidence", "create", "--no-state", "--out"])
            .arg(&out)
            .arg("--root")
            .arg(site.anchor())
            .arg("--metadata-url")
            .arg(site.metadata())
            .arg("--targets-url")
            .arg(site.targets());
        if let Some(uri) = given {
            cmd.args(["--resource-uri", uri]);
        }
        let o = cmd.output().unwrap();
        if named.is_empty() {
            assert_eq!(o.status.code(), Some(0), "{o:?}");
            let s: Value =
                serde_json::from_slice(&std::fs::read(out.join("statement.json")).unwrap())
                    .unwrap();
            assert_eq!(s["predicate"]["resourceUri"], "https://x.example/m");
        } else {
            // Refused before anything is verified or written.
            assert_eq!(o.status.code(), Some(2), "{given:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(named), "{err}");
            assert!(!out.exists());
        }
    }
    // A job's local copy without one is refused too, naming the key to set.
    let config = site.path().join("job.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = {:?}\nno_state = true\n[[repository]]\nname = \"copy\"\nmetadata_url = {:?}\ntargets_url = {:?}\n",
            site.anchor(),
            site.metadata(),
            site.targets()
        ),
    )
    .unwrap();
    let o = tufwatch(site.path())
        .args(["evidence", "create", "--out"])
        .arg(site.path().join("job-bundle"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("repository[0].resource_uri"), "{err}");
    assert!(!site.path().join("job-bundle").exists());
}

#[test]
fn checking_needs_no_network_and_creating_refuses_a_used_directory() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let server = Server::start(site.path());
    let out = site.path().join("bundle");
    let o = tufwatch(site.path())
        .args(["evidence", "create", "--no-state", "--out"])
        .arg(&out)
        .arg("--root")
        .arg(site.anchor())
        .args(["--metadata-url", &server.url("repo/metadata/")])
        .args(["--targets-url", &server.url("repo/targets/")])
        .output()
        .unwrap();
    // An http(s) metadata URL names the repository itself.
    let s: Value = serde_json::from_slice(&std::fs::read(out.join("statement.json")).unwrap())
        .unwrap_or(Value::Null);
    assert_eq!(
        s["predicate"]["resourceUri"],
        server.url("repo/metadata/").as_str()
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let served = server.requests().len();
    assert!(served >= 3);
    // The recorded metadata URL is never asked: the check reads the bundle alone.
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        server.requests().len(),
        served,
        "no request during the check"
    );
    // And with the server gone (its port closed), the check is the same.
    drop(server);
    let (code, again) = check(&site, &out, &[]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["reverified"], "pass");
    // A second bundle into the same directory is refused, and the first is untouched.
    let before = std::fs::read(out.join("statement.json")).unwrap();
    let o = create(&site, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    assert_eq!(std::fs::read(out.join("statement.json")).unwrap(), before);
}

/// A PKCS#8 private key PEM of a fresh Ed25519 or ECDSA P-256 key, and its public key PEM.
pub(crate) fn key_pair(kind: &str) -> (String, String) {
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use base64::Engine;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let der = match kind {
        "ed25519" => Ed25519KeyPair::generate_pkcs8(&rng)
            .unwrap()
            .as_ref()
            .to_vec(),
        _ => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .unwrap()
            .as_ref()
            .to_vec(),
    };
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    let key = tufwatch::evidence::dsse::SigningKey::from_pem(&pem).unwrap();
    (pem, tufwatch::pem::public_key_pem(&key.public_der()))
}

#[test]
fn a_signed_bundle_cannot_be_altered_even_by_someone_who_recomputes_the_sums() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    for kind in ["ed25519", "p256"] {
        let (private, public) = key_pair(kind);
        let key = site.path().join(format!("{kind}.pem"));
        let pubkey = site.path().join(format!("{kind}.pub"));
        std::fs::write(&key, private).unwrap();
        std::fs::write(&pubkey, public).unwrap();
        let out = site.path().join(format!("bundle-{kind}"));
        let o = create(&site, &out, &["--sign-key", key.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let env: Value =
            serde_json::from_slice(&std::fs::read(out.join("statement.dsse.json")).unwrap())
                .unwrap();
        assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
        assert_eq!(env["signatures"].as_array().unwrap().len(), 1);
        let (code, v) = check(&site, &out, &["--pubkey", pubkey.to_str().unwrap()]);
        assert_eq!(code, 0, "{kind}: {v:#}");
        assert_eq!(v["signature_verified"], true);
        assert_eq!(v["signed_by"][0], env["signatures"][0]["keyid"]);

        // Another key: the signature does not verify.
        let (_, other) = key_pair(kind);
        let other_path = site.path().join(format!("{kind}-other.pub"));
        std::fs::write(&other_path, other).unwrap();
        let (code, v) = check(&site, &out, &["--pubkey", other_path.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(
            codes(&v).contains(&"evidence_signature:statement.dsse.json".to_owned()),
            "{v:#}"
        );
    }

    // Statement and envelope payload both replaced, sums recomputed: the signature fails.
    let (private, public) = key_pair("ed25519");
    let key = site.path().join("k.pem");
    let pubkey = site.path().join("k.pub");
    std::fs::write(&key, private).unwrap();
    std::fs::write(&pubkey, public).unwrap();
    let out = site.path().join("forged");
    assert_eq!(
        create(&site, &out, &["--sign-key", key.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let statement = std::fs::read_to_string(out.join("statement.json")).unwrap();
    let forged = statement.replace("\"slsaVersion\": \"1.0\"", "\"slsaVersion\": \"1.1\"");
    assert_ne!(forged, statement);
    std::fs::write(out.join("statement.json"), &forged).unwrap();
    let mut env: Value =
        serde_json::from_slice(&std::fs::read(out.join("statement.dsse.json")).unwrap()).unwrap();
    env["payload"] = Value::String(b64.encode(forged.as_bytes()));
    std::fs::write(
        out.join("statement.dsse.json"),
        serde_json::to_vec_pretty(&env).unwrap(),
    )
    .unwrap();
    resum(&out);
    let (code, v) = check(&site, &out, &["--pubkey", pubkey.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_signature:statement.dsse.json".to_owned()),
        "{v:#}"
    );

    // An unsigned bundle, when a key is demanded.
    let unsigned = site.path().join("unsigned");
    assert_eq!(create(&site, &unsigned, &[]).status.code(), Some(0));
    let (code, v) = check(&site, &unsigned, &["--pubkey", pubkey.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_signature:statement.dsse.json".to_owned()),
        "{v:#}"
    );
}

#[test]
fn a_bad_signing_key_stops_before_anything_is_written() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let key = site.path().join("bad.pem");
    std::fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let out = site.path().join("bundle");
    let o = create(&site, &out, &["--sign-key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.pem") && err.contains("PUBLIC KEY"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Recompute `SHA256SUMS` after a change, as someone covering their tracks would.
fn edit_json(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    change(&mut v);
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap();
    bytes.push(b'\n');
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn forged_subjects_findings_and_sums_are_caught() {
    // A subject that only looks like a metadata file.
    let (site, out) = good_bundle();
    edit_json(&out.join("statement.json"), |s| {
        s["subject"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "metadata-agent.tar", "digest": {"sha512": "00"}}));
    });
    resum(&out);
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_inconsistent:statement.json".to_owned()),
        "{v:#}"
    );

    // A failed bundle whose report is made to tell another failure.
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now() - Duration::days(10)));
    let out = site.path().join("failed");
    assert_eq!(create(&site, &out, &[]).status.code(), Some(1));
    edit_json(&out.join("report.json"), |r| {
        for f in r["findings"].as_array_mut().unwrap() {
            if f["code"] == "expired" {
                f["code"] = Value::String("signature_threshold".to_owned());
            }
        }
    });
    resum(&out);
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_inconsistent:metadata".to_owned()),
        "{v:#}"
    );

    // An empty SHA256SUMS does not switch the sums off.
    let (site, out) = good_bundle();
    std::fs::write(out.join("SHA256SUMS"), "").unwrap();
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_extra:report.json".to_owned()),
        "{v:#}"
    );

    // A hostile number is a finding, not a crash.
    let (site, out) = good_bundle();
    edit_json(&out.join("report.json"), |r| {
        r["expiry_warning_seconds"] = Value::from(i64::MAX);
    });
    resum(&out);
    let (code, v) = check(&site, &out, &[]);
    assert_eq!(code, 1, "{v:#}");
}

#[test]
fn a_run_that_cannot_finish_writes_no_bundle() {
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let out = site.path().join("bundle");
    let o = tufwatch(site.path())
        .args([
            "evidence",
            "create",
            "--no-state",
            "--timeout",
            "2",
            "--out",
        ])
        .arg(&out)
        .arg("--root")
        .arg(site.anchor())
        .args(["--metadata-url", "http://127.0.0.1:9/metadata/"])
        .args(["--targets-url", "http://127.0.0.1:9/targets/"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no bundle"));
    assert!(!out.exists());
}

/// The reference time of the demo bundles: the demo's releases 1.26.0 due, 1.26.1 rolling out.
pub(crate) const DEMO_AT: &str = "2026-11-29T00:00:00Z";

/// `evidence create --config fixtures/demo.toml --at DEMO_AT` into `out`.
pub(crate) fn create_job(home: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    tufwatch(home)
        .args(["evidence", "create", "--at", DEMO_AT, "--out"])
        .arg(out)
        .arg("--config")
        .arg(project().join("fixtures/demo.toml"))
        .args(extra)
        .output()
        .unwrap()
}

/// The SHA-256 of a target of the shipped demo repository: its consistent-snapshot file name
/// starts with it.
pub(crate) fn demo_target_sha256(name: &str) -> String {
    let dir = project().join("fixtures/demo-repo/targets");
    std::fs::read_dir(&dir)
        .unwrap()
        .find_map(|e| {
            let file = e.unwrap().file_name().to_string_lossy().into_owned();
            let (sha, rest) = file.split_once('.')?;
            (rest == name).then(|| sha.to_owned())
        })
        .unwrap_or_else(|| panic!("{name} is not a target of the demo"))
}

#[test]
fn a_bundle_of_the_nightly_job_holds_each_repository_the_releases_and_ssm() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    let o = create_job(home.path(), &out, &["--format", "json"]);
    // The demo job has findings on purpose (SSM behind, nodes behind): a FAILED job, whose
    // repository verified.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let created: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(created["result"], "FAILED");
    assert_eq!(created["repositories"][0]["name"], "demo");
    assert_eq!(created["repositories"][0]["result"], "PASSED");
    assert_eq!(
        files(&out),
        [
            "SHA256SUMS",
            "job.json",
            "repositories/demo/metadata/1.snapshot.json",
            "repositories/demo/metadata/1.targets.json",
            "repositories/demo/metadata/2.root.json",
            "repositories/demo/metadata/timestamp.json",
            "repositories/demo/releases.json",
            "repositories/demo/report.json",
            "repositories/demo/statement.json",
            "repositories/demo/targets/manifest.json",
            "repositories/demo/trusted-root.json",
        ]
    );
    // The manifest's exact bytes, and the releases it gave, observed at the reference time.
    let manifest = std::fs::read(out.join("repositories/demo/targets/manifest.json")).unwrap();
    assert_eq!(
        tufwatch::digest::sha256_hex(&manifest),
        demo_target_sha256("manifest.json")
    );
    let releases: Value = serde_json::from_slice(
        &std::fs::read(out.join("repositories/demo/releases.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(releases["observed_at"], DEMO_AT);
    assert_eq!(releases["tracks"].as_array().unwrap().len(), 4);
    // The job's report: SSM observed (from files: at the reference time), cross-checked, with
    // the fleet; each repository names its evidence.
    let job: Value = serde_json::from_slice(&std::fs::read(out.join("job.json")).unwrap()).unwrap();
    assert_eq!(job["reference_time"], DEMO_AT);
    // When the job ran is the wall clock's, not the reference time's.
    let started: chrono::DateTime<Utc> = job["started_at"].as_str().unwrap().parse().unwrap();
    assert!(Utc::now() - started < Duration::minutes(5), "{started}");
    assert_eq!(job["ssm"]["observations"]["source"], "file");
    assert_eq!(job["ssm"]["observations"]["observed_at"], DEMO_AT);
    assert_eq!(job["ssm"]["cross_checked"], true);
    assert!(!job["ssm"]["cross_check"].as_array().unwrap().is_empty());
    assert!(job["fleet"].is_object());
    assert_eq!(job["repositories"][0]["evidence_dir"], "repositories/demo");

    // The subjects: manifest.json and the images of every release checked (newest, due,
    // rolling out) of each variant and architecture, with the digests the metadata signs.
    let s: Value = serde_json::from_slice(
        &std::fs::read(out.join("repositories/demo/statement.json")).unwrap(),
    )
    .unwrap();
    let subjects: Vec<(String, String)> = s["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_owned(),
                x["digest"]["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = vec!["manifest.json".to_owned()];
    for variant in ["aws-ecs-2", "aws-k8s-1.31"] {
        for arch in ["x86_64", "aarch64"] {
            for release in ["1.26.0-7b9d2e44", "1.26.1-c41a8f09"] {
                for part in ["boot.ext4.lz4", "root.ext4.lz4", "root.verity.lz4"] {
                    expected.push(format!("bottlerocket-{variant}-{arch}-{release}-{part}"));
                }
            }
        }
    }
    expected.sort();
    assert_eq!(
        subjects.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        expected
    );
    for (name, sha) in &subjects {
        assert_eq!(sha, &demo_target_sha256(name), "{name}");
    }
    assert_eq!(s["predicate"]["verificationResult"], "PASSED");

    // Checked again offline: intact, and every recorded conclusion reproduces.
    let (code, v) = check_dir(home.path(), &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["recorded_result"], "FAILED");
    assert_eq!(v["reverified"], "pass");
    assert_eq!(v["repositories"][0]["dir"], "repositories/demo");

    // Same inputs, same --at: the same bytes, but for when each verification ran.
    let again = home.path().join("again");
    assert_eq!(create_job(home.path(), &again, &[]).status.code(), Some(1));
    assert_eq!(
        assert_same_but_when(&out, &again),
        [
            "job.json",
            "repositories/demo/report.json",
            "repositories/demo/statement.json"
        ]
    );
}

/// `evidence verify --format json` of any directory; returns (exit code, check).
pub(crate) fn check_dir(home: &Path, dir: &Path, extra: &[&str]) -> (i32, Value) {
    check_dir_with(home, dir, extra, &[])
}

/// [`check_dir`] with these environment variables.
pub(crate) fn check_dir_with(
    home: &Path,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Value) {
    let out = tufwatch(home)
        .args(["evidence", "verify", "--format", "json"])
        .arg(dir)
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap_or(-1), v)
}

/// A forgery of a job's bundle: what it changes, and the finding that must catch it.
type Forgery = (&'static str, fn(&Path), &'static str);

/// Conclusions of a job that its bundle's evidence does not give, each caught by the check.
const FORGERIES: &[Forgery] = &[
    // SSM said something else than the job concluded: the cross-check is recomputed from the
    // recorded observations and the signed manifests.
    (
        "cross-check",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                v["ssm"]["cross_check"][0]["status"] = "agree".into();
            })
        },
        "evidence_inconsistent:job.json",
    ),
    // The observations changed, so that the recorded cross-check no longer follows from them.
    (
        "observations",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                for l in v["ssm"]["observations"]["latest"].as_array_mut().unwrap() {
                    l["image_version"] = "1.26.1-c41a8f09".into();
                }
            })
        },
        "evidence_inconsistent:job.json",
    ),
    // Releases that the manifest does not say at the recorded time.
    (
        "releases",
        |d| {
            edit_json(&d.join("repositories/demo/releases.json"), |v| {
                v["tracks"][0]["due"] = "1.26.1".into();
            })
        },
        "evidence_inconsistent:repositories/demo/releases.json",
    ),
    // A manifest that the signed targets metadata does not list.
    (
        "manifest",
        |d| {
            let path = d.join("repositories/demo/targets/manifest.json");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replacen("1.26.1", "1.26.9", 1)).unwrap();
        },
        "evidence_inconsistent:repositories/demo/targets/manifest.json",
    ),
    // A repository's verdict in job.json that its own evidence does not give.
    (
        "verdict",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                v["repositories"][0]["releases"]["verdict"] = "fail".into();
            })
        },
        "evidence_inconsistent:job.json",
    ),
    // The job's verdict made a pass: its findings under its fail_on give a failure.
    (
        "job verdict",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                v["verdict"] = "pass".into();
            })
        },
        "evidence_inconsistent:job.json",
    ),
    // Every finding marked waived, and the verdict a pass: SSM's unsigned build is one no
    // waiver may waive, so it still fails the job.
    (
        "waived",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                for f in v["findings"].as_array_mut().unwrap() {
                    f["waived"] = serde_json::json!({
                        "waiver": "x", "reason": "x", "owner": "x", "expires": "2099-01-01"
                    });
                }
                v["verdict"] = "pass".into();
            })
        },
        "evidence_inconsistent:job.json",
    ),
    // A field of job.json renamed: read into the types that wrote it, it is malformed, never
    // skipped.
    (
        "renamed",
        |d| {
            edit_json(&d.join("job.json"), |v| {
                let time = v["reference_time"].take();
                v.as_object_mut().unwrap().remove("reference_time");
                v["reference"] = time;
            })
        },
        "evidence_malformed:job.json",
    ),
    // A repository's evidence that job.json does not name.
    (
        "extra",
        |d| {
            std::fs::create_dir_all(d.join("repositories/other")).unwrap();
            std::fs::write(d.join("repositories/other/report.json"), b"{}").unwrap();
        },
        "evidence_extra:repositories/other",
    ),
];

#[test]
fn a_job_bundle_whose_conclusions_were_forged_is_caught() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    assert_eq!(create_job(home.path(), &out, &[]).status.code(), Some(1));
    let copy = |name: &str| {
        let dir = home.path().join(name);
        for f in files(&out) {
            std::fs::create_dir_all(dir.join(&f).parent().unwrap()).unwrap();
            std::fs::copy(out.join(&f), dir.join(&f)).unwrap();
        }
        dir
    };
    let expect = |dir: &Path, finding: &str| {
        let (code, v) = check_dir(home.path(), dir, &[]);
        assert_eq!(code, 1, "{v:#}");
        assert!(codes(&v).contains(&finding.to_owned()), "{finding}: {v:#}");
    };
    for (name, forge, finding) in FORGERIES {
        let d = copy(name);
        forge(&d);
        resum(&d);
        expect(&d, finding);
    }

    // A removed file of a repository's evidence, sums left alone.
    let d = copy("removed");
    std::fs::remove_file(d.join("repositories/demo/releases.json")).unwrap();
    expect(&d, "evidence_missing:repositories/demo/releases.json");
}

#[test]
fn a_signed_job_bundle_verifies_with_its_key_only() {
    let home = tempfile::tempdir().unwrap();
    let (private, public) = key_pair("ecdsa");
    std::fs::write(home.path().join("key.pem"), private).unwrap();
    std::fs::write(home.path().join("key.pub"), public).unwrap();
    let (_, other) = key_pair("ed25519");
    std::fs::write(home.path().join("other.pub"), other).unwrap();
    let out = home.path().join("job");
    let key = home.path().join("key.pem");
    let o = create_job(home.path(), &out, &["--sign-key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.join("repositories/demo/statement.dsse.json").is_file());
    let pubkey = home.path().join("key.pub");
    let (code, v) = check_dir(home.path(), &out, &["--pubkey", pubkey.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["signature_verified"], true);
    let other = home.path().join("other.pub");
    let (code, v) = check_dir(home.path(), &out, &["--pubkey", other.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        codes(&v).contains(&"evidence_signature:repositories/demo/statement.dsse.json".to_owned())
    );
}

#[test]
fn a_job_bundle_records_when_live_ssm_answered_and_checks_again_offline() {
    let home = tempfile::tempdir().unwrap();
    let config = live_demo_config(home.path(), &crate::common::moto::moto().url());
    let out = home.path().join("job");
    let before = Utc::now();
    let o = tufwatch(home.path())
        .args(["evidence", "create", "--at", DEMO_AT, "--out"])
        .arg(&out)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let after = Utc::now();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let job: Value = serde_json::from_slice(&std::fs::read(out.join("job.json")).unwrap()).unwrap();
    let observations = &job["ssm"]["observations"];
    assert_eq!(observations["source"], "live");
    // A live observation keeps the moment SSM answered, not the reference time.
    let observed: chrono::DateTime<Utc> = observations["observed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        before - Duration::seconds(1) <= observed && observed <= after,
        "{observed}"
    );
    assert_eq!(job["reference_time"], DEMO_AT);
    assert!(!job["ssm"]["cross_check"].as_array().unwrap().is_empty());
    // The SSM endpoint is not asked again: the check recomputes the cross-check from the bundle,
    // and passes with every AWS endpoint pointing nowhere.
    let (code, v) = check_dir_with(
        home.path(),
        &out,
        &[],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(code, 0, "{v:#}");
}

/// `report --config fixtures/demo.toml --at DEMO_AT --evidence bundle` with `extra`.
pub(crate) fn report_with_evidence(
    home: &Path,
    bundle: &Path,
    extra: &[&str],
) -> std::process::Output {
    tufwatch(home)
        .args(["report", "--at", DEMO_AT, "--evidence"])
        .arg(bundle)
        .arg("--config")
        .arg(project().join("fixtures/demo.toml"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_report_run_makes_the_job_bundle_and_its_page_says_how_to_check_it() {
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("nightly/bundle");
    let page = home.path().join("out/report.html");
    let o = report_with_evidence(
        home.path(),
        &bundle,
        &["--format", "html", "--out", page.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let digest = tufwatch::digest::sha256_hex(&std::fs::read(bundle.join("SHA256SUMS")).unwrap());

    // The bundle `evidence create --config` makes of the same job at the same time, byte for
    // byte but for when each verification ran.
    let made = home.path().join("made");
    assert_eq!(create_job(home.path(), &made, &[]).status.code(), Some(1));
    assert_eq!(
        assert_same_but_when(&made, &bundle),
        [
            "job.json",
            "repositories/demo/report.json",
            "repositories/demo/statement.json"
        ]
    );

    // The page gives the digest, and a command that checks the bundle offline against it and
    // the anchor; that command passes.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("id=\"evidence\""));
    assert!(html.contains(&digest), "no digest {digest} in the page");
    let open = "<pre class=\"url command\">";
    let start = html.find(open).expect("no command in the page") + open.len();
    let command = unescape(&html[start..start + html[start..].find("</pre>").unwrap()]);
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        words[..4],
        ["tufwatch", "evidence", "verify", bundle.to_str().unwrap()]
    );
    let anchor = tufwatch::digest::sha512_hex(
        &std::fs::read(project().join("fixtures/demo-repo/root.json")).unwrap(),
    );
    assert!(command.contains(&format!("--sha256 {digest}")), "{command}");
    assert!(
        command.contains(&format!("--root-sha512 {anchor}")),
        "{command}"
    );
    let o = tufwatch(home.path()).args(&words[1..]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{command}\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("digest      sha256 {digest}")));

    // Another digest is refused, naming SHA256SUMS; so is an altered file with the digest.
    let (code, v) = check_dir(home.path(), &bundle, &["--sha256", &"0".repeat(64)]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["sha256"], digest.as_str());
    assert_eq!(codes(&v), ["evidence_altered:SHA256SUMS"]);
    let o = tufwatch(home.path())
        .args(["evidence", "verify", "--sha256", "not-a-digest"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sha256"));
    std::fs::write(bundle.join("job.json"), b"{}").unwrap();
    resum(&bundle);
    let (code, v) = check_dir(home.path(), &bundle, &["--sha256", &digest]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        codes(&v).contains(&"evidence_altered:SHA256SUMS".to_owned()),
        "{v:#}"
    );

    // A used directory stops the run before anything is verified or written: the page stays.
    let before = std::fs::read(&page).unwrap();
    let o = report_with_evidence(
        home.path(),
        &bundle,
        &["--format", "html", "--out", page.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--evidence"));
    assert_eq!(std::fs::read(&page).unwrap(), before);

    // The JSON report names the bundle and its digest; the bundle's job.json cannot, and does
    // not.
    let second = home.path().join("second");
    let o = report_with_evidence(home.path(), &second, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let b = &r["evidence_bundle"];
    assert_eq!(
        b["sha256"],
        tufwatch::digest::sha256_hex(&std::fs::read(second.join("SHA256SUMS")).unwrap()).as_str()
    );
    assert_eq!(b["result"], "FAILED");
    assert_eq!(b["trusted_root_sha512"], anchor.as_str());
    assert_eq!(b["repositories"][0]["dir"], "repositories/demo");
    assert_eq!(r["repositories"][0]["evidence_dir"], "repositories/demo");
    let job: Value =
        serde_json::from_slice(&std::fs::read(second.join("job.json")).unwrap()).unwrap();
    assert!(job.get("evidence_bundle").is_none());
    // The human report says it too.
    let third = home.path().join("third");
    let o = report_with_evidence(home.path(), &third, &[]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("EVIDENCE BUNDLE"), "{text}");
    assert!(
        text.contains("check it offline:\ntufwatch evidence verify"),
        "{text}"
    );
}

#[test]
fn a_report_run_that_cannot_finish_writes_its_report_and_no_bundle() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("job.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = {:?}\nno_state = true\n\n[[repository]]\nname = \"gone\"\n\
             metadata_url = \"http://127.0.0.1:9/metadata/\"\ntargets_url = \"http://127.0.0.1:9/targets/\"\n",
            project().join("fixtures/demo-repo/root.json").display().to_string()
        ),
    )
    .unwrap();
    let bundle = home.path().join("bundle");
    let out = home.path().join("out");
    let o = tufwatch(home.path())
        .args([
            "report",
            "--timeout",
            "2",
            "--format",
            "html",
            "--format",
            "json",
        ])
        .arg("--out-dir")
        .arg(&out)
        .arg("--evidence")
        .arg(&bundle)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no bundle written"));
    assert!(!bundle.exists());
    let html = unescape(&std::fs::read_to_string(out.join("report.html")).unwrap());
    assert!(
        html.contains("none was written: the run could not finish"),
        "{html}"
    );
    // The JSON report says it with a finding of its own, which leaves the run incomplete.
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["verdict"], "incomplete");
    assert!(r["evidence_bundle"].get("sha256").is_none(), "{r:#}");
    assert_eq!(r["evidence_bundle"]["result"], "none");
    assert_eq!(
        codes(&r),
        [format!(
            "evidence_not_written:{}",
            std::path::absolute(&bundle).unwrap().display()
        )],
        "{r:#}"
    );
}

#[test]
fn a_report_run_refuses_an_evidence_directory_that_cannot_take_the_bundle() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::create_dir(h.join("real")).unwrap();
    std::os::unix::fs::symlink(h.join("real"), h.join("link")).unwrap();
    std::fs::write(h.join("a-file"), b"x").unwrap();
    let out = h.join("out");
    for (evidence, extra, why) in [
        ("link", vec![], "a symbolic link"),
        ("bad\nname", vec![], "control characters"),
        ("a-file/bundle", vec![], "cannot write beside it"),
        ("out", vec!["--out-dir", "out"], "overlap"),
        (
            "out",
            vec!["--out", "out/page.html", "--format", "html"],
            "overlap",
        ),
    ] {
        let o = tufwatch(h)
            .current_dir(h)
            .args(["report", "--at", DEMO_AT, "--evidence", evidence])
            .args(&extra)
            .arg("--config")
            .arg(project().join("fixtures/demo.toml"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{evidence:?}: {stderr}");
        assert!(stderr.contains("--evidence"), "{evidence:?}: {stderr}");
        assert!(stderr.contains(why), "{evidence:?}: {stderr}");
        // Refused before anything was verified or written.
        assert!(o.stdout.is_empty(), "{evidence:?}");
        assert!(!out.exists(), "{evidence:?}");
        assert!(files(&h.join("real")).is_empty());
    }
    // A bundle directory inside the output directory is its own: both are written.
    let o = tufwatch(h)
        .current_dir(h)
        .args([
            "report",
            "--at",
            DEMO_AT,
            "--out-dir",
            "out",
            "--evidence",
            "out/bundle",
        ])
        .arg("--config")
        .arg(project().join("fixtures/demo.toml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.join("report.txt").exists());
    let (code, v) = check_dir(h, &out.join("bundle"), &[]);
    assert_eq!(code, 0, "{v:#}");
}
