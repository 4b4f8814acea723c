//! Any text through Grove's YAML reader, under the settings limits and the pipeline limits: no
//! panic, no hang, every error located inside the text, and what it reads converts to JSON or
//! says where it cannot.
#![no_main]

use grove_core::yaml::{parse, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for limits in [Limits::SETTINGS, Limits::PIPELINE] {
        match parse(text, &limits) {
            Ok(node) => {
                assert!(node.span.end <= text.len());
                if let Err(e) = node.to_json() {
                    assert!(e.offset.is_some_and(|o| o <= text.len()), "{e:?}");
                }
            }
            Err(e) => assert!(e.offset.is_none_or(|o| o <= text.len()), "{e:?}"),
        }
    }
});
