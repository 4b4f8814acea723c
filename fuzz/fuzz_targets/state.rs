//! Any text as an instance's `config.yml` in git and as the config the store kept: no panic; a
//! config that is cut reads again as the same entries; a composed config reads as its sources
//! say, git winning; every error is exit 5 and never shows a stored value.
#![no_main]

use grove_core::name::InstanceName;
use grove_core::state::{compose, kept, Config, Stored};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

fuzz_target!(|input: (&str, &str)| {
    let (git, stored) = input;
    let git = match Config::parse("config.yml", git, false) {
        Ok(config) => config,
        Err(e) => return assert_eq!(e.exit_code(), 5),
    };
    let again = Config::parse("config.yml", &git.to_text(), false).expect("a cut config reads again");
    assert_eq!(again.entries(), git.entries());
    let stored = match Config::parse("stored", stored, true) {
        Ok(config) => config,
        Err(e) => {
            assert!(e.source.is_none(), "an error about the stored config shows its text");
            return assert_eq!(e.exit_code(), 5);
        }
    };
    let all: BTreeSet<String> = stored.keys().map(str::to_string).collect();
    let name = InstanceName::parse("campus").unwrap();
    let stored_view = Stored { config: &stored, kept: &all };
    match compose(&name, "config.yml", &git, Some(stored_view), &[]) {
        Ok(composed) => {
            let read = Config::parse("composed", &composed.text, true).expect("a composed config reads");
            for entry in git.entries() {
                let got = read.get(&entry.key).expect("every key of git is there");
                assert!(got.same_value(entry), "git does not win for {}", entry.key);
            }
            let after = kept(&read, &composed.inputs, &all);
            assert!(after.iter().all(|k| read.get(k).is_some()));
        }
        Err(e) => assert_eq!(e.exit_code(), 5),
    }
});
