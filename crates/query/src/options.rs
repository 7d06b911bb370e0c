//! The query string of a request (`$select=…&$filter=…&@p1=…`) turned into
//! one [`QueryOptions`].

use std::collections::HashMap;

use crate::ast::QueryOptions;
use crate::parser::{apply_in, expand_in, filter_in, orderby_in, scan_to, select_in, AliasCtx, ParseError, Span};

/// Parses the raw query string of a URL (the part after `?`; a leading `?`
/// is tolerated).
///
/// Each `key=value` pair is percent-decoded the way HTML forms are
/// (`application/x-www-form-urlencoded`): `%XX` becomes that byte and `+`
/// becomes a space. Clients build OData URLs with `encodeURIComponent` or an
/// equivalent, which sends a literal plus as `%2B`, so a raw `+` can only
/// have meant a space. A `%` not followed by two hex digits is kept as is.
/// The decoded bytes must be UTF-8.
///
/// Option names are matched case-insensitively (OData 4.01). `@name=value`
/// pairs are parameter aliases usable in `$filter` (also inside `$expand`
/// and `$apply`); other parameters without `$` or `@` are ignored.
pub fn parse_query_options(query: &str) -> Result<QueryOptions, ParseError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((decode(k)?, decode(v)?));
    }

    let mut aliases: HashMap<&str, &str> = HashMap::new();
    for (k, v) in &pairs {
        if k.starts_with('@') && aliases.insert(k.as_str(), v.as_str()).is_some() {
            return Err(ParseError::general(format!("parameter alias '{k}' is given more than once")));
        }
    }
    let resolve = |name: &str| aliases.get(name).map(|v| v.to_string());
    let ctx = AliasCtx::new(&resolve);

    let mut opts = QueryOptions::default();
    let mut seen = Vec::new();
    for (k, v) in &pairs {
        if k.starts_with('$') {
            apply_option(&mut opts, &mut seen, k, Span::whole(v, k), Some(&ctx), 0)?;
        }
    }
    Ok(opts)
}

/// Parses the options inside the parentheses of one `$expand` item:
/// `$select=a,b;$filter=statecode eq 0;$expand=nav($select=c)`.
pub fn parse_expand_options(s: &str) -> Result<QueryOptions, ParseError> {
    options_in(Span::whole(s, "$expand"), None, 1)
}

/// `;`-separated options of a nested `$expand`; positions in errors are
/// relative to the whole `$expand` value.
pub(crate) fn options_in(
    span: Span<'_>,
    aliases: Option<&AliasCtx<'_>>,
    depth: usize,
) -> Result<QueryOptions, ParseError> {
    let mut opts = QueryOptions::default();
    let mut seen = Vec::new();
    let mut i = span.start;
    while i <= span.end {
        let stop = scan_to(span, i, b';')?;
        let part = span.sub(i, stop).trimmed();
        i = stop + 1;
        let text = part.text();
        if text.is_empty() {
            continue;
        }
        let Some(eq) = text.find('=') else {
            return Err(part.error(part.start, format!("expected '=' after '{}'", shorten(text))));
        };
        let name = text.get(..eq).unwrap_or("").trim_end();
        if !name.starts_with('$') {
            return Err(part.error(
                part.start,
                format!("expected a query option such as '$select' but found '{}'", shorten(name)),
            ));
        }
        let value = part.sub(part.start + eq + 1, part.end).trimmed();
        apply_option(&mut opts, &mut seen, name, value, aliases, depth)?;
    }
    Ok(opts)
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}

fn apply_option(
    opts: &mut QueryOptions,
    seen: &mut Vec<String>,
    name: &str,
    value: Span<'_>,
    aliases: Option<&AliasCtx<'_>>,
    depth: usize,
) -> Result<(), ParseError> {
    let key = name.to_ascii_lowercase();
    if seen.contains(&key) {
        return Err(ParseError::general(format!("query option '{name}' is given more than once")));
    }
    match key.as_str() {
        "$select" => opts.select = Some(select_in(value)?),
        "$filter" => opts.filter = Some(filter_in(value, aliases)?),
        "$orderby" => opts.orderby = orderby_in(value)?,
        "$top" => opts.top = Some(non_negative(value)?),
        "$skip" => opts.skip = Some(non_negative(value)?),
        "$count" => {
            let t = value.text();
            opts.count = if t.eq_ignore_ascii_case("true") {
                true
            } else if t.eq_ignore_ascii_case("false") {
                false
            } else {
                return Err(value.error(value.start, format!("expected 'true' or 'false' but found '{}'", shorten(t))));
            };
        }
        "$expand" => opts.expand = expand_in(value, aliases, depth)?,
        "$apply" => opts.apply = apply_in(value, aliases)?,
        "$skiptoken" => opts.skiptoken = Some(value.text().to_string()),
        _ => return Err(ParseError::general(format!("unknown query option '{}'", shorten(name)))),
    }
    seen.push(key);
    Ok(())
}

fn non_negative(value: Span<'_>) -> Result<u64, ParseError> {
    let t = value.text();
    // `u64::from_str` also takes a leading `+`, which OData does not allow.
    if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(n) = t.parse() {
            return Ok(n);
        }
        return Err(value.error(value.start, format!("'{}' is too large", shorten(t))));
    }
    let shown = if t.is_empty() { "nothing".to_string() } else { format!("'{}'", shorten(t)) };
    Err(value.error(value.start, format!("expected a non-negative integer but found {shown}")))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoding with `+` as space; invalid UTF-8 is an error rather
/// than silently replaced, so what is filtered on is what was sent.
fn decode(s: &str) -> Result<String, ParseError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ParseError::general("the query string is not valid UTF-8 after percent-decoding"))
}

/// A `$filter` string literal to put inside a query string: quotes
/// doubled, then percent-encoded so that `&`, `+`, `%` and `#` in values
/// survive [`parse_query_options`]'s decoding.
pub fn string_literal(s: &str) -> String {
    let quoted = format!("'{}'", s.replace('\'', "''"));
    let mut out = String::with_capacity(quoted.len());
    for b in quoted.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'\'' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decode("a%20b+c%2Bd").unwrap(), "a b c+d");
        assert_eq!(decode("100%").unwrap(), "100%");
        assert_eq!(decode("%zz%4").unwrap(), "%zz%4");
        assert_eq!(decode("%D0%A0").unwrap(), "Р");
        assert!(decode("%FF").is_err());
    }

    #[test]
    fn string_literals_survive_decoding() {
        let literal = super::string_literal("Smith & Jones + O'Brien 100% #1");
        assert_eq!(decode(&literal).unwrap(), "'Smith & Jones + O''Brien 100% #1'");
    }
}
