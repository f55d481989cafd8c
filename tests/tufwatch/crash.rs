//! Crash safety: tufwatch killed (SIGKILL) at moments spread over a run, while it writes its
//! state directory, an `--out` directory of targets and an evidence bundle. After each kill the
//! state is the old one or the new one and the next run verifies; the output holds only whole,
//! verified files; a bundle is whole or absent.

#![cfg(unix)]

use crate::common::*;
use chrono::Utc;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary with the same private environment as `common::tufwatch`.
fn command(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tufwatch"));
    c.env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        // A killed run leaves its datastore in the test's own directory, not the machine's.
        .env("TMPDIR", home)
        .env_remove("TUFWATCH_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Run to the end; how long it took.
fn timed(mut c: Command) -> Duration {
    let started = Instant::now();
    let status = c.status().unwrap();
    assert!(status.code().is_some());
    started.elapsed()
}

/// Start, then kill after `delay` (if still running).
fn killed_after(mut c: Command, delay: Duration) {
    let mut child = c.spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// The delays at which to kill: spread over a run of `total`, from the very start to the end.
fn delays(total: Duration, n: u32) -> Vec<Duration> {
    (0..n).map(|i| total * i / (n - 1)).collect()
}

/// The names in `dir` that a tufwatch run writes to first (temporary names start with a dot).
fn temporary(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Make what killed runs left in `dir` look old, and plant one more leftover of a process that
/// cannot be running (above the kernel's highest pid), so that a sweep always has work.
fn age_leftovers(dir: &Path) {
    std::fs::write(dir.join(".tufwatch-4194305-partial-planted"), b"part").unwrap();
    let old = std::time::SystemTime::now() - 2 * tufwatch::atomic::LEFTOVER_AGE;
    for name in temporary(dir) {
        std::fs::File::open(dir.join(name))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}

fn many_targets() -> tufwatch::testkit::Repo {
    let mut repo = demo_repo(Utc::now());
    for i in 0..40 {
        repo.add_target(&format!("t{i:02}.bin"), vec![i as u8; 64 * 1024]);
    }
    repo
}

#[test]
fn a_kill_while_writing_the_state_leaves_the_old_state_or_the_new() {
    let site = Site::new();
    let mut repo = many_targets();
    site.publish_with_anchor(&repo);
    let server = Server::start(site.path());
    let verify = |site: &Site| {
        let mut c = command(site.path());
        c.args(["verify", "--root"])
            .arg(site.anchor())
            .args(["--metadata-url", &server.url("repo/metadata/")])
            .args(["--targets-url", &server.url("repo/targets/")])
            .arg("--state-dir")
            .arg(site.state());
        c
    };
    let total = timed(verify(&site));
    for (i, delay) in delays(total, 12).into_iter().enumerate() {
        // Each round a newer timestamp, so that every run has a new state to write.
        repo.timestamp_version = 2 + i as u64;
        site.publish_top(&repo);
        killed_after(verify(&site), delay);
        // Whatever the moment, the next run verifies and records the newest version.
        let (code, r) = verify_http(&site, &server, &[]);
        assert_eq!(code, 0, "after a kill at {delay:?}: {r:#}");
        assert_eq!(role(&r, "timestamp")["version"], 2 + i as u64);
        assert_eq!(r["state"]["updated"], true);
        // A run that saves the state clears what the killed one left half-written.
        let state: Vec<String> = std::fs::read_dir(site.state())
            .unwrap()
            .flatten()
            .flat_map(|e| temporary(&e.path()))
            .collect();
        assert_eq!(state, Vec::<String>::new(), "after a kill at {delay:?}");
    }
}

#[test]
fn a_kill_while_writing_targets_leaves_only_whole_files() {
    let site = Site::new();
    let repo = many_targets();
    site.publish_with_anchor(&repo);
    let out = site.path().join("out");
    let download = |site: &Site| {
        let mut c = command(site.path());
        c.args(["verify", "--no-state", "--root"])
            .arg(site.anchor())
            .arg("--metadata-url")
            .arg(site.metadata())
            .arg("--targets-url")
            .arg(site.targets())
            .args(["--all-targets", "--out"])
            .arg(&out);
        c
    };
    let total = timed(download(&site));
    std::fs::remove_dir_all(&out).unwrap();
    for delay in delays(total, 12) {
        killed_after(download(&site), delay);
        // Every file with a target's name is that target, whole.
        if let Ok(list) = std::fs::read_dir(&out) {
            for e in list.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(t) = repo.targets.get(&name) {
                    assert_eq!(
                        std::fs::read(e.path()).unwrap(),
                        t.bytes,
                        "{name} at {delay:?}"
                    );
                } else {
                    assert!(name.starts_with('.'), "{name} at {delay:?}: not a target");
                }
            }
        }
    }
    // And a run to the end writes them all, and removes what the killed runs left.
    age_leftovers(&out);
    let status = download(&site).status().unwrap();
    assert_eq!(status.code(), Some(0));
    for (name, t) in &repo.targets {
        assert_eq!(std::fs::read(out.join(name)).unwrap(), t.bytes);
    }
    assert_eq!(temporary(&out), Vec::<String>::new());
}

#[test]
fn a_kill_while_writing_a_bundle_leaves_it_whole_or_absent() {
    let site = Site::new();
    site.publish_with_anchor(&many_targets());
    let create = |site: &Site, out: &Path| {
        let mut c = command(site.path());
        c.args([
            "evidence",
            "create",
            "--resource-uri",
            "https://updates.example.com/site/metadata/",
            "--out",
        ])
        .arg(out)
        .arg("--root")
        .arg(site.anchor())
        .arg("--metadata-url")
        .arg(site.metadata())
        .arg("--targets-url")
        .arg(site.targets());
        c
    };
    let total = timed(create(&site, &site.path().join("first")));
    for (i, delay) in delays(total, 12).into_iter().enumerate() {
        let out = site.path().join(format!("bundle-{i}"));
        killed_after(create(&site, &out), delay);
        if out.exists() {
            let o = tufwatch(site.path())
                .args(["evidence", "verify"])
                .arg(&out)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "bundle after a kill at {delay:?}");
        }
    }
    // The next bundle made beside them removes what the killed runs left.
    age_leftovers(site.path());
    let status = create(&site, &site.path().join("last")).status().unwrap();
    assert_eq!(status.code(), Some(0));
    let left: Vec<String> = temporary(site.path())
        .into_iter()
        .filter(|n| n.starts_with(".tufwatch-"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}
