//! `tufwatch ssm` against a real local SSM endpoint (moto, seeded with the demo's public
//! parameters) and against the offline file source: batching, paging, several regions, unknown
//! names, throttling, the cross-check with the signed repository.

use crate::common::moto::{moto, CLEAN, ERROR_FIRST, SILENT, THROTTLE_ALL, THROTTLE_FIRST_2};
use crate::common::*;
use serde_json::Value;

const AT: &str = "2026-11-28T00:00:00Z";

/// Run `ssm --format json` with `args`; returns (exit code, report).
fn ssm(site: &Site, args: &[&str]) -> (i32, Value) {
    let out = tufwatch(site.path())
        .args(["ssm", "--format", "json", "--no-state", "--at", AT])
        .args(args)
        .output()
        .unwrap();
    json_report(&out)
}

/// `ssm --no-cross-check` of one variant against the local endpoint in `regions`, retrying
/// quickly, with `extra`.
fn live(site: &Site, variant: &str, regions: &[&str], extra: &[&str]) -> (i32, Value) {
    let url = moto().url();
    let mut args = vec![
        "--no-cross-check",
        "--variant",
        variant,
        "--endpoint-url",
        &url,
    ];
    args.extend(["--ssm-backoff", "10ms"]);
    for r in regions {
        args.extend(["--region", r]);
    }
    args.extend(extra);
    ssm(site, &args)
}

/// The JSON report of a run that must have passed (exit 0).
fn passed(out: &std::process::Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The arguments for a cross-check against the demo repository in Bottlerocket's layout.
fn cross_check_args(site: &Site) -> Vec<String> {
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    vec![
        "--variant".into(),
        "aws-k8s-1.31".into(),
        "--variant".into(),
        "aws-ecs-2".into(),
        "--root".into(),
        demo_dir().join("root.json").display().to_string(),
        "--repo-base".into(),
        base.display().to_string(),
    ]
}

fn rows(r: &Value) -> Vec<String> {
    r["ssm"]["cross_check"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["region"].as_str().unwrap(),
                c["variant"].as_str().unwrap(),
                c["arch"].as_str().unwrap(),
                c["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_endpoint_and_the_file_give_the_same_cross_check() {
    let site = Site::new();
    let args = cross_check_args(&site);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let regions = ["--region", "us-west-2", "--region", "eu-west-1"];

    let url = moto().url();
    let mut live = args.clone();
    live.extend(regions);
    live.extend(["--endpoint-url", &url]);
    let (code, from_endpoint) = ssm(&site, &live);
    assert_eq!(code, 1, "{from_endpoint:#}");

    let file = project().join("fixtures/demo-fleet/ssm-parameters.json");
    let file = file.display().to_string();
    let mut offline = args.clone();
    offline.extend(regions);
    offline.extend(["--ssm-file", &file]);
    let (code, from_file) = ssm(&site, &offline);
    assert_eq!(code, 1, "{from_file:#}");

    assert_eq!(rows(&from_endpoint), rows(&from_file));
    assert_eq!(
        from_endpoint["ssm"]["cross_check"], from_file["ssm"]["cross_check"],
        "same values, versions, images and messages"
    );
    let rows = rows(&from_file);
    for expected in [
        "us-west-2 aws-ecs-2 aarch64 ssm_missing",
        "eu-west-1 aws-k8s-1.31 x86_64 ssm_unsigned",
        "us-west-2 aws-ecs-2 x86_64 ssm_behind",
        "us-west-2 aws-k8s-1.31 aarch64 agree",
    ] {
        assert!(
            rows.contains(&expected.to_owned()),
            "{expected} not in {rows:#?}"
        );
    }
    assert_eq!(rows.len(), 8, "2 variants x 2 arches x 2 regions");
    // SSM says arm64; the report says aarch64, as TUF does.
    assert!(!rows.iter().any(|r| r.contains("arm64")));
    // Four repositories were verified, one per variant and architecture.
    let repos = from_file["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 4);
    assert!(repos.iter().all(|r| r["releases"]["verdict"] == "pass"));
    let codes: Vec<&str> = from_file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ssm_behind", "ssm_unsigned", "ssm_missing"]);
}

#[test]
fn names_are_batched_ten_a_call_and_unknown_names_are_absent() {
    let site = Site::new();
    let url = moto().url();
    // 6 variants x 2 arches x 2 names = 24 names: 3 GetParameters calls.
    let mut args = vec![
        "--no-cross-check",
        "--region",
        CLEAN,
        "--endpoint-url",
        &url,
    ];
    for v in [
        "aws-k8s-1.31",
        "aws-ecs-2",
        "aws-k8s-1.30",
        "aws-k8s-1.31-nvidia",
        "aws-ecs-2-fips",
        "aws-k8s-1.29",
    ] {
        args.extend(["--variant", v]);
    }
    let (code, r) = ssm(&site, &args);
    assert_eq!(code, 0, "{r:#}");
    let calls = &r["ssm"]["observations"]["calls"];
    assert_eq!(calls["get_parameters"], 3, "{calls}");
    assert_eq!(calls["get_parameters_by_path"], 0);
    assert_eq!(calls["attempts"], 3);
    assert_eq!(
        moto().stats()[CLEAN]["GetParameters"],
        3,
        "the server saw them"
    );
    let latest = r["ssm"]["observations"]["latest"].as_array().unwrap();
    assert_eq!(latest.len(), 12);
    let known: Vec<&Value> = latest.iter().filter(|l| !l["image_id"].is_null()).collect();
    assert_eq!(
        known.len(),
        3,
        "the seed's latest for us-west-2: {known:#?}"
    );
    let nvidia = latest
        .iter()
        .find(|l| l["variant"] == "aws-k8s-1.31-nvidia")
        .unwrap();
    assert!(nvidia["image_version"].is_null());
}

#[test]
fn throttling_is_retried_until_it_passes() {
    let site = Site::new();
    let (code, r) = live(&site, "aws-k8s-1.31", &[THROTTLE_FIRST_2], &[]);
    assert_eq!(code, 0, "{r:#}");
    let calls = &r["ssm"]["observations"]["calls"];
    assert_eq!(calls["get_parameters"], 1);
    assert_eq!(calls["attempts"], 3, "two throttled, one answered: {calls}");
    let latest = &r["ssm"]["observations"]["latest"][0];
    assert_eq!(latest["image_version"], "1.26.1-c41a8f09");
}

#[test]
fn a_server_error_is_retried() {
    let site = Site::new();
    let (code, r) = live(&site, "aws-ecs-2", &[ERROR_FIRST], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["ssm"]["observations"]["calls"]["attempts"], 2);
}

#[test]
fn a_region_throttled_on_every_call_makes_the_run_incomplete_and_the_others_still_report() {
    let site = Site::new();
    let url = moto().url();
    let (code, r) = live(
        &site,
        "aws-k8s-1.31",
        &[THROTTLE_ALL, "us-west-2"],
        &["--ssm-max-attempts", "3"],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["verdict"], "incomplete");
    let f = &r["findings"][0];
    assert_eq!(f["code"], "ssm_unavailable");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(THROTTLE_ALL), "{message}");
    assert!(message.contains("ThrottlingException"), "{message}");
    let regions = r["ssm"]["observations"]["regions"].as_array().unwrap();
    let failed = regions
        .iter()
        .find(|x| x["region"] == THROTTLE_ALL)
        .unwrap();
    assert_eq!(failed["calls"]["attempts"], 3);
    let latest = r["ssm"]["observations"]["latest"].as_array().unwrap();
    assert!(latest.iter().all(|l| l["region"] == "us-west-2"));
    assert_eq!(latest.len(), 2);

    // The human report says which region failed, and why.
    let out = tufwatch(site.path())
        .args(["ssm", "--no-cross-check", "--variant", "aws-k8s-1.31"])
        .args(["--region", THROTTLE_ALL, "--endpoint-url", &url])
        .args(["--ssm-max-attempts", "2", "--ssm-backoff", "10ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{THROTTLE_ALL}: NOT READ: GetParameters: ThrottlingException"
        )),
        "{text}"
    );
    assert!(text.contains("INCOMPLETE"), "{text}");
}

#[test]
fn a_region_that_does_not_answer_is_named_within_the_timeout_and_the_others_still_report() {
    let site = Site::new();
    let started = std::time::Instant::now();
    let (code, r) = live(
        &site,
        "aws-k8s-1.31",
        &[SILENT, "us-west-2"],
        &["--timeout", "1", "--ssm-max-attempts", "2"],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["verdict"], "incomplete");
    let f = &r["findings"][0];
    assert_eq!(f["code"], "ssm_unavailable", "{r:#}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(SILENT), "{message}");
    assert!(
        message.contains("timeout") || message.contains("timed out"),
        "{message}"
    );
    let latest = r["ssm"]["observations"]["latest"].as_array().unwrap();
    assert!(latest.iter().all(|l| l["region"] == "us-west-2"));
    assert_eq!(latest.len(), 2);
    // Two attempts of one second, not the 20 seconds the region takes.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[test]
fn without_a_region_the_aws_configuration_decides() {
    let site = Site::new();
    let url = moto().url();
    // No region anywhere: a clear error.
    let out = tufwatch(site.path())
        .args([
            "ssm",
            "--no-cross-check",
            "--variant",
            "aws-ecs-2",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--region"), "{err}");
    // A profile's region is the default.
    let aws = site.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        format!("[profile ops]\nregion = {CLEAN}\n"),
    )
    .unwrap();
    let out = tufwatch(site.path())
        .args([
            "ssm",
            "--no-cross-check",
            "--variant",
            "aws-ecs-2",
            "--format",
            "json",
        ])
        .args(["--endpoint-url", &url, "--profile", "ops"])
        .output()
        .unwrap();
    let r = passed(&out);
    assert_eq!(r["ssm"]["observations"]["regions"][0]["region"], CLEAN);
}

#[test]
fn the_endpoint_comes_from_the_environment_too() {
    let site = Site::new();
    let out = tufwatch(site.path())
        .args([
            "ssm",
            "--no-cross-check",
            "--variant",
            "aws-k8s-1.31",
            "--format",
            "json",
        ])
        .args(["--region", "eu-west-1"])
        .env("AWS_ENDPOINT_URL_SSM", moto().url())
        .output()
        .unwrap();
    let r = passed(&out);
    let latest = &r["ssm"]["observations"]["latest"];
    assert_eq!(latest[0]["image_version"], "1.26.2-deadbeef");
}

#[test]
fn a_bad_ssm_file_names_the_file_and_the_field() {
    let site = Site::new();
    let bad = site.path().join("ssm.json");
    std::fs::write(
        &bad,
        r#"{"Parameters": [{"Name": "/aws/service/bottlerocket/x/x86_64/latest/image_id"}]}"#,
    )
    .unwrap();
    let out = tufwatch(site.path())
        .args(["ssm", "--no-cross-check", "--ssm-file"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ssm.json") && err.contains("Parameters[0].Value: missing"),
        "{err}"
    );
    // JSON output still gives one document.
    let (code, r) = ssm(
        &site,
        &["--no-cross-check", "--ssm-file", bad.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert_eq!(r["verdict"], "incomplete");
}
