//! What a plain scalar means: YAML 1.1's implicit types, as PyYAML's resolver reads them (and
//! so Tutor, which reads `config.yml` with PyYAML; GitLab's Psych follows the same rules).
//!
//! A timestamp stays text (PyYAML would make it a date that prints as the same text).

use super::Value;

/// The value of the plain scalar `text`, taking it.
pub fn plain_owned(text: String) -> Value {
    match plain_kind(&text) {
        Some(value) => value,
        None => Value::Str(text),
    }
}

/// The value of the plain scalar `text`.
pub fn plain(text: &str) -> Value {
    plain_kind(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

/// The value of the plain scalar `text` when it is not text.
fn plain_kind(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Value::Bool(true))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Value::Bool(false))
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    if let Some(n) = int(text) {
        return Some(Value::Int(n));
    }
    float(text).map(Value::Float)
}

/// `[-+]?` then the rest, and whether it was negative.
fn sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// A YAML 1.1 integer: decimal, `0b` binary, `0` octal, `0x` hexadecimal, or base 60
/// (`1:30`), with `_` between digits; `None` for anything else, or one too big for `i64`.
pub fn int(text: &str) -> Option<i64> {
    let (negative, body) = sign(text);
    if body.is_empty() {
        return None;
    }
    let digits = |s: &str, radix: u32| -> Option<i64> {
        let cleaned: String = s.chars().filter(|&c| c != '_').collect();
        if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        i64::from_str_radix(&cleaned, radix).ok()
    };
    let value = if let Some(bin) = body.strip_prefix("0b") {
        digits(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        digits(hex, 16)?
    } else if body.contains(':') {
        // Base 60: [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let head = parts.next()?;
        if !head.starts_with(|c: char| ('1'..='9').contains(&c)) {
            return None;
        }
        let mut value = digits(head, 10)?;
        for part in parts {
            value = value
                .checked_mul(60)?
                .checked_add(i64::from(sexagesimal_digit(part)?))?;
        }
        value
    } else if body == "0" {
        0
    } else if let Some(octal) = body.strip_prefix('0') {
        digits(octal, 8)?
    } else if body.starts_with(|c: char| ('1'..='9').contains(&c)) {
        // (`_` may follow the first digit, never lead.)
        digits(body, 10)?
    } else {
        return None;
    };
    Some(if negative { -value } else { value })
}

/// A YAML 1.1 float: digits with a `.` (and an optional signed exponent), base 60 with a
/// fraction, or `.inf`, `.nan` in their three spellings.
pub fn float(text: &str) -> Option<f64> {
    let (negative, body) = sign(text);
    let signed = |f: f64| if negative { -f } else { f };
    match body {
        ".inf" | ".Inf" | ".INF" => return Some(signed(f64::INFINITY)),
        ".nan" | ".NaN" | ".NAN" if text == body => return Some(f64::NAN),
        _ => {}
    }
    if body.contains(':') {
        // [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
        let (whole, fraction) = body.split_once('.')?;
        if !fraction.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return None;
        }
        let mut parts = whole.split(':');
        let head = parts.next()?;
        if !head.starts_with(|c: char| c.is_ascii_digit())
            || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut value: f64 = head.replace('_', "").parse().ok()?;
        for part in parts {
            value = value * 60.0 + f64::from(sexagesimal_digit(part)?);
        }
        let fraction: String = fraction.chars().filter(|&c| c != '_').collect();
        let fraction: f64 = format!("0.{fraction}0").parse().ok()?;
        return Some(signed(value + fraction));
    }
    // [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?  or  \.[0-9_]+([eE][-+][0-9]+)?
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.')?;
    let whole_ok = whole.is_empty()
        || (whole.starts_with(|c: char| c.is_ascii_digit())
            && whole.chars().all(|c| c.is_ascii_digit() || c == '_'));
    // `.5` takes no sign, and needs a digit or `_` after its dot.
    let fraction_ok = fraction.chars().all(|c| c.is_ascii_digit() || c == '_')
        && (!whole.is_empty() || (!fraction.is_empty() && text == body));
    if !whole_ok || !fraction_ok {
        return None;
    }
    if let Some(exponent) = exponent {
        let digits = exponent.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    let cleaned = if cleaned.starts_with(['-', '+']) {
        cleaned[1..].to_string()
    } else {
        cleaned
    };
    let cleaned = if cleaned.starts_with('.') {
        format!("0{cleaned}")
    } else {
        cleaned
    };
    cleaned.parse::<f64>().ok().map(signed)
}

/// One part after a `:` of a YAML 1.1 base-60 number (`[0-5]?[0-9]`), as its value.
fn sexagesimal_digit(part: &str) -> Option<u8> {
    let ok = (1..=2).contains(&part.len())
        && part.chars().all(|c| c.is_ascii_digit())
        && (part.len() == 1 || part.as_bytes()[0] <= b'5');
    ok.then(|| part.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Value) {
        assert_eq!(plain(text), expected, "{text:?}");
    }

    #[test]
    fn yaml_1_1_types() {
        use Value::*;
        for null in ["", "~", "null", "Null", "NULL"] {
            check(null, Null);
        }
        check("nULL", Str("nULL".into()));
        for t in ["yes", "Yes", "YES", "true", "True", "on", "ON"] {
            check(t, Bool(true));
        }
        for f in ["no", "NO", "false", "off", "Off"] {
            check(f, Bool(false));
        }
        check("y", Str("y".into()));
        check("yEs", Str("yEs".into()));
        check("0", Int(0));
        check("-0", Int(0));
        check("42", Int(42));
        check("+42", Int(42));
        check("1_000", Int(1000));
        check("0777", Int(511));
        check("0o777", Str("0o777".into()));
        check("0x1F", Int(31));
        check("0b101", Int(5));
        check("1:30", Int(90));
        check("190:20:30", Int(685230));
        check("1:60", Str("1:60".into()));
        check("09", Str("09".into()));
        check("99999999999999999999", Str("99999999999999999999".into()));
        check("1.5", Float(1.5));
        check("1.", Float(1.0));
        check(".5", Float(0.5));
        check("-.5", Str("-.5".into()));
        check("0_7", Int(7));
        check("1e3", Str("1e3".into()));
        check("1.0e+3", Float(1000.0));
        check("1.0e3", Str("1.0e3".into()));
        check("-.inf", Float(f64::NEG_INFINITY));
        check("1:30.5", Float(90.5));
        check("3.14.15", Str("3.14.15".into()));
        check("1.2.3", Str("1.2.3".into()));
        check("open-release/sumac.1", Str("open-release/sumac.1".into()));
        check("4f2c9e1d", Str("4f2c9e1d".into()));
        check("2024-01-01", Str("2024-01-01".into()));
        check("-", Str("-".into()));
        check(".", Str(".".into()));
        assert!(matches!(plain(".nan"), Float(f) if f.is_nan()));
        check("-.nan", Str("-.nan".into()));
    }
}
