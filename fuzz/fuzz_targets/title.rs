//! Any text as a commit title: no panic; diagnostics inside the title on char boundaries;
//! a request that parses prints back as a title that parses to the same request.
#![no_main]

use grove_core::title::parse_title;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|title: &str| {
    let parsed = parse_title(title);
    for d in &parsed.diagnostics {
        assert!(d.start <= d.end && d.end <= title.len(), "{d:?}");
        assert!(title.is_char_boundary(d.start) && title.is_char_boundary(d.end), "{d:?}");
    }
    if let Some(request) = parsed.value {
        let printed = request.to_title();
        if !printed.is_empty() {
            assert_eq!(parse_title(&printed).value, Some(request), "{printed:?}");
        }
    }
});
