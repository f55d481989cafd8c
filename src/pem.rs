//! PEM, the text armour of keys (RFC 7468): a labelled block of base64 DER.

use base64::Engine;

/// Why a text is not the PEM asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// No `-----BEGIN` line.
    #[error("not PEM (no -----BEGIN line)")]
    NotPem,
    /// A block of another kind.
    #[error("a PEM {found:?}; expected {expected}")]
    Label {
        /// The label found.
        found: String,
        /// The labels asked for.
        expected: String,
    },
    /// The block's base64 does not decode.
    #[error("bad base64 in the PEM: {0}")]
    Base64(String),
}

/// The label and DER of the first PEM block of `text` whose label is one of `labels`.
pub fn body(text: &str, labels: &[&str]) -> Result<(String, Vec<u8>), PemError> {
    let begin = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or(PemError::NotPem)?
        .to_owned();
    if !labels.contains(&begin.as_str()) {
        return Err(PemError::Label {
            found: begin,
            expected: labels.join(" or "),
        });
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| PemError::Base64(e.to_string()))?;
    Ok((begin, der))
}

/// The DER of a PEM public key (SubjectPublicKeyInfo).
pub fn public_key(text: &str) -> Result<Vec<u8>, PemError> {
    body(text, &["PUBLIC KEY"]).map(|(_, der)| der)
}

/// The PEM of a public key's DER.
pub fn public_key_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = "-----BEGIN PUBLIC KEY-----\n".to_owned();
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}
