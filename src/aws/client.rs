//! What every AWS client of tufwatch shares: the standard credential chain and profile, one
//! endpoint for tests, retries with backoff for throttling and server errors, a timeout per
//! attempt, a count of the HTTP attempts made, a cap on each response body, and errors that say
//! which operation failed and why.

use aws_sdk_ssm::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to reach AWS.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The AWS profile (`--profile`, else `AWS_PROFILE`, else the default).
    pub profile: Option<String>,
    /// Another endpoint for every service (`--endpoint-url`; `AWS_ENDPOINT_URL_SSM` and the
    /// other `AWS_ENDPOINT_URL_*` variables are honoured without it).
    pub endpoint_url: Option<String>,
    /// How many calls may run at once.
    pub concurrency: usize,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The first retry's backoff; it doubles (with jitter) up to 20 s.
    pub initial_backoff: Duration,
    /// The longest one attempt may take.
    pub attempt_timeout: Duration,
    /// The longest the whole read may take, retries and pages included (the run's
    /// deadline): a region not read by then is a region that could not be read.
    pub deadline: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            profile: None,
            endpoint_url: None,
            concurrency: 8,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(3600),
        }
    }
}

impl LiveOptions {
    /// The retries: the SDK's standard strategy (throttling and server errors), with these
    /// attempts and backoff.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(Duration::from_secs(20))
    }

    /// The timeouts of one attempt.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_attempt_timeout(self.attempt_timeout)
            .connect_timeout(self.attempt_timeout)
            .build()
    }
}

/// The shared AWS configuration: credentials chain, profile, default region, endpoint, by
/// `deadline` (the run's, which every call after shares): the default region may come from the
/// instance metadata service, a network read. The credentials are resolved by the first call.
pub async fn load_config(
    options: &LiveOptions,
    deadline: tokio::time::Instant,
) -> Result<aws_config::SdkConfig, CallError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &options.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    tokio::time::timeout_at(deadline, loader.load())
        .await
        .map_err(|_| CallError::PastDeadline(options.deadline))
}

/// A deadline `options.deadline` from now: the run's, for the live reads that start now.
pub fn deadline_from_now(options: &LiveOptions) -> tokio::time::Instant {
    tokio::time::Instant::now() + options.deadline
}

/// Counts the HTTP attempts a client makes, retries included.
#[derive(Debug)]
pub struct CountAttempts(pub Arc<AtomicU64>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "tufwatch::CountAttempts"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl CountAttempts {
    /// A new count, and the handle that reads it.
    pub fn new() -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (CountAttempts(count.clone()), count)
    }
}

/// Caps each response body the SDK reads (it reads a body whole before parsing it): an endless
/// body stops at the cap instead of filling memory.
#[derive(Debug)]
pub struct CapResponse(pub usize);

impl Intercept for CapResponse {
    fn name(&self) -> &'static str {
        "tufwatch::CapResponse"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let max = self.0;
        let response = context.response_mut();
        let body = response.take_body().map(move |body| {
            aws_smithy_types::body::SdkBody::from_body_1_x(http_body_util::Limited::new(body, max))
        });
        *response.body_mut() = body;
        Ok(())
    }
}

/// Why an AWS call failed; the region's or the account's result in the report says it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Not within the run's deadline.
    #[error("not read within the run's deadline of {} s", .0.as_secs())]
    PastDeadline(std::time::Duration),
    /// An endpoint that never ends its paging.
    #[error("{0}: more than {MAX_PAGES} pages; stopped")]
    TooManyPages(String),
    /// The service refused the call (after every retry for throttling).
    #[error("{operation}: {code}: {message}{}", if is_throttling(.code) { " (still throttled after every retry; try again later, or read fewer regions at once)" } else { "" })]
    Service {
        /// The operation and its argument.
        operation: String,
        /// The service's error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The call did not reach the service, or its answer could not be read.
    #[error("{operation}: {why}")]
    Transport {
        /// The operation and its argument.
        operation: String,
        /// What happened.
        why: String,
    },
}

/// Most pages read for one listing: far beyond any real answer, and a stop for an endpoint
/// that never ends its paging.
pub const MAX_PAGES: u64 = 10_000;

/// Every page of a listing, in order: `page(token)` asks one page and gives its items and the
/// next token (none, or empty, after the last). `pages` counts the pages asked, across the
/// listings it is shared by; past [`MAX_PAGES`] the listing stops with an error naming
/// `operation` (an endpoint that never ends its paging).
pub async fn every_page<T, F, Fut>(
    operation: &str,
    pages: &mut u64,
    mut page: F,
) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), CallError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        if *pages >= MAX_PAGES {
            return Err(CallError::TooManyPages(operation.to_owned()));
        }
        *pages += 1;
        let (items, next) = page(token.take()).await?;
        out.extend(items);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
}

/// Whether a service's error code says it throttled the call (SSM's JSON services and EC2's
/// query API name it differently).
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException" | "RequestLimitExceeded" | "Throttling" | "TooManyRequestsException"
    )
}

/// The error of an SDK call, as the report says it.
pub fn describe<E, R>(operation: &str, e: &SdkError<E, R>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => CallError::Service {
            operation: operation.to_owned(),
            code: se.err().code().unwrap_or("error").to_owned(),
            message: se.err().message().unwrap_or("").to_owned(),
        },
        other => CallError::Transport {
            operation: operation.to_owned(),
            why: DisplayErrorContext(other).to_string(),
        },
    }
}

/// An SDK time as chrono's.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()
}
