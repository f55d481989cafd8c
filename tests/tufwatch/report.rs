//! `tufwatch report --config`: the nightly job on the demo configuration; its human and
//! Markdown reports (snapshots), its JSON (structure), its files and Prometheus metrics, SSM
//! from a real local endpoint, and bad configurations.

use crate::common::moto::moto;
use crate::common::*;
use serde_json::Value;

const AT: &str = "2026-11-28T00:00:00Z";

/// Run `report` from the project's root (so paths in the output are relative) with `args`.
fn report(site: &Site, args: &[&str]) -> std::process::Output {
    tufwatch(site.path())
        .current_dir(project())
        .args(["report", "--at", AT])
        .args(args)
        .output()
        .unwrap()
}

/// `report --format json` of a configuration whose job has findings (exit 1).
fn report_json(site: &Site, config: &std::path::Path) -> Value {
    let out = report(
        site,
        &["--config", config.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stable(text: &[u8]) -> String {
    String::from_utf8_lossy(text).replace(
        &format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        "tufwatch [VERSION]",
    )
}

#[test]
fn the_demo_report_as_text_and_markdown() {
    let site = Site::new();
    let out = report(&site, &["--config", "fixtures/demo.toml"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!("demo_report_human", stable(&out.stdout));
    let out = report(
        &site,
        &["--config", "fixtures/demo.toml", "--format", "markdown"],
    );
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("demo_report_markdown", stable(&out.stdout));
}

fn codes(r: &Value) -> Vec<String> {
    let mut c: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    c.sort();
    c.dedup();
    c
}

#[test]
fn the_demo_report_shows_each_kind_of_finding() {
    let site = Site::new();
    let out = report(
        &site,
        &["--config", "fixtures/demo.toml", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["reference_time"], AT);
    assert_eq!(
        codes(&r),
        [
            "nodes_behind",
            "nodes_unchecked",
            "ssm_behind",
            "ssm_missing",
            "ssm_unsigned",
            "stale_ami",
            "unknown_version"
        ]
    );
    let repo = &r["repositories"][0];
    assert_eq!(repo["name"], "demo");
    assert_eq!(repo["releases"]["verification"]["verdict"], "pass");
    assert_eq!(repo["releases"]["tracks"].as_array().unwrap().len(), 4);
    let statuses = each(&r["ssm"]["cross_check"], "status");
    assert!(statuses.contains(&"agree"));
    let mut node_statuses: Vec<&str> = r["fleet"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    node_statuses.sort();
    node_statuses.dedup();
    assert_eq!(
        node_statuses,
        [
            "behind",
            "current",
            "not_bottlerocket",
            "rolling_out",
            "unchecked",
            "unknown_version"
        ]
    );
    let inventories = each(&r["inventories"], "format");
    assert_eq!(inventories, ["kubectl", "ec2", "csv"]);
    assert_eq!(r["fleet"]["nodes"].as_array().unwrap().len(), 8 + 5 + 3);
}

/// A copy of the demo configuration in `dir`, with paths made absolute, and `extra` appended.
#[test]
fn every_format_is_written_atomically_and_the_last_success_is_kept() {
    let site = Site::new();
    let out_dir = site.path().join("out");
    // A job that passes: the repository alone.
    let passing = site.path().join("pass.toml");
    std::fs::write(
        &passing,
        format!(
            "[trust]\nroot = \"{0}/root.json\"\nno_state = true\n[[repository]]\nname = \"demo\"\nmetadata_url = \"{0}/metadata\"\ntargets_url = \"{0}/targets\"\n[output]\nformats = [\"human\", \"json\", \"markdown\", \"prometheus\"]\n",
            demo_dir().display()
        ),
    )
    .unwrap();
    let out = report(
        &site,
        &[
            "--config",
            passing.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "files, not stdout");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["report.json", "report.md", "report.txt", "tufwatch.prom"]
    );
    let prom = std::fs::read_to_string(out_dir.join("tufwatch.prom")).unwrap();
    let success = prom
        .lines()
        .find(|l| l.starts_with("tufwatch_last_success_timestamp_seconds "))
        .unwrap()
        .to_owned();
    assert!(prom.contains("tufwatch_verdict 0\n"), "{prom}");
    assert!(prom.contains("tufwatch_repository_verified{repository=\"demo\"} 1\n"));
    assert!(prom.contains("tufwatch_role_expiry_seconds{repository=\"demo\",role=\"timestamp\"} "));
    let json: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "pass");

    // The demo job fails: the metrics say so, and still say when a run last passed.
    let failing = demo_config(site.path(), "");
    let out = report(
        &site,
        &[
            "--config",
            failing.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
            "--format",
            "prometheus",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let prom = std::fs::read_to_string(out_dir.join("tufwatch.prom")).unwrap();
    assert!(prom.contains("tufwatch_verdict 1\n"), "{prom}");
    assert!(prom.contains(&success), "{prom}");
    for metric in [
        "tufwatch_ssm_mismatch{variant=\"aws-k8s-1.31\",arch=\"x86_64\",region=\"eu-west-1\",status=\"ssm_unsigned\"} 1",
        "tufwatch_nodes_behind{variant=\"aws-k8s-1.31\",arch=\"x86_64\"} 1",
        "tufwatch_nodes{variant=\"aws-ecs-2\",arch=\"aarch64\",status=\"current\",version=\"1.26.1-c41a8f09\"} 1",
        "tufwatch_stale_amis 1",
        "tufwatch_findings{severity=\"error\",category=\"release\",code=\"ssm_behind\",waived=\"false\"} 1",
        "tufwatch_ssm_region_up{region=\"us-west-2\"} 1",
    ] {
        assert!(prom.contains(metric), "{metric} not in\n{prom}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out_dir.join("tufwatch.prom"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o044, 0o044, "readable by node_exporter: {mode:o}");
    }
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
}

#[test]
fn ssm_from_a_live_endpoint_in_the_configuration() {
    let site = Site::new();
    let live = live_demo_config(site.path(), &moto().url());
    let from_endpoint = report_json(&site, &live);
    assert_eq!(from_endpoint["ssm"]["observations"]["source"], "live");

    let out = report(
        &site,
        &["--config", "fixtures/demo.toml", "--format", "json"],
    );
    let from_file: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        from_endpoint["ssm"]["cross_check"],
        from_file["ssm"]["cross_check"]
    );
    assert_eq!(
        from_endpoint["fleet"]["summary"],
        from_file["fleet"]["summary"]
    );
    assert_eq!(
        from_endpoint["fleet"]["amis"][0], from_file["fleet"]["amis"][0],
        "the stale AMI"
    );
    let calls = &from_endpoint["ssm"]["observations"]["calls"];
    // The inventories name 4 variants: 4 x 2 arches x 2 names = 16 names, 2 GetParameters calls
    // in eu-west-1. In us-west-2, where the EC2 instances run, the AMI map is read, and its pages
    // carry the latest values too: 8 variant-arch paths; the demo's 2 variants hold 12 to 14
    // parameters per path (2 pages each), the NVIDIA and FIPS paths none (1 page each).
    assert_eq!(calls["get_parameters"], 2, "{calls}");
    assert_eq!(calls["get_parameters_by_path"], 12, "{calls}");
}

#[test]
fn bad_configurations_name_the_file_and_the_key() {
    let site = Site::new();
    let cases = [
        ("[trust]\nroot_file = \"x\"\n", "root_file"),
        ("[[inventory]]\npath = \"x\"\nformat = \"xml\"\n", "format"),
        ("[trust]\nno_state = true\n", "names no repository"),
        ("[policy]\nexpiry_warning = \"soon\"\n[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n", "policy.expiry_warning"),
        ("not toml at all", "job.toml"),
        ("[policy]\nmax_days_behind = -1\n[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n", "policy.max_days_behind"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n", "repository[1].name"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[[account]]\nrole_arn = \"arn:aws:iam::1:role/x\"\n", "account[0].role_arn"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[ec2]\nregions = [\"US West\"]\n", "ec2.regions"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[ec2]\nimage_owners = [\"amazon\"]\n", "ec2.image_owners"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[[account]]\narn = \"x\"\n", "arn"),
        ("[[repository]]\nname=\"d\"\nmetadata_url=\"m\"\ntargets_url=\"t\"\n[[account]]\nrole_arn = \"arn:aws:iam::111122223333:role/a\"\n[[account]]\nrole_arn = \"arn:aws:iam::111122223333:role/b\"\n", "account[1].role_arn"),
    ];
    for (text, expected) in cases {
        let path = site.path().join("job.toml");
        std::fs::write(&path, text).unwrap();
        let out = report(&site, &["--config", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("job.toml") && err.contains(expected),
            "{text}: {err}"
        );
    }
}

#[test]
fn bottlerocket_variants_from_the_configuration_and_from_the_fleet() {
    let site = Site::new();
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let config = site.path().join("br.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = \"{}\"\nstate_dir = \"state\"\n\
             [bottlerocket]\nrepo_base = \"{}\"\nvariants = [\"aws-k8s-1.31\"]\narchs = [\"x86_64\"]\n\
             [[inventory]]\npath = \"{}\"\n\
             [policy]\nmax_releases_behind = 0\n",
            demo_dir().join("root.json").display(),
            base.display(),
            project().join("fixtures/demo-fleet/kubectl-nodes.json").display(),
        ),
    )
    .unwrap();
    let r = report_json(&site, &config);
    let names = each(&r["repositories"], "name");
    // The one named, then those the nodes bring into play.
    assert_eq!(
        names,
        [
            "aws-k8s-1.31/x86_64",
            "aws-k8s-1.31/aarch64",
            "aws-k8s-1.31-fips/aarch64",
            "aws-k8s-1.31-nvidia/x86_64"
        ]
    );
    for repo in r["repositories"].as_array().unwrap() {
        let tracks = repo["releases"]["tracks"].as_array().unwrap();
        let name = repo["name"].as_str().unwrap();
        // Each Bottlerocket repository speaks only for its own variant and architecture.
        assert!(
            tracks.iter().all(|t| format!(
                "{}/{}",
                t["variant"].as_str().unwrap(),
                t["arch"].as_str().unwrap()
            ) == name),
            "{name}: {tracks:?}"
        );
    }
    // The state directory is relative to the configuration file (an audit with --at only reads
    // it).
    let state = r["repositories"][0]["releases"]["verification"]["state"]["dir"]
        .as_str()
        .unwrap();
    assert!(
        state.starts_with(site.path().join("state").to_str().unwrap()),
        "{state}"
    );
}

#[test]
fn the_readme_starts_with_the_demo_job() {
    let readme = std::fs::read_to_string(project().join("README.md")).unwrap();
    let first = readme
        .lines()
        .skip_while(|l| !l.starts_with("```sh"))
        .nth(1)
        .unwrap();
    assert_eq!(first, "cargo run -- report --config fixtures/demo.toml");
    // It runs offline, shows findings on purpose, and says so in its last line.
    let site = Site::new();
    let out = tufwatch(site.path())
        .current_dir(project())
        .args(["report", "--config", "fixtures/demo.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().last(), Some("FAIL: see the findings"));
}

#[test]
fn a_job_that_cannot_run_still_prints_one_json_document() {
    let site = Site::new();
    let path = site.path().join("job.toml");
    std::fs::write(&path, "[trust]\nroot_file = 1\n").unwrap();
    let out = report(
        &site,
        &["--config", path.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"], "incomplete");
    assert!(r["message"].as_str().unwrap().contains("root_file"));
}

#[test]
fn ssm_is_cross_checked_only_for_what_it_was_asked() {
    let site = Site::new();
    // SSM asked about aws-ecs-2 only, in eu-west-1 only; the EC2 instances run in us-west-2,
    // where only the AMI map is read.
    let config = demo_config(site.path(), "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "regions = [\"us-west-2\", \"eu-west-1\"]",
        "regions = [\"eu-west-1\"]\nvariants = [\"aws-ecs-2\"]",
    );
    std::fs::write(&config, text).unwrap();
    let r = report_json(&site, &config);
    let rows = r["ssm"]["cross_check"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows
        .iter()
        .all(|c| c["variant"] == "aws-ecs-2" && c["region"] == "eu-west-1"));
    assert_eq!(
        r["ssm"]["observations"]["latest_regions"],
        serde_json::json!(["eu-west-1"])
    );
    // The stale AMI in us-west-2 is still found through the AMI map.
    assert_eq!(r["fleet"]["amis"][0]["stale"], true);
}

#[test]
fn repositories_of_a_job_read_a_target_they_share_once() {
    let site = Site::new();
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let server = Server::start(&base);
    let config = site.path().join("mirror.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = \"{}\"\nno_state = true\n\
             [bottlerocket]\nrepo_base = \"http://127.0.0.1:{}/\"\n\
             variants = [\"aws-k8s-1.31\", \"aws-ecs-2\", \"aws-k8s-1.31-nvidia\", \"aws-k8s-1.31-fips\"]\n\
             archs = [\"x86_64\", \"aarch64\"]\n",
            demo_dir().join("root.json").display(),
            server.port,
        ),
    )
    .unwrap();
    let out = report(
        &site,
        &["--config", config.to_str().unwrap(), "--format", "json"],
    );
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let repos = r["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 8, "{r:#}");
    // Every repository read and checked the manifest, which all eight list with the same hash
    // below the one targets URL ...
    for repo in repos {
        let manifest = &repo["releases"]["manifest"];
        assert_eq!(manifest["verified"], true, "{repo:#}");
        assert_eq!(manifest["name"], "manifest.json", "{repo:#}");
    }
    // ... and it was downloaded once.
    let file = std::fs::read_dir(base.join("targets"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".manifest.json"))
        .unwrap();
    assert_eq!(server.count(&format!("/targets/{file}")), 1);
    // Each repository's own metadata was read from its own place.
    assert_eq!(
        server.count("/2020-07-07/aws-ecs-2/aarch64/timestamp.json"),
        1
    );
}

/// An HTML report with the moment it was made (the run's start) and the project's place
/// replaced, for snapshots.
fn stable_html(text: &[u8]) -> String {
    let mut s = stable(text).replace(project().to_str().unwrap(), "[PROJECT]");
    let open = "<time class=\"made\">";
    if let Some(start) = s.find(open) {
        if let Some(len) = s[start..].find("</time>") {
            s.replace_range(start + open.len()..start + len, "[TIME]");
        }
    }
    s
}

#[test]
fn the_demo_report_as_an_html_page() {
    let site = Site::new();
    let file = site.path().join("out/report.html");
    let out = report(
        &site,
        &[
            "--config",
            "fixtures/demo.toml",
            "--format",
            "html",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let html = std::fs::read(&file).unwrap();
    let text = String::from_utf8_lossy(&html);
    // Self-contained: no script, nothing fetched when it is opened.
    for outside in [
        "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
    ] {
        assert!(!text.contains(outside), "{outside} in the page");
    }
    for id in [
        "verdict",
        "findings",
        "repositories",
        "releases",
        "fleet",
        "ssm",
        "about",
    ] {
        assert!(text.contains(&format!("id=\"{id}\"")), "no section {id}");
    }
    // A chart for each repository's expiries, each track's releases, each variant's nodes.
    assert!(text.matches("<svg").count() >= 3);
    insta::assert_snapshot!("demo_report_html", stable_html(&html));
    // Printed, it is the same page.
    let printed = report(
        &site,
        &["--config", "fixtures/demo.toml", "--format", "html"],
    );
    assert_eq!(stable_html(&printed.stdout), stable_html(&html));
    // One file takes one format.
    let out = report(
        &site,
        &[
            "--config",
            "fixtures/demo.toml",
            "--format",
            "html",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
}

#[test]
fn names_and_messages_in_the_html_page_are_text() {
    let site = Site::new();
    let config = demo_job_with_csv(
        &site,
        "name,variant,arch,version\n\
         \"<script>window.pwned=1</script>\",aws-k8s-1.31,x86_64,1.25.0\n\
         \"q\"\"uote' & <b>bold</b>\",\"aws-k8s-1.31<img src=x onerror=alert(1)>\",x86_64,1.31.0\n",
    );
    let out = report(
        &site,
        &["--config", config.to_str().unwrap(), "--format", "html"],
    );
    let html = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    // What the markup became is text: the node behind by its name, the odd variant in its
    // chart's title, SSM's version in a finding's message, each as it was written.
    let text = unescape(&html);
    assert!(text.contains("<script>window.pwned=1</script>"), "{html}");
    assert!(
        text.contains("aws-k8s-1.31<img src=x onerror=alert(1)>: nodes per running version"),
        "{html}"
    );
    assert!(text.contains(HOSTILE_SSM_MESSAGE), "{html}");
}
