//! The parser: YAML text to one [`Node`], enforcing the limits while it reads.
//!
//! It reads the YAML that configs and pipelines are written in: block mappings and sequences
//! (indentless ones too), flow collections, plain, single- and double-quoted scalars on one
//! line or several, literal and folded block scalars, comments, anchors, aliases, tags, merge
//! keys, a byte-order mark, `%YAML` and `---`/`...`. Scalars resolve as YAML 1.1 does (see
//! [`super::resolve`]). What it does not read it refuses, with the place: explicit keys (`?`),
//! `%TAG`, a second document, and the characters PyYAML refuses or reads as line breaks
//! (`U+0085`, `U+2028`, `U+2029`, a lone CR) - never a different value than PyYAML would read.
//!
//! Every limit is kept while reading: the depth of nesting, and every node an alias copies
//! counted against a budget (or, for settings, any alias refused at its `*`). Nothing is read
//! twice, so the time is linear in the text.

use super::{resolve, Limits, Node, Value, YamlError};
use std::collections::HashMap;

/// Where a node starts, which decides what may start there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// At its line's indentation (or at the start of the document).
    LineStart,
    /// After `- ` on the same line: a compact block collection may start here.
    AfterDash,
    /// After `key:` or `---` on the same line: no block collection starts here.
    Inline,
}

pub(super) struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    limits: &'a Limits,
    anchors: HashMap<&'a str, Node>,
    /// Nodes aliases may still copy.
    budget: usize,
    /// The text of the last plain scalar read, unresolved, by where it starts: a tag applies
    /// to it, not to what it resolves to (`!!str ~` is `~`).
    plain_text: Option<(usize, String)>,
}

type Result<T> = std::result::Result<T, YamlError>;

fn is_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_blank_or_end(b: Option<u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str, limits: &'a Limits) -> Parser<'a> {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            limits,
            anchors: HashMap::new(),
            budget: limits.alias_budget(text.len()),
            plain_text: None,
        }
    }

    fn error<T>(&self, at: usize, message: impl Into<String>) -> Result<T> {
        Err(YamlError {
            message: message.into(),
            offset: Some(at.min(self.text.len())),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// The column of `at`: bytes since the start of its line (a byte-order mark counts none).
    fn column_of(&self, at: usize) -> usize {
        let start = self.bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let bom = if start == 0 && self.text.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        at - start - bom.min(at - start)
    }

    fn column(&self) -> usize {
        self.column_of(self.pos)
    }

    /// Refuses what PyYAML refuses or reads as a line break; a CR must come before an LF.
    fn check_characters(&self) -> Result<()> {
        let mut at = 0;
        while at < self.bytes.len() {
            let b = self.bytes[at];
            // Most text is printable ASCII: checked a byte at a time.
            if (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t' {
                at += 1;
                continue;
            }
            let c = self.text[at..].chars().next().unwrap_or('\0');
            let ok = match c {
                '\t' | '\n' | '\u{20}'..='\u{7e}' => true,
                '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' => true,
                '\r' => self.bytes.get(at + 1) == Some(&b'\n'),
                '\u{feff}' => at == 0,
                '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => true,
                _ => false,
            };
            if !ok {
                let what = match c {
                    '\r' => "a carriage return that does not end a line".to_string(),
                    '\u{85}' | '\u{2028}' | '\u{2029}' => format!(
                        "character U+{:04X}, which YAML reads as a line break,",
                        c as u32
                    ),
                    '\u{feff}' => "a byte-order mark that is not at the start".to_string(),
                    _ => format!("the control character U+{:04X}", c as u32),
                };
                return self.error(
                    at,
                    format!("{what} is not allowed; write it escaped in a double-quoted string"),
                );
            }
            at += c.len_utf8();
        }
        Ok(())
    }

    /// The whole stream: one document (or none, which is null).
    pub(super) fn document(&mut self) -> Result<Node> {
        self.check_characters()?;
        if self.text.starts_with('\u{feff}') {
            self.pos = 3;
        }
        // Directives, then `---`.
        let mut explicit = false;
        loop {
            self.skip_space_and_comments()?;
            let Some(b) = self.peek() else { break };
            if b == b'%' && self.column() == 0 {
                self.directive()?;
                continue;
            }
            if self.at_marker(b"---") {
                self.pos += 3;
                explicit = true;
            }
            break;
        }
        let node = if explicit {
            self.skip_inline_space()?;
            if self.at_line_end_or_comment() {
                self.block_node(-1, false)?
            } else {
                self.node_here(-1, Place::Inline)?
            }
        } else {
            self.block_node(-1, false)?
        };
        self.skip_space_and_comments()?;
        if self.at_marker(b"...") {
            self.pos += 3;
            self.skip_space_and_comments()?;
        }
        match self.peek() {
            None => Ok(node),
            Some(_) if self.at_marker(b"---") => self.error(
                self.pos,
                "a second document: a file holds one YAML document",
            ),
            Some(_) => self.error(self.pos, "unexpected text after the document"),
        }
    }

    /// `%YAML 1.x` is taken (as PyYAML takes it); `%TAG` is refused; others are ignored.
    fn directive(&mut self) -> Result<()> {
        let start = self.pos;
        let end = self.line_end(self.pos);
        let line = self.text[start..end]
            .split('#')
            .next()
            .unwrap_or_default()
            .trim_end();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("%YAML") => {
                let ok = matches!(words.next(), Some(v) if v.starts_with("1."))
                    && words.next().is_none();
                if !ok {
                    return self.error(start, "only %YAML 1.x is read");
                }
            }
            Some("%TAG") => return self.error(start, "%TAG directives are not supported"),
            _ => {}
        }
        self.pos = end;
        Ok(())
    }

    /// Whether a document marker (`---`, `...`) is at the current position, at column 0.
    fn at_marker(&self, marker: &[u8]) -> bool {
        self.bytes[self.pos..].starts_with(marker)
            && self.column() == 0
            && is_blank_or_end(self.peek_at(3))
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes[from..]
            .iter()
            .position(|&b| is_break(b))
            .map_or(self.bytes.len(), |i| from + i)
    }

    /// Skips spaces; a tab is refused, as PyYAML refuses it between tokens.
    fn skip_inline_space(&mut self) -> Result<()> {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.refuse_tab()
    }

    /// A tab where YAML takes spaces: only quoted text and block scalars may hold tabs.
    fn refuse_tab(&self) -> Result<()> {
        if self.peek() == Some(b'\t') {
            return self.error(
                self.pos,
                "a tab, where YAML takes spaces only (tabs belong in quoted text and block scalars)",
            );
        }
        Ok(())
    }

    /// Skips spaces and tabs inside quoted text.
    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    /// Whether only a comment or nothing is left on the line.
    fn at_line_end_or_comment(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n' | b'\r' | b'#'))
    }

    /// Skips spaces, comments and line breaks; a tab is refused.
    fn skip_space_and_comments(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\n' | b'\r') => self.pos += 1,
                Some(b'#') => self.pos = self.line_end(self.pos),
                _ => return self.refuse_tab(),
            }
        }
    }

    /// Skips to the next line's start, past a comment; fails on anything else left.
    fn end_line(&mut self) -> Result<()> {
        self.skip_inline_space()?;
        if self.peek() == Some(b'#') {
            self.pos = self.line_end(self.pos);
        }
        match self.peek() {
            None => Ok(()),
            Some(b'\r') => {
                self.pos += 2;
                Ok(())
            }
            Some(b'\n') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => self.error(self.pos, "unexpected text after the value"),
        }
    }

    /// After a value: the rest of its line, unless the value took whole lines (a block
    /// collection or block scalar ends at the start of the line after it).
    fn end_value(&mut self) -> Result<()> {
        let at_line_start = self.pos == 0 || self.bytes[self.pos - 1] == b'\n';
        if at_line_start || self.peek().is_none() {
            Ok(())
        } else {
            self.end_line()
        }
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return self.error(
                at,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// A block node on the following lines, indented more than `parent` (or, with
    /// `indentless`, a sequence at `parent` itself); null when there is none.
    fn block_node(&mut self, parent: isize, indentless: bool) -> Result<Node> {
        let before = self.pos;
        self.skip_space_and_comments()?;
        let column = self.column() as isize;
        let here = self.pos;
        let starts = match self.peek() {
            None => false,
            Some(_) if self.at_marker(b"---") || self.at_marker(b"...") => false,
            Some(b'-') if indentless && column == parent && is_blank_or_end(self.peek_at(1)) => {
                return self.block_sequence(column as usize);
            }
            Some(_) => column > parent,
        };
        if !starts {
            self.pos = before;
            return Ok(Node::new(Value::Null, here..here));
        }
        self.node_here(parent, Place::LineStart)
    }

    /// The node that starts at the current position.
    fn node_here(&mut self, parent: isize, place: Place) -> Result<Node> {
        let start = self.pos;
        let (mut anchor, mut tag) = self.properties()?;
        if anchor.is_some() || tag.is_some() {
            self.skip_inline_space()?;
            if self.at_line_end_or_comment() {
                // The content is on the following lines; its properties may be there too,
                // one anchor and one tag in all.
                let save = self.pos;
                self.skip_space_and_comments()?;
                if matches!(self.peek(), Some(b'!' | b'&')) && self.column() as isize > parent {
                    let at = self.pos;
                    let (more_anchor, more_tag) = self.properties()?;
                    if (anchor.is_some() && more_anchor.is_some())
                        || (tag.is_some() && more_tag.is_some())
                    {
                        return self.error(at, "a node has one anchor and one tag at most");
                    }
                    anchor = anchor.or(more_anchor);
                    tag = tag.or(more_tag);
                    self.skip_inline_space()?;
                    if !self.at_line_end_or_comment() {
                        let node = self.content(parent, Place::Inline, at)?;
                        return self.finish(node, start, anchor, tag);
                    }
                } else {
                    self.pos = save;
                }
                let node = self.block_node(parent, place == Place::Inline)?;
                return self.finish(node, start, anchor, tag);
            }
        }
        let node = self.content(parent, place, start)?;
        if node.span.start == start
            && matches!(node.value, Value::Map(_))
            && (anchor.is_some() || tag.is_some())
        {
            // The properties were the first key's: the mapping was read from before them.
            return Ok(node);
        }
        self.finish(node, start, anchor, tag)
    }

    /// Applies a node's tag, and records its anchor.
    fn finish(
        &mut self,
        mut node: Node,
        start: usize,
        anchor: Option<&'a str>,
        tag: Option<String>,
    ) -> Result<Node> {
        if let Some(tag) = tag {
            // A plain scalar is tagged as written (`!!str ~` is `~`), not as it resolved.
            if !matches!(node.value, Value::Seq(_) | Value::Map(_)) && !node.span.is_empty() {
                let written = self.bytes[node.span.start];
                if !matches!(written, b'"' | b'\'' | b'|' | b'>' | b'*') {
                    node.value = Value::Str(match self.plain_text.take() {
                        Some((at, text)) if at == node.span.start => text,
                        _ => self.text[node.span.clone()].to_string(),
                    });
                }
            }
            node = super::apply_tag(node, &tag).map_err(|message| YamlError {
                message,
                offset: Some(start),
            })?;
        }
        if let Some(anchor) = anchor {
            if self.anchors.insert(anchor, node.clone()).is_some() {
                return self.error(start, format!("the anchor &{anchor} is set twice"));
            }
        }
        Ok(node)
    }

    /// `&anchor` and `!tag`, in either order.
    fn properties(&mut self) -> Result<(Option<&'a str>, Option<String>)> {
        let (mut anchor, mut tag) = (None, None);
        loop {
            match self.peek() {
                Some(b'&') if anchor.is_none() => {
                    let name = self.name(self.pos + 1)?;
                    self.pos += 1 + name.len();
                    anchor = Some(name);
                }
                Some(b'!') if tag.is_none() => {
                    let start = self.pos;
                    while !is_blank_or_end(self.peek())
                        && !self.peek().is_some_and(is_flow_indicator)
                    {
                        self.pos += 1;
                    }
                    tag = Some(self.text[start..self.pos].to_string());
                }
                _ => return Ok((anchor, tag)),
            }
            self.skip_inline_space()?;
        }
    }

    /// An anchor or alias name starting at `from`.
    fn name(&self, from: usize) -> Result<&'a str> {
        let end = self.bytes[from..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || is_flow_indicator(b))
            .map_or(self.bytes.len(), |i| from + i);
        if end == from {
            return self.error(from, "an anchor or alias needs a name");
        }
        Ok(&self.text[from..end])
    }

    /// What starts at the current position, after its properties (which start at
    /// `properties`: a node that turns out to be a mapping's first key takes them, and the
    /// mapping is read from there).
    fn content(&mut self, parent: isize, place: Place, properties: usize) -> Result<Node> {
        let start = self.pos;
        let column = self.column_of(properties);
        let block_allowed = place != Place::Inline;
        match self.peek() {
            None => Ok(Node::new(Value::Null, start..start)),
            Some(b'-') if is_blank_or_end(self.peek_at(1)) => {
                if properties != start {
                    self.error(
                        start,
                        "a block sequence cannot start on the line of an anchor or tag",
                    )
                } else if block_allowed {
                    self.block_sequence(column)
                } else {
                    self.error(
                        start,
                        "a block sequence cannot start on the line of its key",
                    )
                }
            }
            Some(b'?') if is_blank_or_end(self.peek_at(1)) => {
                self.error(start, "explicit keys (`? key`) are not supported")
            }
            Some(b'|' | b'>') => self.block_scalar(parent),
            Some(b'*') => {
                let node = self.alias()?;
                self.key_or(node, properties, block_allowed)
            }
            Some(b'[' | b'{') => {
                let node = self.flow_collection()?;
                self.skip_inline_space()?;
                if self.is_value_indicator(false) {
                    return self.error(start, "a collection cannot be a mapping key");
                }
                Ok(node)
            }
            Some(b'"' | b'\'') => {
                let node = self.quoted()?;
                self.key_or(node, properties, block_allowed)
            }
            Some(b'%' | b'@' | b'`') => self.error(
                start,
                format!(
                    "a plain value cannot start with {:?}",
                    self.peek().map(char::from).unwrap_or(' ')
                ),
            ),
            Some(b'#') => Ok(Node::new(Value::Null, start..start)),
            Some(b':') if is_blank_or_end(self.peek_at(1)) => {
                self.error(start, "a mapping entry without a key")
            }
            Some(_) => {
                // A plain scalar: a key when `:` follows it on this line.
                if self.implicit_key_end().is_some() {
                    if !block_allowed {
                        return self.error(start, "a mapping cannot start on the line of its key");
                    }
                    self.pos = properties;
                    return self.block_mapping(column);
                }
                self.plain(parent, false)
            }
        }
    }

    /// After a scalar or alias at the start of a node (its properties at `properties`): it is
    /// a key if `:` follows, and the node is then a block mapping read from its properties;
    /// else it is the node. A key is on one line.
    fn key_or(&mut self, node: Node, properties: usize, block_allowed: bool) -> Result<Node> {
        self.skip_inline_space()?;
        if self.is_value_indicator(false) {
            if !block_allowed {
                return self.error(
                    node.span.start,
                    "a mapping cannot start on the line of its key",
                );
            }
            if self.text[node.span.clone()].contains('\n') {
                return self.error(
                    node.span.start,
                    "a key that spans lines: a key is on one line",
                );
            }
            let column = self.column_of(properties);
            self.pos = properties;
            return self.block_mapping(column);
        }
        Ok(node)
    }

    /// Whether a `:` that introduces a value is at the current position.
    fn is_value_indicator(&self, flow: bool) -> bool {
        self.peek() == Some(b':')
            && (is_blank_or_end(self.peek_at(1))
                || (flow && self.peek_at(1).is_some_and(is_flow_indicator)))
    }

    /// If a plain implicit key starts at the current position, where its `:` is.
    fn implicit_key_end(&self) -> Option<usize> {
        let end = self.line_end(self.pos);
        let line = &self.bytes[self.pos..end];
        let mut i = 0;
        while i < line.len() {
            match line[i] {
                b':' if is_blank_or_end(line.get(i + 1).copied()) => return Some(self.pos + i),
                b'#' if i > 0 && is_blank(line[i - 1]) => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// A block mapping whose keys are at `indent`, starting at the current position.
    fn block_mapping(&mut self, indent: usize) -> Result<Node> {
        let start = self.pos;
        self.enter(start)?;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        loop {
            let key_start = self.pos;
            let (anchor, tag) = self.properties()?;
            let key = match self.peek() {
                Some(b'"' | b'\'') => {
                    let key = self.quoted()?;
                    if self.text[key.span.clone()].contains('\n') {
                        return self.error(
                            key.span.start,
                            "a key that spans lines: a key is on one line",
                        );
                    }
                    key
                }
                Some(b'*') => self.alias()?,
                Some(b'?') if is_blank_or_end(self.peek_at(1)) => {
                    return self.error(self.pos, "explicit keys (`? key`) are not supported")
                }
                Some(b'[' | b'{') => {
                    return self.error(self.pos, "a collection cannot be a mapping key")
                }
                Some(b'-') if is_blank_or_end(self.peek_at(1)) => {
                    return self.error(
                        self.pos,
                        "a sequence entry where a mapping key was expected",
                    )
                }
                Some(b':') if is_blank_or_end(self.peek_at(1)) => {
                    return self.error(self.pos, "a mapping entry without a key")
                }
                _ => self.plain_key()?,
            };
            let key = self.finish(key, key_start, anchor, tag)?;
            self.skip_inline_space()?;
            if !self.is_value_indicator(false) {
                return self.error(self.pos, "expected `:` after the mapping key");
            }
            self.pos += 1;
            let value = self.value_after_indicator(indent, true, Place::Inline)?;
            entries.push((key, value));
            // The next entry, or the end of the mapping.
            let before = self.pos;
            self.skip_space_and_comments()?;
            if self.peek().is_none() || self.at_marker(b"---") || self.at_marker(b"...") {
                self.pos = before;
                break;
            }
            let column = self.column();
            if column < indent {
                self.pos = before;
                break;
            }
            if column > indent {
                return self.error(
                    self.pos,
                    "this line is indented more than the keys before it",
                );
            }
            if matches!(self.peek(), Some(b'|' | b'>')) {
                return self.error(
                    self.pos,
                    "a block scalar at the indentation of the keys: indent it under its key",
                );
            }
        }
        self.leave();
        self.refuse_duplicates(&entries)?;
        let end = entries
            .last()
            .map_or(start, |(_, v)| v.span.end.max(v.span.start));
        let node = Node::new(Value::Map(entries), start..end.max(start));
        super::merge(node).map_err(|(message, at)| YamlError {
            message,
            offset: Some(at),
        })
    }

    /// Refuses a mapping that sets a key twice, at the second.
    fn refuse_duplicates(&self, entries: &[(Node, Node)]) -> Result<()> {
        let duplicate = if entries.len() <= 16 {
            (1..entries.len()).find_map(|i| {
                entries[..i]
                    .iter()
                    .find(|(k, _)| k.value == entries[i].0.value)
                    .map(|(k, _)| (k.span.start, entries[i].0.span.start))
            })
        } else {
            let mut seen: HashMap<std::borrow::Cow<str>, usize> =
                HashMap::with_capacity(entries.len());
            entries.iter().find_map(|(k, _)| {
                let identity = match &k.value {
                    Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                    other => std::borrow::Cow::Owned(format!("\0{}", other.identity())),
                };
                seen.insert(identity, k.span.start)
                    .map(|first| (first, k.span.start))
            })
        };
        match duplicate {
            None => Ok(()),
            Some((first, again)) => {
                let line = super::line_of(self.text, first);
                self.error(again, format!("this key is already set on line {line}"))
            }
        }
    }

    /// A plain scalar that is a key: one line, up to its `: `.
    fn plain_key(&mut self) -> Result<Node> {
        let start = self.pos;
        let Some(colon) = self.implicit_key_end() else {
            return self.error(start, "expected a `key: value` entry of the mapping");
        };
        let text = self.text[start..colon].trim_end_matches(' ');
        self.check_plain_start(start, false)?;
        if let Some(tab) = text.find('\t') {
            self.pos = start + tab;
            self.refuse_tab()?;
        }
        if text.len() > 1024 {
            return self.error(start, "a key is longer than 1024 characters");
        }
        self.pos = start + text.len();
        self.plain_text = None;
        Ok(Node::new(resolve::plain(text), start..self.pos))
    }

    /// The value after a mapping's `:` or a sequence's `-` (just past it) at `indent`: a block
    /// node on the lines below when the line ends there, else the node on this line.
    fn value_after_indicator(
        &mut self,
        indent: usize,
        in_mapping: bool,
        place: Place,
    ) -> Result<Node> {
        self.skip_inline_space()?;
        if self.at_line_end_or_comment() {
            self.block_node(indent as isize, in_mapping)
        } else {
            let node = self.node_here(indent as isize, place)?;
            self.end_value()?;
            Ok(node)
        }
    }

    /// A block sequence whose `- ` are at `indent`.
    fn block_sequence(&mut self, indent: usize) -> Result<Node> {
        let start = self.pos;
        self.enter(start)?;
        let mut items = Vec::new();
        loop {
            // At `-`.
            self.pos += 1;
            let item = self.value_after_indicator(indent, false, Place::AfterDash)?;
            items.push(item);
            let before = self.pos;
            self.skip_space_and_comments()?;
            if self.peek().is_none() || self.at_marker(b"---") || self.at_marker(b"...") {
                self.pos = before;
                break;
            }
            let column = self.column();
            if column == indent && matches!(self.peek(), Some(b'|' | b'>')) {
                return self.error(
                    self.pos,
                    "a block scalar at the indentation of the entries: indent it under its `-`",
                );
            }
            if column < indent || self.peek() != Some(b'-') || !is_blank_or_end(self.peek_at(1)) {
                if column > indent {
                    return self.error(
                        self.pos,
                        "this line is indented more than the entries before it",
                    );
                }
                self.pos = before;
                break;
            }
            if column > indent {
                return self.error(
                    self.pos,
                    "this line is indented more than the entries before it",
                );
            }
        }
        self.leave();
        let end = items.last().map_or(start, |n: &Node| n.span.end);
        Ok(Node::new(Value::Seq(items), start..end.max(start)))
    }

    /// `*name`: a copy of the anchored node, within the budget (or refused, for settings).
    fn alias(&mut self) -> Result<Node> {
        let start = self.pos;
        if !self.limits.aliases {
            return self.error(
                start,
                "YAML aliases (*name) are not allowed in settings files",
            );
        }
        let name = self.name(start + 1)?;
        self.pos = start + 1 + name.len();
        let Some(node) = self.anchors.get(name) else {
            return self.error(
                start,
                format!("the alias *{name} names no anchor before it"),
            );
        };
        let size = node.size();
        if size > self.budget {
            return self.error(
                start,
                "the aliases of this file expand to too much: refused, as a \"billion laughs\" file would be",
            );
        }
        self.budget -= size;
        let mut copy = node.clone();
        copy.span = start..self.pos;
        Ok(copy)
    }

    /// Refuses a plain scalar that starts with an indicator.
    fn check_plain_start(&self, at: usize, flow: bool) -> Result<()> {
        let b = self.bytes[at];
        let next = self.bytes.get(at + 1).copied();
        let ok = match b {
            // In a flow collection, `?` and `:` never start a plain value (as in PyYAML).
            b'?' | b':' if flow => false,
            b'-' | b'?' | b':' => {
                !(is_blank_or_end(next) || (flow && next.is_some_and(is_flow_indicator)))
            }
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => false,
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            self.error(
                at,
                format!("a plain value cannot start with {:?}", char::from(b)),
            )
        }
    }

    /// A plain scalar, over one line or several (continuation lines indented more than
    /// `parent`, or anywhere in a flow collection), folded as YAML folds it.
    fn plain(&mut self, parent: isize, flow: bool) -> Result<Node> {
        let start = self.pos;
        self.check_plain_start(start, flow)?;
        let mut out = String::new();
        let mut end = start;
        loop {
            // One line's part.
            let line_start = self.pos;
            let mut i = self.pos;
            while i < self.bytes.len() {
                let b = self.bytes[i];
                if is_break(b) || b == b'\t' {
                    break;
                }
                if b == b':' {
                    let next = self.bytes.get(i + 1).copied();
                    if is_blank_or_end(next) || (flow && next.is_some_and(is_flow_indicator)) {
                        break;
                    }
                }
                if b == b'#' && i > line_start && is_blank(self.bytes[i - 1]) {
                    break;
                }
                if flow && (is_flow_indicator(b) || b == b'?') {
                    break;
                }
                i += 1;
            }
            let part = self.text[line_start..i].trim_end_matches(' ');
            if !part.is_empty() {
                out.push_str(part);
                end = line_start + part.len();
            }
            self.pos = line_start + part.len();
            // A continuation on a later line?
            let save = self.pos;
            self.skip_inline_space()?;
            if !matches!(self.peek(), Some(b'\n' | b'\r')) {
                self.pos = save;
                break;
            }
            let mut breaks = 0;
            let mut probe = self.pos;
            loop {
                // Past the line break and the next line's indentation.
                if self.bytes.get(probe) == Some(&b'\r') {
                    probe += 1;
                }
                probe += 1;
                breaks += 1;
                while self.bytes.get(probe) == Some(&b' ') {
                    probe += 1;
                }
                if !self.bytes.get(probe).is_some_and(|&b| is_break(b)) {
                    break;
                }
            }
            let Some(&next) = self.bytes.get(probe) else {
                self.pos = save;
                break;
            };
            let column = self.column_of(probe) as isize;
            let marker = column == 0
                && (self.bytes[probe..].starts_with(b"---")
                    || self.bytes[probe..].starts_with(b"..."))
                && is_blank_or_end(self.bytes.get(probe + 3).copied());
            let value_indicator = next == b':' && {
                let after = self.bytes.get(probe + 1).copied();
                is_blank_or_end(after) || (flow && after.is_some_and(is_flow_indicator))
            };
            let continues = next != b'#'
                && !marker
                && (flow || column > parent)
                && !(flow && (is_flow_indicator(next) || next == b'?' || value_indicator));
            if !continues {
                self.pos = save;
                break;
            }
            if !flow {
                // A continuation line of a plain value may not hold a `key: value`.
                let line_end = self.line_end(probe);
                let rest = &self.bytes[probe..line_end];
                if rest.windows(2).any(|w| w[0] == b':' && is_blank(w[1])) || rest.ends_with(b":") {
                    return self.error(probe, "a `key: value` entry where a plain value continues: indent it as a mapping, or quote the value");
                }
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                for _ in 1..breaks {
                    out.push('\n');
                }
            }
            self.pos = probe;
        }
        // A tag applies to the text as written; one line's text is the span's, so only a
        // folded value keeps its own.
        self.plain_text = (out.len() != end - start).then(|| (start, out.clone()));
        Ok(Node::new(resolve::plain_owned(out), start..end))
    }

    /// A single- or double-quoted scalar.
    fn quoted(&mut self) -> Result<Node> {
        let start = self.pos;
        let quote = self.bytes[start];
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                return self.error(start, "this quoted value is not closed");
            };
            match b {
                b'\'' if quote == b'\'' => {
                    if self.peek_at(1) == Some(b'\'') {
                        out.push('\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        break;
                    }
                }
                b'"' if quote == b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' if quote == b'"' => {
                    let at = self.pos;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return self.error(start, "this quoted value is not closed");
                    };
                    self.pos += 1;
                    let simple = match e {
                        b'0' => Some('\0'),
                        b'a' => Some('\u{7}'),
                        b'b' => Some('\u{8}'),
                        b't' | b'\t' => Some('\t'),
                        b'n' => Some('\n'),
                        b'v' => Some('\u{b}'),
                        b'f' => Some('\u{c}'),
                        b'r' => Some('\r'),
                        b'e' => Some('\u{1b}'),
                        b' ' => Some(' '),
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'N' => Some('\u{85}'),
                        b'_' => Some('\u{a0}'),
                        b'L' => Some('\u{2028}'),
                        b'P' => Some('\u{2029}'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        continue;
                    }
                    let digits = match e {
                        b'x' => 2,
                        b'u' => 4,
                        b'U' => 8,
                        b'\n' | b'\r' => {
                            // An escaped line break: the break and the next line's
                            // indentation are dropped.
                            if e == b'\r' {
                                self.pos += 1;
                            }
                            self.skip_blanks();
                            continue;
                        }
                        _ => return self.error(at, "unknown escape sequence"),
                    };
                    let hex = self
                        .text
                        .get(self.pos..self.pos + digits)
                        .unwrap_or_default();
                    let code = (hex.len() == digits && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                    let Some(c) = code else {
                        return self.error(at, "invalid escape: not a character code");
                    };
                    out.push(c);
                    self.pos += digits;
                }
                b'\n' | b'\r' => {
                    // Folding: trailing blanks go, one break is a space, more are breaks.
                    while out.ends_with([' ', '\t']) {
                        out.pop();
                    }
                    let mut breaks = 0;
                    loop {
                        if self.peek() == Some(b'\r') {
                            self.pos += 1;
                        }
                        self.pos += 1;
                        breaks += 1;
                        self.skip_blanks();
                        if !matches!(self.peek(), Some(b'\n' | b'\r')) {
                            break;
                        }
                    }
                    if self.at_marker(b"---") || self.at_marker(b"...") {
                        return self.error(self.pos, "a document marker inside a quoted value");
                    }
                    if breaks == 1 {
                        out.push(' ');
                    } else {
                        for _ in 1..breaks {
                            out.push('\n');
                        }
                    }
                }
                _ => {
                    let len = self.text[self.pos..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                    out.push_str(&self.text[self.pos..self.pos + len]);
                    self.pos += len;
                }
            }
        }
        Ok(Node::new(Value::Str(out), start..self.pos))
    }

    /// A literal (`|`) or folded (`>`) block scalar, as PyYAML reads it.
    fn block_scalar(&mut self, parent: isize) -> Result<Node> {
        let start = self.pos;
        let folded = self.bytes[start] == b'>';
        self.pos += 1;
        let (mut chomping, mut increment): (Option<bool>, Option<usize>) = (None, None);
        for _ in 0..2 {
            match self.peek() {
                Some(b'+' | b'-') if chomping.is_none() => {
                    chomping = Some(self.peek() == Some(b'+'));
                    self.pos += 1;
                }
                Some(d @ b'1'..=b'9') if increment.is_none() => {
                    increment = Some(usize::from(d - b'0'));
                    self.pos += 1;
                }
                Some(b'0') => {
                    return self.error(self.pos, "a block scalar's indentation cannot be 0")
                }
                _ => break,
            }
        }
        if !is_blank_or_end(self.peek()) {
            return self.error(self.pos, "a block scalar's `|` or `>` takes `+`, `-` or a digit, then a space or the end of the line");
        }
        self.skip_inline_space()?;
        if !self.at_line_end_or_comment() {
            return self.error(
                self.pos,
                "unexpected text after a block scalar's `|` or `>`",
            );
        }
        self.pos = self.line_end(self.pos);
        self.line_break();
        let min_indent = (parent + 1).max(1) as usize;
        let (mut breaks, indent) = match increment {
            None => {
                let mut breaks = String::new();
                let mut max_indent = 0;
                while let Some(b) = self.peek() {
                    match b {
                        b' ' => {
                            self.pos += 1;
                            max_indent = max_indent.max(self.column());
                        }
                        b'\n' | b'\r' => {
                            self.line_break();
                            breaks.push('\n');
                        }
                        _ => break,
                    }
                }
                (breaks, min_indent.max(max_indent))
            }
            Some(n) => {
                let indent = min_indent + n - 1;
                (self.block_breaks(indent), indent)
            }
        };
        let mut out = String::new();
        let mut line_break = String::new();
        while self.column() == indent && self.peek().is_some() {
            out.push_str(&breaks);
            let leading_non_space = !matches!(self.peek(), Some(b' ' | b'\t'));
            let end = self.line_end(self.pos);
            out.push_str(&self.text[self.pos..end]);
            self.pos = end;
            line_break = if self.line_break() {
                "\n".to_string()
            } else {
                String::new()
            };
            breaks = self.block_breaks(indent);
            if self.column() == indent && self.peek().is_some() {
                if folded
                    && line_break == "\n"
                    && leading_non_space
                    && !matches!(self.peek(), Some(b' ' | b'\t'))
                {
                    if breaks.is_empty() {
                        out.push(' ');
                    }
                } else {
                    out.push_str(&line_break);
                }
            } else {
                break;
            }
        }
        if chomping != Some(false) {
            out.push_str(&line_break);
        }
        if chomping == Some(true) {
            out.push_str(&breaks);
        }
        // The next line starts where the scalar's lines end.
        let mut end = self.pos;
        while end > start && matches!(self.bytes[end - 1], b' ') {
            end -= 1;
        }
        self.pos = end;
        Ok(Node::new(Value::Str(out), start..end))
    }

    /// Consumes a line break; whether there was one.
    fn line_break(&mut self) -> bool {
        match self.peek() {
            Some(b'\r') => {
                self.pos += 2;
                true
            }
            Some(b'\n') => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// Empty lines inside a block scalar (as line breaks), and the indentation up to `indent`.
    fn block_breaks(&mut self, indent: usize) -> String {
        let mut breaks = String::new();
        while self.column() < indent && self.peek() == Some(b' ') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(b'\n' | b'\r')) {
            self.line_break();
            breaks.push('\n');
            while self.column() < indent && self.peek() == Some(b' ') {
                self.pos += 1;
            }
        }
        breaks
    }

    /// `[...]` or `{...}`.
    fn flow_collection(&mut self) -> Result<Node> {
        let start = self.pos;
        let mapping = self.bytes[start] == b'{';
        let close = if mapping { b'}' } else { b']' };
        self.enter(start)?;
        self.pos += 1;
        let mut items: Vec<Node> = Vec::new();
        let mut entries: Vec<(Node, Node)> = Vec::new();
        loop {
            self.skip_space_and_comments()?;
            match self.peek() {
                None => return self.error(start, "this flow collection is not closed"),
                Some(b) if b == close => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => return self.error(self.pos, "an empty entry in a flow collection"),
                _ => {}
            }
            if self.peek() == Some(b'?') {
                return self.error(self.pos, "explicit keys (`? key`) are not supported");
            }
            let key = self.flow_node()?;
            self.skip_space_and_comments()?;
            let pair = if self.is_value_indicator(true)
                || (self.peek() == Some(b':')
                    && matches!(key.value, Value::Str(_))
                    && self.quoted_before())
            {
                if self.text[key.span.start..self.pos].contains('\n') {
                    return self.error(
                        key.span.start,
                        "a key that spans lines: a key is on one line, with its `:`",
                    );
                }
                self.pos += 1;
                self.skip_space_and_comments()?;
                let value = match self.peek() {
                    Some(b',') => Node::new(Value::Null, self.pos..self.pos),
                    Some(b) if b == close => Node::new(Value::Null, self.pos..self.pos),
                    _ => self.flow_node()?,
                };
                Some(value)
            } else {
                None
            };
            if mapping {
                let value =
                    pair.unwrap_or_else(|| Node::new(Value::Null, key.span.end..key.span.end));
                entries.push((key, value));
            } else {
                items.push(match pair {
                    Some(value) => {
                        let span = key.span.start..value.span.end;
                        Node::new(Value::Map(vec![(key, value)]), span)
                    }
                    None => key,
                });
            }
            self.skip_space_and_comments()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {}
                None => return self.error(start, "this flow collection is not closed"),
                Some(_) => {
                    return self.error(self.pos, "expected `,` or the end of the flow collection")
                }
            }
        }
        self.leave();
        self.refuse_duplicates(&entries)?;
        let span = start..self.pos;
        if mapping {
            super::merge(Node::new(Value::Map(entries), span)).map_err(|(message, at)| YamlError {
                message,
                offset: Some(at),
            })
        } else {
            Ok(Node::new(Value::Seq(items), span))
        }
    }

    /// Whether the character before the current position closes a quoted scalar (after
    /// which `:` introduces a value even when no space follows, as in JSON).
    fn quoted_before(&self) -> bool {
        self.pos > 0 && matches!(self.bytes[self.pos - 1], b'"' | b'\'')
    }

    /// A node inside a flow collection.
    fn flow_node(&mut self) -> Result<Node> {
        let start = self.pos;
        let (anchor, tag) = self.properties()?;
        self.skip_space_and_comments()?;
        let node = match self.peek() {
            Some(b'[' | b'{') => self.flow_collection()?,
            Some(b'"' | b'\'') => self.quoted()?,
            Some(b'*') => self.alias()?,
            Some(b',' | b']' | b'}') | None => Node::new(Value::Null, self.pos..self.pos),
            Some(b':') => return self.error(self.pos, "a mapping entry without a key"),
            Some(b'|' | b'>') => {
                return self.error(
                    self.pos,
                    "a block scalar cannot be inside a flow collection",
                )
            }
            Some(b'-') if is_blank_or_end(self.peek_at(1)) => {
                return self.error(
                    self.pos,
                    "a block sequence cannot be inside a flow collection",
                )
            }
            _ => self.plain(-1, true)?,
        };
        self.finish(node, start, anchor, tag)
    }
}
