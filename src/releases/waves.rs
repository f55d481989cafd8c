//! Wave arithmetic: how much of the fleet may have a release at a given time.
//!
//! A host has a random seed in `0..2048`. A wave `bound -> start` lets the hosts whose seed is
//! above the previous wave's bound and at most `bound` update from `start`; within a wave, a host's
//! turn is spread evenly by seed between the wave's start and the next wave's start, and the last
//! wave's hosts all may update at its start (no velocity control).

use super::manifest::Wave;
use chrono::{DateTime, Utc};

/// How many seeds there are.
pub const SEEDS: u32 = 2048;

/// Where a release stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Rollout {
    /// No wave has started.
    NotStarted,
    /// Some waves have started: this share of the fleet (0 to 1) may have it.
    RollingOut {
        /// Share of the fleet.
        share: f64,
    },
    /// Every wave has started: every host should have it (the release is due).
    Complete,
}

/// The share of the fleet (0 to 1) whose turn for the release has come at `at`.
pub fn fleet_share(waves: &[Wave], at: DateTime<Utc>) -> f64 {
    let mut seeds = 0.0;
    let mut previous: Option<u32> = None;
    for (i, wave) in waves.iter().enumerate() {
        let first = previous.map_or(0, |p| p.saturating_add(1));
        let size = f64::from(
            wave.bound
                .min(SEEDS - 1)
                .saturating_add(1)
                .saturating_sub(first),
        );
        previous = Some(wave.bound);
        if at < wave.start {
            continue;
        }
        let fraction = match waves.get(i + 1) {
            Some(next) if next.start > wave.start => {
                let done = (at - wave.start).num_milliseconds() as f64;
                let span = (next.start - wave.start).num_milliseconds() as f64;
                (done / span).clamp(0.0, 1.0)
            }
            _ => 1.0,
        };
        seeds += size * fraction;
    }
    (seeds / f64::from(SEEDS)).clamp(0.0, 1.0)
}

/// Where a release with these waves stands at `at`.
pub fn rollout(waves: &[Wave], at: DateTime<Utc>) -> Rollout {
    if waves.is_empty() || waves.iter().all(|w| w.start <= at) {
        Rollout::Complete
    } else if waves.iter().all(|w| w.start > at) {
        Rollout::NotStarted
    } else {
        Rollout::RollingOut {
            share: fleet_share(waves, at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(h)
    }

    #[test]
    fn shares_grow_through_the_waves() {
        // Bottlerocket's default: 1% after 1 h, ... 100% after 6 days (144 h).
        let waves: Vec<Wave> = [
            (1, 20),
            (4, 102),
            (24, 307),
            (48, 819),
            (96, 1228),
            (120, 1843),
            (144, 2047),
        ]
        .into_iter()
        .map(|(h, bound)| Wave { bound, start: t(h) })
        .collect();
        assert_eq!(rollout(&waves, t(0)), Rollout::NotStarted);
        let early = fleet_share(&waves, t(1));
        assert!(early < 0.001, "{early}");
        let half = fleet_share(&waves, t(4));
        assert!((half - 21.0 / 2048.0).abs() < 1e-9, "{half}");
        match rollout(&waves, t(100)) {
            // Four days in, the 60% wave has just begun: 40% and a sixth of the next 20%.
            Rollout::RollingOut { share } => assert!(share > 0.4 && share < 0.5, "{share}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(rollout(&waves, t(144)), Rollout::Complete);
        assert!((fleet_share(&waves, t(200)) - 1.0).abs() < 1e-9);
    }
}
