//! The SHA-2 digests over bytes and streams, with the crypto library tough already uses.

use aws_lc_rs::digest::{Context, SHA256, SHA512};

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&SHA256, bytes).as_ref());
    out
}

/// SHA-512 of `bytes`, as lower-case hex.
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&SHA512, bytes))
}

/// The digest algorithm of a TUF hash name (`sha224`, `sha256`, `sha384`, `sha512`).
pub fn algorithm(name: &str) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    use aws_lc_rs::digest::{SHA224, SHA384};
    match name {
        "sha224" => Some(&SHA224),
        "sha256" => Some(&SHA256),
        "sha384" => Some(&SHA384),
        "sha512" => Some(&SHA512),
        _ => None,
    }
}

/// Several digests computed in one pass over a stream of chunks, with its length: exactly the
/// algorithms asked for, so a target listed with a SHA-256 alone costs one SHA-256.
#[derive(Clone)]
pub struct MultiHasher {
    contexts: Vec<(String, Context)>,
    length: u64,
}

impl MultiHasher {
    /// A hasher for `names`; names of unknown algorithms are returned apart, for the caller to
    /// judge.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> (Self, Vec<String>) {
        let mut contexts = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            match algorithm(name) {
                Some(a) => contexts.push((name.to_owned(), Context::new(a))),
                None => unknown.push(name.to_owned()),
            }
        }
        (
            MultiHasher {
                contexts,
                length: 0,
            },
            unknown,
        )
    }

    /// Add a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        for (_, c) in &mut self.contexts {
            c.update(chunk);
        }
        self.length += chunk.len() as u64;
    }

    /// Bytes seen so far.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// Whether it computes no hash at all.
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// Each digest as lower-case hex by algorithm name, and the length.
    pub fn finish(self) -> (std::collections::BTreeMap<String, String>, u64) {
        let digests = self
            .contexts
            .into_iter()
            .map(|(name, c)| (name, hex::encode(c.finish())))
            .collect();
        (digests, self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(
            sha256_hex(b"hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let (mut h, unknown) = MultiHasher::new(["sha256", "sha512", "sha384", "md5"]);
        assert_eq!(unknown, ["md5"]);
        h.update(b"he");
        h.update(b"llo");
        let (digests, len) = h.finish();
        assert_eq!(digests["sha256"], sha256_hex(b"hello"));
        assert_eq!(digests["sha512"], sha512_hex(b"hello"));
        assert!(digests["sha384"].starts_with("59e1748777448c69de6b800d7a33bbfb"));
        assert_eq!(digests.len(), 3);
        assert_eq!(len, 5);
    }
}
