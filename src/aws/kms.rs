//! Signing with an asymmetric AWS KMS key (`--sign-kms`, `[evidence] kms_key`): the private key
//! never leaves KMS. The key is opened once, before anything is verified: its public key
//! (`GetPublicKey`, X.509 SubjectPublicKeyInfo DER) names the signer, and its spec and usage
//! choose the algorithm. Each signature is a `Sign` of a SHA-256 digest computed here
//! (`MessageType=DIGEST`), since a message KMS signs whole is at most 4096 bytes.
//!
//! | key spec | signing algorithm | signature |
//! |---|---|---|
//! | `ECC_NIST_P256` | `ECDSA_SHA_256` | ECDSA, ASN.1 DER |
//! | `RSA_2048`, `RSA_3072`, `RSA_4096` | `RSASSA_PSS_SHA_256` | RSASSA-PSS, MGF1 SHA-256, salt of 32 bytes |
//!
//! The client is SSM's: the standard credential chain and profile, the endpoint for tests, the
//! retries and the timeout of each attempt; the region is the key ARN's when it names one.

use super::client::{describe, load_config, CallError, CapResponse, LiveOptions};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};

/// The most a KMS answer may hold: a public key and a signature are a few hundred bytes.
const MAX_RESPONSE: usize = 64 << 10;

/// An asymmetric KMS key that signs.
#[derive(Debug)]
pub struct KmsKey {
    client: aws_sdk_kms::Client,
    /// The key as given: an ARN, a key id, an alias.
    key_id: String,
    algorithm: SigningAlgorithmSpec,
    public_der: Vec<u8>,
    deadline: std::time::Duration,
}

/// Why a KMS key cannot sign.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// The call failed: credentials, permissions, the key unknown, KMS out of reach.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A key of another kind.
    #[error("{key}: {why}; tufwatch signs with an ECC_NIST_P256 key (ECDSA_SHA_256) or an RSA key (RSASSA_PSS_SHA_256) whose usage is SIGN_VERIFY")]
    Unsupported {
        /// The key as given.
        key: String,
        /// What it is.
        why: String,
    },
}

impl KmsKey {
    /// Open `key_id`: its public key, spec and usage, by `options.deadline`.
    pub async fn open(key_id: &str, options: &LiveOptions) -> Result<Self, KmsError> {
        let deadline = super::client::deadline_from_now(options);
        let config = load_config(options, deadline).await?;
        let mut conf = aws_sdk_kms::config::Builder::from(&config)
            .retry_config(options.retry_config())
            .timeout_config(options.timeout_config())
            .interceptor(CapResponse(MAX_RESPONSE));
        if let Some(region) = arn_region(key_id) {
            conf = conf.region(aws_sdk_kms::config::Region::new(region.to_owned()));
        }
        let client = aws_sdk_kms::Client::from_conf(conf.build());
        let operation = format!("GetPublicKey {key_id}");
        let out = tokio::time::timeout_at(deadline, client.get_public_key().key_id(key_id).send())
            .await
            .map_err(|_| CallError::PastDeadline(options.deadline))?
            .map_err(|e| describe(&operation, &e))?;
        let unsupported = |why: String| KmsError::Unsupported {
            key: key_id.to_owned(),
            why,
        };
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(unsupported(format!(
                "its usage is {}",
                out.key_usage().map_or("unknown", KeyUsageType::as_str)
            )));
        }
        // `KeySpec`, else the deprecated `CustomerMasterKeySpec` it replaced (AWS gives both;
        // endpoints that stand in for KMS in tests, moto's among them, the old one only).
        #[allow(deprecated)]
        let spec = out.key_spec().map(|s| s.as_str().to_owned()).or_else(|| {
            out.customer_master_key_spec()
                .map(|s| s.as_str().to_owned())
        });
        let algorithm = match spec.as_deref().map(KeySpec::from) {
            Some(KeySpec::EccNistP256) => SigningAlgorithmSpec::EcdsaSha256,
            Some(KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096) => {
                SigningAlgorithmSpec::RsassaPssSha256
            }
            _ => {
                return Err(unsupported(format!(
                    "its key spec is {}",
                    spec.as_deref().unwrap_or("not given")
                )))
            }
        };
        if !out.signing_algorithms().contains(&algorithm) {
            return Err(unsupported(format!(
                "it does not sign with {}",
                algorithm.as_str()
            )));
        }
        let public_der = out
            .public_key()
            .map(|b| b.as_ref().to_vec())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| unsupported("GetPublicKey gave no public key".to_owned()))?;
        Ok(KmsKey {
            client,
            key_id: key_id.to_owned(),
            algorithm,
            public_der,
            deadline: options.deadline,
        })
    }

    /// The key as given.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key: X.509 SubjectPublicKeyInfo DER, as `GetPublicKey` gives it.
    pub fn public_der(&self) -> &[u8] {
        &self.public_der
    }

    /// Sign `message`: KMS signs its SHA-256 (`MessageType=DIGEST`), which is what the
    /// algorithm signs of the message itself, within the run's deadline.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        let digest = crate::digest::sha256(message);
        let operation = format!("Sign {}", self.key_id);
        let out = tokio::time::timeout(
            self.deadline,
            self.client
                .sign()
                .key_id(&self.key_id)
                .message(Blob::new(digest.to_vec()))
                .message_type(MessageType::Digest)
                .signing_algorithm(self.algorithm.clone())
                .send(),
        )
        .await
        .map_err(|_| CallError::PastDeadline(self.deadline))?
        .map_err(|e| describe(&operation, &e))?;
        out.signature()
            .map(|b| b.as_ref().to_vec())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| KmsError::Unsupported {
                key: self.key_id.clone(),
                why: "Sign gave no signature".to_owned(),
            })
    }
}

/// The region a key ARN names (`arn:aws:kms:REGION:ACCOUNT:key/ID`, or an alias ARN); none for
/// a bare key id or alias, which the configuration's region resolves.
pub fn arn_region(key_id: &str) -> Option<&str> {
    let mut parts = key_id.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("kms"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (!region.is_empty()).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_is_the_arns() {
        assert_eq!(
            arn_region("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab"),
            Some("eu-west-1")
        );
        assert_eq!(
            arn_region("arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/evidence"),
            Some("us-gov-west-1")
        );
        assert_eq!(arn_region("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
        assert_eq!(arn_region("alias/evidence"), None);
        assert_eq!(arn_region("arn:aws:s3:::bucket"), None);
    }
}
