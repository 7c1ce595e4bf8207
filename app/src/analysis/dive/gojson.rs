//! Go's text conventions where dive's output depends on them: `encoding/json`
//! (`MarshalIndent` with two spaces, `<`, `>`, `&`, U+2028/9 escaped, float formatting),
//! `%v` for floats in CI messages, and raw bytes to Go strings.
//! Hand-written because `serde_json` escapes and formats floats differently, and the
//! `dive --json` document must match dive's byte for byte.

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use std::io::{self, Write};

/// Raw bytes as the string Go's encoder would print: each byte of an invalid UTF-8
/// sequence becomes U+FFFD (Go writes it as the escape `\ufffd`; the decoded string is
/// the same).
pub(crate) fn go_string(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
    out
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`-style exponent: `e+21`, `e-07`.
fn go_exp(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    (mant.to_owned(), exp.parse().unwrap_or(0))
}

/// A float64 as `encoding/json` writes it.
pub(crate) fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mant, exp) = go_exp(f);
        // Go prints e-07 and then trims it to e-7; positive exponents keep their sign
        if exp < 0 {
            format!("{mant}e-{}", -exp)
        } else {
            format!("{mant}e+{exp:02}")
        }
    } else {
        format!("{f}")
    }
}

/// A float64 as `fmt`'s `%v` prints it (`%g` with the shortest digits).
pub(crate) fn go_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_owned()
        } else {
            "-Inf".to_owned()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".to_owned()
        } else {
            "0".to_owned()
        };
    }
    let (mant, exp) = go_exp(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// `json.MarshalIndent(v, "", "  ")`: serde's pretty printer with Go's escaping and
/// float format. No trailing newline, as dive writes it.
pub(crate) fn marshal_indent<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        GoFormatter(PrettyFormatter::with_indent(b"  ")),
    );
    value.serialize(&mut ser)?;
    Ok(out)
}

struct GoFormatter(PrettyFormatter<'static>);

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(json_float(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(json_float(1.0), "1");
        assert_eq!(json_float(0.9999899613411247), "0.9999899613411247");
        assert_eq!(json_float(1.5e-7), "1.5e-7");
        assert_eq!(json_float(2e21), "2e+21");
        assert_eq!(go_v(0.95), "0.95");
        assert_eq!(go_v(1e6), "1e+06");
        assert_eq!(go_v(1.5e-7), "1.5e-07");
        assert_eq!(go_v(123456.0), "123456");
        assert_eq!(go_v(f64::INFINITY), "+Inf");
    }

    #[test]
    fn strings_escape_like_go() {
        let out = marshal_indent(&serde_json::json!({"c": "a > b && c < d\u{2028}"})).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"c\": \"a \\u003e b \\u0026\\u0026 c \\u003c d\\u2028\"\n}"
        );
        assert_eq!(go_string(b"a\xffb\xe2\x82"), "a\u{fffd}b\u{fffd}\u{fffd}");
    }
}
