//! The commit-title grammar: `[AutoDeploy][TYPE] ...` and the older `[AutoDeploy] NAME:ID - MESSAGE`.
//!
//! ```text
//! title     = ws* ( autodeploy | anything )
//! autodeploy= "[AutoDeploy]" ( typed | older )
//! typed     = "[" type "]" ( "[" subtype "]" )? ws* body
//! type      = "Create" | "Update" | "Archive" | "Delete" | "Infrastructure" | "Batch" | "Build"
//! subtype   = "Upgrade" | "UpgradeTo"                      (only after Batch)
//!           | "Image"                                      (only after Build)
//! body      = item ( "," item )*                           (per type, see below)
//! older     = ws* NAME ":" ID " - " MESSAGE                 (MESSAGE starts with
//!             "deploy new instance" or "apply changes")
//! ```
//!
//! Create and Update take `NAME` or `NAME|ID` items, Archive and Delete take `NAME` items, Batch
//! Upgrade and Build Image take `REPOSITORY|VERSION` items (a base image is built from each, so
//! REPOSITORY is a remote git URL), Batch UpgradeTo takes one commit hash, Infrastructure takes
//! any message. A title without the tag at its start is not a deployment. Every problem is
//! reported with the byte range of the offending part, and all problems of a list are reported
//! at once.

use crate::diagnostic::{Diagnostic, Invalid, Parsed};
use crate::error::{Cause, Error, Result};
use crate::name::InstanceName;
use crate::request::{PlatformRef, Request, Target};
use crate::value::{CommitHash, DeploymentId, Repository, Version};
use std::collections::BTreeSet;
use std::ops::Range;
use winnow::combinator::{delimited, opt, preceded, separated};
use winnow::prelude::*;
use winnow::stream::LocatingSlice;
use winnow::token::{rest, take_till, take_while};

/// The longest title Grove reads, in bytes.
pub const MAX_TITLE_LEN: usize = 4096;
/// The most items one title may list.
pub const MAX_ITEMS: usize = 10_000;
/// The tag that makes a commit a deployment.
pub const TAG: &str = "[AutoDeploy]";

const TYPES: [&str; 7] = [
    "Create",
    "Update",
    "Archive",
    "Delete",
    "Infrastructure",
    "Batch",
    "Build",
];

/// The types that take a second tag, with their second tags and an example.
const GROUPS: [(&str, &[&str], &str); 2] = [
    (
        "Batch",
        &["Upgrade", "UpgradeTo"],
        "[AutoDeploy][Batch][Upgrade] REPOSITORY|VERSION",
    ),
    (
        "Build",
        &["Image"],
        "[AutoDeploy][Build][Image] REPOSITORY|VERSION",
    ),
];

type Input<'a> = LocatingSlice<&'a str>;

/// A piece of the title and where it is.
#[derive(Debug, Clone, Copy)]
struct Piece<'a> {
    text: &'a str,
    start: usize,
}

impl<'a> Piece<'a> {
    fn range(&self) -> Range<usize> {
        self.start..self.start + self.text.len()
    }

    /// The same piece without leading and trailing spaces and tabs.
    fn trimmed(self) -> Piece<'a> {
        let is_blank = |c: char| c == ' ' || c == '\t';
        let lead = self.text.len() - self.text.trim_start_matches(is_blank).len();
        Piece {
            text: self.text.trim_matches(is_blank),
            start: self.start + lead,
        }
    }
}

/// A bracketed tag: `[` text `]`, giving the text between the brackets.
fn tag<'a>(input: &mut Input<'a>) -> ModalResult<Piece<'a>> {
    delimited('[', take_till(0.., ['[', ']']).with_span(), ']')
        .map(|(text, span): (&str, Range<usize>)| Piece {
            text,
            start: span.start,
        })
        .parse_next(input)
}

/// Spaces and tabs.
fn blanks<'a>(input: &mut Input<'a>) -> ModalResult<&'a str> {
    take_while(0.., [' ', '\t']).parse_next(input)
}

/// A comma-separated list; always at least one (possibly empty) item.
fn items<'a>(input: &mut Input<'a>) -> ModalResult<Vec<Piece<'a>>> {
    separated(
        1..,
        take_till(0.., ',')
            .with_span()
            .map(|(text, span): (&str, Range<usize>)| Piece {
                text,
                start: span.start,
            }),
        ',',
    )
    .parse_next(input)
}

/// `LEFT|RIGHT`, or `LEFT` alone.
fn pair<'a>(input: &mut Input<'a>) -> ModalResult<(Piece<'a>, Option<Piece<'a>>)> {
    let piece = |(text, span): (&'a str, Range<usize>)| Piece {
        text,
        start: span.start,
    };
    (
        take_till(0.., '|').with_span().map(piece),
        opt(preceded('|', rest.with_span().map(piece))),
    )
        .parse_next(input)
}

/// Runs a winnow parser over a piece of the title; spans in the output are made absolute.
fn run<'a, O: Shift>(
    piece: Piece<'a>,
    mut parser: impl Parser<Input<'a>, O, winnow::error::ErrMode<winnow::error::ContextError>>,
) -> Option<(O, usize)> {
    let mut input = LocatingSlice::new(piece.text);
    let out = parser.parse_next(&mut input).ok()?;
    let consumed = piece.text.len() - input.len();
    Some((out.shift(piece.start), consumed))
}

/// Output of a parser whose positions are relative to the piece it ran over.
trait Shift {
    /// Moves every position `by` bytes to the right.
    fn shift(self, by: usize) -> Self;
}

impl Shift for Piece<'_> {
    fn shift(self, by: usize) -> Self {
        Piece {
            start: self.start + by,
            ..self
        }
    }
}

impl Shift for &str {
    fn shift(self, _: usize) -> Self {
        self
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(self, by: usize) -> Self {
        self.map(|t| t.shift(by))
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(self, by: usize) -> Self {
        self.into_iter().map(|t| t.shift(by)).collect()
    }
}

impl<A: Shift, B: Shift> Shift for (A, B) {
    fn shift(self, by: usize) -> Self {
        (self.0.shift(by), self.1.shift(by))
    }
}

/// Reads a commit title into its request, failing (with [`Cause::Title`], exit 5) with its
/// diagnostics if it is malformed. The warnings of a title that parsed come beside it.
pub fn request(title: &str) -> Result<(Request, Vec<Diagnostic>)> {
    let parsed = parse_title(title);
    match parsed.value {
        Some(request) => Ok((request, parsed.diagnostics)),
        None => {
            let first = parsed
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.message.clone())
                .unwrap_or_default();
            Err(Error::located(
                Cause::Title,
                format!("invalid commit title: {first}"),
                "commit title",
                title,
                parsed.diagnostics,
            ))
        }
    }
}

/// Reads a commit title: the request if it has no error, and every problem found.
pub fn parse_title(title: &str) -> Parsed<Request> {
    if title.len() > MAX_TITLE_LEN {
        return Parsed::failed(vec![Diagnostic::error(
            MAX_TITLE_LEN..title.len(),
            format!(
                "the commit title is {} bytes long; the limit is {MAX_TITLE_LEN}",
                title.len()
            ),
        )]);
    }
    if let Some(at) = title.find(['\n', '\r']) {
        return Parsed::failed(vec![Diagnostic::error(
            at..at + 1,
            "a commit title is one line, but this one has a line break",
        )
        .with_hint("pass only the first line of the commit message (CI_COMMIT_TITLE)")]);
    }
    let whole = Piece {
        text: title,
        start: 0,
    };
    TitleParser::new().title(whole)
}

/// The state of one parse: the diagnostics found so far.
struct TitleParser<'a> {
    diagnostics: Vec<Diagnostic>,
    _title: std::marker::PhantomData<&'a str>,
}

impl<'a> TitleParser<'a> {
    fn new() -> Self {
        TitleParser {
            diagnostics: Vec::new(),
            _title: std::marker::PhantomData,
        }
    }

    fn error(&mut self, range: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::error(range, message);
        d.hint = hint;
        self.diagnostics.push(d);
    }

    fn finish(self, request: Request) -> Parsed<Request> {
        Parsed::new(request, self.diagnostics)
    }

    /// Moves a piece forward by `by` bytes.
    fn after(piece: Piece<'a>, by: usize) -> Piece<'a> {
        Piece {
            text: &piece.text[by..],
            start: piece.start + by,
        }
    }

    fn title(mut self, whole: Piece<'a>) -> Parsed<Request> {
        let (_, lead) = run(whole, blanks).unwrap_or(("", 0));
        let at_tag = Self::after(whole, lead);
        let Some((first, used)) = run(at_tag, tag) else {
            return self.not_a_deployment(whole);
        };
        if first.text != "AutoDeploy" {
            if first.text.eq_ignore_ascii_case("AutoDeploy") {
                let range = first.start - 1..first.start + first.text.len() + 1;
                self.error(
                    range,
                    format!("the tag is spelled \"[{}]\"", first.text),
                    Some("write [AutoDeploy], with this exact case".into()),
                );
                return self.finish(Request::Nothing);
            }
            return self.not_a_deployment(whole);
        }
        let after_tag = Self::after(at_tag, used);
        let request = if after_tag.text.starts_with('[') {
            self.typed(after_tag)
        } else {
            self.older(after_tag)
        };
        self.finish(request)
    }

    /// A title that does not start with the tag; warns if it carries the tag elsewhere.
    fn not_a_deployment(mut self, whole: Piece<'a>) -> Parsed<Request> {
        if let Some(at) = whole.text.find(TAG) {
            self.diagnostics.push(
                Diagnostic::warning(
                    at..at + TAG.len(),
                    "the [AutoDeploy] tag is not at the start of the title, so nothing is deployed",
                )
                .with_hint("a deployment title starts with [AutoDeploy]"),
            );
        }
        self.finish(Request::Nothing)
    }

    /// `[TYPE]...` after the tag.
    fn typed(&mut self, piece: Piece<'a>) -> Request {
        let Some((kind, used)) = run(piece, tag) else {
            self.error(
                piece.start..piece.start + 1,
                "this '[' is not closed",
                Some("write the type in brackets, such as [Update]".into()),
            );
            return Request::Nothing;
        };
        let mut rest = Self::after(piece, used);
        let mut subtype = None;
        let group = GROUPS.iter().find(|(group, _, _)| *group == kind.text);
        match kind.text {
            _ if group.is_some() => {
                let (group, subtypes, example) = group.expect("found above");
                match run(rest, tag) {
                    Some((sub, used)) if subtypes.contains(&sub.text) => {
                        subtype = Some(sub.text);
                        rest = Self::after(rest, used);
                    }
                    Some((sub, _)) => {
                        self.error(
                            sub.range(),
                            format!(
                                "unknown {} type \"{}\"; expected {}",
                                group.to_lowercase(),
                                sub.text,
                                subtypes.join(" or ")
                            ),
                            suggest(sub.text, subtypes),
                        );
                        return Request::Nothing;
                    }
                    None => {
                        let tags: Vec<String> = subtypes.iter().map(|t| format!("[{t}]")).collect();
                        self.error(
                            kind.start - 1..kind.start + kind.text.len() + 1,
                            format!("[{group}] needs a second tag: {}", tags.join(" or ")),
                            Some(format!("for example {example}")),
                        );
                        return Request::Nothing;
                    }
                }
            }
            t if TYPES.contains(&t) => {}
            other => {
                self.error(
                    kind.range(),
                    format!(
                        "unknown type \"{other}\"; expected one of {}",
                        TYPES.join(", ")
                    ),
                    suggest(other, &TYPES),
                );
                return Request::Nothing;
            }
        }
        let (_, lead) = run(rest, blanks).unwrap_or(("", 0));
        let body = Self::after(rest, lead).trimmed();
        if let Some(extra) = run(body, tag).map(|(t, _)| t) {
            self.error(
                extra.start - 1..extra.start + extra.text.len() + 1,
                format!("unexpected tag \"[{}]\" after the type", extra.text),
                None,
            );
            return Request::Nothing;
        }
        match (kind.text, subtype) {
            ("Infrastructure", _) => Request::Infrastructure {
                message: body.text.to_string(),
            },
            ("Create", _) => Request::Create(self.targets(body)),
            ("Update", _) => Request::Update(self.targets(body)),
            ("Archive", _) => Request::Archive(self.names(body, "Archive")),
            ("Delete", _) => Request::Delete(self.names(body, "Delete")),
            (_, Some("Upgrade")) => Request::BatchUpgrade(self.platform_refs(body)),
            (_, Some("Image")) => Request::BuildImage(self.platform_refs(body)),
            _ => self
                .commit(body)
                .map_or(Request::Nothing, Request::BatchUpgradeTo),
        }
    }

    /// Splits a list body into trimmed items, reporting empty lists, empty items and overlong lists.
    fn list(&mut self, body: Piece<'a>, what: &str) -> Vec<Piece<'a>> {
        if body.text.is_empty() {
            self.error(
                body.start..body.start,
                format!("no {what} listed"),
                Some(format!("list {what} after the tags, separated by commas")),
            );
            return Vec::new();
        }
        let pieces = run(body, items).map(|(p, _)| p).unwrap_or_default();
        if pieces.len() > MAX_ITEMS {
            self.error(
                body.range(),
                format!("{} items listed; the limit is {MAX_ITEMS}", pieces.len()),
                None,
            );
            return Vec::new();
        }
        let mut kept = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let piece = piece.trimmed();
            if piece.text.is_empty() {
                self.error(
                    piece.start..piece.start,
                    "empty item in the list",
                    Some("remove the extra comma".into()),
                );
            } else {
                kept.push(piece);
            }
        }
        kept
    }

    fn name(&mut self, piece: Piece<'a>) -> Option<InstanceName> {
        self.checked(piece, InstanceName::parse)
    }

    /// Parses a value, turning its problem into a diagnostic at the right place.
    fn checked<T>(
        &mut self,
        piece: Piece<'a>,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match parse(piece.text) {
            Ok(value) => Some(value),
            Err(invalid) => {
                let mut d = invalid.at(piece.start);
                if d.start == d.end && !piece.text.is_empty() {
                    d.end = d.start + piece.text.len();
                }
                self.diagnostics.push(d);
                None
            }
        }
    }

    /// Reports a name listed twice.
    fn unique(&mut self, seen: &mut BTreeSet<String>, key: &str, piece: Piece<'a>) {
        if !seen.insert(key.to_string()) {
            self.error(piece.range(), format!("\"{key}\" is listed twice"), None);
        }
    }

    fn targets(&mut self, body: Piece<'a>) -> Vec<Target> {
        let mut seen = BTreeSet::new();
        let mut targets = Vec::new();
        for item in self.list(body, "instances") {
            let Some(((name, id), _)) = run(item, pair) else {
                continue;
            };
            let name_piece = name.trimmed();
            let name = self.name(name_piece);
            let deployment_id = match id.map(Piece::trimmed) {
                Some(id) => self.checked(id, DeploymentId::parse).map(Some),
                None => Some(None),
            };
            if let (Some(name), Some(deployment_id)) = (name, deployment_id) {
                self.unique(&mut seen, name.as_str(), name_piece);
                targets.push(Target {
                    name,
                    deployment_id,
                });
            }
        }
        targets
    }

    /// The instance names of `kind` (`Archive`, `Delete`), which takes no deployment ids.
    fn names(&mut self, body: Piece<'a>, kind: &str) -> Vec<InstanceName> {
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        for item in self.list(body, "instances") {
            if let Some(bar) = item.text.find('|') {
                let at = item.start + bar;
                self.error(
                    at..item.start + item.text.len(),
                    format!("{kind} takes instance names without deployment ids"),
                    Some(format!("write [AutoDeploy][{kind}] NAME,NAME")),
                );
                continue;
            }
            if let Some(name) = self.name(item) {
                self.unique(&mut seen, name.as_str(), item);
                names.push(name);
            }
        }
        names
    }

    fn platform_refs(&mut self, body: Piece<'a>) -> Vec<PlatformRef> {
        let mut seen = BTreeSet::new();
        let mut refs = Vec::new();
        for item in self.list(body, "REPOSITORY|VERSION pairs") {
            let Some(((repository, version), _)) = run(item, pair) else {
                continue;
            };
            let Some(version) = version else {
                self.error(
                    item.range(),
                    format!("\"{}\" is not a REPOSITORY|VERSION pair", item.text),
                    Some("write the repository, '|', and the version, such as https://github.com/openedx/edx-platform.git|open-release/sumac.1".into()),
                );
                continue;
            };
            // A base image is built from the repository: it must be one a build can clone.
            let repository = self.checked(repository.trimmed(), Repository::parse_remote);
            let version = self.checked(version.trimmed(), Version::parse);
            if let (Some(repository), Some(version)) = (repository, version) {
                self.unique(&mut seen, &format!("{repository}|{version}"), item);
                refs.push(PlatformRef {
                    repository,
                    version,
                });
            }
        }
        refs
    }

    fn commit(&mut self, body: Piece<'a>) -> Option<CommitHash> {
        if body.text.is_empty() {
            self.error(
                body.start..body.start,
                "no commit hash given",
                Some("write [AutoDeploy][Batch][UpgradeTo] COMMIT_HASH".into()),
            );
            return None;
        }
        if body.text.contains(',') {
            self.error(
                body.range(),
                "UpgradeTo takes exactly one commit hash",
                None,
            );
            return None;
        }
        self.checked(body, CommitHash::parse)
    }

    /// The older `NAME:ID - MESSAGE` form.
    fn older(&mut self, piece: Piece<'a>) -> Request {
        let (_, lead) = run(piece, blanks).unwrap_or(("", 0));
        let piece = Self::after(piece, lead).trimmed();
        let format_hint = || {
            Some("expected [Create], [Update], [Archive], [Delete], [Infrastructure], [Batch][...], [Build][Image] or the older NAME:ID - MESSAGE".to_string())
        };
        if piece.text.is_empty() {
            self.error(
                piece.start..piece.start,
                "nothing follows [AutoDeploy]",
                format_hint(),
            );
            return Request::Nothing;
        }
        let Some(colon) = piece.text.find(':') else {
            self.error(
                piece.range(),
                "expected NAME:ID - MESSAGE after [AutoDeploy]",
                format_hint(),
            );
            return Request::Nothing;
        };
        let Some(dash) = piece.text.find(" - ") else {
            self.error(
                piece.range(),
                "expected \" - \" between the deployment id and the message",
                format_hint(),
            );
            return Request::Nothing;
        };
        if dash < colon {
            self.error(
                piece.range(),
                "expected NAME:ID - MESSAGE after [AutoDeploy]",
                format_hint(),
            );
            return Request::Nothing;
        }
        let name_piece = Piece {
            text: &piece.text[..colon],
            start: piece.start,
        };
        let id_piece = Piece {
            text: &piece.text[colon + 1..dash],
            start: piece.start + colon + 1,
        }
        .trimmed();
        let message = Piece {
            text: &piece.text[dash + 3..],
            start: piece.start + dash + 3,
        }
        .trimmed();
        let name = self.name(name_piece);
        let id = self.checked(id_piece, DeploymentId::parse);
        let lower = message.text.to_ascii_lowercase();
        let create = if lower.starts_with("deploy new instance") {
            Some(true)
        } else if lower.starts_with("apply changes") {
            Some(false)
        } else {
            let shown: String = message.text.chars().take(40).collect();
            self.error(
                message.range(),
                format!("unknown message \"{shown}\"; expected \"deploy new instance\" or \"apply changes\""),
                None,
            );
            None
        };
        match (name, id, create) {
            (Some(name), Some(id), Some(create)) => {
                let targets = vec![Target {
                    name,
                    deployment_id: Some(id),
                }];
                if create {
                    Request::Create(targets)
                } else {
                    Request::Update(targets)
                }
            }
            _ => Request::Nothing,
        }
    }
}

/// A "did you mean" hint for a near miss.
fn suggest(got: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| {
            (
                distance(&got.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!("did you mean [{k}]?"))
}

/// Levenshtein distance over characters, for short words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Describes a parse the way the expectations below are written.
    fn describe(title: &str) -> String {
        let parsed = parse_title(title);
        let mut out = match &parsed.value {
            Some(request) => format!("{request:?}"),
            None => "failed".to_string(),
        };
        for d in &parsed.diagnostics {
            out.push_str(&format!(
                "\n{:?} {}..{} {:?}: {}",
                d.severity,
                d.start,
                d.end,
                &title[d.start..d.end],
                d.message
            ));
            if let Some(hint) = &d.hint {
                out.push_str(&format!(" [{hint}]"));
            }
        }
        out
    }

    fn check(title: &str, expected: &str) {
        let got = describe(title);
        assert_eq!(got, expected.trim(), "title: {title:?}");
    }

    #[test]
    fn not_a_deployment() {
        check("Fix typo in README", "Nothing");
        check("", "Nothing");
        check("[WIP] theme", "Nothing");
        check(
            "Revert \"[AutoDeploy][Update] campus|42\"",
            r#"Nothing
Warning 8..20 "[AutoDeploy]": the [AutoDeploy] tag is not at the start of the title, so nothing is deployed [a deployment title starts with [AutoDeploy]]"#,
        );
    }

    #[test]
    fn every_form() {
        check(
            "[AutoDeploy][Update] campus|42",
            r#"Update([Target { name: InstanceName("campus"), deployment_id: Some(DeploymentId("42")) }])"#,
        );
        check(
            "  [AutoDeploy][Create] a|1, b  ",
            r#"Create([Target { name: InstanceName("a"), deployment_id: Some(DeploymentId("1")) }, Target { name: InstanceName("b"), deployment_id: None }])"#,
        );
        check(
            "[AutoDeploy][Archive] a,b",
            r#"Archive([InstanceName("a"), InstanceName("b")])"#,
        );
        check(
            "[AutoDeploy][Delete] retired,old-2",
            r#"Delete([InstanceName("retired"), InstanceName("old-2")])"#,
        );
        check(
            "[AutoDeploy][Build][Image] https://x.org/a.git|main,git@x.org:b.git|v1.0",
            r#"BuildImage([PlatformRef { repository: Repository("https://x.org/a.git"), version: Version("main") }, PlatformRef { repository: Repository("git@x.org:b.git"), version: Version("v1.0") }])"#,
        );
        check(
            "[AutoDeploy][Infrastructure] bump node pool",
            r#"Infrastructure { message: "bump node pool" }"#,
        );
        check(
            "[AutoDeploy][Infrastructure]",
            r#"Infrastructure { message: "" }"#,
        );
        check(
            "[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1",
            r#"BatchUpgrade([PlatformRef { repository: Repository("https://github.com/openedx/edx-platform.git"), version: Version("open-release/sumac.1") }])"#,
        );
        check(
            "[AutoDeploy][Batch][UpgradeTo] 0123abcd",
            r#"BatchUpgradeTo(CommitHash("0123abcd"))"#,
        );
        check(
            "[AutoDeploy] campus:42 - deploy new instance :rocket:",
            r#"Create([Target { name: InstanceName("campus"), deployment_id: Some(DeploymentId("42")) }])"#,
        );
        check(
            "[AutoDeploy] campus:42 - apply changes :tools:",
            r#"Update([Target { name: InstanceName("campus"), deployment_id: Some(DeploymentId("42")) }])"#,
        );
    }

    #[test]
    fn malformed_titles_point_at_the_problem() {
        check(
            "[AutoDeploy][Creat] a",
            r#"failed
Error 13..18 "Creat": unknown type "Creat"; expected one of Create, Update, Archive, Delete, Infrastructure, Batch, Build [did you mean [Create]?]"#,
        );
        check(
            "[autodeploy][Update] a",
            r#"failed
Error 0..12 "[autodeploy]": the tag is spelled "[autodeploy]" [write [AutoDeploy], with this exact case]"#,
        );
        check(
            "[AutoDeploy][Update] Campus|1",
            r#"failed
Error 21..22 "C": uppercase letter 'C' in instance name [instance names use lowercase letters, digits and '-', start with a letter and are at most 49 characters]"#,
        );
        check(
            "[AutoDeploy][Update] a|1,,b",
            r#"failed
Error 25..25 "": empty item in the list [remove the extra comma]"#,
        );
        check(
            "[AutoDeploy][Update] a,a",
            r#"failed
Error 23..24 "a": "a" is listed twice"#,
        );
        check(
            "[AutoDeploy][Update]",
            r#"failed
Error 20..20 "": no instances listed [list instances after the tags, separated by commas]"#,
        );
        check(
            "[AutoDeploy][Archive] a|1",
            r#"failed
Error 23..25 "|1": Archive takes instance names without deployment ids [write [AutoDeploy][Archive] NAME,NAME]"#,
        );
        check(
            "[AutoDeploy][Batch] x",
            r#"failed
Error 12..19 "[Batch]": [Batch] needs a second tag: [Upgrade] or [UpgradeTo] [for example [AutoDeploy][Batch][Upgrade] REPOSITORY|VERSION]"#,
        );
        check(
            "[AutoDeploy][Update] a|1 b|2",
            r#"failed
Error 24..25 " ": character ' ' is not allowed in a deployment id [deployment ids use letters, digits, '.', '_' and '-']"#,
        );
        check(
            "[AutoDeploy] campus:42 - do it",
            r#"failed
Error 25..30 "do it": unknown message "do it"; expected "deploy new instance" or "apply changes""#,
        );
    }

    /// The two forms of issue 15: every problem is an error at its place, and nothing is
    /// requested.
    #[test]
    fn malformed_delete_and_build_image_titles_point_at_the_problem() {
        let name_hint = "[instance names use lowercase letters, digits and '-', start with a letter and are at most 49 characters]";
        let version_hint =
            "[a version is a git branch, tag or commit such as open-release/sumac.1]";
        let repository_hint =
            "[a repository is a URL such as https://github.com/openedx/edx-platform.git]";
        let remote_hint = "[a base image is built from a remote git URL: https://HOST/PATH, http://, ssh:// or git://, or USER@HOST:PATH]";
        let cases: &[(&str, String)] = &[
            (
                "[AutoDeploy][Delete]",
                r#"Error 20..20 "": no instances listed [list instances after the tags, separated by commas]"#.into(),
            ),
            (
                "[AutoDeploy][Delete] a,,b",
                r#"Error 23..23 "": empty item in the list [remove the extra comma]"#.into(),
            ),
            (
                "[AutoDeploy][Delete] Old",
                format!(r#"Error 21..22 "O": uppercase letter 'O' in instance name {name_hint}"#),
            ),
            (
                "[AutoDeploy][Delete] ../a",
                format!(r#"Error 21..22 ".": character '.' is not allowed in an instance name {name_hint}"#),
            ),
            (
                "[AutoDeploy][Delete] $(id)",
                format!(r#"Error 21..22 "$": character '$' is not allowed in an instance name {name_hint}"#),
            ),
            (
                "[AutoDeploy][Delete] a,b,a",
                r#"Error 25..26 "a": "a" is listed twice"#.into(),
            ),
            (
                "[AutoDeploy][Delete] a|1,b|2",
                r#"Error 22..24 "|1": Delete takes instance names without deployment ids [write [AutoDeploy][Delete] NAME,NAME]
Error 26..28 "|2": Delete takes instance names without deployment ids [write [AutoDeploy][Delete] NAME,NAME]"#.into(),
            ),
            (
                "[AutoDeploy][Delete][Now] a",
                r#"Error 20..25 "[Now]": unexpected tag "[Now]" after the type"#.into(),
            ),
            (
                "[AutoDeploy][Deleet] a",
                r#"Error 13..19 "Deleet": unknown type "Deleet"; expected one of Create, Update, Archive, Delete, Infrastructure, Batch, Build [did you mean [Delete]?]"#.into(),
            ),
            (
                "[AutoDeploy][Build] https://x.org/a.git|main",
                r#"Error 12..19 "[Build]": [Build] needs a second tag: [Image] [for example [AutoDeploy][Build][Image] REPOSITORY|VERSION]"#.into(),
            ),
            (
                "[AutoDeploy][Build][Images] https://x.org/a.git|main",
                r#"Error 20..26 "Images": unknown build type "Images"; expected Image [did you mean [Image]?]"#.into(),
            ),
            (
                "[AutoDeploy][Build][Upgrade] https://x.org/a.git|main",
                r#"Error 20..27 "Upgrade": unknown build type "Upgrade"; expected Image"#.into(),
            ),
            (
                "[AutoDeploy][Image] https://x.org/a.git|main",
                r#"Error 13..18 "Image": unknown type "Image"; expected one of Create, Update, Archive, Delete, Infrastructure, Batch, Build"#.into(),
            ),
            (
                "[AutoDeploy][Build][Image]",
                r#"Error 26..26 "": no REPOSITORY|VERSION pairs listed [list REPOSITORY|VERSION pairs after the tags, separated by commas]"#.into(),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git",
                r#"Error 27..46 "https://x.org/a.git": "https://x.org/a.git" is not a REPOSITORY|VERSION pair [write the repository, '|', and the version, such as https://github.com/openedx/edx-platform.git|open-release/sumac.1]"#.into(),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git|",
                format!(r#"Error 47..47 "": the version is empty {version_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] |main",
                format!(r#"Error 27..27 "": the repository is empty {repository_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] edx-platform|main",
                format!(r#"Error 27..39 "edx-platform": "edx-platform" is not a remote git URL {remote_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] file:///srv/a.git|main",
                format!(r#"Error 27..44 "file:///srv/a.git": "file:///srv/a.git" is not a remote git URL {remote_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] --upload-pack=x|main",
                format!(r#"Error 27..28 "-": a repository must not start with '-' {repository_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git|main,https://x.org/a.git|main",
                r#"Error 52..76 "https://x.org/a.git|main": "https://x.org/a.git|main" is listed twice"#.into(),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git|a..b",
                format!(r#"Error 48..50 "..": a version must not contain '..' {version_hint}"#),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git|main,",
                r#"Error 52..52 "": empty item in the list [remove the extra comma]"#.into(),
            ),
            (
                "[AutoDeploy][Build][Image] https://x.org/a.git|main campus",
                format!(r#"Error 51..52 " ": character ' ' is not allowed in a version {version_hint}"#),
            ),
        ];
        for (title, errors) in cases {
            check(title, &format!("failed\n{errors}"));
        }
    }

    #[test]
    fn printing_a_request_and_parsing_it_back_gives_it_again() {
        for title in [
            "[AutoDeploy][Update] campus|42,b",
            "[AutoDeploy][Create] a|x.1",
            "[AutoDeploy][Archive] a,b-2",
            "[AutoDeploy][Infrastructure] hello world",
            "[AutoDeploy][Batch][Upgrade] https://x.org/a.git|main,https://x.org/b.git|v1.0",
            "[AutoDeploy][Batch][UpgradeTo] deadbeef",
            "[AutoDeploy][Delete] a,b-2",
            "[AutoDeploy][Build][Image] https://x.org/a.git|main,git@x.org:b.git|v1.0",
        ] {
            let request = parse_title(title).value.expect(title);
            assert_eq!(request.to_title(), title);
            assert_eq!(parse_title(&request.to_title()).value, Some(request));
        }
    }
}
