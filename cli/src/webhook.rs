//! Webhook payloads on disk: `grove webhookpipeline` and `grove plan --webhook`.
//!
//! The CLI only reads the payload file (refusing one over 25 MB before reading it whole);
//! parsing, deciding and generating are core's ([`grove_core::generate`]), which reads of the
//! cluster repository only what the request needs.

use crate::failure::Failure;
use grove_core::webhook::MAX_PAYLOAD;
use grove_core::{Cause, Error};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// An invalid payload file (exit 5).
fn invalid(path: &Path, message: impl std::fmt::Display) -> Failure {
    Failure::Core(Error::new(
        Cause::Payload,
        format!("invalid webhook payload {}: {message}", path.display()),
    ))
}

/// Reads a payload file as text: at most [`MAX_PAYLOAD`] bytes of UTF-8 (exit 5 otherwise).
pub fn read_payload(path: &Path) -> Result<String, Failure> {
    let file = File::open(path).map_err(|e| Failure::io("read", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| Failure::io("read", path, e))?
        .len();
    let limit = MAX_PAYLOAD as u64;
    if size > limit {
        return Err(invalid(
            path,
            format!("it is {size} bytes; the limit is {limit} (25 MB)"),
        ));
    }
    // The size can change, or not be known (a pipe): never read more than the limit allows.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::io("read", path, e))?;
    if bytes.len() as u64 > limit {
        return Err(invalid(
            path,
            format!("it is more than {limit} bytes (25 MB)"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(
            path,
            format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}
