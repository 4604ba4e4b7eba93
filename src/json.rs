//! A strict JSON reader shared by every file format of the crate (models, inputs, training
//! configurations).
//!
//! It parses numbers with Rust's correctly rounded `f64` parser, so that every finite `f64`
//! written by `serde_json` (shortest round-trip form) reads back bit for bit, and it refuses
//! what `serde_json` accepts silently: a duplicate key in an object (serde keeps the last
//! value) and numbers out of the `f64` range. Produces `serde_json::Value`s; integers stay
//! integers.

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays and objects accepted.
const MAX_DEPTH: usize = 256;

/// Where and why a text is not valid JSON (or uses what this reader refuses: a duplicate
/// key, NaN, a number out of the `f64` range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, e.g. "duplicate key `eps`".
    pub message: String,
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column (in bytes) of the error.
    pub column: usize,
    /// Byte offset of the error in the text.
    pub offset: usize,
    /// True when a complete JSON value was read and characters follow it.
    pub trailing: bool,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for SyntaxError {}

/// Parse one JSON value (surrounded by optional whitespace). Objects with a duplicate key
/// are refused, as are characters after the value.
///
/// ```
/// use nrnn::json::parse;
/// assert_eq!(parse(" [1, 2.5] ").unwrap(), serde_json::json!([1, 2.5]));
/// let e = parse(r#"{"a": 1, "a": 2}"#).unwrap_err();
/// assert!(e.to_string().starts_with("duplicate key `a` at line 1"), "{e}");
/// assert!(parse("{} x").unwrap_err().trailing);
/// ```
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(SyntaxError {
            trailing: true,
            ..p.at("trailing characters after the JSON value")
        });
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at(&self, msg: &str) -> SyntaxError {
        let offset = self.i.min(self.s.len());
        let upto = &self.s[..offset];
        SyntaxError {
            message: msg.to_string(),
            line: upto.iter().filter(|&&b| b == b'\n').count() + 1,
            column: upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1,
            offset,
            trailing: false,
        }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, lit: &str) -> Result<(), SyntaxError> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.at("expected a JSON value (NaN and Infinity are not JSON)"))
        }
    }

    /// The members of an object or the elements of an array, from its opening bracket at
    /// the cursor to past its closing byte `close` (`}` or `]`): the bracket, then either
    /// `close` at once or `item (',' item)* close`, whitespace allowed around each item;
    /// `item` parses one member or element (its leading whitespace already skipped).
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.at(&format!("expected `,` or `{}`", close as char))),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.at("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.at("unexpected end of input")),
            Some(b'{') => {
                let mut map = Map::new();
                self.items(b'}', |p| {
                    if p.peek() != Some(b'"') {
                        return Err(p.at("expected a string key"));
                    }
                    let k = p.string()?;
                    p.ws();
                    if p.peek() != Some(b':') {
                        return Err(p.at("expected `:`"));
                    }
                    p.i += 1;
                    p.ws();
                    let v = p.value(depth + 1)?;
                    if map.insert(k.clone(), v).is_some() {
                        return Err(p.at(&format!("duplicate key `{k}`")));
                    }
                    Ok(())
                })?;
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                let mut arr = Vec::new();
                self.items(b']', |p| {
                    arr.push(p.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(Value::Array(arr))
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.expect("true").map(|_| Value::Bool(true)),
            Some(b'f') => self.expect("false").map(|_| Value::Bool(false)),
            Some(b'n') => self.expect("null").map(|_| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.at("expected a JSON value (NaN and Infinity are not JSON)")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        if self.digits() == 0 {
            return Err(self.at("expected digits in a number"));
        }
        if self.s[int_start] == b'0' && self.i - int_start > 1 {
            return Err(self.at("leading zeros are not allowed in JSON numbers"));
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.at("expected digits after the decimal point"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.at("expected digits in the exponent"));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
        if integer {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::Number(Number::from(u)));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Number(Number::from(i)));
            }
        }
        let f: f64 = text.parse().map_err(|_| self.at("invalid number"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| self.at(&format!("number {text} is out of the f64 range")))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.at("truncated \\u escape"))?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.at("bad \\u escape"));
        }
        let h = std::str::from_utf8(h).expect("ASCII");
        let v = u32::from_str_radix(h, 16).map_err(|_| self.at("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0..=0x1f) {
                self.i += 1;
            }
            out.push_str(
                std::str::from_utf8(&self.s[start..self.i])
                    .map_err(|_| self.at("invalid UTF-8"))?,
            );
            match self.peek() {
                None => return Err(self.at("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.at("unterminated string"))?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.s[self.i..].starts_with(b"\\u") {
                                    return Err(self.at("unpaired surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.at("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| self.at("invalid \\u escape"))?,
                            );
                        }
                        _ => return Err(self.at("invalid escape in string")),
                    }
                }
                Some(_) => return Err(self.at("control character in string")),
            }
        }
    }
}

/// The innermost JSON key written before byte `offset` of `text` (for error messages: the
/// field being read when the parser stopped).
fn key_before(text: &str, offset: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut last = None;
    let mut i = 0;
    while i < end {
        if bytes[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let mut k = j + 1;
            while k < bytes.len() && (bytes[k] as char).is_ascii_whitespace() {
                k += 1;
            }
            if k < end && bytes.get(k) == Some(&b':') {
                last = text.get(start..j.min(bytes.len())).map(str::to_string);
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    last
}

/// Parse a whole file's text with [`parse`]; the error message says "not valid JSON",
/// names the field being read when the parser stopped (except for characters after the
/// value, which belong to no field) and gives the line and column.
///
/// ```
/// let e = nrnn::json::parse_document("{\"a\": 1,\n \"m_a\": [[0.5, 1e999]]}").unwrap_err();
/// assert!(e.contains("in field `m_a`") && e.contains("line 2"), "{e}");
/// let e = nrnn::json::parse_document("{\"v\": [1]} extra").unwrap_err();
/// assert!(e.contains("trailing characters after the JSON value at line 1 column 12"), "{e}");
/// assert!(!e.contains("field"), "{e}");
/// ```
pub fn parse_document(text: &str) -> Result<Value, String> {
    parse(text).map_err(|e| {
        let field = if e.trailing {
            None
        } else {
            key_before(text, e.offset)
        };
        match field {
            Some(k) => format!("not valid JSON in field `{k}`: {e}"),
            None => format!("not valid JSON: {e}"),
        }
    })
}

/// Refuse a key of `obj` that is not in `allowed`: the message names the key (prefixed by
/// `prefix`, e.g. `"noise."`) and lists the allowed ones. Keys are checked in file order.
///
/// ```
/// let v = serde_json::json!({"form": "diag", "epsilon": 0.1});
/// let e = nrnn::json::check_keys(v.as_object().unwrap(), &["form", "eps"], "noise.").unwrap_err();
/// assert_eq!(e, "unknown field `noise.epsilon`: expected only form, eps");
/// ```
pub fn check_keys(
    obj: &serde_json::Map<String, Value>,
    allowed: &[&str],
    prefix: &str,
) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown field `{prefix}{k}`: expected only {}",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// A JSON number for `x`, or `null` when `x` is NaN or infinite (JSON has no such
/// numbers; serde_json would write `null` anyway, this says so in the code).
///
/// ```
/// assert_eq!(nrnn::json::finite_or_null(1.5), serde_json::json!(1.5));
/// assert!(nrnn::json::finite_or_null(f64::NAN).is_null());
/// ```
pub fn finite_or_null(x: f64) -> Value {
    if x.is_finite() {
        Value::from(x)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_before_finds_the_innermost_key() {
        let t = "{\"a\": 1,\n \"m_a\": [[0.5, 1e999]]}";
        let off = t.find("1e999").unwrap();
        assert_eq!(key_before(t, off).as_deref(), Some("m_a"));
    }
}
