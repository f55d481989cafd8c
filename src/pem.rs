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
    /// Neither PEM, nor DER, nor base64 of DER, nor KMS's `GetPublicKey` answer.
    #[error("not a public key: give a PEM \"PUBLIC KEY\", its DER, or what AWS KMS GetPublicKey gives (its JSON answer, or its PublicKey field in base64)")]
    NotPublicKey,
}

/// `GetPublicKey`'s answer, as `aws kms get-public-key` prints it: only the key is read.
#[derive(serde::Deserialize)]
struct GetPublicKeyAnswer {
    #[serde(rename = "PublicKey")]
    public_key: String,
}

/// The SubjectPublicKeyInfo DER of a public key given in any of the forms an auditor has at
/// hand: a PEM `PUBLIC KEY`; the DER itself; the DER in base64 (`aws kms get-public-key --query
/// PublicKey --output text`); or KMS's JSON answer (`aws kms get-public-key`). Only the form is
/// checked here; the signature check is what says whether it is a key.
pub fn any_public_key(bytes: &[u8]) -> Result<Vec<u8>, PemError> {
    // A DER SubjectPublicKeyInfo is a SEQUENCE: its first byte is 0x30, never text's.
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PemError::NotPublicKey)?;
    if text.contains("-----BEGIN") {
        return public_key(text);
    }
    let b64 = match serde_json::from_str::<GetPublicKeyAnswer>(text) {
        Ok(answer) => answer.public_key,
        Err(_) => text.split_whitespace().collect(),
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .filter(|der| der.first() == Some(&0x30))
        .ok_or(PemError::NotPublicKey)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_in_every_form_an_auditor_has() {
        let der = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let json = format!("{{\"KeyId\": \"arn:aws:kms:us-east-1:1:key/x\", \"PublicKey\": \"{b64}\", \"KeySpec\": \"ECC_NIST_P256\"}}");
        for given in [
            der.clone(),
            public_key_pem(&der).into_bytes(),
            format!("{b64}\n").into_bytes(),
            json.into_bytes(),
        ] {
            assert_eq!(any_public_key(&given), Ok(der.clone()));
        }
        for bad in [&b""[..], b"hello", b"{\"PublicKey\": 3}", b"aGVsbG8="] {
            assert_eq!(any_public_key(bad), Err(PemError::NotPublicKey), "{bad:?}");
        }
        assert!(matches!(
            any_public_key(b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"),
            Err(PemError::Label { .. })
        ));
    }
}
