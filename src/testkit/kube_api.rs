//! A loopback Kubernetes API server for the tests and measurements: it answers the paths
//! tufwatch reads (`/version`, the node list, the update operator's shadows, Karpenter's
//! EC2NodeClasses) with objects and lists in the API's exact shapes, pages by `limit` and
//! `continue` as the API server does, and the errors it really returns (a `Status` body with
//! 401, 403, 404, 410), or no answer at all. HTTP/1.1 over plain TCP, a thread a connection.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the node list is.
pub const NODES: &str = "/api/v1/nodes";
/// Where the update operator's shadows are, in every namespace.
pub const SHADOWS: &str = "/apis/brupop.bottlerocket.aws/v2/bottlerocketshadows";
/// Where Karpenter's EC2NodeClasses are.
pub const NODE_CLASSES: &str = "/apis/karpenter.k8s.aws/v1/ec2nodeclasses";

/// Something the server does wrong, on purpose.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer every request of a path with this HTTP status and `Status` body.
    Status {
        /// The path (without its query).
        path: String,
        /// The HTTP status.
        code: u16,
        /// The `Status` object.
        body: Value,
    },
    /// Answer the first `times` requests with a continue token with 410 Expired.
    ExpireContinue {
        /// How many times.
        times: usize,
    },
    /// Never answer a request of this path (the connection stays open).
    Hang {
        /// The path (without its query).
        path: String,
    },
}

/// What the server holds and how it behaves.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The nodes, each a serialized `Node` object.
    pub nodes: Vec<String>,
    /// The shadows; `None`: the update operator's CRD is not installed (404).
    pub shadows: Option<Vec<Value>>,
    /// The EC2NodeClasses; `None`: Karpenter is not installed (404).
    pub node_classes: Option<Vec<Value>>,
    /// The Kubernetes minor version `/version` gives (`31` for 1.31).
    pub minor: String,
    /// The bearer token every request must carry; another is 401.
    pub token: String,
    /// The most items a page holds, whatever `limit` asks (0: as many as `limit`).
    pub page_max: usize,
    /// What it does wrong.
    pub faults: Vec<Fault>,
}

impl Default for ApiState {
    fn default() -> Self {
        ApiState {
            nodes: Vec::new(),
            shadows: None,
            node_classes: None,
            minor: "31".to_owned(),
            token: "tufwatch-test-token".to_owned(),
            page_max: 0,
            faults: Vec::new(),
        }
    }
}

/// A running server.
pub struct KubeApi {
    /// Its URL, `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<ApiState>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl KubeApi {
    /// Start a server on a free loopback port.
    pub fn start(state: ApiState) -> std::io::Result<KubeApi> {
        Self::start_on("127.0.0.1:0", state)
    }

    /// Start a server on `addr`.
    pub fn start_on(addr: &str, state: ApiState) -> std::io::Result<KubeApi> {
        let listener = TcpListener::bind(addr)?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(state));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (state.clone(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, l) = (s.clone(), l.clone());
                std::thread::spawn(move || serve(stream, &s, &l));
            }
        });
        Ok(KubeApi { url, state, log })
    }

    /// Change what the server holds or does.
    pub fn with_state(&self, change: impl FnOnce(&mut ApiState)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Every request so far: `GET /api/v1/nodes?limit=500`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A kubeconfig whose context `context` reaches this server with its token.
    pub fn kubeconfig_entry(&self, context: &str) -> KubeconfigEntry {
        let token = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .token
            .clone();
        KubeconfigEntry {
            context: context.to_owned(),
            server: self.url.clone(),
            token,
        }
    }
}

/// One context of a kubeconfig: its name, its server and its token.
#[derive(Debug, Clone)]
pub struct KubeconfigEntry {
    /// The context's name (also its cluster's and user's).
    pub context: String,
    /// The API server.
    pub server: String,
    /// The bearer token.
    pub token: String,
}

/// A kubeconfig of these contexts, the first current, in the YAML kubectl writes.
pub fn kubeconfig(entries: &[KubeconfigEntry]) -> String {
    let mut clusters = String::new();
    let mut users = String::new();
    let mut contexts = String::new();
    for e in entries {
        clusters.push_str(&format!(
            "- name: {c}\n  cluster:\n    server: {s}\n",
            c = e.context,
            s = e.server
        ));
        users.push_str(&format!(
            "- name: {c}\n  user:\n    token: {t}\n",
            c = e.context,
            t = e.token
        ));
        contexts.push_str(&format!(
            "- name: {c}\n  context:\n    cluster: {c}\n    user: {c}\n",
            c = e.context
        ));
    }
    let current = entries.first().map_or("", |e| e.context.as_str());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n{users}contexts:\n{contexts}current-context: {current}\n"
    )
}

/// A `Status` object as the API server writes one.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code
    })
}

/// The `Status` of a request without valid credentials.
pub fn unauthorized() -> Value {
    status(401, "Unauthorized", "Unauthorized")
}

/// The `Status` of a list the service account may not read, as RBAC words it.
pub fn forbidden(resource: &str, group: &str) -> Value {
    let mut s = status(
        403,
        "Forbidden",
        &format!("{resource} is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"{resource}\" in API group \"{group}\" at the cluster scope"),
    );
    s["details"] = json!({ "kind": resource });
    s
}

/// The `Status` of a continue token that is too old.
pub fn expired() -> Value {
    status(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
    )
}

/// What the server answers: a status code and a JSON body, or nothing.
enum Answer {
    Json(u16, String),
    Never,
}

/// Serve one connection: one request, one answer, then close.
fn serve(mut stream: TcpStream, state: &Mutex<ApiState>, log: &Mutex<Vec<String>>) {
    let Some((target, token)) = read_head(&mut stream) else {
        return;
    };
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("GET {target}"));
    let answer = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        answer(&mut s, &target, token.as_deref())
    };
    match answer {
        Answer::Json(code, body) => {
            let head = format!(
                "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason_phrase(code),
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
        Answer::Never => std::thread::sleep(Duration::from_secs(600)),
    }
}

/// The request's target and bearer token, from its head.
fn read_head(stream: &mut TcpStream) -> Option<(String, Option<String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut byte).ok()?;
        if n == 0 || head.len() > 64 << 10 {
            return None;
        }
        head.extend_from_slice(&byte[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let token = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let value = value.trim();
        (name.eq_ignore_ascii_case("authorization"))
            .then(|| value.strip_prefix("Bearer ").map(str::to_owned))
            .flatten()
    });
    Some((target, token))
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        _ => "Error",
    }
}

/// The answer to a request of `target` with `token`.
fn answer(s: &mut ApiState, target: &str, token: Option<&str>) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if token != Some(s.token.as_str()) {
        return Answer::Json(401, unauthorized().to_string());
    }
    for f in &mut s.faults {
        match f {
            Fault::Status {
                path: p,
                code,
                body,
            } if p == path => return Answer::Json(*code, body.to_string()),
            Fault::Hang { path: p } if p == path => return Answer::Never,
            Fault::ExpireContinue { times } if *times > 0 && query.contains("continue=") => {
                *times -= 1;
                return Answer::Json(410, expired().to_string());
            }
            _ => {}
        }
    }
    let not_found = || {
        Answer::Json(
            404,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
            .to_string(),
        )
    };
    // A custom resource's list, or 404 when its CRD is not installed.
    let custom = |all: &Option<Vec<Value>>, kind: &str, api_version: &str| match all {
        Some(all) => Answer::Json(200, value_page(kind, api_version, all, query, s.page_max)),
        None => not_found(),
    };
    match path {
        "/version" => Answer::Json(200, version(&s.minor).to_string()),
        NODES => {
            let items: Vec<&str> = s.nodes.iter().map(String::as_str).collect();
            Answer::Json(200, page("NodeList", "v1", &items, query, s.page_max))
        }
        SHADOWS => custom(
            &s.shadows,
            "BottlerocketShadowList",
            "brupop.bottlerocket.aws/v2",
        ),
        NODE_CLASSES => custom(&s.node_classes, "EC2NodeClassList", "karpenter.k8s.aws/v1"),
        _ => not_found(),
    }
}

/// `/version` as an EKS API server gives it.
fn version(minor: &str) -> Value {
    json!({
        "major": "1",
        "minor": format!("{minor}+"),
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "30",
        "gitVersion": format!("v1.{minor}.4-eks-2d5f260"),
        "gitCommit": "2d5f2601ae00a2447bdcbd2d2d3a8a2d3bb2ee32",
        "gitTreeState": "clean",
        "buildDate": "2026-10-30T20:25:43Z",
        "goVersion": "go1.24.9",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn value_page(kind: &str, api_version: &str, all: &[Value], query: &str, max: usize) -> String {
    let items: Vec<String> = all.iter().map(Value::to_string).collect();
    let items: Vec<&str> = items.iter().map(String::as_str).collect();
    page(kind, api_version, &items, query, max)
}

/// One page of a list, from the `limit` and `continue` of `query`: its items, and a continue
/// token and the count remaining when more follow.
fn page(kind: &str, api_version: &str, items: &[&str], query: &str, max: usize) -> String {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    let start = param("continue")
        .and_then(|t| t.strip_prefix("tw-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(items.len());
    let mut limit = param("limit")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(items.len());
    if max > 0 {
        limit = limit.min(max);
    }
    let end = (start + limit).min(items.len());
    let metadata = if end < items.len() {
        json!({
            "resourceVersion": "8861203",
            "continue": format!("tw-{end}"),
            "remainingItemCount": items.len() - end
        })
    } else {
        json!({ "resourceVersion": "8861203" })
    };
    let mut body = format!(
        "{{\"kind\":\"{kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":{metadata},\"items\":["
    );
    for (i, item) in items[start..end].iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}");
    body
}
