//! Hostile YAML through the settings reader (issue 13), as an instance's `config.yml`: aliases
//! after a quote, a tab or a quoted value that runs onto the next line, with a large anchor;
//! 50,000 nested brackets; deep block nesting; duplicate keys; files at and over the size
//! limit; a byte-order mark and a `%YAML 1.1` directive. Each is refused as a mistake in the
//! file (exit 5), at its own line and column, naming the setting where there is one, and
//! showing none of the text; the BOM and the directive are read as PyYAML reads them.
//!
//! The same inputs run through the `grove` binary in `cli/tests/hostile_input.rs`, and seed the
//! fuzz targets from `fuzz/seeds/`.

use grove_core::settings::{parse, InstanceConfig};
use grove_core::yaml::{self, MAX_SETTINGS_LEN};
use grove_core::Cause;

const PATH: &str = "instances/campus/config.yml";

/// The example cluster's config of campus, which is valid.
const CONFIG: &str = include_str!("../../examples/cluster/instances/campus/config.yml");

/// The items of a large anchor, `lol, lol, ...`: 599,998 bytes, which aliases would copy.
fn anchor() -> String {
    vec!["lol"; 120_000].join(", ")
}

/// `open` followed by `depth` opening brackets, then as many closing ones and `close`.
fn brackets(open: &str, depth: usize, close: &str) -> String {
    format!("{open}{}{}{close}", "[".repeat(depth), "]".repeat(depth))
}

/// Mappings nested `depth` deep, one key a line, each indented two more spaces.
fn deep_mappings(depth: usize) -> String {
    (0..depth)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect()
}

/// A sequence under `A:` whose entries nest `depth` deep, one `-` a line.
fn deep_sequences(depth: usize) -> String {
    let mut text = "A:\n".to_string();
    for i in 1..depth {
        text.push_str(&format!("{}-\n", "  ".repeat(i)));
    }
    text
}

/// A config of exactly `len` bytes: one key whose value fills it.
fn config_of_len(len: usize) -> String {
    format!("A: {}\n", "x".repeat(len - 4))
}

/// Reads `input` as `instances/campus/config.yml` and asserts the outcome is `expected`: `ok`,
/// or the error as `LINE:COLUMN KEY: MESSAGE` (KEY `-` when no setting is at fault). An error
/// must be a mistake in that file (exit 5), located inside the text, in a message that shows
/// none of it.
fn check(input: &str, expected: &str) {
    let got = match parse::<InstanceConfig>(PATH, input) {
        Ok(_) => "ok".to_string(),
        Err(e) => {
            let Cause::File { path, key } = &e.cause else {
                panic!("not a file's mistake: {:?}", e.cause);
            };
            assert_eq!(path, PATH);
            assert_eq!(e.exit_code(), 5);
            let (line, column) = e.line_column().expect("the error is located");
            let diagnostic = &e.diagnostics[0];
            assert!(diagnostic.start <= diagnostic.end && diagnostic.end <= input.len());
            assert!(
                e.message.starts_with(&format!("{PATH}:{line}:{column}: ")),
                "{}",
                e.message
            );
            assert!(
                e.to_string().len() < 300,
                "the message shows the text: {} bytes",
                e.to_string().len()
            );
            format!(
                "{line}:{column} {}: {}",
                key.as_deref().unwrap_or("-"),
                diagnostic.message
            )
        }
    };
    let shown: String = input.chars().take(80).collect();
    assert_eq!(got, expected, "{shown:?}...");
}

/// Reads `text` and `text` without `header` to the same config.
fn check_same(header: &str, text: &str) {
    let with = parse::<InstanceConfig>(PATH, &format!("{header}{text}"));
    let without = parse::<InstanceConfig>(PATH, text).unwrap();
    assert_eq!(
        format!("{:?}", with.unwrap()),
        format!("{without:?}"),
        "{header:?}"
    );
}

#[test]
fn aliases_are_refused_at_their_star_however_they_are_written() {
    let anchor = anchor();
    let aliased = "YAML aliases (*name) are not allowed in settings files";
    // The anchor's line, then the alias.
    let cases = [
        // After a quote in a flow sequence.
        (format!("r: &r [{anchor}]\nX: [it's, *r]\n"), format!("2:11 X: {aliased}")),
        // After a tab: the tab is refused first, where it is.
        (
            format!("r: &r [{anchor}]\nB:\t*r\n"),
            "2:3 B: a tab, where YAML takes spaces only (tabs belong in quoted text and block scalars)".to_string(),
        ),
        (
            format!("r: &r [{anchor}]\nB: [x,\t*r]\n"),
            "2:7 B: a tab, where YAML takes spaces only (tabs belong in quoted text and block scalars)".to_string(),
        ),
        // After a double-quoted value that runs onto the next line.
        (
            format!("r: &r [{anchor}]\nD: \"it's\n  long\"\nE: *r\n"),
            format!("4:4 E: {aliased}"),
        ),
        (
            format!("r: &r [{anchor}]\nD: [\"it's\n  long\", *r]\n"),
            format!("3:10 D: {aliased}"),
        ),
        // On the anchor's own line: `X: {r: &r [` is 11 characters, `], s: ` 6.
        (
            format!("X: {{r: &r [{anchor}], s: *r}}\n"),
            format!("1:{} X: {aliased}", 11 + anchor.len() + 6 + 1),
        ),
        // Anchors of aliases, as a "billion laughs" file: refused at the first.
        (
            format!("a: &a [{anchor}]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"),
            format!("2:8 b: {aliased}"),
        ),
    ];
    for (input, expected) in &cases {
        check(input, expected);
    }
}

#[test]
fn nesting_deeper_than_100_is_refused_where_it_goes_deeper() {
    let cases = [
        // After a quoted value, a bracket is text after the value, whatever follows.
        (
            format!("LMS_HOST: 'x' {}", "[".repeat(50_000)),
            "1:15 LMS_HOST: unexpected text after the value",
        ),
        // In a sequence, after a quoted item: `A: ["x", ` is 9 characters; the mapping is
        // level 1, the sequence 2, so the 99th bracket is level 101.
        (
            brackets("A: [\"x\", ", 50_000, "]\n"),
            "1:108 A: nesting deeper than 100 levels",
        ),
        (
            format!("A: {}\n", "[".repeat(50_000)),
            "1:103 A: nesting deeper than 100 levels",
        ),
        (
            format!("A: {}\n", "{a: ".repeat(50_000)),
            "1:400 A: nesting deeper than 100 levels",
        ),
        // Block collections: level 101 is on line 101, indented 200 spaces.
        (
            deep_mappings(150),
            "101:201 k0: nesting deeper than 100 levels",
        ),
        (
            deep_sequences(150),
            "101:201 A: nesting deeper than 100 levels",
        ),
    ];
    for (input, expected) in &cases {
        check(input, expected);
    }
    check(&deep_mappings(100), "ok");
    check(&brackets("A: ", 99, "\n"), "ok");
}

#[test]
fn a_duplicate_key_is_refused_at_its_own_line_naming_the_first() {
    let many: String = (0..40).map(|i| format!("K{i}: v\n")).collect();
    let cases = [
        (
            "LMS_HOST: a.example.org\nCMS_HOST: b.example.org\nLMS_HOST: c.example.org\n"
                .to_string(),
            "3:1 LMS_HOST: this key is already set on line 1",
        ),
        // Past 16 keys, duplicates are found another way.
        (
            format!("{many}K3: again\n"),
            "41:1 K3: this key is already set on line 4",
        ),
        (
            "A:\n  b: 1\n  c: 2\n  b: 3\n".to_string(),
            "4:3 A: this key is already set on line 2",
        ),
        (
            "A: {b: 1, b: 2}\n".to_string(),
            "1:11 A: this key is already set on line 1",
        ),
        // After a BOM and a directive, lines are still counted from the file's first.
        (
            "\u{feff}%YAML 1.1\n---\nLMS_HOST: a\nLMS_HOST: b\n".to_string(),
            "4:1 LMS_HOST: this key is already set on line 3",
        ),
    ];
    for (input, expected) in &cases {
        check(input, expected);
    }
}

#[test]
fn a_file_over_1_mib_is_refused_and_one_of_1_mib_is_read() {
    check(&config_of_len(MAX_SETTINGS_LEN), "ok");
    // The error points at the first byte past the limit: the line break of the only line.
    check(
        &config_of_len(MAX_SETTINGS_LEN + 1),
        "1:1048577 A: the file is 1048577 bytes; the limit is 1048576",
    );
    // A file that is one long scalar is refused without being shown.
    check(
        &format!("secret{}\n", "x".repeat(500_000)),
        "1:1 -: a string where a mapping was expected",
    );
}

#[test]
fn a_byte_order_mark_and_a_yaml_1_1_directive_are_read_as_pyyaml_reads_them() {
    for header in [
        "\u{feff}",
        "%YAML 1.1\n---\n",
        "\u{feff}%YAML 1.1\n---\n",
        "%YAML 1.1 # Tutor's\n--- # config\n",
        "---\n",
    ] {
        check_same(header, CONFIG);
    }
    check("%YAML 2.0\n---\nA: 1\n", "1:1 -: only %YAML 1.x is read");
    check(
        "%TAG ! tag:example.org,2000:\n---\nA: 1\n",
        "1:1 -: %TAG directives are not supported",
    );
}

/// The fuzz seeds (`fuzz/seeds/yaml/`, the hostile forms above in small) read as the `yaml`
/// target reads them: under both limits, no panic, and every error located inside the text.
#[test]
fn the_fuzz_seeds_read_without_panic_and_errors_inside_the_text() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/yaml");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for limits in [yaml::Limits::SETTINGS, yaml::Limits::PIPELINE] {
            if let Err(e) = yaml::parse(&text, &limits) {
                assert!(e.offset.is_none_or(|o| o <= text.len()), "{e:?}");
            }
        }
        seeds += 1;
    }
    assert!(seeds >= 10, "{seeds} seeds in {}", dir.display());
}
