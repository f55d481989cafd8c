//! What the commands that write evidence bundles share (`evidence create`, `report --evidence`):
//! the signer (a key file, or a KMS key), the verifier's name, and taking a bundle back when its
//! run could not finish.

use super::output;
use crate::error::{Error, Result, Setting};
use crate::evidence;
use std::path::Path;

fn read_pem(path: &std::path::Path, what: &'static str) -> Result<String> {
    let bytes = crate::source::read_limited(path, 64 << 10, what)?;
    String::from_utf8(crate::source::without_bom(&bytes).to_vec()).map_err(|_| Error::Invalid {
        what,
        path: path.display().to_string(),
        message: "not PEM text".to_owned(),
    })
}

/// Read the signing key given with `--sign-key`, if any.
fn signing_key(path: &Path) -> Result<evidence::dsse::SigningKey> {
    evidence::dsse::SigningKey::from_pem(&read_pem(path, "signing key")?).map_err(|message| {
        Error::Invalid {
            what: "signing key",
            path: path.display().to_string(),
            message: message.to_string(),
        }
    })
}

/// Who signs the statements: the key file (`--sign-key`), or the KMS key (`--sign-kms`, else
/// `[evidence] kms_key`), opened now, before anything is verified, so that a key that cannot
/// sign stops the run first. `live` says how to reach AWS.
pub(super) async fn signer(
    key_file: Option<&Path>,
    kms_key: Option<&str>,
    live: &crate::aws::client::LiveOptions,
) -> Result<Option<evidence::dsse::Signer>> {
    if let Some(path) = key_file {
        return signing_key(path).map(|k| Some(evidence::dsse::Signer::Key(k)));
    }
    let Some(key) = kms_key else {
        return Ok(None);
    };
    crate::aws::kms::KmsKey::open(key, live)
        .await
        .map(|k| Some(evidence::dsse::Signer::Kms(k)))
        .map_err(|e| Error::Setting {
            setting: Setting::KmsKey,
            message: e.to_string(),
        })
}

/// The statements' `verifier.id`: the one given (the flag, else the configuration's), which
/// must be a URI, else tufwatch's default.
pub(super) fn verifier_id(given: Option<&str>) -> Result<String> {
    match given {
        None => Ok(evidence::statement::DEFAULT_VERIFIER_ID.to_owned()),
        Some(id) if id.len() <= 2048 && crate::source::location::is_uri(id) => Ok(id.to_owned()),
        Some(id) => Err(Error::Setting {
            setting: Setting::VerifierId,
            message: format!(
                "{:?} is not a URI: give one that names this verifier's trust base, e.g. https://security.example.com/verifiers/tufwatch-nightly",
                crate::text::clean(id)
            ),
        }),
    }
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
