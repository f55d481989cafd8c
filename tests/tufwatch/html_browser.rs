//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, which
//! scripts/test.sh installs when it is missing), driven over the DevTools protocol. The page must
//! load with no console error, no exception and no network request, show each section, and run
//! no script even when names hold markup; a screenshot of each page is kept in
//! `target/test-artifacts/`. What is checked is the rendered text (the DOM), not pixels.

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

const AT: &str = "2026-11-28T00:00:00Z";

/// The browser: `TUFWATCH_TEST_CHROMIUM`, else `chromium` on the PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("TUFWATCH_TEST_CHROMIUM") {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromium"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("chromium is missing: scripts/test.sh installs Debian's package (apt-get install chromium)")
        })
}

/// A headless Chromium with a new, empty profile, and the DevTools socket to it.
struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
    /// Every event received, in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1000,1400",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium did not open its DevTools socket within 60 s");
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        let mut b = Browser {
            child,
            ws,
            next_id: 1,
            session: None,
            events: Vec::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        b.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        for domain in ["Page", "Runtime", "Log", "Network"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        b
    }

    /// Send a command (to the page once attached) and wait for its result; events that come
    /// meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let v = self.read();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools socket") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("chromium closed the DevTools socket"),
                _ => {}
            }
        }
    }

    /// Wait for an event of the page, up to 60 s.
    fn wait_for(&mut self, method: &str) {
        let start = Instant::now();
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        while start.elapsed() < Duration::from_secs(60) {
            let v = self.read();
            let done = v["method"] == method;
            self.events.push(v);
            if done {
                return;
            }
        }
        panic!("no {method} within 60 s");
    }

    /// Evaluate `expression` in the page and return its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }
}

/// What a page did when opened: the requests it made, what went to its console, its DOM.
struct Opened {
    requests: Vec<String>,
    errors: Vec<String>,
    section_ids: Vec<String>,
    text: String,
    scripts: u64,
    pwned: String,
}

/// Open `page` in a new browser, read its DOM, and keep a screenshot as `shot`.
fn open(page: &Path, shot: &str) -> Opened {
    let mut b = Browser::start();
    let url = url::Url::from_file_path(page).unwrap().to_string();
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("Page.loadEventFired");
    let dom = b.eval(
        "JSON.stringify({ids: [...document.querySelectorAll('[id]')].map(e => e.id), \
         text: document.body.innerText, scripts: document.scripts.length, \
         pwned: typeof window.pwned})",
    );
    let dom: Value = serde_json::from_str(dom.as_str().unwrap()).unwrap();
    let shot_data = b.call(
        "Page.captureScreenshot",
        json!({"format": "png", "captureBeyondViewport": true}),
    );
    let png = base64_decode(shot_data["data"].as_str().unwrap());
    let dir = project().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(shot), &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    // Anything that arrived after the load.
    let _ = b.call("Runtime.evaluate", json!({"expression": "1"}));
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    for e in &b.events {
        match e["method"].as_str().unwrap_or("") {
            "Network.requestWillBeSent" => {
                requests.push(e["params"]["request"]["url"].as_str().unwrap().to_owned())
            }
            "Runtime.exceptionThrown" => errors.push(e["params"].to_string()),
            "Runtime.consoleAPICalled"
                if matches!(
                    e["params"]["type"].as_str(),
                    Some("error" | "warning" | "assert")
                ) =>
            {
                errors.push(e["params"].to_string())
            }
            "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                errors.push(e["params"].to_string())
            }
            _ => {}
        }
    }
    Opened {
        requests: requests.into_iter().filter(|r| *r != url).collect(),
        errors,
        section_ids: dom["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        text: dom["text"].as_str().unwrap().to_owned(),
        scripts: dom["scripts"].as_u64().unwrap(),
        pwned: dom["pwned"].as_str().unwrap().to_owned(),
    }
}

impl Opened {
    /// Assert what every page must be: no request, no console error or exception, no script,
    /// and each of these sections.
    fn is_clean(&self, sections: &[&str]) {
        assert!(self.requests.is_empty(), "requests: {:?}", self.requests);
        assert!(self.errors.is_empty(), "console: {:?}", self.errors);
        assert_eq!(self.scripts, 0);
        for id in sections {
            assert!(
                self.section_ids.iter().any(|s| s == id),
                "no {id}: {:?}",
                self.section_ids
            );
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn render(site: &Site, config: &Path, file: &Path, extra: &[&str]) {
    let out = tufwatch(site.path())
        .current_dir(project())
        .args(["report", "--at", AT, "--format", "html", "--out"])
        .arg(file)
        .arg("--config")
        .arg(config)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_demo_report_opens_in_a_browser_with_every_section_and_no_request() {
    let site = Site::new();
    let file = site.path().join("report.html");
    // The run also makes an evidence bundle, which the page names.
    let bundle = site.path().join("evidence");
    render(
        &site,
        &project().join("fixtures/demo.toml"),
        &file,
        &["--evidence", bundle.to_str().unwrap()],
    );
    let digest = tufwatch::digest::sha256_hex(&std::fs::read(bundle.join("SHA256SUMS")).unwrap());
    let page = open(&file, "demo-report.png");
    page.is_clean(&[
        "verdict",
        "findings",
        "repositories",
        "releases",
        "fleet",
        "ssm",
        "evidence",
        "about",
    ]);
    // What a reader sees: the verdict, the findings, the repository, the tracks, the fleet,
    // SSM, and how the page was made.
    for seen in [
        "Findings: something is wrong",
        "nodes_behind",
        "demo",
        "aws-k8s-1.31 / x86_64",
        "nodes per running version",
        "AMIs in use",
        "SSM cross-check",
        "Expiry and due releases judged at 2026-11-28 00:00 UTC",
        "fixtures/demo.toml",
        "Evidence bundle",
        &format!("sha256 {digest}"),
        &format!(
            "tufwatch evidence verify {} --sha256 {digest}",
            bundle.display()
        ),
    ] {
        assert!(
            page.text.contains(seen),
            "{seen:?} not shown:\n{}",
            page.text
        );
    }
}

#[test]
fn markup_in_names_shows_as_text_in_a_browser_and_runs_nothing() {
    let site = Site::new();
    let config = demo_job_with_csv(
        &site,
        "name,variant,arch,version\n\
         \"<script>window.pwned=1</script>\",aws-k8s-1.31,x86_64,1.25.0\n\
         \"<img src=x onerror=window.pwned=2>\",\"aws-k8s-1.31\"\"'><script>window.pwned=3</script>\",x86_64,1.31.0\n",
    );
    let file = site.path().join("hostile.html");
    render(&site, &config, &file, &[]);
    let page = open(&file, "hostile-report.png");
    assert_eq!(page.pwned, "undefined", "a name ran as a script");
    page.is_clean(&["verdict", "fleet"]);
    assert!(page.text.contains(HOSTILE_SSM_MESSAGE), "{}", page.text);
    assert!(
        page.text.contains("<script>window.pwned=1</script>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("aws-k8s-1.31\"'><script>window.pwned=3</script>"),
        "{}",
        page.text
    );
}

#[test]
fn the_releases_page_opens_in_a_browser_with_no_request() {
    let site = Site::new();
    let file = site.path().join("releases.html");
    demo_releases_page(&site, AT, &file);
    let page = open(&file, "demo-releases.png");
    page.is_clean(&["verdict", "findings", "repositories", "releases", "about"]);
    for seen in [
        "tufwatch releases",
        "All verified",
        "aws-ecs-2 / aarch64",
        "due to every host 1.26.0",
        "from tufwatch releases --no-state",
    ] {
        assert!(
            page.text.contains(seen),
            "{seen:?} not shown:\n{}",
            page.text
        );
    }
}
