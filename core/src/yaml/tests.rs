use super::*;

/// A node, compactly: `{a: 1, b: [x, ~]}`, strings in double quotes, the span of the root.
fn show(node: &Node) -> String {
    fn walk(node: &Node, out: &mut String) {
        if let Some(tag) = &node.tag {
            out.push_str(tag);
            out.push(' ');
        }
        match &node.value {
            Value::Null => out.push('~'),
            Value::Bool(b) => out.push_str(&b.to_string()),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Float(f) => out.push_str(&format!("{f:?}")),
            Value::Str(s) => out.push_str(&format!("{s:?}")),
            Value::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    walk(item, out);
                }
                out.push(']');
            }
            Value::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    walk(k, out);
                    out.push_str(": ");
                    walk(v, out);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    walk(node, &mut out);
    out
}

/// What a text reads as with `limits`: the node, or `line:column: message`.
fn read(text: &str, limits: &Limits) -> String {
    match parse(text, limits) {
        Ok(node) => show(&node),
        Err(e) => {
            let at = e.offset.unwrap_or(0);
            let (line, column) = crate::diagnostic::line_column(text, at);
            format!("{line}:{column}: {}", e.message)
        }
    }
}

/// Checks what `text` reads as (with the pipeline limits: aliases read).
fn check(text: &str, expected: &str) {
    assert_eq!(read(text, &Limits::PIPELINE), expected, "{text:?}");
}

#[test]
fn block_collections() {
    check("", "~");
    check("# only a comment\n\n", "~");
    check("a: 1\nb: two\n", r#"{"a": 1, "b": "two"}"#);
    check(
        "a:\n  b: c\n  d:\n    - e\n    - f\ng: h",
        r#"{"a": {"b": "c", "d": ["e", "f"]}, "g": "h"}"#,
    );
    check("a:\n- x\n- y\nb: z\n", r#"{"a": ["x", "y"], "b": "z"}"#);
    check(
        "- a\n- b: c\n  d: e\n- - f\n  - g\n-\n- ~\n",
        r#"["a", {"b": "c", "d": "e"}, ["f", "g"], ~, ~]"#,
    );
    check("a:\nb:\n", r#"{"a": ~, "b": ~}"#);
    check("a: # comment\n  b\n", r#"{"a": "b"}"#);
    check("a: b # c\n#d\ne: f#g\n", r#"{"a": "b", "e": "f#g"}"#);
    check("a:b: c\n", r#"{"a:b": "c"}"#);
    check("'a b': c\n\"d\": e\n", r#"{"a b": "c", "d": "e"}"#);
    check("1: x\ntrue: y\n~: z\n", r#"{1: "x", true: "y", ~: "z"}"#);
    check("a: 1\n  b: 2\n", "2:3: a `key: value` entry where a plain value continues: indent it as a mapping, or quote the value");
    check(
        "a:\n  b: 1\n c: 2\n",
        "3:2: this line is indented more than the keys before it",
    );
    check("a: 1\na: 2\n", "2:1: this key is already set on line 1");
    check(
        "a: - b\n",
        "1:4: a block sequence cannot start on the line of its key",
    );
    check(
        "a: b: c\n",
        "1:4: a mapping cannot start on the line of its key",
    );
    check(
        "? a\n: b\n",
        "1:1: explicit keys (`? key`) are not supported",
    );
    check("[a]: b\n", "1:1: a collection cannot be a mapping key");
    check(
        "a\tb: c\n",
        "1:2: a tab, where YAML takes spaces only (tabs belong in quoted text and block scalars)",
    );
    check("a: 'x\ty'\nb: |\n  \tz\n", r#"{"a": "x\ty", "b": "\tz\n"}"#);
}

#[test]
fn scalars() {
    check(
        "a: yes\nb: 0777\nc: 1_000\nd: 1.5\ne: .inf\nf: ~\ng: 2024-01-01\n",
        r#"{"a": true, "b": 511, "c": 1000, "d": 1.5, "e": inf, "f": ~, "g": "2024-01-01"}"#,
    );
    check(
        "a: 'it''s'\nb: \"tab\\there\\u00e9\\x41\\U0001F680\"\n",
        "{\"a\": \"it's\", \"b\": \"tab\\there\u{e9}A\u{1f680}\"}",
    );
    check(
        "a: plain\n  continued\n\n  again\nb: x\n",
        r#"{"a": "plain continued\nagain", "b": "x"}"#,
    );
    check(
        "a: \"one\n  two\n\n  three\"\n",
        r#"{"a": "one two\nthree"}"#,
    );
    check("a: 'one\n  two'\n", r#"{"a": "one two"}"#);
    check("a: \"x\\\n   y\"\n", r#"{"a": "xy"}"#);
    check(
        "a: |\n  one\n  two\n\nb: x\n",
        r#"{"a": "one\ntwo\n", "b": "x"}"#,
    );
    check("a: |-\n  one\n\n", r#"{"a": "one"}"#);
    check("a: |+\n  one\n\n\nb: 1\n", r#"{"a": "one\n\n\n", "b": 1}"#);
    check(
        "a: >\n  one\n  two\n\n  three\n   indented\n  four\n",
        r#"{"a": "one two\nthree\n indented\nfour\n"}"#,
    );
    check("a: |2\n   x\n  y\n", r#"{"a": " x\ny\n"}"#);
    check("- |\n  x\n- y\n", r#"["x\n", "y"]"#);
    check("a: \"unclosed\n", "1:4: this quoted value is not closed");
    check("a: \"\\q\"\n", "1:5: unknown escape sequence");
    check("a: @x\n", "1:4: a plain value cannot start with '@'");
    check(
        "a: !!str 1\nb: !!int \"2\"\nc: !!float 3\nd: !reference [x, y]\n",
        r#"{"a": "1", "b": 2, "c": 3.0, "d": !reference ["x", "y"]}"#,
    );
    check(
        "a: !!int x\n",
        "1:4: this value is not an integer, as its tag !!int says",
    );
    check(
        "a: !!binary eA==\n",
        "1:4: the tag !!binary is not supported",
    );
}

#[test]
fn flow_collections() {
    check(
        "a: [1, b, \"c\", [d], {e: f}]\n",
        r#"{"a": [1, "b", "c", ["d"], {"e": "f"}]}"#,
    );
    check(
        "a: {b: c, d, e: }\n",
        r#"{"a": {"b": "c", "d": ~, "e": ~}}"#,
    );
    check("a: [b: c, d]\n", r#"{"a": [{"b": "c"}, "d"]}"#);
    check("a: [1,\n  2,\n]\n", r#"{"a": [1, 2]}"#);
    check("a: {\"b\":c}\n", r#"{"a": {"b": "c"}}"#);
    check("a: {b:c}\n", r#"{"a": {"b:c": ~}}"#);
    check(
        "a: [http://x.org/a, b]\n",
        r#"{"a": ["http://x.org/a", "b"]}"#,
    );
    check("a: [1, 2\n", "1:4: this flow collection is not closed");
    check("a: [1 2]\n", r#"{"a": ["1 2"]}"#);
    check("a: [1, , 2]\n", "1:8: an empty entry in a flow collection");
    check(
        "a: {b: c, b: d}\n",
        "1:11: this key is already set on line 1",
    );
}

#[test]
fn documents_directives_and_the_byte_order_mark() {
    check("\u{feff}a: 1\n", r#"{"a": 1}"#);
    check("%YAML 1.1\n---\na: 1\n", r#"{"a": 1}"#);
    check("\u{feff}%YAML 1.1\n--- \na: 1\n...\n", r#"{"a": 1}"#);
    check("--- a\n", r#""a""#);
    check("---\n- a\n", r#"["a"]"#);
    check("%YAML 2.0\n---\na: 1\n", "1:1: only %YAML 1.x is read");
    check(
        "%TAG ! tag:x,2000:\n---\na: 1\n",
        "1:1: %TAG directives are not supported",
    );
    check(
        "a: 1\n---\nb: 2\n",
        "2:1: a second document: a file holds one YAML document",
    );
    check("a: 1\n...\nb\n", "3:1: unexpected text after the document");
    check("a: \u{2028}\n", "1:4: character U+2028, which YAML reads as a line break, is not allowed; write it escaped in a double-quoted string");
    check("a: b\rc: d\n", "1:5: a carriage return that does not end a line is not allowed; write it escaped in a double-quoted string");
    check("a: \u{7}\n", "1:4: the control character U+0007 is not allowed; write it escaped in a double-quoted string");
    check("a: 1\r\nb: |\r\n  x\r\n", r#"{"a": 1, "b": "x\n"}"#);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    check("a: &x {b: 1}\nc: *x\n", r#"{"a": {"b": 1}, "c": {"b": 1}}"#);
    check(
        ".t: &t\n  s: [x]\n  v: 1\nj:\n  <<: *t\n  v: 2\n",
        r#"{".t": {"s": ["x"], "v": 1}, "j": {"v": 2, "s": ["x"]}}"#,
    );
    check(
        "a: *nope\n",
        "1:4: the alias *nope names no anchor before it",
    );
    assert_eq!(
        read("a: &x 1\nb: *x\n", &Limits::SETTINGS),
        "2:4: YAML aliases (*name) are not allowed in settings files"
    );
    // A "billion laughs": every level doubles what the last copies.
    let mut laughs = String::from("l0: &l0 [lol, lol]\n");
    for i in 1..40 {
        laughs.push_str(&format!("l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
    }
    let read = read(&laughs, &Limits::PIPELINE);
    assert!(read.contains("expand to too much"), "{read}");
}

#[test]
fn the_limits_hold_while_reading() {
    let deep_flow = format!("x: {}{}\n", "[".repeat(101), "]".repeat(101));
    assert_eq!(
        read(&deep_flow, &Limits::SETTINGS),
        "1:103: nesting deeper than 100 levels"
    );
    let ok_flow = format!("x: {}{}\n", "[".repeat(99), "]".repeat(99));
    assert!(!read(&ok_flow, &Limits::SETTINGS).contains("nesting"));
    let deep_block: String = (0..101)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    assert!(read(&deep_block, &Limits::SETTINGS).ends_with("nesting deeper than 100 levels"));
    let deep_dashes = format!("{}x\n", "- ".repeat(101));
    assert!(read(&deep_dashes, &Limits::SETTINGS).ends_with("nesting deeper than 100 levels"));
    // 50,000 flow brackets after a quoted word: refused at once, not walked.
    let hostile = format!("X: [\"it's\", {}\n", "[".repeat(50_000));
    assert_eq!(
        read(&hostile, &Limits::SETTINGS),
        "1:111: nesting deeper than 100 levels"
    );
    let big = "a".repeat(MAX_SETTINGS_LEN + 1);
    assert!(read(&big, &Limits::SETTINGS).contains("the limit is 1048576"));
    // Aliases hidden where a lexical scan would miss them are refused where they are.
    for (text, at) in [
        ("r: &r x\nX: [it's, *r]\n", "2:11"),
        // (PyYAML refuses the tab itself, before the alias.)
        ("a: &a x\nB:\t*a\n", "2:3"),
        ("a: &a x\nq: \"a\n  b\"\nc: [*a]\n", "4:5"),
    ] {
        let got = read(text, &Limits::SETTINGS);
        assert!(
            got.starts_with(at) && (got.contains("aliases") || got.contains("a tab")),
            "{text:?}: {got}"
        );
    }
}

#[test]
fn typed_values_point_at_the_node() {
    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, default)]
    struct S {
        name: String,
        count: u32,
        list: Vec<String>,
        maybe: Option<bool>,
    }
    let read = |text: &str| -> Result<S, String> {
        from_settings::<S>(text).map_err(|e| {
            let (line, column) = crate::diagnostic::line_column(text, e.offset.unwrap());
            format!("{line}:{column}: {}", e.message)
        })
    };
    let s = read("name: x\ncount: 3\nlist: [a, b]\nmaybe: no\n").unwrap();
    assert_eq!(
        (s.name.as_str(), s.count, s.list.len(), s.maybe),
        ("x", 3, 2, Some(false))
    );
    assert_eq!(read("").unwrap().count, 0);
    assert_eq!(
        read("name: x\ncont: 3\n").unwrap_err(),
        "2:1: unknown field `cont`, expected one of `name`, `count`, `list`, `maybe`"
    );
    assert_eq!(
        read("name: x\ncount: lots\n").unwrap_err(),
        "2:8: invalid type: string \"lots\", expected u32"
    );
    assert_eq!(
        read("list:\n  - a\n  - [b]\n").unwrap_err(),
        "3:5: invalid type: sequence, expected a string"
    );
    assert_eq!(
        read("- a\n").unwrap_err(),
        "1:1: a sequence where a mapping was expected"
    );
}

#[test]
fn quoted_text_reads_back_unchanged() {
    for text in [
        "plain",
        "",
        "a: b",
        "x\"\n- job:\n  script: [rm -rf /]",
        "$CI_JOB_TOKEN ${X} $$",
        "tab\there\r\u{0}\u{7f}\u{85}\u{2028}\u{2029}\u{feff}é😀",
        "{{ not a template }}",
        "&anchor *alias !tag %directive @ ` |",
    ] {
        let quoted = quote(text);
        assert!(!quoted[1..quoted.len() - 1].contains('\n'));
        let back = parse(&format!("v: {quoted}"), &Limits::SETTINGS).unwrap();
        assert_eq!(back.get("v").and_then(Node::as_str), Some(text));
    }
}

#[test]
fn plain_scalars_read_back_unchanged() {
    for (text, plain) in [
        ("deploy:campus", true),
        ("instances/campus/.venv/", true),
        ("venv-campus-0123", true),
        ("yes", false),
        ("Off", false),
        ("a: b", false),
        ("a:", false),
        ("1a", false),
        ("-a", false),
        ("a*", false),
        ("", false),
    ] {
        let written = plain_or_quoted(text);
        assert_eq!(written == text, plain, "{text:?}");
        let back = parse(&format!("{written}: {written}"), &Limits::SETTINGS).unwrap();
        let (key, value) = &back.entries().unwrap()[0];
        assert_eq!((key.as_str(), value.as_str()), (Some(text), Some(text)));
    }
}
