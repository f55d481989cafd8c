//! The job's history: the record of the last run that completed, kept in the state directory
//! (`<state>/jobs/<key>/last-run.json`, one directory per configuration file), read before the
//! report is written and replaced after it was.
//!
//! A run that could not read a part of the job (a region, a cluster: a finding that means the
//! run is incomplete) leaves the record alone, and so does a run judged at another time
//! (`--at`, which the caller does not stage): the next run's changes are since the last complete
//! run of the present. A record that cannot be parsed (damaged, too large, or from another
//! version) is said in the changes and replaced; one that cannot be read at all (permissions, a
//! directory in its place) is a fault of this machine, and the run stops.

use super::changes::{Changes, RunRecord, RECORD_FORMAT};
use super::JobReport;
use crate::error::{Error, Result};
use crate::waiver::{WaiverStatus, STALE_AFTER_DAYS};
use std::path::{Path, PathBuf};

/// Largest record read (100,000 nodes take 12.6 MB).
const MAX_RECORD: u64 = 256 << 20;

/// The record's file name in the job's directory.
const RECORD: &str = "last-run.json";

/// The job's history: its directory, and the last record.
#[derive(Debug)]
pub struct History {
    dir: PathBuf,
    previous: Option<RunRecord>,
    unreadable: Option<String>,
    next: Option<RunRecord>,
}

/// The directory of the history of the job a configuration file describes, under the state
/// root: keyed by the file's absolute path, so that jobs sharing a state directory keep
/// separate histories.
pub fn dir_for(state_root: &Path, config: &Path) -> PathBuf {
    let absolute = crate::source::absolute(config);
    let digest = crate::digest::sha256_hex(absolute.as_os_str().as_encoded_bytes());
    state_root.join("jobs").join(&digest[..16])
}

impl History {
    /// Open the history in `dir`: its last record, when there is one.
    pub fn open(dir: &Path) -> Result<History> {
        let path = dir.join(RECORD);
        let mut h = History {
            dir: dir.to_owned(),
            previous: None,
            unreadable: None,
            next: None,
        };
        match path.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(h),
            Err(source) => return Err(read_error(&path, source)),
            Ok(m) if !m.is_file() => {
                return Err(Error::Invalid {
                    what: "job history",
                    path: path.display().to_string(),
                    message: format!(
                        "is {}, not the regular file the job keeps its last run in",
                        crate::atomic::kind_of(&m.file_type())
                    ),
                })
            }
            Ok(_) => {}
        }
        let bytes = match crate::source::read_limited(&path, MAX_RECORD, "job history") {
            Ok(b) => b,
            // Larger than any record the job writes: damaged, like one that does not parse.
            Err(e @ Error::Invalid { .. }) => {
                h.unreadable = Some(e.to_string());
                return Ok(h);
            }
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<RunRecord>(&bytes) {
            Ok(r) if r.record_format == RECORD_FORMAT => h.previous = Some(r),
            Ok(r) => {
                h.unreadable = Some(format!(
                    "{} is of record format {}, not {RECORD_FORMAT}",
                    path.display(),
                    r.record_format
                ))
            }
            // serde_json's words quote what it could not read: a line at most.
            Err(e) => {
                let said: String = e.to_string().chars().take(200).collect();
                h.unreadable = Some(format!("{}: {said}", path.display()));
            }
        }
        Ok(h)
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// When a run of this job last passed (Unix time), by this run's record once compared:
    /// what the metrics carry when the run does not pass.
    pub fn last_success(&self) -> Option<f64> {
        let at = self.next.as_ref()?.last_success?;
        Some(at.timestamp() as f64)
    }

    /// Compare the run with the last: which waivers are stale (each a warning), and what
    /// changed. The verdict is judged again.
    pub fn compare(&mut self, report: &mut JobReport) {
        self.stale_waivers(report);
        report.judge();
        let next = RunRecord::of(report, self.previous.as_ref());
        let mut changes = Changes::between(self.previous.as_ref(), &next);
        changes.record_unreadable = self.unreadable.clone();
        report.changes = Some(changes);
        self.next = Some(next);
    }

    /// Mark each waiver in force that has matched nothing for [`STALE_AFTER_DAYS`] days (since
    /// it last matched, or since the job first saw it) stale, with its warning; and give every
    /// waiver the last time it matched.
    fn stale_waivers(&self, report: &mut JobReport) {
        let at = report.reference_time;
        let mut stale = Vec::new();
        for w in &mut report.waivers {
            let before = self
                .previous
                .as_ref()
                .and_then(|p| p.waivers.get(&w.waiver));
            // A time after this run's (a clock that was wrong, a damaged record) counts as now.
            w.last_matched = if w.matched > 0 {
                Some(at)
            } else {
                before.and_then(|b| b.last_matched).map(|t| t.min(at))
            };
            let quiet_since = before.map(|b| b.last_matched.unwrap_or(b.first_seen).min(at));
            let quiet_for = quiet_since.map(|t| at - t);
            if w.status == WaiverStatus::Active
                && w.matched == 0
                && quiet_for.is_some_and(|d| d >= chrono::Duration::days(STALE_AFTER_DAYS))
            {
                w.status = WaiverStatus::Stale;
                stale.extend(w.finding());
            }
        }
        report.findings.extend(stale);
    }

    /// Stage this run's record for the next run: written whole and synced beside the last
    /// one, which [`StagedRecord::commit`] replaces (a complete new record or the old one). A
    /// run that could not complete keeps nothing.
    pub fn stage(&self, report: &JobReport) -> Result<Option<StagedRecord>> {
        let Some(next) = &self.next else {
            return Ok(None);
        };
        // A run that could not read a part (a region, a cluster) would make the next run's
        // changes of what it did not see.
        let incomplete = report
            .all_findings()
            .iter()
            .any(|f| f.counts() && f.code.means_incomplete());
        if incomplete {
            return Ok(None);
        }
        let path = self.dir.join(RECORD);
        let write_error = |source| Error::Write {
            what: "job history",
            path: path.clone(),
            source,
        };
        make_private_dir(&self.dir).map_err(|source| Error::Write {
            what: "job history",
            path: self.dir.clone(),
            source,
        })?;
        let bytes = serde_json::to_vec(next).map_err(|e| Error::Invalid {
            what: "job history",
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let staged = crate::atomic::stage(&path, &bytes, Some(0o600)).map_err(write_error)?;
        Ok(Some(StagedRecord { staged, path }))
    }
}

/// A run's record, written and synced, not yet in place.
pub struct StagedRecord {
    staged: crate::atomic::Staged,
    path: PathBuf,
}

impl StagedRecord {
    /// Put it in place of the last record.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.staged.commit().map_err(|source| Error::Write {
            what: "job history",
            path,
            source,
        })
    }
}

/// Make `dir` (and its parents), readable by its owner only where it is new.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn read_error(path: &Path, source: std::io::Error) -> Error {
    Error::Read {
        what: "job history",
        path: path.to_owned(),
        source,
    }
}
