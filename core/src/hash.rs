//! Short hashes of texts: the requirements of a venv in its cache key, the part of a preview's
//! name that keeps two shortened branches apart.

use sha2::{Digest, Sha256};

/// The first 16 hex digits of the SHA-256 of `text`.
pub fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
