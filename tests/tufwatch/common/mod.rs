//! Test helpers: repositories signed at test time with expiry relative to now, a loopback HTTP
//! server that can misbehave on demand, and the `tufwatch` binary run with a private home.

#![allow(dead_code)]

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tufwatch::testkit::{Repo, RoleKeys, SigningKey};

pub mod moto;

/// The project's root.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/demo.toml` with its paths made absolute and `extra` appended, written to
/// `dir/job.toml`.
pub fn demo_config(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(project().join("fixtures/demo.toml")).unwrap();
    let fixtures = project().join("fixtures");
    let text = text.replace("\"demo-", &format!("\"{}/demo-", fixtures.display())) + extra;
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`demo_config`] reading SSM from `endpoint` instead of the demo's SSM file.
pub fn live_demo_config(dir: &Path, endpoint: &str) -> PathBuf {
    let path = demo_config(dir, "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!(
            "files = [\"{}/demo-fleet/ssm-parameters.json\"]",
            project().join("fixtures").display()
        ),
        &format!("endpoint_url = \"{endpoint}\""),
    );
    assert!(text.contains("endpoint_url"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file under `dir`, as paths relative to it, sorted; none when `dir` does not exist.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `to` made a copy of the directory `from` (its files, byte for byte).
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    for f in files(from) {
        let dest = to.join(&f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), dest).unwrap();
    }
}

/// Write an evidence bundle's `SHA256SUMS` anew for the files it holds now (what a forger does).
pub fn resum(d: &Path) {
    let mut text = String::new();
    for f in files(d).into_iter().filter(|f| f != "SHA256SUMS") {
        text.push_str(&format!(
            "{}  {f}\n",
            tufwatch::digest::sha256_hex(&std::fs::read(d.join(&f)).unwrap())
        ));
    }
    std::fs::write(d.join("SHA256SUMS"), text).unwrap();
}

/// Real Bottlerocket data, copied byte for byte into `fixtures/bottlerocket/` (its README names
/// each source).
pub fn bottlerocket_data() -> PathBuf {
    project().join("fixtures/bottlerocket")
}

/// A demo RSA-3072 key from `fixtures/demo-keys/`.
pub fn demo_key(name: &str) -> SigningKey {
    let path = project()
        .join("fixtures/demo-keys")
        .join(format!("{name}.pem"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    SigningKey::from_pem(&text).unwrap()
}

/// A fresh ed25519 key (fast to make).
pub fn ed_key() -> SigningKey {
    SigningKey::generate_ed25519().unwrap()
}

/// A repository with ed25519 keys (fast to make and sign), threshold 1 each, and one target
/// `a.txt`.
pub fn ed_repo(now: DateTime<Utc>) -> Repo {
    let mut r = Repo::new(
        RoleKeys {
            keys: vec![ed_key()],
            threshold: 1,
        },
        ed_key(),
        ed_key(),
        ed_key(),
        now,
    );
    r.add_target("a.txt", b"artifact a".to_vec());
    r
}

/// A Bottlerocket-shaped repository with RSA keys (root 2 of 3) and a few targets, expiring
/// relative to `now` as Bottlerocket's does.
pub fn demo_repo(now: DateTime<Utc>) -> Repo {
    let root = RoleKeys {
        keys: vec![demo_key("root-1"), demo_key("root-2"), demo_key("root-3")],
        threshold: 2,
    };
    let mut repo = Repo::new(
        root,
        demo_key("timestamp"),
        demo_key("snapshot"),
        demo_key("targets"),
        now,
    );
    repo.add_target(
        "manifest.json",
        br#"{"updates": [], "migrations": {}}"#.to_vec(),
    );
    repo.add_target(
        "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-c41a8f09-boot.ext4.lz4",
        b"boot image bytes".repeat(100),
    );
    repo
}

/// A delegated role signed by one fresh ed25519 key, trusted for `<path>/*`, with `targets`.
pub fn delegation(
    name: &str,
    path: &str,
    version: u64,
    expires: DateTime<Utc>,
    targets: &[(&str, &[u8])],
) -> tufwatch::testkit::Delegation {
    tufwatch::testkit::Delegation {
        name: name.to_owned(),
        keys: RoleKeys {
            keys: vec![ed_key()],
            threshold: 1,
        },
        paths: vec![format!("{path}/*")],
        terminating: false,
        version,
        expires,
        targets: targets
            .iter()
            .map(|(n, b)| {
                (
                    (*n).to_owned(),
                    tufwatch::testkit::TargetFile {
                        bytes: b.to_vec(),
                        custom: None,
                    },
                )
            })
            .collect(),
    }
}

/// A directory that holds a repository (`metadata/`, `targets/`), the trust anchor
/// (`anchor.json`), a state directory and a home directory for the binary.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Self {
        Site {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn metadata(&self) -> PathBuf {
        self.path().join("repo/metadata")
    }
    pub fn targets(&self) -> PathBuf {
        self.path().join("repo/targets")
    }
    pub fn anchor(&self) -> PathBuf {
        self.path().join("anchor.json")
    }
    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }
    /// Publish `repo` and make its current root the trust anchor.
    pub fn publish_with_anchor(&self, repo: &Repo) {
        let root = repo.write(&self.path().join("repo")).unwrap();
        std::fs::copy(root, self.anchor()).unwrap();
    }
    /// Publish `repo` (metadata and targets) over what is there.
    pub fn publish(&self, repo: &Repo) {
        repo.write(&self.path().join("repo")).unwrap();
    }
    /// Publish everything but the root (whose RSA-PSS signatures would change on re-signing).
    pub fn publish_top(&self, repo: &Repo) {
        for (name, bytes) in repo.sign_top().unwrap() {
            self.put_metadata(&name, &bytes);
        }
        repo.write_targets(&self.targets()).unwrap();
    }
    /// Publish `repo` as a Bottlerocket mirror below `<site>/mirror`: metadata in
    /// `2020-07-07/<variant>/<arch>/`, targets in `targets/`, and the root also as `root.json`.
    /// Returns the root file.
    pub fn publish_mirror(&self, repo: &Repo, variant: &str, arch: &str) -> PathBuf {
        let build = self.path().join("build");
        let root = repo.write(&build).unwrap();
        let mirror = self.path().join("mirror");
        let meta = mirror.join(format!("2020-07-07/{variant}/{arch}"));
        std::fs::create_dir_all(&meta).unwrap();
        for e in std::fs::read_dir(build.join("metadata")).unwrap().flatten() {
            std::fs::copy(e.path(), meta.join(e.file_name())).unwrap();
        }
        std::fs::rename(build.join("targets"), mirror.join("targets")).unwrap();
        std::fs::copy(&root, mirror.join("root.json")).unwrap();
        mirror.join("root.json")
    }
    /// Write a metadata file.
    pub fn put_metadata(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.metadata().join(name), bytes).unwrap();
    }
    pub fn read_metadata(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.metadata().join(name)).unwrap()
    }
    pub fn remove_metadata(&self, name: &str) {
        std::fs::remove_file(self.metadata().join(name)).unwrap();
    }
}

/// What the test server does for one path.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Answer 200 with these bytes.
    Body(Vec<u8>),
    /// Answer 200 and send data until the client goes away (endless data).
    Endless,
    /// Answer 200 with a long body, one byte a second (slow retrieval).
    Trickle,
    /// The first `n` requests get this status; then the file is served.
    FailFirst(u16, Arc<std::sync::atomic::AtomicUsize>),
    /// The first `n` requests get the file's headers and half its body, then the connection
    /// closes; then the file is served.
    DropFirst(Arc<std::sync::atomic::AtomicUsize>),
    /// Answer 302 to this location.
    Redirect(String),
    /// The file's headers and half its body, then nothing more, the connection held open.
    Stall,
    /// The file's headers and its whole body, then these bytes more than declared.
    Overlong(Vec<u8>),
    /// Answer with this status only once the other path has been requested (at most 5 s
    /// later), and log `answered <path>` then.
    AnswerAfter(u16, String),
}

impl Behavior {
    /// [`Behavior::FailFirst`] for the first `n` requests.
    pub fn fail_first(status: u16, n: usize) -> Self {
        Behavior::FailFirst(status, Arc::new(std::sync::atomic::AtomicUsize::new(n)))
    }
    /// [`Behavior::DropFirst`] for the first `n` requests.
    pub fn drop_first(n: usize) -> Self {
        Behavior::DropFirst(Arc::new(std::sync::atomic::AtomicUsize::new(n)))
    }
}

/// Take one from a counter of remaining misbehaviours; whether there was one.
fn take_one(n: &std::sync::atomic::AtomicUsize) -> bool {
    n.fetch_update(
        std::sync::atomic::Ordering::SeqCst,
        std::sync::atomic::Ordering::SeqCst,
        |v| v.checked_sub(1),
    )
    .is_ok()
}

/// A loopback HTTP/1.1 server over a directory, with per-path behaviors.
pub struct Server {
    pub port: u16,
    pub overrides: Arc<Mutex<HashMap<String, Behavior>>>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(root: &Path) -> Self {
        Self::answering_missing_with(root, 404)
    }

    /// A server that answers 403 for a file it does not have, as S3 behind Bottlerocket's CDN
    /// does (for `N+1.root.json` and for an unversioned `root.json`).
    pub fn like_s3(root: &Path) -> Self {
        Self::answering_missing_with(root, 403)
    }

    fn answering_missing_with(root: &Path, missing: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let overrides: Arc<Mutex<HashMap<String, Behavior>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let root = root.to_owned();
        let (o, l) = (overrides.clone(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (root, o, l) = (root.clone(), o.clone(), l.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, &root, &o, &l, missing);
                });
            }
        });
        Server {
            port,
            overrides,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    pub fn set(&self, path: &str, b: Behavior) {
        self.overrides
            .lock()
            .unwrap()
            .insert(format!("/{}", path.trim_start_matches('/')), b);
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests asked for `path`.
    pub fn count(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

fn handle(
    mut conn: TcpStream,
    root: &Path,
    overrides: &Mutex<HashMap<String, Behavior>>,
    log: &Mutex<Vec<String>>,
    missing: u16,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        log.lock().unwrap().push(path.clone());
        let behavior = overrides.lock().unwrap().get(&path).cloned();
        match behavior {
            Some(Behavior::Status(code)) => {
                write!(conn, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n")?;
            }
            Some(Behavior::Body(b)) => respond(&mut conn, &b)?,
            Some(Behavior::AnswerAfter(code, other)) => {
                for _ in 0..500 {
                    if log.lock().unwrap().contains(&other) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                log.lock().unwrap().push(format!("answered {path}"));
                write!(conn, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n")?;
            }
            Some(Behavior::Endless) => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                )?;
                let chunk = vec![b'x'; 64 * 1024];
                loop {
                    write!(conn, "{:x}\r\n", chunk.len())?;
                    conn.write_all(&chunk)?;
                    conn.write_all(b"\r\n")?;
                }
            }
            Some(Behavior::Trickle) => {
                write!(conn, "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")?;
                for _ in 0..100_000 {
                    conn.write_all(b" ")?;
                    conn.flush()?;
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            Some(Behavior::FailFirst(code, n)) if take_one(&n) => {
                write!(conn, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n")?;
            }
            Some(Behavior::DropFirst(n)) if take_one(&n) => {
                half_of(&mut conn, &file_bytes(root, &path))?;
                return conn.shutdown(std::net::Shutdown::Both);
            }
            Some(Behavior::Stall) => {
                half_of(&mut conn, &file_bytes(root, &path))?;
                // Hold the connection until the client gives up on it.
                let mut sink = [0u8; 1];
                while matches!(std::io::Read::read(&mut conn, &mut sink), Ok(1..)) {}
                return Ok(());
            }
            Some(Behavior::Overlong(extra)) => {
                let bytes = file_bytes(root, &path);
                respond(&mut conn, &bytes)?;
                conn.write_all(&extra)?;
            }
            Some(Behavior::Redirect(to)) => {
                write!(
                    conn,
                    "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n"
                )?;
            }
            _ => {
                let rel = path.trim_start_matches('/');
                let decoded = percent_decode(rel);
                let file = root.join(decoded);
                match (!rel.contains(".."))
                    .then(|| std::fs::read(&file))
                    .and_then(Result::ok)
                {
                    Some(bytes) => respond(&mut conn, &bytes)?,
                    None => write!(conn, "HTTP/1.1 {missing} X\r\ncontent-length: 0\r\n\r\n")?,
                }
            }
        }
        conn.flush()?;
    }
}

/// The bytes of the file a request path names (none when there is no such file).
fn file_bytes(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join(percent_decode(path.trim_start_matches('/')))).unwrap_or_default()
}

/// The headers of a whole file, then half its body.
fn half_of(conn: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
        bytes.len()
    )?;
    conn.write_all(&bytes[..bytes.len() / 2])?;
    conn.flush()
}

fn respond(conn: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    conn.write_all(body)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The same metadata file with its signatures replaced by signatures of `keys`.
pub fn resign(bytes: &[u8], keys: &[&SigningKey]) -> Vec<u8> {
    let doc: Value = serde_json::from_slice(bytes).unwrap();
    tufwatch::testkit::to_bytes(&tufwatch::testkit::sign_metadata(&doc["signed"], keys).unwrap())
}

/// The binary, with a private home and cache so no test touches the user's.
pub fn tufwatch(home: &Path) -> Command {
    let mut c = Command::cargo_bin("tufwatch").unwrap();
    c.env("HOME", home)
        // What a run killed by a test leaves stays in the test's own directory.
        .env("TMPDIR", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("TUFWATCH_LOG")
        // Kubernetes: no user kubeconfig, not in a cluster.
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        // AWS: no user configuration, no instance metadata, dummy credentials for local SSM.
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SSM")
        .env_remove("AWS_ENDPOINT_URL_KMS")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .timeout(Duration::from_secs(120));
    c
}

/// Run `verify --format json` with `args` for the site; returns (exit code, report).
pub fn verify_json(site: &Site, metadata: &str, targets: &str, extra: &[&str]) -> (i32, Value) {
    let mut c = tufwatch(site.path());
    c.args(["verify", "--format", "json", "--root"])
        .arg(site.anchor())
        .args(["--metadata-url", metadata, "--targets-url", targets]);
    if !extra.contains(&"--no-state") {
        c.arg("--state-dir").arg(site.state());
    }
    c.args(extra);
    let out = c.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, stdout is not a JSON report ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// The shipped demo repository (`metadata/`, `targets/` and its anchor `root.json`).
pub fn demo_dir() -> PathBuf {
    project().join("fixtures/demo-repo")
}

/// A command's repository flags for a local repository directory holding `metadata/` and
/// `targets/`.
pub trait RepoDir {
    /// Add `--metadata-url DIR/metadata --targets-url DIR/targets`.
    fn repo(&mut self, dir: &Path) -> &mut Self;
}

impl RepoDir for Command {
    fn repo(&mut self, dir: &Path) -> &mut Self {
        self.arg("--metadata-url")
            .arg(dir.join("metadata"))
            .arg("--targets-url")
            .arg(dir.join("targets"))
    }
}

/// Run `subcommand` on the shipped demo repository (file paths, no state) with `extra`.
pub fn on_demo(site: &Site, subcommand: &str, extra: &[&str]) -> std::process::Output {
    let demo = demo_dir();
    tufwatch(site.path())
        .args([subcommand, "--no-state", "--root"])
        .arg(demo.join("root.json"))
        .repo(&demo)
        .args(extra)
        .output()
        .unwrap()
}

/// Verify a site over loopback HTTP.
pub fn verify_http(site: &Site, server: &Server, extra: &[&str]) -> (i32, Value) {
    verify_json(
        site,
        &server.url("repo/metadata/"),
        &server.url("repo/targets/"),
        extra,
    )
}

/// The codes of a report's findings with their roles or targets, as `code:subject`.
pub fn findings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let subject = f["role"].as_str().or(f["target"].as_str()).unwrap_or("-");
            format!("{}:{}", f["code"].as_str().unwrap(), subject)
        })
        .collect()
}

/// The string `field` of each element of the JSON array `list`.
pub fn each<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|x| {
            x[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {x}"))
        })
        .collect()
}

/// A role's entry in a report.
pub fn role<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == name)
        .unwrap_or_else(|| panic!("no role {name} in {report:#}"))
}

/// The demo repository laid out as Bottlerocket's below `base`: the same metadata under
/// `2020-07-07/<variant>/<arch>/` for each variant and architecture of its manifest (and for
/// an NVIDIA and a FIPS variant, whose releases the demo manifest does not list), and the shared
/// `targets/`. Returns `base`, for `--repo-base`.
pub fn bottlerocket_mirror(base: &Path) -> PathBuf {
    let demo = demo_dir();
    let copy_dir = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    for variant in [
        "aws-k8s-1.31",
        "aws-ecs-2",
        "aws-k8s-1.31-nvidia",
        "aws-k8s-1.31-fips",
    ] {
        for arch in ["x86_64", "aarch64"] {
            copy_dir(
                &demo.join("metadata"),
                &base.join("2020-07-07").join(variant).join(arch),
            );
        }
    }
    copy_dir(&demo.join("targets"), &base.join("targets"));
    base.to_owned()
}

/// A job's configuration in `site`: the demo repository (no state kept), one CSV inventory with
/// `csv` as its contents, and the demo's SSM values of eu-west-1 with markup in one version
/// ([`HOSTILE_SSM_MESSAGE`]). Returns the configuration file.
pub fn demo_job_with_csv(site: &Site, csv: &str) -> PathBuf {
    let demo = demo_dir();
    let inventory = site.path().join("inventory.csv");
    std::fs::write(&inventory, csv).unwrap();
    // SSM says a version with markup in it, which a finding's message quotes.
    let ssm = site.path().join("ssm.json");
    let parameters =
        std::fs::read_to_string(project().join("fixtures/demo-fleet/ssm-parameters.json")).unwrap();
    assert!(parameters.contains("\"1.26.2-deadbeef\""));
    std::fs::write(
        &ssm,
        parameters.replace("\"1.26.2-deadbeef\"", HOSTILE_SSM_VERSION_JSON),
    )
    .unwrap();
    let config = site.path().join("job.toml");
    std::fs::write(
        &config,
        format!(
            "[trust]\nroot = \"{}\"\nno_state = true\n\
             [[repository]]\nname = \"demo\"\nmetadata_url = \"{}\"\ntargets_url = \"{}\"\n\
             [[inventory]]\npath = \"{}\"\nformat = \"csv\"\n\
             [ssm]\nfiles = [\"{}\"]\nregions = [\"eu-west-1\"]\n",
            demo.join("root.json").display(),
            demo.join("metadata").display(),
            demo.join("targets").display(),
            inventory.display(),
            ssm.display(),
        ),
    )
    .unwrap();
    config
}

/// The SSM version [`demo_job_with_csv`] gives aws-k8s-1.31 x86_64 in eu-west-1, as JSON.
pub const HOSTILE_SSM_VERSION_JSON: &str = r#""1.26.2-\"'><script>window.pwned=4</script>""#;

/// The finding message that quotes it, as a reader should see it.
pub const HOSTILE_SSM_MESSAGE: &str =
    r#"SSM's latest is 1.26.2-"'><script>window.pwned=4</script>, a release"#;

/// HTML text with its character references replaced by the characters.
pub fn unescape(html: &str) -> String {
    [
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(html.to_owned(), |s, (from, to)| s.replace(from, to))
}

/// `releases --format html --out file` of the shipped demo repository at `at`; it must pass.
pub fn demo_releases_page(site: &Site, at: &str, file: &Path) -> std::process::Output {
    let out = on_demo(
        site,
        "releases",
        &[
            "--at",
            at,
            "--format",
            "html",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A run's exit code and its JSON report on stdout (a panic naming stdout and stderr when it is
/// not JSON).
pub fn json_report(out: &std::process::Output) -> (i32, Value) {
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code} ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// The messages of a job report's findings of one code.
pub fn messages(r: &serde_json::Value, code: &str) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The launch path of a job report named `name`.
pub fn launch_path<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["fleet"]["launch_paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no launch path {name}"))
}
