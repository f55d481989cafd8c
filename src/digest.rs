//! SHA-256 and SHA-512 over bytes and streams, with the crypto library tough already uses.

use aws_lc_rs::digest::{Context, SHA256, SHA512};

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&SHA256, bytes))
}

/// SHA-512 of `bytes`, as lower-case hex.
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&SHA512, bytes))
}

/// SHA-256 and SHA-512 computed together over a stream of chunks, with its length.
#[derive(Clone)]
pub struct MultiHasher {
    sha256: Context,
    sha512: Context,
    length: u64,
}

impl Default for MultiHasher {
    fn default() -> Self {
        MultiHasher {
            sha256: Context::new(&SHA256),
            sha512: Context::new(&SHA512),
            length: 0,
        }
    }
}

impl MultiHasher {
    /// Add a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.sha512.update(chunk);
        self.length += chunk.len() as u64;
    }

    /// Bytes seen so far.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// `(sha256 hex, sha512 hex, length)`.
    pub fn finish(self) -> (String, String, u64) {
        (
            hex::encode(self.sha256.finish()),
            hex::encode(self.sha512.finish()),
            self.length,
        )
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
        let mut h = MultiHasher::default();
        h.update(b"he");
        h.update(b"llo");
        let (s256, s512, len) = h.finish();
        assert_eq!(s256, sha256_hex(b"hello"));
        assert_eq!(s512, sha512_hex(b"hello"));
        assert_eq!(len, 5);
    }
}
