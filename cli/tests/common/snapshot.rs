//! insta's snapshot files, read raw: a header (`---`, its metadata, `---`), then the text.
//!
//! Shared by the CLI's tests (`common::golden`) and `wasm/build.rs`, which embeds the goldens
//! for the browser tests; `web/tests/page.test.mjs` reads them the same way.

/// The text of an insta snapshot file: what follows its header.
pub fn text(snapshot: &str) -> Option<&str> {
    let (_, text) = snapshot.strip_prefix("---\n")?.split_once("\n---\n")?;
    Some(text)
}
