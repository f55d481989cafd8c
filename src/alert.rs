//! Alerts, once the report is written: the changes and the verdict posted to a webhook (JSON,
//! with a Slack-compatible `text`), and the metrics pushed to a Prometheus Pushgateway, as the
//! Prometheus documentation recommends for batch jobs (grouping key: `job` and `instance`; a
//! PUT, which replaces the group's metrics of the last run).
//!
//! Each is tried a few times under a timeout per attempt; one that fails is reported, never
//! fatal: the run's verdict and exit code stay what the report says. A webhook's URL holds its
//! secret (Slack's do), so no message shows more of a URL than its scheme, host and port.

use std::time::Duration;
use url::Url;

/// The `job` of the Pushgateway's grouping key.
pub const PUSH_JOB: &str = "tufwatch";

/// Why an alert's setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AlertSettingError(String);

/// Where alerts go, and how hard to try.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// The webhook's URL.
    pub webhook: Option<Url>,
    /// The Pushgateway's base URL.
    pub pushgateway: Option<Url>,
    /// The `instance` of the grouping key.
    pub instance: String,
    /// The longest one attempt may take.
    pub timeout: Duration,
    /// Attempts per alert.
    pub attempts: u32,
    /// The wait before the second attempt, doubled before each next one.
    pub backoff: Duration,
}

/// An alert's URL, checked: HTTP or HTTPS, with a host.
pub fn alert_url(text: &str) -> Result<Url, AlertSettingError> {
    let url = Url::parse(text.trim()).map_err(|e| AlertSettingError(format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AlertSettingError(format!(
            "{} is not an http:// or https:// URL",
            shown(&url)
        )));
    }
    Ok(url)
}

/// A Pushgateway grouping key's `instance`: any text but an empty one.
pub fn instance_name(text: &str) -> Result<String, AlertSettingError> {
    let t = text.trim();
    if t.is_empty() || t.chars().any(char::is_control) {
        return Err(AlertSettingError(
            "instance is empty or holds control characters".to_owned(),
        ));
    }
    Ok(t.to_owned())
}

/// A URL as messages show it: its scheme, host and port, never its path, query or
/// credentials (a webhook's secret is in its path).
pub fn shown(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}/…", url.scheme()),
        (Some(h), None) => format!("{}://{h}/…", url.scheme()),
        _ => format!("{}:…", url.scheme()),
    }
}

/// What an alert came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `webhook` or `pushgateway`.
    pub what: &'static str,
    /// Where, as messages show it.
    pub to: String,
    /// Attempts made.
    pub attempts: u32,
    /// The HTTP status it ended with, or why no answer came.
    pub outcome: Result<u16, String>,
}

impl Delivery {
    /// Whether it was delivered.
    pub fn delivered(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Send the alerts the settings ask: `message` (JSON) to the webhook, `metrics` (the
/// exposition format) to the Pushgateway.
pub async fn deliver(settings: &AlertSettings, message: &[u8], metrics: &str) -> Vec<Delivery> {
    let client = match reqwest::Client::builder()
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tufwatch/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![Delivery {
                what: "alerts",
                to: "-".to_owned(),
                attempts: 0,
                outcome: Err(format!("no HTTP client: {e}")),
            }]
        }
    };
    let mut out = Vec::new();
    if let Some(url) = &settings.pushgateway {
        let request = || {
            client
                .put(push_url(url, &settings.instance))
                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                .body(metrics.to_owned())
        };
        out.push(attempt("pushgateway", url, settings, request).await);
    }
    if let Some(url) = &settings.webhook {
        let request = || {
            client
                .post(url.clone())
                .header("content-type", "application/json")
                .body(message.to_owned())
        };
        out.push(attempt("webhook", url, settings, request).await);
    }
    out
}

/// The URL of the job's group on a Pushgateway: `<base>/metrics/job/tufwatch/instance/<i>`, the
/// instance in base64 (`instance@base64/…`) when it holds more than letters, digits, `.`, `_`
/// and `-`, as the Pushgateway's documentation says.
pub fn push_url(base: &Url, instance: &str) -> Url {
    use base64::Engine;
    // `.` and `..` are path segments a URL resolves away.
    let plain = !matches!(instance, "" | "." | "..")
        && instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["metrics", "job", PUSH_JOB]);
        if plain {
            path.extend(["instance", instance]);
        } else {
            let encoded = base64::engine::general_purpose::URL_SAFE.encode(instance);
            path.extend(["instance@base64", &encoded]);
        }
    }
    url
}

/// Send a request until it is answered with success, at most `attempts` times: a refused
/// connection, a timeout, 408, 429 and any 5xx are tried again after the backoff; any other
/// answer is final.
async fn attempt(
    what: &'static str,
    url: &Url,
    settings: &AlertSettings,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Delivery {
    let attempts = settings.attempts.max(1);
    let mut wait = settings.backoff;
    let mut outcome = Err("not tried".to_owned());
    let mut made = 0;
    while made < attempts {
        if made > 0 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        made += 1;
        let (again, result) = match request().send().await {
            Ok(r) if r.status().is_success() => (false, Ok(r.status().as_u16())),
            Ok(r) => {
                let s = r.status();
                let again = s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429;
                (again, Err(format!("answered HTTP {s}")))
            }
            Err(e) if e.is_timeout() => (
                true,
                Err(format!(
                    "no answer within {}s",
                    settings.timeout.as_secs_f64()
                )),
            ),
            Err(e) => (
                true,
                Err(crate::source::transport::error_chain(&e.without_url())),
            ),
        };
        outcome = result;
        if !again {
            break;
        }
    }
    Delivery {
        what,
        to: shown(url),
        attempts: made,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls_and_shown_urls() {
        let base = Url::parse("http://gw:9091").unwrap();
        assert_eq!(
            push_url(&base, "nightly").as_str(),
            "http://gw:9091/metrics/job/tufwatch/instance/nightly"
        );
        let prefixed = Url::parse("https://proxy/pushgateway/").unwrap();
        assert_eq!(
            push_url(&prefixed, "a/b c").as_str(),
            "https://proxy/pushgateway/metrics/job/tufwatch/instance@base64/YS9iIGM="
        );
        let hook = Url::parse("https://user:pw@hooks.example/services/T0/B0/SECRET?x=1").unwrap();
        assert_eq!(shown(&hook), "https://hooks.example/…");
        assert!(push_url(&base, "..")
            .as_str()
            .ends_with("/instance@base64/Li4="));
        assert!(!alert_url("ftp://x/SECRET")
            .unwrap_err()
            .0
            .contains("SECRET"));
        assert!(alert_url("https://hooks.example/services/SECRET").is_ok());
        let e = alert_url("not a url SECRET").unwrap_err().0;
        assert!(!e.contains("SECRET"), "{e}");
    }
}
