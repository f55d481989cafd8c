//! Expiry, judged by tufwatch at a reference time of the user's choosing.
//!
//! tough only knows the system clock, so tufwatch loads with tough's expiry enforcement off and
//! applies the TUF rules itself: the final root (5.3.10), timestamp (5.4.4), snapshot (5.5.6),
//! targets (5.6.5) and every delegated role must not be expired at the reference time
//! ("the fixed update start time", 5.1, or `--at`). Intermediate roots of a rotation may be
//! expired (5.3.6).

use crate::report::{Code, Finding, RoleVerdict};
use chrono::{DateTime, Duration, Utc};

/// How a role stands against the reference time and the warning window.
pub fn judge(
    role: &str,
    expires: DateTime<Utc>,
    at: DateTime<Utc>,
    warning: Duration,
    url: &str,
) -> (RoleVerdict, Option<Finding>) {
    if expires <= at {
        let f = Finding::error(
            Code::Expired,
            format!(
                "{role} metadata expired at {} ({} before the reference time {}): a repository \
                 that serves expired metadata may be hiding newer releases (freeze attack)",
                expires.to_rfc3339(),
                human_duration(at - expires),
                at.to_rfc3339()
            ),
        )
        .role(role)
        .url(url);
        (RoleVerdict::Fail, Some(f))
    } else if expires - at <= warning {
        let f = Finding::warning(
            Code::ExpiringSoon,
            format!(
                "{role} metadata expires at {}, in {}: within the {} warning window",
                expires.to_rfc3339(),
                human_duration(expires - at),
                human_duration(warning)
            ),
        )
        .role(role)
        .url(url);
        (RoleVerdict::Warning, Some(f))
    } else {
        (RoleVerdict::Ok, None)
    }
}

/// A duration as a person says it: `3 days`, `5 hours`, `12 minutes`, `40 seconds`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds().unsigned_abs();
    let (n, unit) = if secs >= 2 * 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 2 * 3600 {
        (secs / 3600, "hour")
    } else if secs >= 2 * 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Convert tough's timestamps.
pub fn from_jiff(t: jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().unsigned_abs())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn expiry_boundaries() {
        let at = t("2026-01-10T00:00:00Z");
        let w = Duration::days(3);
        assert_eq!(
            judge("timestamp", t("2026-01-10T00:00:00Z"), at, w, "u").0,
            RoleVerdict::Fail
        );
        assert_eq!(
            judge("timestamp", t("2026-01-09T00:00:00Z"), at, w, "u").0,
            RoleVerdict::Fail
        );
        assert_eq!(
            judge("timestamp", t("2026-01-12T00:00:00Z"), at, w, "u").0,
            RoleVerdict::Warning
        );
        assert_eq!(
            judge("timestamp", t("2026-01-13T00:00:01Z"), at, w, "u").0,
            RoleVerdict::Ok
        );
        let (_, f) = judge("snapshot", t("2026-01-09T00:00:00Z"), at, w, "u");
        assert_eq!(f.unwrap().code, Code::Expired);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::days(3)), "3 days");
        assert_eq!(human_duration(Duration::hours(25)), "25 hours");
        assert_eq!(human_duration(Duration::seconds(-61)), "61 seconds");
        assert_eq!(human_duration(Duration::minutes(1)), "60 seconds");
    }

    #[test]
    fn jiff_converts() {
        let j: jiff::Timestamp = "2021-09-22T00:00:00Z".parse().unwrap();
        assert_eq!(from_jiff(j), t("2021-09-22T00:00:00Z"));
    }
}
