//! The local machine at its worst: an output path that is not a regular file, a temporary
//! directory that cannot be written, a full disk, a full or closed standard output, a signal in
//! the middle of a run, inputs far larger than any real one. Each is "could not run" (exit 2),
//! naming the path and the reason, never a verdict, never a panic, never damage.
//!
//! Device nodes and FIFOs are made with `mknod` and `mkfifo` in a temporary directory; full and
//! read-only file systems are small tmpfs mounts, made only when the tests run as root (CI does).

use crate::common::*;
use chrono::Utc;
use serde_json::Value;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn root_user() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A tmpfs mounted at a directory (as root), unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mount one with `options` (`size=16k`, `ro`); `None` when this machine cannot.
    fn mount(dir: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = root_user()
            && Command::new("mount")
                .args(["-t", "tmpfs", "-o", options, "tmpfs"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs at {}", dir.display());
        }
        ok.then(|| Tmpfs(dir.to_owned()))
    }

    /// A tmpfs of `size` filled to the last byte.
    fn full(dir: &Path, size: &str) -> Option<Tmpfs> {
        let fs = Tmpfs::mount(dir, &format!("size={size}"))?;
        let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
        let block = vec![b'x'; 4096];
        while std::io::Write::write_all(&mut filler, &block).is_ok() {}
        Some(fs)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The binary as a plain command (for standard streams of a test's choosing), with the private
/// home that [`tufwatch`] gives.
fn plain(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tufwatch"));
    c.env("HOME", home)
        .env("MALLOC_ARENA_MAX", "2")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("TUFWATCH_LOG")
        .stdin(Stdio::null());
    c
}

/// `nodes` on the shipped demo repository, as a Bottlerocket mirror below `site`.
fn nodes_args(site: &Path) -> Vec<String> {
    let mirror = bottlerocket_mirror(&site.join("mirror"));
    [
        "nodes".to_owned(),
        "--no-state".to_owned(),
        "--root".to_owned(),
        demo_dir().join("root.json").display().to_string(),
        "--repo-base".to_owned(),
        mirror.display().to_string(),
    ]
    .into()
}

/// The arguments that name the shipped demo repository.
fn demo_args() -> Vec<String> {
    let demo = demo_dir();
    [
        "--no-state".to_owned(),
        "--root".to_owned(),
        demo.join("root.json").display().to_string(),
        "--metadata-url".to_owned(),
        demo.join("metadata").display().to_string(),
        "--targets-url".to_owned(),
        demo.join("targets").display().to_string(),
    ]
    .into()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The run could not run (exit 2), said so naming each of `names`, and did not panic.
fn could_not_run(what: &str, out: &Output, names: &[&str]) {
    let text = text(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {text}");
    assert!(!text.contains("panicked"), "{what}: {text}");
    for n in names {
        assert!(text.contains(n), "{what}: names no {n:?}: {text}");
    }
    for verdict in [
        "PASS",
        "FAIL:",
        "\"verdict\": \"pass\"",
        "\"verdict\": \"fail\"",
    ] {
        assert!(!text.contains(verdict), "{what}: gave a verdict: {text}");
    }
}

/// The names in `dir` that a tufwatch run left behind (temporary files and directories).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tufwatch-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_output_path_is_replaced_only_when_it_is_a_regular_file() {
    let site = Site::new();
    let dir = site.path().join("outputs");
    std::fs::create_dir_all(dir.join("a-directory")).unwrap();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let good = dir.join("good.txt");
    std::fs::write(&good, "kept").unwrap();
    std::os::unix::fs::symlink(&good, dir.join("link")).unwrap();
    let mut odd = vec![
        (fifo.clone(), "FIFO"),
        (dir.join("link"), "symbolic link"),
        (dir.join("a-directory"), "directory"),
    ];
    // A character device like /dev/null (1,3), made here: the test never touches /dev.
    let device = dir.join("null-device");
    if root_user()
        && Command::new("mknod")
            .arg(&device)
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|s| s.success())
    {
        odd.push((device.clone(), "character device"));
    }
    let config = demo_config(site.path(), "");
    for (path, kind) in &odd {
        let p = path.to_str().unwrap();
        let runs: Vec<(&str, Output)> = vec![
            (
                "releases --out",
                plain(site.path())
                    .arg("releases")
                    .args(demo_args())
                    .args(["--format", "html", "--out", p])
                    .output()
                    .unwrap(),
            ),
            (
                "report --out",
                plain(site.path())
                    .args(["report", "--format", "html", "--config"])
                    .arg(&config)
                    .args(["--out", p])
                    .output()
                    .unwrap(),
            ),
            (
                "root fetch --out",
                plain(site.path())
                    .args(["root", "fetch", "--url", "http://127.0.0.1:9/root.json"])
                    .args(["--sha512", &"ab".repeat(64), "--out", p])
                    .output()
                    .unwrap(),
            ),
        ];
        for (what, out) in runs {
            could_not_run(&format!("{what} {kind}"), &out, &[p, kind]);
        }
    }
    // Nothing was replaced, and nothing was left beside them.
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(std::fs::symlink_metadata(dir.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&good).unwrap(), "kept");
    if odd.iter().any(|(_, k)| *k == "character device") {
        assert!(std::fs::symlink_metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    assert_eq!(leftovers(&dir), Vec::<String>::new());

    // A target whose place under --out is taken by a FIFO: the run stops, the FIFO stays.
    let out = site.path().join("targets-out");
    std::fs::create_dir_all(&out).unwrap();
    assert!(Command::new("mkfifo")
        .arg(out.join("manifest.json"))
        .status()
        .unwrap()
        .success());
    let run = plain(site.path())
        .arg("verify")
        .args(demo_args())
        .args(["--all-targets", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    could_not_run("verify --out with a FIFO", &run, &["manifest.json", "FIFO"]);
    assert!(std::fs::symlink_metadata(out.join("manifest.json"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn a_temporary_directory_that_cannot_be_written_gives_no_verdict() {
    let site = Site::new();
    // TMPDIR naming a file: nothing can be made in it, even by root.
    let not_a_dir = site.path().join("tmp-is-a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let mut places = vec![(not_a_dir.clone(), "Not a directory")];
    let ro = site.path().join("read-only-tmp");
    let _ro = Tmpfs::mount(&ro, "ro,size=64k");
    if _ro.is_some() {
        places.push((ro.clone(), "Read-only file system"));
    }
    let full = site.path().join("full-tmp");
    let _full = Tmpfs::full(&full, "16k");
    if _full.is_some() {
        places.push((full.clone(), "No space left on device"));
    }
    let config = demo_config(site.path(), "");
    for (tmp, why) in &places {
        let verify = plain(site.path())
            .env("TMPDIR", tmp)
            .arg("verify")
            .args(demo_args())
            .output()
            .unwrap();
        could_not_run("verify", &verify, &["tough's datastore", why]);

        let reports = site.path().join("reports");
        let report = plain(site.path())
            .env("TMPDIR", tmp)
            .args(["report", "--format", "prometheus", "--config"])
            .arg(&config)
            .arg("--out-dir")
            .arg(&reports)
            .output()
            .unwrap();
        could_not_run("report", &report, &["tough's datastore", why]);
        assert!(
            !reports.join("tufwatch.prom").exists(),
            "no metrics of a run that could not run"
        );

        let bundle = site.path().join("bundle");
        let evidence = plain(site.path())
            .env("TMPDIR", tmp)
            .args([
                "evidence",
                "create",
                "--resource-uri",
                "https://updates.example.com/site/metadata/",
                "--out",
            ])
            .arg(&bundle)
            .args(demo_args().into_iter().filter(|a| a != "--no-state"))
            .output()
            .unwrap();
        could_not_run("evidence create", &evidence, &["tough's datastore", why]);
        assert!(!bundle.exists(), "no bundle of a run that could not run");
    }
}

#[test]
fn a_full_disk_under_out_stops_the_run_and_leaves_nothing() {
    let site = Site::new();
    let out = site.path().join("out");
    let Some(_fs) = Tmpfs::full(&out, "64k") else {
        return;
    };
    let mut repo = demo_repo(Utc::now());
    repo.add_target("images/big.img", vec![7u8; 256 * 1024]);
    site.publish_with_anchor(&repo);
    let run = tufwatch(site.path())
        .args(["verify", "--no-state", "--all-targets", "--root"])
        .arg(site.anchor())
        .repo(&site.path().join("repo"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    could_not_run(
        "verify --all-targets --out (full)",
        &run,
        &["No space left on device"],
    );
    assert!(!text(&run).contains("write_failed"));
    // No partial file, and no directory a failed target needed.
    assert_eq!(leftovers(&out), Vec::<String>::new());
    let images = out.join("images");
    assert!(
        !images.exists() || std::fs::read_dir(&images).unwrap().next().is_none(),
        "partial files in {}",
        images.display()
    );
}

/// A standard output whose every write fails with "No space left on device".
fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

#[test]
fn a_full_or_closed_standard_output_is_could_not_run() {
    let site = Site::new();
    let config = demo_config(site.path(), "");
    let bundle = site.path().join("bundle");
    let made = plain(site.path())
        .args([
            "evidence",
            "create",
            "--resource-uri",
            "https://updates.example.com/site/metadata/",
            "--out",
        ])
        .arg(&bundle)
        .args(demo_args().into_iter().filter(|a| a != "--no-state"))
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let bundle_text = bundle.to_str().unwrap().to_owned();
    let second = site.path().join("second-bundle");
    let second_text = second.to_str().unwrap().to_owned();
    let demo = demo_args();
    let config_text = config.to_str().unwrap().to_owned();
    let commands: Vec<(&str, Vec<&str>)> = vec![
        (
            "verify",
            [
                &["verify"][..],
                &demo.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        ),
        (
            "releases",
            [
                &["releases"][..],
                &demo.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        ),
        ("root pins", vec!["root", "pins"]),
        (
            "report markdown",
            vec!["report", "--format", "markdown", "--config", &config_text],
        ),
        (
            "report json",
            vec!["report", "--format", "json", "--config", &config_text],
        ),
        ("evidence verify", vec!["evidence", "verify", &bundle_text]),
    ];
    for (what, args) in &commands {
        let full = plain(site.path())
            .args(args)
            .stdout(dev_full())
            .output()
            .unwrap();
        could_not_run(
            &format!("{what} > /dev/full"),
            &full,
            &["standard output", "No space left"],
        );
        // A reader that went away (`| head -c0`). (A closed descriptor, `>&-`, is opened on
        // /dev/null by Rust's runtime before main: nothing to tell there.)
        let mut child = plain(site.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let gone = child.wait_with_output().unwrap();
        could_not_run(
            &format!("{what} | (gone)"),
            &gone,
            &["standard output", "Broken pipe"],
        );
    }
    // evidence create prints after writing: the bundle is complete, the run still says it
    // could not tell its reader.
    let create = plain(site.path())
        .args([
            "evidence",
            "create",
            "--resource-uri",
            "https://updates.example.com/site/metadata/",
            "--out",
            &second_text,
        ])
        .args(demo_args().into_iter().filter(|a| a != "--no-state"))
        .stdout(dev_full())
        .output()
        .unwrap();
    could_not_run("evidence create > /dev/full", &create, &["standard output"]);
}

#[test]
fn html_pages_of_unusual_waves_do_not_panic() {
    let now = Utc::now();
    let wave = |days: i64| (now + chrono::Duration::days(days)).to_rfc3339();
    let cases = [
        // Rolling out, with start times that fall as the seeds grow.
        (
            "waves out of order",
            serde_json::json!({"0": wave(-2), "500": wave(-5), "1024": wave(3)}),
        ),
        // Far in the future: the axis past the last date chrono holds.
        (
            "waves in the year 9999",
            serde_json::json!({"0": wave(-1), "1024": "9999-12-31T23:59:59Z"}),
        ),
        (
            "every wave in the year 9999",
            serde_json::json!({"0": "9999-12-30T00:00:00Z", "1024": "9999-12-31T23:59:59Z"}),
        ),
        (
            "waves far in the past",
            serde_json::json!({"0": "0001-01-01T00:00:00Z", "1024": wave(1)}),
        ),
    ];
    for (what, waves) in cases {
        let site = Site::new();
        let manifest = serde_json::json!({
            "updates": [{
                "variant": "aws-k8s-1.31", "arch": "x86_64", "version": "1.26.1",
                "status": "Ready", "max_version": "1.30.0", "waves": waves,
                "images": {"boot": "b", "root": "r", "hash": "h"}
            }],
            "migrations": {}
        });
        let mut repo = ed_repo(now);
        repo.add_target("manifest.json", manifest.to_string().into_bytes());
        site.publish_with_anchor(&repo);
        let page = site.path().join("page.html");
        let out = tufwatch(site.path())
            .args(["releases", "--no-state", "--format", "html", "--root"])
            .arg(site.anchor())
            .repo(&site.path().join("repo"))
            .arg("--out")
            .arg(&page)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{what}: {}",
            text(&out)
        );
        assert!(!text(&out).contains("panicked"), "{what}: {}", text(&out));
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains("1.26.1"), "{what}");
    }
}

/// Run `args` with at most `kib` KiB of address space, so that reading an input whole (the
/// fault these guard against) fails instead of succeeding slowly.
fn with_memory_limit(home: &Path, kib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib}; exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("tufwatch"))
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        // A run the limit aborts leaves its datastore here, not in the machine's /tmp.
        .env("TMPDIR", home)
        .env("MALLOC_ARENA_MAX", "2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A sparse file of `size` bytes starting with `head` (the rest reads as NULs).
fn sparse(path: &Path, head: &[u8], size: u64) {
    std::fs::write(path, head).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(size)
        .unwrap();
}

#[test]
fn inputs_far_larger_than_real_ones_are_refused_without_reading_them_whole() {
    let site = Site::new();
    let home = site.path();
    const LIMIT_KIB: u64 = 1536 * 1024; // 1.5 GiB of address space
    let fleet = project().join("fixtures/demo-fleet");
    let demo = demo_args();
    let nodes_demo = nodes_args(home);
    let ssm_file = fleet.join("ssm-parameters.json");
    let edge = fleet.join("edge.csv");
    let nodes = |inventory: &Path, extra: &[&str]| {
        let mut args: Vec<&str> = nodes_demo.iter().map(String::as_str).collect();
        args.extend(["--ssm-file", ssm_file.to_str().unwrap()]);
        args.extend(["--inventory", inventory.to_str().unwrap()]);
        args.extend(extra);
        with_memory_limit(home, LIMIT_KIB, &args)
    };
    // 2 GiB of NULs: no CSV, told from its first line.
    let nuls = home.join("nuls.csv");
    sparse(&nuls, b"", 2 << 30);
    could_not_run("2 GiB of NULs", &nodes(&nuls, &[]), &["nuls.csv", "line 1"]);
    // A kubectl list that breaks after its start, 1 GiB long: described by the stream, not
    // read again whole.
    let broken = home.join("broken-list.json");
    sparse(&broken, br#"{"kind": "List", "items": ["#, 1 << 30);
    could_not_run(
        "a broken 1 GiB list",
        &nodes(&broken, &[]),
        &["broken-list.json"],
    );
    could_not_run(
        "a broken 1 GiB list, format given",
        &nodes(&broken, &["--inventory-format", "kubectl"]),
        &["broken-list.json"],
    );
    // An EC2 list above what is read whole.
    let ec2 = home.join("huge-ec2.json");
    sparse(&ec2, br#"{"Reservations": ["#, 1 << 30);
    could_not_run(
        "a 1 GiB EC2 list",
        &nodes(&ec2, &[]),
        &["huge-ec2.json", "larger than"],
    );
    // A trusted root of 2 GiB.
    let root = home.join("huge-root.json");
    sparse(&root, b"{", 2 << 30);
    let mut args = vec!["verify", "--no-state", "--root", root.to_str().unwrap()];
    args.extend(demo.iter().skip(3).map(String::as_str));
    could_not_run(
        "a 2 GiB root",
        &with_memory_limit(home, LIMIT_KIB, &args),
        &["huge-root.json", "larger than"],
    );
    // SSM and configuration files of 1 GiB.
    let ssm = home.join("huge-ssm.json");
    sparse(&ssm, b"{", 1 << 30);
    let mut args: Vec<&str> = nodes_demo.iter().map(String::as_str).collect();
    args.extend([
        "--ssm-file",
        ssm.to_str().unwrap(),
        "--inventory",
        edge.to_str().unwrap(),
    ]);
    could_not_run(
        "a 1 GiB SSM file",
        &with_memory_limit(home, LIMIT_KIB, &args),
        &["huge-ssm.json", "larger than"],
    );
    let config = home.join("huge.toml");
    sparse(&config, b"#", 1 << 30);
    could_not_run(
        "a 1 GiB configuration",
        &with_memory_limit(
            home,
            LIMIT_KIB,
            &["report", "--config", config.to_str().unwrap()],
        ),
        &["huge.toml", "larger than"],
    );
}

#[test]
fn an_ssm_endpoint_that_never_stops_sending_is_cut_off() {
    let site = Site::new();
    let server = Server::start(site.path());
    server.set("/", Behavior::Endless);
    let out = with_memory_limit(
        site.path(),
        3 << 20,
        &[
            "ssm",
            "--format",
            "json",
            "--no-state",
            "--no-cross-check",
            "--variant",
            "aws-k8s-1.31",
            "--region",
            "us-west-2",
            "--endpoint-url",
            &server.url(""),
            "--ssm-backoff",
            "10ms",
        ],
    );
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert!(
        findings(&report)
            .iter()
            .any(|f| f.starts_with("ssm_unavailable")),
        "{report:#}"
    );
    assert!(report.to_string().contains("length limit"), "{report:#}");
}

#[test]
fn the_deadline_covers_the_manifest() {
    let site = Site::new();
    let repo = demo_repo(Utc::now());
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let manifest = br#"{"updates": [], "migrations": {}}"#;
    let path = format!(
        "/repo/targets/{}.manifest.json",
        tufwatch::digest::sha256_hex(manifest)
    );
    server.set(&path, Behavior::Stall);
    let out = tufwatch(site.path())
        .args([
            "releases",
            "--no-state",
            "--format",
            "json",
            "--deadline",
            "3s",
            "--root",
        ])
        .arg(site.anchor())
        .args(["--metadata-url", &server.url("repo/metadata/")])
        .args(["--targets-url", &server.url("repo/targets/")])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert_eq!(server.count(&path), 1);
    let f = findings(&report);
    assert!(f.contains(&"unreachable:manifest.json".to_owned()), "{f:?}");
    assert!(report.to_string().contains("deadline"), "{report:#}");
}

/// Start `verify` against a repository whose timestamp stalls, with `tmp` as its TMPDIR, and
/// wait until tough's datastore is there.
fn stalled_run(site: &Site, server: &Server, tmp: &Path) -> std::process::Child {
    let mut child = plain(site.path())
        .env("TMPDIR", tmp)
        .args(["verify", "--no-state", "--deadline", "60s", "--root"])
        .arg(site.anchor())
        .args(["--metadata-url", &server.url("repo/metadata/")])
        .args(["--targets-url", &server.url("repo/targets/")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if !leftovers(tmp).is_empty() && server.count("/repo/metadata/timestamp.json") > 0 {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the run never made its datastore in {}", tmp.display());
}

#[test]
fn a_stopped_run_leaves_no_temporary_files() {
    let site = Site::new();
    site.publish_with_anchor(&ed_repo(Utc::now()));
    let server = Server::start(site.path());
    server.set("/repo/metadata/timestamp.json", Behavior::Stall);
    let tmp = site.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    for signal in ["TERM", "INT"] {
        let child = stalled_run(&site, &server, &tmp);
        let id = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-s", signal, &id])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "SIG{signal}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("SIG{signal}")),
            "{}",
            text(&out)
        );
        assert_eq!(leftovers(&tmp), Vec::<String>::new(), "SIG{signal}");
    }
    // SIGKILL leaves the datastore; a later run removes it once it is old enough.
    let child = stalled_run(&site, &server, &tmp);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let left = leftovers(&tmp);
    assert_eq!(left.len(), 1, "{left:?}");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(tmp.join(&left[0]))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let again = plain(site.path())
        .env("TMPDIR", &tmp)
        .arg("verify")
        .args(demo_args())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
}

/// A repository (ed25519) with a delegated role `name` trusted for `long/*`, which signs
/// `long/x.txt`.
fn repo_with_role(name: &str) -> tufwatch::testkit::Repo {
    let now = Utc::now();
    let mut repo = ed_repo(now);
    repo.delegations.push(delegation(
        name,
        "long",
        1,
        now + chrono::Duration::days(30),
        &[("long/x.txt", b"x")],
    ));
    repo
}

/// Publish `repo` for `server` where no file system could hold some of its files: metadata
/// whose file name is too long is served from memory; targets are written as far as they can
/// be (the tests here never fetch those that cannot).
fn publish_beyond_the_file_system(site: &Site, server: &Server, repo: &tufwatch::testkit::Repo) {
    std::fs::create_dir_all(site.metadata()).unwrap();
    let root = tufwatch::testkit::to_bytes(&repo.root_doc().unwrap());
    site.put_metadata("1.root.json", &root);
    std::fs::write(site.anchor(), &root).unwrap();
    for (file, bytes) in repo.sign_top().unwrap() {
        if file.len() > 255 {
            server.set(&format!("/repo/metadata/{file}"), Behavior::Body(bytes));
        } else {
            site.put_metadata(&file, &bytes);
        }
    }
    let _ = repo.write_targets(&site.targets());
}

#[test]
fn the_state_keeps_a_delegated_role_whose_name_is_too_long_for_a_file_name() {
    let site = Site::new();
    // 84 bytes in the repository's file name (a tilde is not escaped there), 252 in the
    // state's, which escapes every byte but letters, digits, `_`, `-` and `.`: with `.json`,
    // longer than a file name may be.
    let name = "~".repeat(84);
    site.publish_with_anchor(&repo_with_role(&name));
    for engine in ["strict", "strict"] {
        let (code, report) = verify_json(
            &site,
            site.metadata().to_str().unwrap(),
            site.targets().to_str().unwrap(),
            &["--engine", engine, "--target", "long/x.txt"],
        );
        assert_eq!(code, 0, "{engine}: {report:#}");
        assert_eq!(report["state"]["updated"], true, "{engine}");
    }
    // tough keeps each role in its datastore as it names the role's file: that always fits
    // where the repository's file does.
    for engine in ["tough", "both"] {
        let (code, report) = verify_json(
            &site,
            site.metadata().to_str().unwrap(),
            site.targets().to_str().unwrap(),
            &["--engine", engine, "--no-state"],
        );
        assert_eq!(code, 0, "{engine}: {report:#}");
    }
    // Kept under a hashed name, with the role's name beside it.
    let kept = Command::new("find")
        .arg(site.state())
        .args(["-name", "~*.role"])
        .output()
        .unwrap();
    let role_file = String::from_utf8(kept.stdout).unwrap();
    assert_eq!(std::fs::read_to_string(role_file.trim()).unwrap(), name);
}

#[test]
fn a_role_name_too_long_for_toughs_datastore_is_the_repositorys_fault() {
    // Served over HTTP (no file system could hold its file): a delegated role whose escaped name
    // is 600 bytes. tough on a host cannot keep it in its datastore either: a finding (exit 1),
    // not this machine's fault.
    let site = Site::new();
    let server = Server::start(site.path());
    publish_beyond_the_file_system(&site, &server, &repo_with_role(&"é".repeat(100)));
    for (engine, exit) in [("strict", 0), ("tough", 1), ("both", 1)] {
        let (code, report) = verify_http(&site, &server, &["--engine", engine, "--no-state"]);
        assert_eq!(code, exit, "{engine}: {report:#}");
        if exit == 1 {
            assert!(
                report.to_string().contains("File name too long"),
                "{engine}: {report:#}"
            );
        }
    }
}

#[test]
fn a_file_name_too_long_for_this_file_system_is_not_called_missing() {
    let site = Site::new();
    site.publish_with_anchor(&ed_repo(Utc::now()));
    let long = url::Url::from_directory_path(site.metadata().join("d".repeat(300))).unwrap();
    let (code, report) = verify_json(
        &site,
        long.as_str(),
        site.targets().to_str().unwrap(),
        &["--no-state"],
    );
    assert_eq!(code, 2, "{report:#}");
    let f = findings(&report);
    assert!(!f.iter().any(|f| f.starts_with("not_found")), "{f:?}");
    assert!(report.to_string().contains("too long"), "{report:#}");
}

#[test]
fn misleading_characters_reach_no_reader_raw() {
    let site = Site::new();
    let csv = "name,variant,arch,version\n\
               \"invoice\u{202e}fdp.exe\",aws-ecs-2,x86_64,1.25.0\n\
               http://evil.example/login,aws-ecs-2,x86_64,1.25.0\n\
               www.evil.example,aws-ecs-2,x86_64,1.25.0\n";
    let config = demo_job_with_csv(&site, csv);
    for format in ["human", "markdown", "html"] {
        let out = tufwatch(site.path())
            .args(["report", "--format", format, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {}", text(&out));
        let page = String::from_utf8(out.stdout).unwrap();
        assert!(
            !page.contains('\u{202e}') && !page.contains('\u{1b}'),
            "{format}"
        );
        assert!(page.contains("invoice\\u{202e}fdp.exe"), "{format}");
        if format == "markdown" {
            assert!(page.contains("http&#58;//evil.example/login"), "{page}");
            assert!(page.contains("&#119;ww.evil.example"), "{page}");
            assert!(
                !page.contains("http://evil") && !page.contains(" www.evil"),
                "{page}"
            );
        }
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let site = Site::new();
    let fleet = project().join("fixtures/demo-fleet");
    let bom = |name: &str| {
        let path = site.path().join(name);
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(std::fs::read(fleet.join(name)).unwrap());
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let (nodes, ssm) = (bom("kubectl-nodes.json"), bom("ssm-parameters.json"));
    let nodes_demo = nodes_args(site.path());
    let run = |ssm: &Path, inventory: &Path| {
        plain(site.path())
            .args(&nodes_demo)
            .args([
                "--format",
                "json",
                "--at",
                "2026-11-28T00:00:00Z",
                "--ssm-file",
            ])
            .arg(ssm)
            .arg("--inventory")
            .arg(inventory)
            .output()
            .unwrap()
    };
    let plain_run = run(
        &fleet.join("ssm-parameters.json"),
        &fleet.join("kubectl-nodes.json"),
    );
    let with_bom = run(&ssm, &nodes);
    assert_eq!(
        with_bom.status.code(),
        plain_run.status.code(),
        "{}",
        text(&with_bom)
    );
    let v = |o: &Output| -> Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
    };
    assert_eq!(
        v(&with_bom)["fleet"]["summary"],
        v(&plain_run)["fleet"]["summary"]
    );
}

#[test]
fn targets_are_written_readable_and_failed_ones_leave_no_directories() {
    let site = Site::new();
    let mut repo = demo_repo(Utc::now());
    repo.add_target("good/one.txt", b"good".to_vec());
    repo.add_target("bad/deep/two.txt", b"signed bytes".to_vec());
    site.publish_with_anchor(&repo);
    // The server has other bytes of the same length for the second.
    let served = site.targets().join(format!(
        "bad/deep/{}.two.txt",
        tufwatch::digest::sha256_hex(b"signed bytes")
    ));
    std::fs::write(&served, b"forged bytes").unwrap();
    let out = site.path().join("out");
    let run = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("tufwatch"))
        .args([
            "verify",
            "--no-state",
            "--all-targets",
            "--format",
            "json",
            "--root",
        ])
        .arg(site.anchor())
        .arg("--metadata-url")
        .arg(site.metadata())
        .arg("--targets-url")
        .arg(site.targets())
        .arg("--out")
        .arg(&out)
        .env("HOME", site.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(run.status.code(), Some(1), "{report:#}");
    assert!(findings(&report).contains(&"hash_mismatch:bad/deep/two.txt".to_owned()));
    let mode = std::fs::metadata(out.join("good/one.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    assert!(
        !out.join("bad").exists(),
        "an empty directory was left for the failed target"
    );
}

#[test]
fn ssm_reads_are_under_the_deadline() {
    let site = Site::new();
    let server = Server::start(site.path());
    // One byte a second: every read makes progress, so only the deadline ends it.
    server.set("/", Behavior::Trickle);
    let out = tufwatch(site.path())
        .args(["ssm", "--format", "json", "--no-state", "--no-cross-check"])
        .args(["--variant", "aws-k8s-1.31", "--region", "us-west-2"])
        .args(["--endpoint-url", &server.url("")])
        .args(["--ssm-max-attempts", "1", "--deadline", "2s"])
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert!(
        report
            .to_string()
            .contains("within the run's deadline of 2 s"),
        "{report:#}"
    );
}

#[test]
fn a_target_name_no_file_system_holds_is_the_repositorys_fault() {
    let site = Site::new();
    let mut repo = ed_repo(Utc::now());
    let long = format!("z{}", "L".repeat(255));
    repo.add_target(&long, b"long".to_vec());
    let server = Server::start(site.path());
    // a.txt is written; the long one no file system holds (nor does the server need it).
    publish_beyond_the_file_system(&site, &server, &repo);
    let out = site.path().join("out");
    let (code, report) = verify_http(
        &site,
        &server,
        &[
            "--no-state",
            "--all-targets",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{report:#}");
    assert!(
        findings(&report).contains(&format!("unsafe_target_name:{long}")),
        "{report:#}"
    );
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"artifact a");
}

#[test]
fn a_full_or_gone_standard_error_is_no_panic() {
    let site = Site::new();
    let out = site.path().join("page.html");
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "an error",
            vec![
                "verify".into(),
                "--no-state".into(),
                "--root".into(),
                "/nonexistent".into(),
                "--metadata-url".into(),
                "x".into(),
                "--targets-url".into(),
                "y".into(),
            ],
        ),
        (
            "a note after writing",
            [
                vec!["releases".to_owned()],
                demo_args(),
                vec![
                    "--format".into(),
                    "html".into(),
                    "--out".into(),
                    out.display().to_string(),
                ],
            ]
            .concat(),
        ),
    ];
    for (what, args) in runs {
        let full = plain(site.path())
            .args(&args)
            .stderr(dev_full())
            .output()
            .unwrap();
        assert!(
            matches!(full.status.code(), Some(0 | 2)),
            "{what} 2> /dev/full: {:?}",
            full.status
        );
    }
}

#[test]
fn no_file_descriptors_left_is_could_not_run() {
    let site = Site::new();
    for n in [5, 6, 7, 8] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {n}; exec \"$0\" \"$@\""))
            .arg(assert_cmd::cargo::cargo_bin("tufwatch"))
            .arg("verify")
            .args(demo_args())
            .env("HOME", site.path())
            // Without descriptors, a datastore made cannot be removed: here, not in /tmp.
            .env("TMPDIR", site.path())
            .output()
            .unwrap();
        could_not_run(&format!("ulimit -n {n}"), &out, &["Too many open files"]);
    }
}

#[test]
fn special_files_where_tufwatch_keeps_its_own_are_refused() {
    let site = Site::new();
    let fifo = |path: &Path| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    };
    // The state's lock: a FIFO would hold the run past its deadline.
    let repo = site.path().join("repo");
    site.publish_with_anchor(&ed_repo(Utc::now()));
    let first = tufwatch(site.path())
        .args(["verify", "--state-dir"])
        .arg(site.state())
        .arg("--root")
        .arg(site.anchor())
        .repo(&repo)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let lock = Command::new("find")
        .arg(site.state())
        .args(["-name", "LOCK"])
        .output()
        .unwrap();
    let lock = PathBuf::from(String::from_utf8(lock.stdout).unwrap().trim());
    std::fs::remove_file(&lock).unwrap();
    fifo(&lock);
    let held = tufwatch(site.path())
        .args(["verify", "--deadline", "5s", "--state-dir"])
        .arg(site.state())
        .arg("--root")
        .arg(site.anchor())
        .repo(&repo)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    could_not_run("a FIFO for the lock", &held, &["LOCK", "FIFO"]);

    // A bundle holding a FIFO, a link and a file over the cap: findings about the bundle.
    let bundle = site.path().join("bundle");
    let made = plain(site.path())
        .args([
            "evidence",
            "create",
            "--resource-uri",
            "https://updates.example.com/site/metadata/",
            "--out",
        ])
        .arg(&bundle)
        .args(demo_args().into_iter().filter(|a| a != "--no-state"))
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    fifo(&bundle.join("metadata/extra.fifo"));
    std::os::unix::fs::symlink("/etc/passwd", bundle.join("link.json")).unwrap();
    sparse(&bundle.join("huge.bin"), b"", 300 << 20);
    let checked = plain(site.path())
        .args(["evidence", "verify", "--format", "json"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    let report: Value = serde_json::from_slice(&checked.stdout).unwrap();
    let f = findings(&report);
    for file in ["metadata/extra.fifo", "link.json", "huge.bin"] {
        assert!(
            f.contains(&format!("evidence_malformed:{file}")),
            "{file}: {f:?}"
        );
    }
}

#[test]
fn a_disk_that_fills_under_out_dir_leaves_the_previous_set_of_files() {
    let site = Site::new();
    let dir = site.path().join("reports");
    let Some(_fs) = Tmpfs::mount(&dir, "size=400k") else {
        return;
    };
    let config = demo_config(site.path(), "");
    let run = || {
        plain(site.path())
            .args(["report", "--config"])
            .arg(&config)
            .args([
                "--format",
                "human",
                "--format",
                "json",
                "--format",
                "prometheus",
                "--format",
                "html",
            ])
            .arg("--out-dir")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let before: Vec<(String, Vec<u8>)> =
        ["report.txt", "report.json", "tufwatch.prom", "report.html"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
            .collect();
    // Leave room for a few of the files, not all four.
    let used: u64 = before.iter().map(|(_, b)| b.len() as u64).sum();
    let free = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(&dir)
        .output()
        .unwrap();
    let free: u64 = String::from_utf8(free.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let filler = free.saturating_sub(used / 2);
    sparse(&dir.join("filler"), b"", 0);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("filler"))
        .unwrap();
    let block = vec![b'x'; 4096];
    let mut written = 0;
    while written + 4096 <= filler && std::io::Write::write_all(&mut f, &block).is_ok() {
        written += 4096;
    }
    drop(f);
    let second = run();
    could_not_run("a disk that fills", &second, &["No space left on device"]);
    for (name, bytes) in &before {
        assert_eq!(
            &std::fs::read(dir.join(name)).unwrap(),
            bytes,
            "{name} was replaced"
        );
    }
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn a_run_stuck_reading_a_fifo_still_ends_on_sigterm() {
    let site = Site::new();
    let fifo = site.path().join("inventory-nobody-writes");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let child = plain(site.path())
        .args(nodes_args(site.path()))
        .arg("--ssm-file")
        .arg(project().join("fixtures/demo-fleet/ssm-parameters.json"))
        .arg("--inventory")
        .arg(&fifo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let id = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-s", "TERM", &id])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("SIGTERM"), "{}", text(&out));
}

#[test]
fn a_kept_root_and_its_sha512_are_replaced_together_or_not_at_all() {
    let site = Site::new();
    let dir = site.path().join("roots");
    let Some(_fs) = Tmpfs::mount(&dir, "size=32k") else {
        return;
    };
    let demo = demo_dir().join("metadata");
    let fetch = |version: u64| {
        let file = demo.join(format!("{version}.root.json"));
        let sha = tufwatch::digest::sha512_hex(&std::fs::read(&file).unwrap());
        let url = url::Url::from_file_path(&file).unwrap();
        plain(site.path())
            .args([
                "root",
                "fetch",
                "--url",
                url.as_str(),
                "--sha512",
                &sha,
                "--out",
            ])
            .arg(dir.join("r.json"))
            .output()
            .unwrap()
    };
    let first = fetch(2);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Room for the sha512 file, not for another root.
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![b'x'; 1024];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    std::fs::remove_file(dir.join("filler")).unwrap();
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let free = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(&dir)
        .output()
        .unwrap();
    let free: usize = String::from_utf8(free.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::io::Write::write_all(&mut filler, &vec![b'x'; free.saturating_sub(4096)]).ok();
    drop(filler);
    let second = fetch(1);
    could_not_run(
        "root fetch on a full disk",
        &second,
        &["No space left on device"],
    );
    let root = std::fs::read(dir.join("r.json")).unwrap();
    let sums = std::fs::read_to_string(dir.join("r.json.sha512")).unwrap();
    assert!(
        sums.starts_with(&tufwatch::digest::sha512_hex(&root)),
        "the sha512 file names another root than the one kept"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn a_report_that_cannot_be_written_leaves_no_bundle() {
    let site = Site::new();
    let config = demo_config(site.path(), "");
    let bundle = site.path().join("bundle");
    for (what, redirect) in [
        ("stdout full", true),
        ("--out a FIFO made meanwhile", false),
    ] {
        let mut c = plain(site.path());
        c.args(["report", "--format", "markdown", "--config"])
            .arg(&config)
            .arg("--evidence")
            .arg(&bundle);
        if redirect {
            c.stdout(dev_full());
        } else {
            // Refused before the run: nothing at all is written.
            let fifo = site.path().join("report.md");
            let _ = Command::new("mkfifo").arg(&fifo).status();
            c.arg("--out").arg(&fifo);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out));
        assert!(
            !bundle.exists(),
            "{what}: a bundle of a run that could not run"
        );
    }
}
