//! Instance names: the Kubernetes namespace and part of DNS names, so strictly checked.
//!
//! A name is 1 to 49 bytes of lowercase ASCII letters, digits and `-`, starts with a letter and
//! does not end with `-`. Anything else is refused with the position of the first bad
//! character; a name is never "slugified" into a different one.

use crate::diagnostic::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// The longest instance name (a cloud database-name limit the original tool hit).
pub const MAX_NAME_LEN: usize = 49;

/// A checked instance name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct InstanceName(String);

impl TryFrom<String> for InstanceName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        InstanceName::parse(&text).map_err(|invalid| invalid.message)
    }
}

const HINT: &str = "instance names use lowercase letters, digits and '-', start with a letter and are at most 49 characters";

impl InstanceName {
    /// Checks `text` and returns it as a name.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let fail = |message: String, range: Range<usize>| Invalid::new(range, message, HINT);
        let Some(first) = text.chars().next() else {
            return Err(fail("the instance name is empty".into(), 0..0));
        };
        if let Some((at, c)) = text
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            let what = if c.is_ascii_uppercase() {
                format!("uppercase letter {c:?} in instance name")
            } else {
                format!("character {c:?} is not allowed in an instance name")
            };
            return Err(fail(what, at..at + c.len_utf8()));
        }
        if !first.is_ascii_lowercase() {
            return Err(fail(
                format!("instance name starts with {first:?}; it must start with a letter"),
                0..first.len_utf8(),
            ));
        }
        if text.len() > MAX_NAME_LEN {
            return Err(fail(
                format!(
                    "instance name is {} characters long; the limit is {MAX_NAME_LEN}",
                    text.len()
                ),
                MAX_NAME_LEN..text.len(),
            ));
        }
        if text.ends_with('-') {
            return Err(fail(
                "instance name ends with '-'; it must end with a letter or digit".into(),
                text.len() - 1..text.len(),
            ));
        }
        Ok(InstanceName(text.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for InstanceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks one candidate: `Ok(())` for a valid name, or the expected message prefix and range.
    fn check(input: &str, expected: Result<(), (&str, Range<usize>)>) {
        match (InstanceName::parse(input), expected) {
            (Ok(name), Ok(())) => assert_eq!(name.as_str(), input),
            (Err(e), Err((message, range))) => {
                assert!(
                    e.message.starts_with(message),
                    "{input:?}: got {:?}, expected {message:?}",
                    e.message
                );
                assert_eq!(e.range, range, "{input:?}");
            }
            (got, expected) => panic!("{input:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn valid_names() {
        check("campus", Ok(()));
        check("a", Ok(()));
        check("campus-2", Ok(()));
        check(&"a".repeat(49), Ok(()));
    }

    #[test]
    fn invalid_names() {
        check("", Err(("the instance name is empty", 0..0)));
        check("..", Err(("character '.'", 0..1)));
        check("a/b", Err(("character '/'", 1..2)));
        check("a b", Err(("character ' '", 1..2)));
        check("Campus", Err(("uppercase letter 'C'", 0..1)));
        check("a\nb", Err(("character '\\n'", 1..2)));
        check("a\"b", Err(("character '\"'", 1..2)));
        check("a'b", Err(("character '\\''", 1..2)));
        check("a$b", Err(("character '$'", 1..2)));
        check("a;b", Err(("character ';'", 1..2)));
        check("-a", Err(("instance name starts with '-'", 0..1)));
        check("1a", Err(("instance name starts with '1'", 0..1)));
        check("a-", Err(("instance name ends with '-'", 1..2)));
        check("aé", Err(("character 'é'", 1..3)));
        check(
            &"a".repeat(50),
            Err(("instance name is 50 characters", 49..50)),
        );
    }
}
