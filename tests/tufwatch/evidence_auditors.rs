//! Evidence as an auditor's own tools read it: the demo job's bundle (`report --evidence`)
//! accepted by verifiers that share no code with tufwatch (securesystemslib's DSSE, the in-toto
//! attestation library, python-tuf: `tests/support/verify_bundle.py`) and rejected by them when
//! one byte of a statement changes; `evidence verify`'s demands (`--subject`, `--resource-uri`,
//! `--verifier-id`); statements signed by AWS KMS keys (moto), checked with the public key as
//! `GetPublicKey` gives it.

use crate::common::moto::{moto, python};
use crate::common::*;
use crate::evidence::{
    check_dir, codes, create, demo_target_sha256, key_pair, report_with_evidence, DEMO_AT,
};
use chrono::{Duration, Utc};
use serde_json::Value;
use std::path::Path;

/// The demo repository's `resource_uri` (fixtures/demo.toml).
const DEMO_RESOURCE: &str = "https://updates.example.com/tufwatch-demo/metadata/";
/// A verifier's own id, as a team names its trust base.
const VERIFIER: &str = "https://security.example.com/verifiers/tufwatch-nightly";

/// `tests/support/verify_bundle.py BUNDLE [--pubkey PEM] [--expect-result R]`: (exit code,
/// what it printed).
fn independent(bundle: &Path, pubkey: Option<&Path>, expect: Option<&str>) -> (i32, String) {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(project().join("tests/support/verify_bundle.py"))
        .arg(bundle);
    if let Some(k) = pubkey {
        cmd.arg("--pubkey").arg(k);
    }
    if let Some(r) = expect {
        cmd.args(["--expect-result", r]);
    }
    let o = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), said)
}

/// A copy of `bundle` whose `file` has one byte changed (the first digit of `timeVerified`
/// turned into another digit): `SHA256SUMS` recomputed, the envelope left as it was.
fn one_byte_changed(bundle: &Path, file: &str, into: &Path) {
    copy_dir(bundle, into);
    let path = into.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = String::from_utf8_lossy(&bytes)
        .find("\"timeVerified\": \"")
        .unwrap()
        + "\"timeVerified\": \"".len();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&path, bytes).unwrap();
    resum(into);
}

/// The demo job's bundle made by the nightly run, signed with `extra`'s key.
fn demo_bundle(home: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let bundle = home.join(name);
    let o = report_with_evidence(home, &bundle, extra);
    // The demo's fleet and SSM have findings; its repository verifies.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    bundle
}

#[test]
fn the_demo_jobs_bundle_is_accepted_by_independent_verifiers_and_not_once_a_byte_changes() {
    let home = tempfile::tempdir().unwrap();
    let manifest = format!(
        "manifest.json@sha256:{}",
        demo_target_sha256("manifest.json")
    );
    for kind in ["ed25519", "p256"] {
        let (private, public) = key_pair(kind);
        let (key, pubkey) = (home.path().join("k.pem"), home.path().join("k.pub"));
        std::fs::write(&key, private).unwrap();
        std::fs::write(&pubkey, public).unwrap();
        let bundle = demo_bundle(
            home.path(),
            kind,
            &[
                "--sign-key",
                key.to_str().unwrap(),
                "--verifier-id",
                VERIFIER,
            ],
        );
        let (code, said) = independent(&bundle, Some(&pubkey), Some("PASSED"));
        assert_eq!(code, 0, "{kind}: {said}");
        for check in ["signature", "statement", "5.6 targets", "SHA256SUMS"] {
            assert!(said.contains(check), "{kind}: no {check} in\n{said}");
        }
        // tufwatch's own check, with every demand an auditor can make.
        let demands = [
            "--pubkey",
            pubkey.to_str().unwrap(),
            "--subject",
            &manifest,
            "--subject",
            "manifest.json",
            "--resource-uri",
            DEMO_RESOURCE,
            "--verifier-id",
            VERIFIER,
        ];
        let (code, v) = check_dir(home.path(), &bundle, &demands);
        assert_eq!(code, 0, "{kind}: {v:#}");
        assert_eq!(v["verifier_ids"], serde_json::json!([VERIFIER]));
        assert_eq!(v["resource_uris"], serde_json::json!([DEMO_RESOURCE]));

        // One byte of the statement changed: the envelope no longer carries it.
        let changed = home.path().join(format!("{kind}-changed"));
        one_byte_changed(&bundle, "repositories/demo/statement.json", &changed);
        let (code, said) = independent(&changed, Some(&pubkey), None);
        assert_eq!(code, 1, "{kind}: {said}");
        assert!(said.contains("REJECTED [demo] signed payload"), "{said}");
        let (code, v) = check_dir(home.path(), &changed, &demands);
        assert_eq!(code, 1, "{v:#}");
        // And the same byte changed in the envelope's payload: no signature verifies.
        let forged = home.path().join(format!("{kind}-forged"));
        copy_dir(&changed, &forged);
        let envelope = forged.join("repositories/demo/statement.dsse.json");
        let mut env: Value = serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
        use base64::Engine;
        env["payload"] = base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(forged.join("repositories/demo/statement.json")).unwrap())
            .into();
        std::fs::write(&envelope, serde_json::to_vec_pretty(&env).unwrap()).unwrap();
        resum(&forged);
        let (code, said) = independent(&forged, Some(&pubkey), None);
        assert_eq!(code, 1, "{kind}: {said}");
        assert!(said.contains("REJECTED [demo] signature"), "{said}");
        let (code, v) = check_dir(home.path(), &forged, &demands);
        assert_eq!(code, 1, "{v:#}");
        assert!(
            codes(&v)
                .iter()
                .any(|c| c.starts_with("evidence_signature")),
            "{v:#}"
        );
    }
}

#[test]
fn evidence_verify_fails_a_bundle_of_another_subject_resource_or_verifier() {
    let home = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(home.path(), "demo", &["--verifier-id", VERIFIER]);
    let manifest = demo_target_sha256("manifest.json");
    // Each demand that another bundle would meet, and this one does not.
    let other_digest = format!("manifest.json@sha256:{}", "0".repeat(64));
    for (demand, value, said) in [
        ("--verifier-id", "urn:tufwatch:tuf-verifier", "verifier.id"),
        (
            "--resource-uri",
            "https://updates.bottlerocket.aws/2020-07-07/aws-k8s-1.31/x86_64/",
            "resourceUri",
        ),
        (
            "--subject",
            other_digest.as_str(),
            "manifest.json@sha256:0000",
        ),
        (
            "--subject",
            "bottlerocket-aws-k8s-1.32-x86_64-1.26.1-c41a8f09-root.ext4.lz4",
            "subject",
        ),
    ] {
        let (code, v) = check_dir(home.path(), &bundle, &[demand, value]);
        assert_eq!(code, 1, "{demand} {value}: {v:#}");
        let findings = v["findings"].as_array().unwrap();
        assert!(
            findings.iter().all(|f| f["code"] == "evidence_mismatch")
                && findings
                    .iter()
                    .any(|f| f["message"].as_str().unwrap().contains(said)),
            "{demand} {value}: {v:#}"
        );
    }
    // The right subject, but about a resource not demanded.
    let (code, v) = check_dir(
        home.path(),
        &bundle,
        &[
            "--subject",
            &format!("manifest.json@sha256:{manifest}"),
            "--resource-uri",
            DEMO_RESOURCE,
            "--resource-uri",
            "https://elsewhere.example/metadata/",
        ],
    );
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        codes(&v),
        ["evidence_mismatch:repositories/demo/statement.json"]
    );
    // A bundle by another verifier, of another resource, with another manifest: refused on each
    // demand this bundle meets.
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let other = site.path().join("other");
    assert_eq!(create(&site, &other, &[]).status.code(), Some(0));
    for demand in [
        ["--verifier-id", VERIFIER],
        ["--resource-uri", DEMO_RESOURCE],
        ["--subject", &format!("manifest.json@sha256:{manifest}")],
    ] {
        let (code, v) = check_dir(home.path(), &other, &demand);
        assert_eq!(code, 1, "{demand:?}: {v:#}");
        assert_eq!(
            codes(&v),
            ["evidence_mismatch:statement.json"],
            "{demand:?}"
        );
    }
    // A subject demand that is not NAME[@sha256:HEX] cannot run.
    let o = tufwatch(home.path())
        .args([
            "evidence",
            "verify",
            "--subject",
            "manifest.json@sha256:xyz",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--subject"));
}

#[test]
fn python_tuf_verifies_a_bundle_at_its_reference_time_from_the_bundle_alone() {
    // Made ten days ago as of a day after publication: today its timestamp has expired.
    let site = Site::new();
    let published = Utc::now() - Duration::days(10);
    site.publish_with_anchor(&demo_repo(published));
    let at = (published + Duration::days(1)).to_rfc3339();
    let bundle = site.path().join("past");
    assert_eq!(
        create(&site, &bundle, &["--at", &at]).status.code(),
        Some(0)
    );
    let (code, said) = independent(&bundle, None, Some("PASSED"));
    assert_eq!(code, 0, "{said}");
    // The reference time is what the statement's policy says; moved past the expiry, the same
    // metadata no longer verifies (the bundle's sums recomputed, as a forger would).
    let late = site.path().join("late");
    copy_dir(&bundle, &late);
    let path = late.join("statement.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let s: Value = serde_json::from_str(&text).unwrap();
    let reference = s["predicate"]["policy"]["annotations"]["referenceTime"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(&path, text.replace(&reference, &now)).unwrap();
    resum(&late);
    let (code, said) = independent(&late, None, None);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("expir"), "{said}");
}

/// A key made in moto's KMS: its ARN, and `aws kms get-public-key`'s answer as the AWS CLI
/// prints it (JSON, the key's DER in base64).
fn kms_key(spec: &str, usage: &str) -> (String, String) {
    let script = r#"
import base64, json, sys
import boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
arn = kms.create_key(KeyUsage=sys.argv[3], KeySpec=sys.argv[2])["KeyMetadata"]["Arn"]
answer = {"KeyId": arn}
if sys.argv[3] == "SIGN_VERIFY":
    got = kms.get_public_key(KeyId=arn)
    answer = {"KeyId": got["KeyId"], "PublicKey": base64.b64encode(got["PublicKey"]).decode(),
              "KeyUsage": got["KeyUsage"], "SigningAlgorithms": got["SigningAlgorithms"]}
print(arn)
print(json.dumps(answer, indent=4))
"#;
    let o = std::process::Command::new(python())
        .args(["-c", script, &moto().url(), spec, usage])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let (arn, answer) = text.split_once('\n').unwrap();
    (arn.to_owned(), answer.to_owned())
}

#[test]
fn statements_signed_by_kms_keys_verify_with_the_public_key_kms_gives() {
    let home = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    for spec in ["ECC_NIST_P256", "RSA_2048"] {
        let (arn, answer) = kms_key(spec, "SIGN_VERIFY");
        let answer_file = home.path().join(format!("{spec}.json"));
        std::fs::write(&answer_file, &answer).unwrap();
        let bundle = home.path().join(spec);
        let o = tufwatch(home.path())
            .args(["report", "--at", DEMO_AT, "--evidence"])
            .arg(&bundle)
            .arg("--config")
            .arg(project().join("fixtures/demo.toml"))
            .args(["--sign-kms", &arn])
            .env("AWS_ENDPOINT_URL", moto().url())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{spec}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // The public key as GetPublicKey gives it: the CLI's JSON answer, its base64, its DER,
        // and as PEM for the independent verifier.
        let answer: Value = serde_json::from_str(&answer).unwrap();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(answer["PublicKey"].as_str().unwrap())
            .unwrap();
        let (b64_file, der_file, pem_file) = (
            home.path().join(format!("{spec}.b64")),
            home.path().join(format!("{spec}.der")),
            home.path().join(format!("{spec}.pem")),
        );
        std::fs::write(
            &b64_file,
            format!("{}\n", answer["PublicKey"].as_str().unwrap()),
        )
        .unwrap();
        std::fs::write(&der_file, &der).unwrap();
        std::fs::write(&pem_file, tufwatch::pem::public_key_pem(&der)).unwrap();
        for key in [&answer_file, &b64_file, &der_file, &pem_file] {
            let (code, v) = check_dir(home.path(), &bundle, &["--pubkey", key.to_str().unwrap()]);
            assert_eq!(code, 0, "{spec} {}: {v:#}", key.display());
            assert_eq!(v["signature_verified"], true);
            assert_eq!(
                v["signed_by"],
                serde_json::json!([tufwatch::digest::sha256_hex(&der)])
            );
        }
        let (code, said) = independent(&bundle, Some(&pem_file), Some("PASSED"));
        assert_eq!(code, 0, "{spec}: {said}");
        answers.push(answer_file);
    }
    // Each bundle verifies with its own key only.
    let (code, v) = check_dir(
        home.path(),
        &home.path().join("RSA_2048"),
        &["--pubkey", answers[0].to_str().unwrap()],
    );
    assert_eq!(code, 1, "{v:#}");
    assert!(
        codes(&v)
            .iter()
            .all(|c| c.starts_with("evidence_signature")),
        "{v:#}"
    );
}

#[test]
fn a_kms_key_that_cannot_sign_stops_the_run_before_anything_is_verified() {
    let home = tempfile::tempdir().unwrap();
    let (encrypting, _) = kms_key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    let (p384, _) = kms_key("ECC_NIST_P384", "SIGN_VERIFY");
    let unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    // From the flag, and from the configuration's [evidence] kms_key, named where it was given.
    let config = home.path().join("job.toml");
    let demo = std::fs::read_to_string(project().join("fixtures/demo.toml")).unwrap();
    let demo = demo.replace(
        "\"demo-",
        &format!("\"{}/fixtures/demo-", project().display()),
    );
    for (key, in_config, said) in [
        (encrypting.as_str(), false, "ENCRYPT_DECRYPT"),
        (p384.as_str(), false, "ECC_NIST_P384"),
        (unknown, true, "NotFoundException"),
    ] {
        let bundle = home.path().join("bundle");
        let mut cmd = tufwatch(home.path());
        cmd.args(["report", "--at", DEMO_AT, "--evidence"])
            .arg(&bundle)
            .env("AWS_ENDPOINT_URL", moto().url());
        if in_config {
            std::fs::write(
                &config,
                format!("{demo}\n[evidence]\nkms_key = \"{key}\"\n"),
            )
            .unwrap();
            cmd.arg("--config").arg(&config);
        } else {
            cmd.arg("--config")
                .arg(project().join("fixtures/demo.toml"))
                .args(["--sign-kms", key]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{key}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{key}: {err}");
        let named = if in_config {
            "evidence.kms_key"
        } else {
            "--sign-kms"
        };
        assert!(err.contains(named), "{key}: {err}");
        assert!(!bundle.exists(), "{key}");
    }
    // A verifier id that is not a URI, from the flag or the configuration.
    std::fs::write(
        &config,
        format!("{demo}\n[evidence]\nverifier_id = \"tufwatch\"\n"),
    )
    .unwrap();
    let o = tufwatch(home.path())
        .args(["report", "--at", DEMO_AT, "--evidence"])
        .arg(home.path().join("bundle"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("evidence.verifier_id"));
    // Signing flags without --evidence are refused, not ignored.
    let o = tufwatch(home.path())
        .args(["report", "--config"])
        .arg(project().join("fixtures/demo.toml"))
        .args(["--verifier-id", VERIFIER])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--evidence"));
}
