//! The transport under tough: one shared HTTP client (one reused connection, no idle waits) for
//! `http(s)://`, plain reads for `file://`, and a recorder that keeps the exact bytes of every
//! metadata file received.
//!
//! tough re-serializes the metadata it keeps; the exact bytes are needed to compare against the
//! saved state (a timestamp with the same version but other bytes) and, later, as audit evidence.

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tough::{Transport, TransportError, TransportErrorKind, TransportStream};
use url::Url;

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Longest wait for a connection to open.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer (a stalled server fails after this).
    pub read_timeout: Duration,
    /// How many times a request is tried when the server fails in a way worth retrying.
    pub tries: u32,
    /// The first pause before a retry; it doubles after each one.
    pub backoff: Duration,
    /// The slowest a body may arrive, in bytes a second, once `read_timeout` has passed; 0 for
    /// no minimum.
    pub min_rate: u64,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            tries: 3,
            backoff: Duration::from_millis(200),
            min_rate: 1024,
        }
    }
}

/// Why a fetch failed, as the cause inside tough's `TransportError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetErrorKind {
    /// No connection, a reset connection, or a timeout: the server could not be reached.
    Unreachable,
    /// The server answered with an HTTP error status that is not "not found".
    Status(u16),
    /// A local file could not be read.
    Io,
    /// The body came slower than the minimum rate.
    Slow,
    /// The body was longer than the most that is read of such a file.
    TooLong,
}

/// A failed fetch.
#[derive(Debug, Clone)]
pub struct NetError {
    /// What kind of failure.
    pub kind: NetErrorKind,
    /// Details, for a person.
    pub detail: String,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NetErrorKind::Status(code) => write!(f, "HTTP status {code}: {}", self.detail),
            _ => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for NetError {}

/// The kind of the [`NetError`] inside a transport error, if there is one.
pub fn net_kind(e: &TransportError) -> Option<NetErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(net) = s.downcast_ref::<NetError>() {
            return Some(net.kind.clone());
        }
        source = s.source();
    }
    None
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The whole body, exactly as received.
    Bytes(Bytes),
    /// The server or file system said there is no such file (404, 403, 410, no file).
    NotFound,
    /// The body went on past the most read of such a file (endless data); the text says so.
    TooLong(String),
    /// Anything else went wrong; the text says what.
    Failed(String),
}

/// The exact bytes of the metadata fetched during one run, by URL.
#[derive(Debug, Default, Clone)]
pub struct Recording {
    outcomes: HashMap<String, Outcome>,
    order: Vec<String>,
}

impl Recording {
    /// The outcome of the last request for `url`.
    pub fn get(&self, url: &Url) -> Option<&Outcome> {
        self.outcomes.get(url.as_str())
    }

    /// The bytes received from `url`, if the whole body arrived.
    pub fn bytes(&self, url: &Url) -> Option<&Bytes> {
        match self.outcomes.get(url.as_str()) {
            Some(Outcome::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// URLs in the order they were first requested.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    fn put(&mut self, url: &str, outcome: Outcome) {
        if !self.outcomes.contains_key(url) {
            self.order.push(url.to_owned());
        }
        self.outcomes.insert(url.to_owned(), outcome);
    }
}

/// tough's transport for tufwatch: HTTP(S) over one shared client, `file://`, and recording.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: NetOptions,
    record_prefix: Option<String>,
    /// The most read of each recorded file, by its role.
    record_limits: tough::Limits,
    recording: Arc<Mutex<Recording>>,
    recording_on: Arc<std::sync::atomic::AtomicBool>,
    /// One download per recorded URL, whoever asks and however many at once.
    inflight: Arc<Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Shared>>>>>,
    /// The lengths the recorded timestamp and snapshot list, by metadata file name
    /// (`snapshot.json`, `targets.json`, `<role>.json`).
    listed: Arc<Mutex<HashMap<String, u64>>>,
}

/// What a recorded URL gave, for everyone who asks for it.
type Shared = Result<Bytes, Arc<TransportError>>;

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("options", &self.options)
            .field("record_prefix", &self.record_prefix)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher with its own HTTP client.
    pub fn new(options: NetOptions) -> crate::error::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // At most 5 redirects, and none that changes the scheme: https never becomes
                // http, and nothing leads out of HTTP. Another host is allowed (mirrors, CDNs):
                // what it serves is checked like anything else.
                let from = attempt.previous().last().map(|u| u.scheme().to_owned());
                if attempt.previous().len() > 5 {
                    attempt.error("more than 5 redirects")
                } else if from.as_deref().is_some_and(|f| f != attempt.url().scheme()) {
                    let message = format!(
                        "a redirect to {} refused: it changes the scheme",
                        attempt.url()
                    );
                    attempt.error(message)
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("tufwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::error::Error::Http(e.to_string()))?;
        Ok(Fetcher {
            client,
            options,
            record_prefix: None,
            record_limits: tough::Limits::default(),
            recording: Arc::default(),
            recording_on: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            inflight: Arc::default(),
            listed: Arc::default(),
        })
    }

    /// The same fetcher (the same HTTP client and its connections), recording, on its own, the
    /// bytes of every URL that starts with `prefix`, each read
    /// whole (at most what `limits` allow for its role) and once: every caller in the run, one
    /// after another or at the same time (tough and the strict engine), gets the same bytes or
    /// the same failure.
    #[must_use]
    pub fn recording_below(mut self, prefix: &Url, limits: tough::Limits) -> Self {
        self.record_prefix = Some(prefix.as_str().to_owned());
        self.record_limits = limits;
        self.recording = Arc::default();
        self.recording_on = Arc::new(std::sync::atomic::AtomicBool::new(true));
        self.inflight = Arc::default();
        self.listed = Arc::default();
        self
    }

    fn records(&self, url: &Url) -> bool {
        self.recording_on.load(std::sync::atomic::Ordering::SeqCst)
            && self
                .record_prefix
                .as_ref()
                .is_some_and(|p| url.as_str().starts_with(p.as_str()))
    }

    /// A recorded URL, fetched once for the run (see [`Fetcher::recording_below`]).
    async fn fetch_shared(&self, url: &Url) -> Shared {
        self.prefetch_timestamp(url);
        let cell = self
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(url.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let got = self.read_whole(url, self.record_cap(url)).await;
            let outcome = match &got {
                Ok(b) => Outcome::Bytes(Bytes::from(b.clone())),
                Err(e) if e.kind() == TransportErrorKind::FileNotFound => Outcome::NotFound,
                Err(e) if net_kind(e) == Some(NetErrorKind::TooLong) => {
                    Outcome::TooLong(describe_transport(e))
                }
                Err(e) => Outcome::Failed(describe_transport(e)),
            };
            if let Outcome::Bytes(b) = &outcome {
                self.learn_lengths(url, b);
            }
            self.recording().put(url.as_str(), outcome);
            got.map(Bytes::from).map_err(Arc::new)
        })
        .await
        .clone()
    }

    /// While the engines ask whether a newer root exists (5.3.3), download `timestamp.json`
    /// beside it, which they ask for next (5.4.1): one round trip fewer on a slow network.
    /// Only the download is early: each engine reads it once its root walk is over, and
    /// judges it by the final root, as the workflow orders.
    fn prefetch_timestamp(&self, url: &Url) {
        if crate::source::state::role_of_url(url).as_deref() != Some("root") {
            return;
        }
        let Ok(timestamp) = url.join("timestamp.json") else {
            return;
        };
        let started = self
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(timestamp.as_str());
        if started || !self.records(&timestamp) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let fetcher = self.clone();
            runtime.spawn(async move {
                let _ = fetcher.fetch_shared(&timestamp).await;
            });
        }
    }

    /// The most read of a recorded metadata file, as tough reads it (TUF 5.5.1, 5.6.1): the
    /// length the timestamp or snapshot lists for it, else the limit of its role. Each engine
    /// checks the bytes against what it verified.
    fn record_cap(&self, url: &Url) -> u64 {
        let l = &self.record_limits;
        let role = crate::source::state::role_of_url(url).unwrap_or_default();
        match role.as_str() {
            "root" => l.max_root_size,
            "timestamp" => l.max_timestamp_size,
            _ => {
                let listed = self
                    .listed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&format!("{role}.json"))
                    .copied();
                listed.unwrap_or(if role == "snapshot" {
                    l.max_snapshot_size
                } else {
                    l.max_targets_size
                })
            }
        }
    }

    /// Keep the lengths a recorded timestamp or snapshot lists, for [`Fetcher::record_cap`].
    /// Nothing is trusted from it: a file cut at a wrong length fails its own checks.
    fn learn_lengths(&self, url: &Url, bytes: &[u8]) {
        let role = crate::source::state::role_of_url(url);
        if !matches!(role.as_deref(), Some("timestamp" | "snapshot")) {
            return;
        }
        #[derive(serde::Deserialize)]
        struct Meta {
            length: Option<u64>,
        }
        #[derive(serde::Deserialize)]
        struct Signed {
            meta: HashMap<String, Meta>,
        }
        #[derive(serde::Deserialize)]
        struct Envelope {
            signed: Signed,
        }
        if let Ok(doc) = serde_json::from_slice::<Envelope>(bytes) {
            let mut listed = self
                .listed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (name, meta) in doc.signed.meta {
                if let Some(length) = meta.length {
                    listed.insert(name, length);
                }
            }
        }
    }

    /// `url` as a fetch of tough's would answer, from a shared download.
    async fn shared_stream(&self, url: &Url) -> Result<TransportStream, TransportError> {
        match self.fetch_shared(url).await {
            Ok(bytes) => Ok(Box::pin(futures::stream::once(async move { Ok(bytes) }))),
            Err(e) => Err(TransportError::new_with_cause(e.kind(), url, e)),
        }
    }

    /// A recorded URL's whole body, shared with every other caller in the run: `Ok(None)` when
    /// the server says there is no such file.
    pub async fn fetch_recorded(&self, url: &Url) -> Result<Option<Bytes>, Arc<TransportError>> {
        match self.fetch_shared(url).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == TransportErrorKind::FileNotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Record nothing more: called once the metadata is loaded, so that targets (which may share
    /// the metadata's URL prefix) are never held in memory.
    pub fn stop_recording(&self) {
        self.recording_on
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// What was recorded so far.
    pub fn recording(&self) -> std::sync::MutexGuard<'_, Recording> {
        // A poisoned lock only means a panic elsewhere; the map itself is still consistent.
        self.recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fetch a whole file of at most `max` bytes, outside tough (used for `root fetch`).
    pub async fn fetch_all(&self, url: &Url, max: u64) -> Result<Vec<u8>, TransportError> {
        if self.records(url) {
            return match self.fetch_shared(url).await {
                Ok(b) if b.len() as u64 <= max => Ok(b.to_vec()),
                Ok(_) => Err(TransportError::new_with_cause(
                    TransportErrorKind::Other,
                    url,
                    format!("more than {max} bytes"),
                )),
                Err(e) => Err(TransportError::new_with_cause(e.kind(), url, e)),
            };
        }
        self.read_whole(url, max).await
    }

    async fn read_whole(&self, url: &Url, max: u64) -> Result<Vec<u8>, TransportError> {
        let mut stream = self.open(url).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            out.extend_from_slice(&chunk);
            if out.len() as u64 > max {
                return Err(TransportError::new_with_cause(
                    TransportErrorKind::Other,
                    url,
                    NetError {
                        kind: NetErrorKind::TooLong,
                        detail: format!("more than {max} bytes, the most read of such a file"),
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Send a GET and return the response of a success status, retrying what is worth
    /// retrying (no connection, a timeout, 429 and 5xx answers) with exponential backoff, at
    /// most `tries` times.
    async fn send(&self, url: &Url) -> Result<reqwest::Response, TransportError> {
        let mut pause = self.options.backoff;
        let mut attempt = 1;
        loop {
            let result = self.client.get(url.clone()).send().await;
            let retry = match result {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return Ok(resp);
                    }
                    // As tough's own HTTP transport: 403 (S3's answer for a missing object),
                    // 404 and 410 mean the file does not exist.
                    if matches!(status.as_u16(), 403 | 404 | 410) {
                        return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
                    }
                    let detail = if status.is_redirection() {
                        // A redirect reqwest did not follow: to another scheme (see the policy).
                        let to = resp
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("nowhere");
                        format!("a redirect to {to}, not followed: a redirect may not change the scheme")
                    } else {
                        status.canonical_reason().unwrap_or("error").to_owned()
                    };
                    let err = NetError {
                        kind: NetErrorKind::Status(status.as_u16()),
                        detail,
                    };
                    if status.is_server_error() || status.as_u16() == 429 {
                        (err, true)
                    } else {
                        (err, false)
                    }
                }
                Err(e) => (
                    NetError {
                        kind: NetErrorKind::Unreachable,
                        detail: describe_reqwest(&e),
                    },
                    !e.is_builder() && !e.is_redirect(),
                ),
            };
            let (err, worth_retrying) = retry;
            if !worth_retrying || attempt >= self.options.tries {
                return Err(TransportError::new_with_cause(
                    TransportErrorKind::Other,
                    url,
                    err,
                ));
            }
            tracing::debug!(%url, attempt, "retrying after: {err}");
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }

    /// The body of a GET as a stream. A connection that breaks off mid-body is asked again, up to
    /// `tries` times in all, with backoff, and the bytes already passed on are skipped in the new
    /// answer (which must have the same length, when the server gives one). A body slower than
    /// `min_rate` bytes a second, once the read timeout has passed, is a slow-retrieval attack
    /// (TUF's threat model) or a network no better than one: it fails.
    async fn open_http(&self, url: &Url) -> Result<TransportStream, TransportError> {
        let first = self.send(url).await?;
        let body = HttpBody::new(self, url, first);
        let stream = futures::stream::unfold(body, |mut b| async move {
            if b.done {
                return None;
            }
            let item = b.next_chunk().await?;
            Some((item, b))
        });
        Ok(Box::pin(stream))
    }

    async fn open_file(url: &Url) -> Result<TransportStream, TransportError> {
        let path = url.to_file_path().map_err(|()| {
            TransportError::new_with_cause(
                TransportErrorKind::Other,
                url,
                NetError {
                    kind: NetErrorKind::Io,
                    detail: "not a local file path".to_owned(),
                },
            )
        })?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                TransportError::new(TransportErrorKind::FileNotFound, url)
            } else {
                io_error(url, &e)
            }
        })?;
        let url_text = url.to_string();
        let stream = tokio_util_stream(file).map_err(move |e| io_error(&url_text, &e));
        Ok(Box::pin(stream))
    }
}

/// The body of one HTTP answer as [`Fetcher::open_http`] streams it: asked again when it breaks
/// off, skipping what was passed on already, and failed when it comes too slowly.
struct HttpBody {
    fetcher: Fetcher,
    url: Url,
    length: Option<u64>,
    current: Option<Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>>,
    delivered: u64,
    skip: u64,
    attempt: u32,
    pause: std::time::Duration,
    started: std::time::Instant,
    done: bool,
}

impl HttpBody {
    /// The body of `first`, the answer to a GET of `url` through `fetcher`.
    fn new(fetcher: &Fetcher, url: &Url, first: reqwest::Response) -> Self {
        HttpBody {
            fetcher: fetcher.clone(),
            url: url.clone(),
            length: first.content_length(),
            current: Some(Box::pin(first.bytes_stream())),
            delivered: 0,
            skip: 0,
            attempt: 1,
            pause: fetcher.options.backoff,
            started: std::time::Instant::now(),
            done: false,
        }
    }

    /// The next chunk passed on, or the failure that ends the body; `None` at its end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        loop {
            let Some(current) = self.current.as_mut() else {
                if let Err(e) = self.ask_again().await {
                    self.done = true;
                    return Some(Err(e));
                }
                continue;
            };
            match current.next().await {
                None => return None,
                Some(Ok(chunk)) => {
                    let Some(chunk) = self.unseen(chunk) else {
                        continue;
                    };
                    self.delivered += chunk.len() as u64;
                    if let Some(e) = self.too_slow() {
                        self.done = true;
                        return Some(Err(e));
                    }
                    return Some(Ok(chunk));
                }
                Some(Err(e)) => {
                    if self.attempt >= self.fetcher.options.tries {
                        self.done = true;
                        let detail = describe_reqwest(&e);
                        let failed = net_error(&self.url, NetErrorKind::Unreachable, detail);
                        return Some(Err(failed));
                    }
                    tracing::debug!(url = %self.url, attempt = self.attempt, "the answer broke off; asking again");
                    self.attempt += 1;
                    tokio::time::sleep(self.pause).await;
                    self.pause *= 2;
                    self.current = None;
                }
            }
        }
    }

    /// Send the GET again after the answer broke off; the new answer must have the same length,
    /// when the server gives one, and what was passed on already is skipped in it.
    async fn ask_again(&mut self) -> Result<(), TransportError> {
        let resp = self.fetcher.send(&self.url).await?;
        if let (Some(was), Some(now)) = (self.length, resp.content_length()) {
            if was != now {
                let detail = format!("the answer broke off, and asked again the server sent {now} bytes instead of {was}");
                return Err(net_error(&self.url, NetErrorKind::Unreachable, detail));
            }
        }
        self.skip = self.delivered;
        self.current = Some(Box::pin(resp.bytes_stream()));
        Ok(())
    }

    /// What of `chunk` was not passed on before the answer broke off; `None` when nothing is.
    fn unseen(&mut self, mut chunk: Bytes) -> Option<Bytes> {
        if self.skip > 0 {
            let n = usize::try_from(self.skip)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            let _ = chunk.split_to(n);
            self.skip -= n as u64;
            if chunk.is_empty() {
                return None;
            }
        }
        Some(chunk)
    }

    /// The slow-retrieval failure, when the body came slower than `min_rate` once the read
    /// timeout has passed.
    fn too_slow(&self) -> Option<TransportError> {
        let elapsed = self.started.elapsed();
        let min_rate = self.fetcher.options.min_rate;
        if min_rate > 0
            && elapsed > self.fetcher.options.read_timeout
            && (self.delivered as f64) < min_rate as f64 * elapsed.as_secs_f64()
        {
            let detail = format!(
                "slow retrieval: {} bytes in {:.0} s, below the minimum of {min_rate} bytes a second (--min-rate)",
                self.delivered,
                elapsed.as_secs_f64()
            );
            return Some(net_error(&self.url, NetErrorKind::Slow, detail));
        }
        None
    }
}

/// A failed fetch of `url`, of this kind, as tough's transport error.
fn net_error(url: &Url, kind: NetErrorKind, detail: String) -> TransportError {
    TransportError::new_with_cause(TransportErrorKind::Other, url, NetError { kind, detail })
}

fn io_error(url: impl AsRef<str>, e: &std::io::Error) -> TransportError {
    TransportError::new_with_cause(
        TransportErrorKind::Other,
        url,
        NetError {
            kind: NetErrorKind::Io,
            detail: e.to_string(),
        },
    )
}

/// A file as a stream of chunks of up to 256 KiB.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + Sync {
    use tokio::io::AsyncReadExt;
    futures::stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 256 * 1024];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            Ok(None)
        } else {
            buf.truncate(n);
            Ok(Some((Bytes::from(buf), file)))
        }
    })
}

/// A failed request in a few words: what failed and the deepest cause, without the URL (the
/// finding carries it).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else if e.is_redirect() {
        "the redirect was refused"
    } else {
        "the request failed"
    };
    let mut deepest: &dyn std::error::Error = e;
    while let Some(s) = deepest.source() {
        deepest = s;
    }
    let cause = deepest.to_string();
    if std::ptr::addr_eq(deepest, e as &dyn std::error::Error) || cause.contains("for url (") {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}

/// Why a transport failed, in a few words, when the cause is one tufwatch knows.
pub fn describe_transport(e: &TransportError) -> String {
    if e.kind() == TransportErrorKind::FileNotFound {
        return "the repository has no such file (HTTP 403, 404 or 410, or no such local file)"
            .to_owned();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(net) = s.downcast_ref::<NetError>() {
            return net.to_string();
        }
        if let Some(t) = s.downcast_ref::<tough::error::Error>() {
            return t.to_string();
        }
        source = s.source();
    }
    error_chain(e)
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[tough::async_trait]
impl Transport for Fetcher {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        if self.records(&url) {
            return self.shared_stream(&url).await;
        }
        self.open(&url).await
    }
}

impl Fetcher {
    /// Open `url` by its scheme.
    async fn open(&self, url: &Url) -> Result<TransportStream, TransportError> {
        match url.scheme() {
            "http" | "https" => self.open_http(url).await,
            "file" => Self::open_file(url).await,
            _ => Err(TransportError::new(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
            )),
        }
    }
}
