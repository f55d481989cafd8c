//! What the commands that write evidence bundles share (`evidence create`, `report --evidence`):
//! the signing key, and taking a bundle back when its run could not finish.

use super::output;
use crate::error::{Error, Result};
use crate::evidence;
use std::path::Path;

pub(super) fn read_pem(path: &std::path::Path, what: &'static str) -> Result<String> {
    let bytes = crate::source::read_limited(path, 64 << 10, what)?;
    String::from_utf8(crate::source::without_bom(&bytes).to_vec()).map_err(|_| Error::Invalid {
        what,
        path: path.display().to_string(),
        message: "not PEM text".to_owned(),
    })
}

/// Read the signing key given with `--sign-key`, if any.
pub(super) fn signing_key(path: Option<&Path>) -> Result<Option<evidence::dsse::SigningKey>> {
    let Some(path) = path else {
        return Ok(None);
    };
    evidence::dsse::SigningKey::from_pem(&read_pem(path, "signing key")?)
        .map(Some)
        .map_err(|message| Error::Invalid {
            what: "signing key",
            path: path.display().to_string(),
            message: message.to_string(),
        })
}

/// Remove the bundle just written in `dir` (new or empty before the run) when the run then
/// could not finish (its report or summary could not be written): a run that could not run
/// leaves no evidence. Gives back the error that stopped it.
pub(super) fn withdraw(dir: &Path, stopped: Error) -> Error {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => output::note(format_args!(
            "tufwatch: removed the bundle {}: the run could not finish",
            dir.display()
        )),
        Err(e) => output::note(format_args!(
            "tufwatch: the bundle {} could not be removed ({e}): the run could not finish, so do not use it",
            dir.display()
        )),
    }
    stopped
}
