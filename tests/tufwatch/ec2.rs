//! `tufwatch nodes --ec2`: the fleet read from EC2 itself (moto, seeded through its API by
//! `tests/support/moto_ssm.py`): instances judged by their launch AMIs' names, AMIs gone,
//! deprecated or owned by someone else, SSM's AMIs checked, accounts through roles, pages,
//! throttling and a region that fails.

use crate::common::moto::{self, ami, moto};
use crate::common::*;
use serde_json::Value;

const AT: &str = "2026-11-28T00:00:00Z";

/// Run `nodes --ec2 --format json` on the demo mirror against the local endpoint, with `args`.
fn ec2(site: &Site, args: &[&str]) -> (i32, Value) {
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let out = tufwatch(site.path())
        .args([
            "nodes",
            "--ec2",
            "--format",
            "json",
            "--no-state",
            "--at",
            AT,
        ])
        .arg("--root")
        .arg(demo_dir().join("root.json"))
        .arg("--repo-base")
        .arg(&base)
        .args(["--endpoint-url", &moto().url(), "--ssm-backoff", "10ms"])
        .args(args)
        .output()
        .unwrap();
    json_report(&out)
}

/// The nodes whose Name tag is `tag`.
fn tagged<'a>(r: &'a Value, tag: &str) -> Vec<&'a Value> {
    r["fleet"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["name"].as_str().unwrap().ends_with(&format!("({tag})")))
        .collect()
}

/// The status of every node tagged `tag` (all the same).
fn status_of(r: &Value, tag: &str) -> String {
    let nodes = tagged(r, tag);
    assert!(!nodes.is_empty(), "no node tagged {tag}: {r:#}");
    let s = nodes[0]["status"].as_str().unwrap().to_owned();
    assert!(
        nodes.iter().all(|n| n["status"] == s.as_str()),
        "{tag}: {nodes:#?}"
    );
    s
}

/// The findings as `code:target`.
fn codes(r: &Value) -> Vec<String> {
    let mut c: Vec<String> = r["findings"]
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
        .collect();
    c.sort();
    c
}

#[test]
fn instances_are_judged_by_their_launch_amis_names() {
    let site = Site::new();
    let (code, r) = ec2(&site, &["--region", moto::EC2_FLEET]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status_of(&r, "web"), "current");
    // 1.26.0, while 1.26.1 is still in its waves.
    assert_eq!(status_of(&r, "batch"), "rolling_out");
    assert_eq!(status_of(&r, "bastion"), "not_bottlerocket");
    assert_eq!(status_of(&r, "lookalike"), "unchecked");
    let web = tagged(&r, "web")[0];
    assert_eq!(web["evidence"], "launch_ami");
    assert_eq!(web["version"], "1.26.1-c41a8f09");
    assert_eq!(web["variant"], "aws-k8s-1.31");
    assert_eq!(web["account"], moto::BASE_ACCOUNT);
    assert_eq!(web["inventory"], format!("aws:{}", moto::BASE_ACCOUNT));
    let lookalike = tagged(&r, "lookalike")[0];
    assert!(
        lookalike["reason"]
            .as_str()
            .unwrap()
            .contains("not Bottlerocket's publisher"),
        "{lookalike}"
    );
    // The AMI that is gone: SSM's map still knows its version.
    assert_eq!(status_of(&r, "legacy"), "behind");
    assert_eq!(tagged(&r, "legacy")[0]["version"], "1.25.0-0f3e5a1c");

    let foreign = lookalike["image_id"].as_str().unwrap();
    let c = codes(&r);
    for expected in [
        format!("ami_deprecated:{}", ami::DEPRECATED),
        format!("ami_missing:{}", ami::GONE),
        format!("ami_foreign_owner:{foreign}"),
        format!("ssm_bad_image:{}", ami::MISNAMED),
    ] {
        assert!(c.contains(&expected), "{expected} not in {c:?}");
    }
    assert!(c.iter().any(|x| x.starts_with("stale_ami")), "{c:?}");

    // The launch templates: what the next nodes boot, stale ones first.
    let paths: Vec<String> = r["fleet"]["launch_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap();
            format!(
                "{} {} {}",
                name.split(' ').next().unwrap(),
                name.rsplit(' ')
                    .find(|w| w.starts_with('v'))
                    .unwrap_or("?")
                    .trim_end_matches(','),
                p["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            "arm v1 behind",
            "asg-lc-old ? behind",
            "asg-rolling-latest ? behind",
            "pinned v1 behind",
            "prod/bottlerocket-x86 ? behind",
            "three v1 behind",
            "asg-deprecated ? rolling_out",
            "asg-lc-current ? current",
            "asg-lc-gone ? unchecked",
            "asg-three-2 ? current",
            "asg-web ? current",
            "deprecated-lt v1 rolling_out",
            "follow v1 current",
            "gone-lt v1 unchecked",
            "lookalike-lt v1 unchecked",
            "prod/al2023 ? not_bottlerocket",
            "prod/custom ? current",
            "rolling v1 current",
            "web v1 current",
        ],
        "{:#}",
        r["fleet"]["launch_paths"]
    );
    let stale: Vec<&String> = c
        .iter()
        .filter(|x| x.starts_with("stale_launch_path"))
        .collect();
    // A template's version no group names and no launch takes by default (`rolling` v2,
    // `three` v3) is no launch path; the versions groups name are judged as the groups.
    assert_eq!(stale.len(), 6, "{c:?}");
    let path = |name: &str| launch_path(&r, name);
    assert_eq!(
        path("asg-lc-old")["launches_from"],
        "launch configuration old-lc"
    );
    assert_eq!(path("asg-lc-old")["boots"], ami::ARM_OLD);
    assert!(
        path("asg-three-2")["launches_from"]
            .as_str()
            .is_some_and(|f| f.starts_with("launch template three (lt-") && f.ends_with(") v2")),
        "{}",
        path("asg-three-2")
    );
    assert_eq!(
        path("asg-lc-gone")["reason"],
        "its launch configuration gone-lc was not found"
    );
    let rolling = messages(&r, "stale_launch_path")
        .into_iter()
        .find(|m| m.contains("asg-rolling-latest"))
        .unwrap();
    assert!(
        rolling.contains("(launch template rolling (lt-") && rolling.contains(") v2)"),
        "{rolling}"
    );
    // One AMI a template and the group launching from it boot is said once, naming both.
    let deprecated = messages(&r, "ami_deprecated")
        .into_iter()
        .filter(|m| m.contains("deprecated-lt"))
        .collect::<Vec<_>>();
    assert_eq!(deprecated.len(), 1, "{deprecated:?}");
    assert!(deprecated[0].contains("asg-deprecated"), "{deprecated:?}");
    // A template that names a lookalike, a gone or a deprecated AMI is said, as for instances.
    for (code, template) in [
        ("ami_foreign_owner", "lookalike-lt"),
        ("ami_missing", "gone-lt"),
        ("ami_deprecated", "deprecated-lt"),
    ] {
        let prefix = format!("{code}:{template} (lt-");
        assert!(
            c.iter().any(|x| x.starts_with(&prefix)),
            "{prefix} in {c:?}"
        );
    }

    // One account, one region: GetCallerIdentity, one page of instances, one page of launch
    // templates, one DescribeImages for the AMIs in use and the templates', one more for SSM's
    // AMIs not among them.
    let calls = &r["ec2"]["calls"];
    assert_eq!(calls["sts"], 1, "{calls}");
    assert_eq!(calls["describe_instances"], 1, "{calls}");
    assert_eq!(calls["describe_images"], 2, "{calls}");
    // One page of templates, and one more call for `three`'s version 2, which a group names.
    assert_eq!(calls["describe_launch_template_versions"], 2, "{calls}");
    assert_eq!(calls["describe_auto_scaling_groups"], 1, "{calls}");
    // The three launch configurations groups name, in one call.
    assert_eq!(calls["describe_launch_configurations"], 1, "{calls}");
    // ListClusters, ListNodegroups, and DescribeNodegroup for each of the 3.
    assert_eq!(calls["eks"], 5, "{calls}");
    assert_eq!(r["ec2"]["regions"][0]["instances"], 8);
}

#[test]
fn accounts_are_read_through_roles_and_one_refused_does_not_stop_the_others() {
    let site = Site::new();
    let role = format!("arn:aws:iam::{}:role/tufwatch-read", moto::SECOND_ACCOUNT);
    let (code, r) = ec2(
        &site,
        &[
            "--region",
            moto::EC2_FLEET,
            "--assume-role",
            &role,
            "--assume-role",
            moto::DENIED_ROLE,
        ],
    );
    // The refused account leaves the run incomplete; the other is judged all the same.
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(status_of(&r, "ecs"), "current");
    assert_eq!(tagged(&r, "ecs")[0]["account"], moto::SECOND_ACCOUNT);
    assert!(tagged(&r, "web").is_empty(), "the base account is not read");
    let accounts = r["ec2"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["account"], moto::SECOND_ACCOUNT);
    assert!(accounts[0]["error"].is_null());
    assert_eq!(accounts[1]["account"], "333344445555");
    assert!(
        accounts[1]["error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{accounts:#?}"
    );
    assert!(
        codes(&r).contains(&"ec2_unavailable:-".to_owned()),
        "{:?}",
        codes(&r)
    );
    // One AssumeRole per account: the role's check, whose credentials every call then uses.
    assert_eq!(r["ec2"]["calls"]["sts"], 2);
    let seen = moto().stats();
    assert_eq!(seen[moto::EC2_FLEET]["AssumeRole"], 2, "{seen:#}");
}

#[test]
fn pages_throttling_and_a_failing_region() {
    let site = Site::new();
    let (code, r) = ec2(
        &site,
        &[
            "--region",
            moto::EC2_PAGES,
            "--region",
            moto::EC2_THROTTLE,
            "--region",
            moto::EC2_FAILING,
            "--region",
            moto::EC2_NO_TEMPLATES,
            "--ssm-max-attempts",
            "4",
        ],
    );
    assert_eq!(
        code, 2,
        "a region that cannot be read leaves the run incomplete"
    );
    let region = |name: &str| {
        r["ec2"]["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["region"] == name)
            .unwrap_or_else(|| panic!("no region {name}"))
            .clone()
    };
    let pages = region(moto::EC2_PAGES);
    assert_eq!(pages["instances"], 1005);
    assert_eq!(pages["calls"]["describe_instances"], 2, "{pages}");
    assert!(pages["error"].is_null());
    let throttled = region(moto::EC2_THROTTLE);
    assert!(throttled["error"].is_null(), "{throttled}");
    assert_eq!(throttled["instances"], 2);
    assert!(
        throttled["calls"]["attempts"].as_u64().unwrap() >= 4,
        "the throttled requests were retried: {throttled}"
    );
    let failing = region(moto::EC2_FAILING);
    assert!(failing["error"]
        .as_str()
        .unwrap()
        .contains("DescribeInstances"));
    assert_eq!(tagged(&r, "many").len(), 1005);
    assert_eq!(status_of(&r, "throttled"), "current");
    let unavailable: Vec<String> = codes(&r)
        .into_iter()
        .filter(|c| c.starts_with("ec2_unavailable"))
        .collect();
    assert_eq!(unavailable.len(), 2, "{unavailable:?}");
    // A region whose launch templates cannot be read keeps its instances, judged by their AMIs.
    let partial = region(moto::EC2_NO_TEMPLATES);
    assert!(
        partial["error"]
            .as_str()
            .unwrap()
            .contains("UnauthorizedOperation"),
        "{partial}"
    );
    assert_eq!(partial["instances"], 1);
    assert_eq!(status_of(&r, "no-templates"), "current");
    assert_eq!(tagged(&r, "no-templates")[0]["version"], "1.26.1-c41a8f09");
}

/// The nightly job reads EC2 from its configuration (`[ec2]` in `[ssm]`'s regions), and every
/// format shows it: the JSON's `ec2`, the text's and Markdown's section, the metrics, the page's
/// AMI table with accounts and what EC2 says of each AMI.
#[test]
fn the_nightly_job_reads_ec2_from_its_configuration() {
    let site = Site::new();
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let out_dir = site.path().join("out");
    let config = site.path().join("job.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = \"{}\"\nno_state = true\n\
             [bottlerocket]\nrepo_base = \"{}\"\nvariants = [\"aws-k8s-1.31\"]\n\
             [ssm]\nregions = [\"{}\"]\nendpoint_url = \"{}\"\nmax_attempts = 2\n\
             [ec2]\n\
             [output]\nformats = [\"json\", \"human\", \"markdown\", \"prometheus\", \"html\"]\ndir = \"{}\"\n",
            demo_dir().join("root.json").display(),
            base.display(),
            moto::EC2_FLEET,
            moto().url(),
            out_dir.display(),
        ),
    )
    .unwrap();
    let out = tufwatch(site.path())
        .args(["report", "--config"])
        .arg(&config)
        .args(["--at", AT])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    let r: Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(r["ec2"]["accounts"][0]["account"], moto::BASE_ACCOUNT);
    assert_eq!(
        r["inventories"][0]["name"],
        format!("aws:{}", moto::BASE_ACCOUNT)
    );
    let c = codes(&r);
    assert!(
        c.contains(&format!("ssm_bad_image:{}", ami::MISNAMED)),
        "{c:?}"
    );
    assert!(c.contains(&format!("ami_missing:{}", ami::GONE)), "{c:?}");
    let text = read("report.txt");
    assert!(text.contains("EC2 (READ LIVE)"), "{text}");
    assert!(text.contains("DEPRECATED since 2026-01-01"), "{text}");
    assert!(read("report.md").contains("| ACCOUNT | AMI |"));
    let prom = read("tufwatch.prom");
    assert!(
        prom.contains(&format!(
            "tufwatch_ec2_region_up{{account=\"{}\",region=\"{}\"}} 1",
            moto::BASE_ACCOUNT,
            moto::EC2_FLEET
        )),
        "{prom}"
    );
    let html = read("report.html");
    assert!(
        html.contains("<th>account</th>") && html.contains("GONE"),
        "the page's AMI table"
    );
    assert!(
        html.contains("<h3>Launch paths</h3>"),
        "the page's launch paths"
    );
    assert!(text.contains("LAUNCH PATH"), "{text}");
}

#[test]
fn the_deadline_bounds_the_region_lookup_too() {
    // An instance metadata service that takes connections and never answers: the default
    // region is asked of it (no region named, none configured), within the run's deadline.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let site = Site::new();
    let out = tufwatch(site.path())
        .args([
            "nodes",
            "--ec2",
            "--no-state",
            "--deadline",
            "1s",
            "--at",
            AT,
        ])
        .arg("--root")
        .arg(demo_dir().join("root.json"))
        .args(["--endpoint-url", &moto().url()])
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the AWS configuration") && stderr.contains("deadline of 1 s"),
        "{stderr}"
    );
    // Not a verdict: nothing was judged.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(silent);
}

#[test]
fn an_empty_region_costs_one_call_per_listing_and_nothing_more() {
    // Nothing was ever made in these regions: each costs DescribeInstances, one page of launch
    // templates, of Auto Scaling groups and of EKS clusters; no DescribeImages (no AMI in use),
    // no DescribeLaunchConfigurations (no group names one), no node group calls (no cluster).
    let site = Site::new();
    let empty = ["eu-west-3", "ca-west-1"];
    let (_, r) = ec2(&site, &["--region", empty[0], "--region", empty[1]]);
    let seen = moto().stats();
    for region in empty {
        let read = r["ec2"]["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["region"] == region)
            .unwrap();
        assert!(read["error"].is_null(), "{read}");
        assert_eq!(
            read["calls"],
            serde_json::json!({
                "describe_instances": 1,
                "describe_images": 0,
                "describe_launch_template_versions": 1,
                "describe_auto_scaling_groups": 1,
                "describe_launch_configurations": 0,
                "eks": 1,
                "sts": 0,
                "attempts": 4,
            }),
            "{read}"
        );
        // What the endpoint saw agrees: STS is asked once, in the first region.
        let mut expected = serde_json::json!({
            "DescribeInstances": 1,
            "DescribeLaunchTemplateVersions": 1,
            "DescribeAutoScalingGroups": 1,
            "GET /clusters": 1,
        });
        if region == empty[0] {
            expected["GetCallerIdentity"] = 1.into();
        }
        assert_eq!(seen[region], expected, "{region}");
    }
}

#[test]
fn a_region_refusing_launch_configurations_keeps_its_other_launch_paths() {
    let site = Site::new();
    let (code, r) = ec2(&site, &["--region", moto::EC2_NO_CONFIGURATIONS]);
    // Incomplete (exit 2), and a stale node group besides: exit 1, as for any failure.
    assert_eq!(code, 1, "{r:#}");
    let read = &r["ec2"]["regions"][0];
    assert!(
        read["error"].as_str().is_some_and(
            |e| e.contains("DescribeLaunchConfigurations") && e.contains("AccessDenied")
        ),
        "{read}"
    );
    assert!(
        codes(&r).contains(&"ec2_unavailable:-".to_owned()),
        "{:?}",
        codes(&r)
    );
    let on_lc = launch_path(&r, "asg-on-lc");
    assert_eq!(
        on_lc["reason"],
        "its launch configuration edge-lc could not be read"
    );
    let paths: Vec<String> = r["fleet"]["launch_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["status"].as_str().unwrap()
            )
        })
        .collect();
    // The group on a template (its version 1, which is not the latest: read by number), the node
    // group and the template are judged; the group on a launch configuration says why not.
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert_eq!(
        paths[..3],
        [
            "other/elsewhere behind",
            "asg-on-lc unchecked",
            "asg-on-lt current",
        ],
        "{paths:?}"
    );
    assert!(
        paths[3].starts_with("edge (lt-") && paths[3].ends_with("v1, default current"),
        "{paths:?}"
    );
    let seen = moto().stats();
    assert_eq!(
        seen[moto::EC2_NO_CONFIGURATIONS]["DescribeLaunchConfigurations"],
        1,
        "refused once, not retried: {seen:#}"
    );
}
