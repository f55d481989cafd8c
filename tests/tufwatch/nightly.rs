//! The nightly job a team can live with: waivers, categories and `fail_on`, grace periods, the
//! changes since the last run, and the alerts (a webhook on a loopback receiver, Debian's
//! Prometheus Pushgateway started here).

use crate::common::{demo_config, each, tufwatch, Site};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The demo's reference time in these tests: 1.26.1 has been due since 2026-12-01T17:00Z.
const AT: &str = "2026-12-04T18:00:00Z";

/// The demo job with a state directory in `dir`, `policy` added to its `[policy]` and `extra`
/// appended (waivers).
fn nightly_config(dir: &Path, policy: &str, extra: &str) -> PathBuf {
    let path = demo_config(dir, &format!("\n{extra}\n"));
    let state = dir.join("state");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "no_state = true",
            &format!("state_dir = \"{}\"", state.display()),
        )
        .replace("[policy]\n", &format!("[policy]\n{policy}\n"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Run the job as JSON at `at`; (exit code, report, stderr).
fn run_at(site: &Site, config: &Path, at: &str, extra: &[&str]) -> (i32, Value, String) {
    run_now_with(site, config, &[&["--at", at], extra].concat())
}

/// The job's report in one format, printed, at `at` (now when `None`).
fn printed(site: &Site, config: &Path, format: &str, at: Option<&str>) -> String {
    let mut c = tufwatch(site.path());
    c.args(["report", "--no-progress", "--format", format]);
    if let Some(at) = at {
        c.args(["--at", at]);
    }
    let out = c.arg("--config").arg(config).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The job-level findings of a code.
fn of_code<'a>(r: &'a Value, code: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

/// A waiver entry.
fn waiver(code: &str, matches: &str, expires: &str) -> String {
    format!(
        "[[waiver]]\ncode = \"{code}\"\n{matches}\nreason = \"known: ticket OPS-1\"\nowner = \"platform-team\"\nexpires = {expires}\n"
    )
}

#[test]
fn waivers_that_would_silence_the_verification_or_never_match_are_refused() {
    let site = Site::new();
    let trust = "is the repository's verification (trust), which no waiver can silence";
    for (entry, said) in [
        (waiver("rollback", "", "2099-01-01"), format!("rollback {trust}")),
        (
            waiver("signature_threshold", "", "2099-01-01"),
            format!("signature_threshold {trust}"),
        ),
        (waiver("expired", "", "2099-01-01"), format!("expired {trust}")),
        (waiver("hash_mismatch", "", "2099-01-01"), format!("hash_mismatch {trust}")),
        (
            waiver("ssm_unsigned", "region = \"eu-west-1\"", "2099-01-01"),
            "ssm_unsigned is a sign of an attack".to_owned(),
        ),
        (
            waiver("ssm_unavailable", "region = \"us-gov-west-1\"", "2099-01-01"),
            "ssm_unavailable means a part of the job could not be read".to_owned(),
        ),
        (
            waiver("ssm_behind", "node = \"ip-10-*\"", "2099-01-01"),
            "ssm_behind findings are not about a node, so this waiver would never match".to_owned(),
        ),
        (
            waiver("no_such_code", "", "2099-01-01"),
            "\"no_such_code\" is not a finding's code".to_owned(),
        ),
        (
            waiver("nodes_behind", "", "\"next tuesday\""),
            "expires \"next tuesday\" is not a date".to_owned(),
        ),
        (
            "[[waiver]]\ncode = \"nodes_behind\"\nreason = \" \"\nowner = \"x\"\nexpires = 2099-01-01\n"
                .to_owned(),
            "reason is empty".to_owned(),
        ),
        (
            waiver("nodes_behind", "node = \"a\"", "2099-01-01")
                + &waiver("nodes_behind", "node = \"a\"", "2098-01-01"),
            "matches what waiver 1 matches (nodes_behind node=a), so it would never waive anything"
                .to_owned(),
        ),
    ] {
        let config = nightly_config(site.path(), "", &entry);
        let (code, _, stderr) = run_at(&site, &config, AT, &[]);
        assert_eq!(code, 2, "{entry}: {stderr}");
        assert!(
            stderr.contains(&config.display().to_string()) && stderr.contains("waiver: waiver "),
            "names the file and the waiver: {stderr}"
        );
        assert!(stderr.contains(&said), "{entry}: {stderr}");
        assert!(!stderr.contains("tufwatch: wrote"), "nothing ran: {stderr}");
    }
    // A waivers file of its own is checked the same way, and named.
    let file = site.path().join("waivers.toml");
    std::fs::write(&file, waiver("rollback", "", "2099-01-01")).unwrap();
    let config = nightly_config(
        site.path(),
        &format!("waivers_file = \"{}\"", file.display()),
        "",
    );
    let (code, _, stderr) = run_at(&site, &config, AT, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "waivers file {}: waiver 1 (rollback)",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn waived_findings_are_shown_marked_and_do_not_fail_the_run() {
    let site = Site::new();
    let waivers = [
        waiver("ssm_behind", "region = \"us-*\"", "2099-01-01"),
        waiver("ssm_behind", "region = \"eu-west-1\"", "2099-01-01"),
        waiver(
            "ssm_missing",
            "variant = \"aws-ecs-2\"\narch = \"aarch64\"",
            "2099-01-01",
        ),
        waiver("stale_ami", "ami = \"ami-2894f9bbfb44142e5\"", "2099-01-01"),
        // The demo's EC2 file names no account: a waiver on one never matches its AMIs.
        waiver(
            "stale_ami",
            "ami = \"ami-711149c9916daea5c\"\naccount = \"*\"",
            "2099-01-01",
        ),
        waiver(
            "stale_ami",
            "ami = \"ami-711149c9916daea5c\"\nregion = \"us-west-2\"",
            "2099-01-01",
        ),
        // Node by node: one node of aws-k8s-1.31 x86_64, and everything else behind.
        waiver("nodes_behind", "node = \"ip-10-0-1-14.*\"", "2099-01-01"),
        waiver("nodes_behind", "variant = \"aws-*\"", "2099-01-01"),
    ]
    .concat();
    // SSM's unsigned build (which no waiver may silence) fixed in a copy.
    let (config, _, ssm) = job_with_copies(site.path(), "", &waivers);
    let parameters = std::fs::read_to_string(&ssm).unwrap();
    std::fs::write(
        &ssm,
        parameters.replace("\"1.26.2-deadbeef\"", "\"1.26.1-c41a8f09\""),
    )
    .unwrap();
    let (code, r, stderr) = run_at(&site, &config, AT, &[]);
    assert_eq!(code, 0, "{stderr}\n{r:#}");
    assert_eq!(r["verdict"], "pass");
    // Each is still there, marked.
    let behind = of_code(&r, "nodes_behind");
    assert!(behind.len() >= 4, "{behind:#?}");
    for f in behind.iter().chain(&of_code(&r, "stale_ami")) {
        assert_eq!(f["waived"]["reason"], "known: ticket OPS-1", "{f}");
        assert_eq!(f["waived"]["owner"], "platform-team");
        assert_eq!(f["waived"]["expires"], "2099-01-01");
    }
    // The node waiver took only its node: aws-k8s-1.31 x86_64 is split in two findings.
    let k8s: Vec<&&Value> = behind
        .iter()
        .filter(|f| f["subject"]["variant"] == "aws-k8s-1.31" && f["subject"]["arch"] == "x86_64")
        .collect();
    let waivers_of: Vec<&str> = k8s
        .iter()
        .map(|f| f["waived"]["waiver"].as_str().unwrap())
        .collect();
    assert_eq!(
        waivers_of,
        [
            "nodes_behind node=ip-10-0-1-14.*",
            "nodes_behind variant=aws-*"
        ]
    );
    assert!(k8s[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("aws-k8s-1.31 x86_64: 1 of 4 node(s)"));
    // The waivers: each with what it matched.
    let matched: Vec<u64> = r["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["matched"].as_u64().unwrap())
        .collect();
    assert_eq!(matched, [1, 1, 1, 1, 0, 1, 1, 4], "{:#}", r["waivers"]);
    // Every format says so.
    let text = printed(&site, &config, "human", Some(AT));
    assert!(text.contains("waived by platform-team, expires 2099-01-01: known: ticket OPS-1"));
    assert!(text.contains("WAIVERS"), "{text}");
    assert!(
        text.contains("0 finding(s) fail the run; 10 waived"),
        "{text}"
    );
    let prom = printed(&site, &config, "prometheus", Some(AT));
    assert!(
        prom.contains(
            "tufwatch_findings{severity=\"error\",category=\"fleet\",code=\"stale_ami\",waived=\"true\"} 2"
        ),
        "{prom}"
    );
    assert!(
        prom.contains("tufwatch_waivers{status=\"active\"} 8"),
        "{prom}"
    );
    // Even the Markdown digest names what is waived, and by whom.
    let md = printed(&site, &config, "markdown", Some(AT));
    assert!(md.contains("## Waived"), "{md}");
    assert!(md.contains("ami-2894f9bbfb44142e5 in us-west-2"), "{md}");
    assert!(
        md.contains("waived by platform-team, expires 2099-01-01"),
        "{md}"
    );
}

#[test]
fn an_expired_waiver_waives_nothing_and_fails_the_run() {
    let site = Site::new();
    let entry = waiver(
        "ssm_missing",
        "variant = \"aws-ecs-2\"\nregion = \"us-west-2\"",
        "2026-12-04",
    );
    let config = nightly_config(site.path(), "fail_on = [\"release\"]", &entry);
    // The day before it expires, it waives.
    let (_, before, _) = run_at(&site, &config, "2026-12-03T23:59:59Z", &[]);
    assert!(of_code(&before, "ssm_missing")[0]["waived"].is_object());
    assert!(of_code(&before, "waiver_expired").is_empty());
    // From its day on, it is an error in the category of what it waived, and waives nothing.
    let (code, r, stderr) = run_at(&site, &config, "2026-12-04T00:00:00Z", &[]);
    assert_eq!(code, 1, "{stderr}");
    let expired = of_code(&r, "waiver_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["severity"], "error");
    assert_eq!(expired[0]["category"], "release");
    assert!(expired[0]["message"].as_str().unwrap().contains(
        "waiver ssm_missing variant=aws-ecs-2 region=us-west-2 (owner platform-team) expired on 2026-12-04"
    ));
    assert!(of_code(&r, "ssm_missing")[0]["waived"].is_null());
    assert_eq!(r["waivers"][0]["status"], "expired");
}

/// The job's record of its last run.
fn record_of(site: &Site) -> PathBuf {
    let jobs = site.path().join("state/jobs");
    crate::common::files(&jobs)
        .into_iter()
        .find(|f| f.ends_with("last-run.json"))
        .map(|f| jobs.join(f))
        .expect("a record")
}

/// Edit the job's record of its last run.
fn edit_record(site: &Site, edit: impl FnOnce(&mut Value)) {
    let path = record_of(site);
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut record);
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
}

/// Run the job at the present time, as JSON; (exit code, report, stderr).
fn run_now(site: &Site, config: &Path) -> (i32, Value, String) {
    run_now_with(site, config, &[])
}

/// Run the job as JSON with more arguments (`--at`, `--timeout`); (exit code, report, stderr).
fn run_now_with(site: &Site, config: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = tufwatch(site.path())
        .args(["report", "--no-progress", "--format", "json", "--config"])
        .arg(config)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

#[test]
fn a_waiver_that_matched_nothing_for_30_days_is_stale() {
    let site = Site::new();
    let entry = waiver("no_updater", "cluster = \"retired-*\"", "2099-01-01");
    let config = nightly_config(site.path(), "", &entry);
    let name = "no_updater cluster=retired-*";
    let (_, r, stderr) = run_now(&site, &config);
    assert!(of_code(&r, "waiver_stale").is_empty(), "{stderr}");
    // The job first saw it 29 days ago, then 31 days ago (as the record says).
    for (days, stale) in [(29, false), (31, true)] {
        let seen = (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
        edit_record(&site, |r| r["waivers"][name]["first_seen"] = seen.into());
        let (_, r, stderr) = run_now(&site, &config);
        let found = of_code(&r, "waiver_stale");
        assert_eq!(found.len(), usize::from(stale), "{days} days: {stderr}");
        if stale {
            assert_eq!(found[0]["severity"], "warning");
            assert_eq!(found[0]["target"], name);
            assert_eq!(r["waivers"][0]["status"], "stale");
        }
    }
}

#[test]
fn fail_on_chooses_what_fails_the_run_and_trust_always_does() {
    let site = Site::new();
    let only_trust = nightly_config(site.path(), "fail_on = [\"trust\"]", "");
    let (code, r, _) = run_at(&site, &only_trust, AT, &[]);
    assert_eq!(
        code, 0,
        "release and fleet errors are shown and do not fail"
    );
    assert_eq!(r["fail_on"], serde_json::json!(["trust"]));
    assert!(!of_code(&r, "nodes_behind").is_empty());
    let categories = each(&r["findings"], "category");
    assert!(categories.contains(&"release") && categories.contains(&"fleet"));
    // The page marks each error that does not fail the run.
    let page = site.path().join("report.html");
    tufwatch(site.path())
        .args([
            "report",
            "--no-progress",
            "--format",
            "html",
            "--at",
            AT,
            "--out",
        ])
        .arg(&page)
        .arg("--config")
        .arg(&only_trust)
        .assert()
        .code(0);
    let html = std::fs::read_to_string(&page).unwrap();
    let errors = html
        .matches("<span class=\"tag error\">error</span>")
        .count();
    assert!(errors > 0);
    assert_eq!(
        html.matches("<span class=\"tag\">outside fail_on</span>")
            .count(),
        errors,
        "every error is outside fail_on = [\"trust\"]"
    );
    // The demo's metadata expired by 2040: a trust finding fails the run whatever fail_on says.
    let only_fleet = nightly_config(site.path(), "fail_on = [\"fleet\"]", "");
    let (code, r, _) = run_at(&site, &only_fleet, "2040-01-01T00:00:00Z", &[]);
    assert_eq!(code, 1);
    let repo_findings = &r["repositories"][0]["releases"]["verification"]["findings"];
    assert!(
        each(repo_findings, "code").contains(&"expired"),
        "{repo_findings:#}"
    );
    assert!(each(repo_findings, "category")
        .iter()
        .all(|c| *c == "trust"));
    // An empty fail_on is refused: it would read as "nothing fails".
    let empty = nightly_config(site.path(), "fail_on = []", "");
    let (code, _, stderr) = run_at(&site, &empty, AT, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("policy.fail_on: is empty"), "{stderr}");
}

#[test]
fn ssm_and_nodes_get_their_grace_before_the_bound_and_a_finding_after() {
    let site = Site::new();
    let config = nightly_config(site.path(), "ssm_grace = \"72h\"\nnodes_grace = \"1d\"", "");
    // aws-ecs-2 aarch64 in eu-west-1: SSM says 1.26.0; 1.26.1 is due since 2026-12-01T17:00Z.
    let row = |r: &Value| {
        of_code(r, "ssm_behind")
            .into_iter()
            .find(|f| f["subject"]["region"] == "eu-west-1")
            .cloned()
            .unwrap()
    };
    let (_, r, _) = run_at(&site, &config, "2026-12-04T16:59:59Z", &[]);
    let within = row(&r);
    assert_eq!(within["severity"], "note", "{within}");
    assert!(within["message"]
        .as_str()
        .unwrap()
        .ends_with("within ssm_grace: a finding from 2026-12-04 17:00 UTC (1 second left)"));
    let (_, r, _) = run_at(&site, &config, "2026-12-04T17:00:00Z", &[]);
    assert_eq!(row(&r)["severity"], "error");
    // Nodes on 1.26.0 behind 1.26.1: a note for a day, then a finding; those on 1.25.0 have
    // been behind longer and are findings all along.
    let k8s = |r: &Value| -> Vec<(String, String)> {
        of_code(r, "nodes_behind")
            .into_iter()
            .filter(|f| {
                f["subject"]["variant"] == "aws-k8s-1.31" && f["subject"]["arch"] == "x86_64"
            })
            .map(|f| {
                (
                    f["severity"].as_str().unwrap().to_owned(),
                    f["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (_, r, _) = run_at(&site, &config, "2026-12-02T16:59:59Z", &[]);
    assert_eq!(
        k8s(&r),
        [
            (
                "error".to_owned(),
                "aws-k8s-1.31 x86_64: 1 of 4 node(s) run a release older than the due 1.26.1"
                    .to_owned()
            ),
            (
                "note".to_owned(),
                "aws-k8s-1.31 x86_64: 1 node(s) run a release older than the due 1.26.1, within nodes_grace: a finding from 2026-12-02 17:00 UTC".to_owned()
            )
        ]
    );
    let (_, r, _) = run_at(&site, &config, "2026-12-02T17:00:00Z", &[]);
    assert_eq!(
        k8s(&r),
        [(
            "error".to_owned(),
            "aws-k8s-1.31 x86_64: 2 of 4 node(s) run a release older than the due 1.26.1"
                .to_owned()
        )]
    );
}

/// A copy of the demo's CSV inventory and SSM file in `dir`, and the job reading them, with
/// `policy` and `extra` as [`nightly_config`] takes them; (configuration, CSV, SSM file).
fn job_with_copies(dir: &Path, policy: &str, extra: &str) -> (PathBuf, PathBuf, PathBuf) {
    let fixtures = crate::common::project().join("fixtures/demo-fleet");
    let (csv, ssm) = (dir.join("edge.csv"), dir.join("ssm.json"));
    std::fs::copy(fixtures.join("edge.csv"), &csv).unwrap();
    std::fs::copy(fixtures.join("ssm-parameters.json"), &ssm).unwrap();
    let config = nightly_config(dir, policy, extra);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            &fixtures.join("edge.csv").display().to_string(),
            &csv.display().to_string(),
        )
        .replace(
            &fixtures.join("ssm-parameters.json").display().to_string(),
            &ssm.display().to_string(),
        );
    std::fs::write(&config, text).unwrap();
    (config, csv, ssm)
}

#[test]
fn every_format_leads_with_what_changed_since_the_last_run() {
    let site = Site::new();
    let (config, csv, ssm) = job_with_copies(site.path(), "", "");
    let (_, first, _) = run_now(&site, &config);
    assert!(first["changes"]["since"].is_null(), "the first run");

    // Between the runs: an edge node updates, another appears behind, SSM's unsigned latest
    // is fixed.
    let inventory = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(
        &csv,
        inventory.replace(
            "edge-store-01,aws-ecs-2,x86_64,1.26.0",
            "edge-store-01,aws-ecs-2,x86_64,1.26.1",
        ) + "edge-store-09,aws-ecs-2,x86_64,1.25.0\n",
    )
    .unwrap();
    let parameters = std::fs::read_to_string(&ssm).unwrap();
    std::fs::write(
        &ssm,
        parameters.replace("\"1.26.2-deadbeef\"", "\"1.26.1-c41a8f09\""),
    )
    .unwrap();
    let (_, r, stderr) = run_now(&site, &config);
    let c = &r["changes"];
    assert_eq!(
        c["since"]["reference_time"], first["reference_time"],
        "{stderr}"
    );
    assert_eq!(
        c["fell_behind"]["named"],
        serde_json::json!(["edge-store-09 (1.25.0)"])
    );
    // 1.26.1 is due since 2026-12-01: edge-store-01 on 1.26.0 was behind.
    assert_eq!(
        c["caught_up"]["named"],
        serde_json::json!(["edge-store-01 (1.26.1)"])
    );
    assert_eq!(c["ssm"][0]["from"], "1.26.2-deadbeef");
    assert_eq!(c["ssm"][0]["to"], "1.26.1-c41a8f09");
    assert_eq!(
        each(&c["resolved_findings"], "code"),
        ["ssm_unsigned"],
        "{c:#}"
    );

    // A release newly signed and newly due show when the last record lacks them.
    edit_record(&site, |record| {
        for t in record["tracks"].as_array_mut().unwrap() {
            t["versions"]
                .as_array_mut()
                .unwrap()
                .retain(|v| v != "1.26.1");
            t["due"] = "1.26.0".into();
        }
    });
    let md = printed(&site, &config, "markdown", None);
    assert!(md.starts_with("# tufwatch report\n"), "{md}");
    assert!(md.contains("## Changes"), "{md}");
    assert!(
        md.contains("new release signed: aws-ecs-2 aarch64 1.26.1"),
        "{md}"
    );
    assert!(
        md.contains("release due: aws-ecs-2 aarch64 1.26.0 → 1.26.1"),
        "{md}"
    );
    assert!(md.contains("FAIL: see the findings"), "{md}");
    assert!(
        !md.contains("Repositories") && !md.contains("| NODE"),
        "just the changes: {md}"
    );

    // Nothing changed since: said so; the text leads with it.
    let text = printed(&site, &config, "human", None);
    let changes = text.find("CHANGES").unwrap();
    assert!(changes < text.find("REPOSITORIES").unwrap());
    assert!(
        text.contains("nothing changed since the run checked at "),
        "{text}"
    );

    // A run judged at another time compares, and keeps no record.
    let kept = std::fs::read(record_of(&site)).unwrap();
    let (_, r, _) = run_at(&site, &config, AT, &[]);
    assert!(r["changes"]["since"].is_object());
    assert_eq!(std::fs::read(record_of(&site)).unwrap(), kept);

    // A damaged record is said, and replaced.
    std::fs::write(record_of(&site), "{not json").unwrap();
    let (code, r, _) = run_now(&site, &config);
    assert_eq!(code, 1);
    assert!(r["changes"]["record_unreadable"]
        .as_str()
        .unwrap()
        .contains("last-run.json"));
    assert!(serde_json::from_slice::<Value>(&std::fs::read(record_of(&site)).unwrap()).is_ok());
}

/// A loopback HTTP receiver that answers each request in turn with the next status of
/// `answers` (`None`: never answers), and keeps each request's body.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    fn start(answers: Vec<Option<u16>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/T000/SECRET-TOKEN",
            listener.local_addr().unwrap()
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            let mut answers = answers.into_iter();
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock().unwrap().push(body);
                match answers.next().flatten() {
                    Some(status) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        );
                    }
                    None => held.push(stream),
                }
            }
        });
        Receiver { url, bodies }
    }
}

#[test]
fn the_webhook_gets_the_changes_and_the_verdict_and_is_tried_again() {
    let site = Site::new();
    let receiver = Receiver::start(vec![Some(500), Some(200)]);
    let config = nightly_config(site.path(), "", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[output]\n",
        &format!("[output]\nwebhook = \"{}\"\n", receiver.url),
    );
    std::fs::write(&config, text).unwrap();
    let (code, _, stderr) = run_now(&site, &config);
    assert_eq!(code, 1, "the verdict stands: {stderr}");
    assert!(stderr.contains("webhook http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("delivered (HTTP 200)"), "{stderr}");
    assert!(
        !stderr.contains("SECRET-TOKEN"),
        "the webhook's secret is never shown: {stderr}"
    );
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "500, then again");
    assert_eq!(bodies[0], bodies[1]);
    let message: Value = serde_json::from_slice(&bodies[1]).unwrap();
    assert_eq!(message["verdict"], "fail");
    assert_eq!(message["exit_code"], 1);
    assert!(message["changes"].is_object());
    let chat = message["text"].as_str().unwrap();
    assert!(chat.starts_with("tufwatch: FAIL (exit 1): "), "{chat}");
    assert!(chat.contains(" finding(s) fail the run"), "{chat}");
    assert!(chat.contains("the first run this job keeps"), "{chat}");
    // A run judged at another time is an audit: no alert.
    let (_, _, stderr) = run_at(&site, &config, AT, &[]);
    assert!(
        stderr.contains("--at: no webhook or Pushgateway alert"),
        "{stderr}"
    );
    assert_eq!(receiver.bodies.lock().unwrap().len(), 2);
}

#[test]
fn a_webhook_that_never_answers_is_reported_and_the_verdict_stands() {
    let site = Site::new();
    let receiver = Receiver::start(vec![None, None, None]);
    let config = nightly_config(site.path(), "", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[output]\n",
        &format!("[output]\nwebhook = \"{}\"\n", receiver.url),
    );
    std::fs::write(&config, text).unwrap();
    let started = std::time::Instant::now();
    let (code, r, stderr) = run_now_with(&site, &config, &["--timeout", "1"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        r["verdict"], "fail",
        "the report was written before the alert"
    );
    assert!(
        stderr.contains(
            "not delivered after 3 attempt(s): no answer within 1s; the run's verdict stands"
        ),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(receiver.bodies.lock().unwrap().len(), 3);
}

/// Debian's Prometheus Pushgateway on a free loopback port, stopped when dropped.
struct Pushgateway {
    child: std::process::Child,
    url: String,
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Pushgateway: `TUFWATCH_TEST_PUSHGATEWAY`, else `prometheus-pushgateway` on the PATH.
fn pushgateway(dir: &Path) -> Pushgateway {
    let program = std::env::var_os("TUFWATCH_TEST_PUSHGATEWAY")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("prometheus-pushgateway"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("prometheus-pushgateway is missing: scripts/test.sh installs Debian's package")
        });
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(program)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let gw = Pushgateway {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if get(&format!("{}/-/ready", gw.url)).is_some() {
            return gw;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the Pushgateway did not start");
}

/// A GET on loopback: the body, when the answer is 200.
fn get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    (head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200")).then(|| body.to_owned())
}

#[test]
fn the_metrics_are_pushed_to_the_pushgateway_for_the_job_and_instance() {
    let site = Site::new();
    let gw = pushgateway(site.path());
    // A first run that passes (only trust fails it), then one that fails, without SSM.
    let config = nightly_config(site.path(), "fail_on = [\"trust\"]", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[output]\n",
        &format!(
            "[output]\npushgateway = \"{}\"\ninstance = \"nightly/prod\"\n",
            gw.url
        ),
    );
    std::fs::write(&config, &text).unwrap();
    let (code, _, stderr) = run_now(&site, &config);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("pushgateway http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("delivered (HTTP 200)"), "{stderr}");
    let metrics = get(&format!("{}/metrics", gw.url)).unwrap();
    let group = "instance=\"nightly/prod\",job=\"tufwatch\"";
    for pushed in [
        format!("tufwatch_verdict{{{group}}} 0"),
        format!("tufwatch_findings{{category=\"release\",code=\"ssm_unsigned\",{group},severity=\"error\",waived=\"false\"}} 1"),
        format!("tufwatch_nodes{{arch=\"x86_64\",{group},status=\"behind\",variant=\"aws-k8s-1.31\",version=\"1.25.0\"}} 1"),
        format!("tufwatch_ssm_region_up{{{group},region=\"us-west-2\"}} 1"),
        format!("tufwatch_last_success_timestamp_seconds{{{group}}}"),
        // The Pushgateway's own record of the push: the group of the job and instance.
        format!("push_time_seconds{{{group}}}"),
    ] {
        assert!(metrics.contains(&pushed), "{pushed} not in\n{metrics}");
    }
    let without_ssm: String = text
        .replace("fail_on = [\"trust\"]", "")
        .lines()
        .filter(|l| {
            !l.starts_with("[ssm]") && !l.starts_with("files = [") && !l.starts_with("regions = [")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, without_ssm).unwrap();
    let (code, _, stderr) = run_now(&site, &config);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("delivered (HTTP 200)"), "{stderr}");
    let metrics = get(&format!("{}/metrics", gw.url)).unwrap();
    assert!(
        metrics.contains(&format!("tufwatch_verdict{{{group}}} 1")),
        "{metrics}"
    );
    // The push replaced the group (PUT): SSM's series are gone; the last success is carried
    // from the job's history, since the push leaves nothing of the last run's.
    assert!(!metrics.contains("tufwatch_ssm_region_up"), "{metrics}");
    assert!(
        metrics.contains(&format!(
            "tufwatch_last_success_timestamp_seconds{{{group}}}"
        )),
        "{metrics}"
    );
}

#[test]
fn an_evidence_bundle_never_takes_in_the_jobs_history() {
    let site = Site::new();
    let config = nightly_config(site.path(), "", "");
    let state = site.path().join("state");
    let (code, _, stderr) = run_now_with(&site, &config, &["--evidence", state.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("overlap"), "{stderr}");
    assert!(!state.exists(), "nothing written: {stderr}");
}
