//! The template engine: minijinja configured for writing layout markup, with
//! the formatting filters and markup-safe output of values.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Rest, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use rust_decimal::Decimal;

use crate::format::{self, CurrencyInfo, DateStyle, Lang};
use crate::PrintError;

/// Work budget for one render. minijinja charges instructions and the bytes
/// a template produces; a 2 000-line invoice uses well under a tenth of it,
/// while a runaway loop stops quickly instead of eating memory.
const FUEL: u64 = 20_000_000;

/// Deeper JSON than this is not a print context; cutting it off keeps the
/// conversion's recursion bounded.
const MAX_JSON_DEPTH: usize = 64;

pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
        env.set_syntax(syntax);
    }
    // Missing values, and attributes of missing values, print as nothing.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::Custom("markup".into()));
    env.set_formatter(markup_formatter);
    env.set_fuel(Some(FUEL));
    env.add_filter("money", money);
    env.add_filter("amount", amount);
    env.add_filter("number", number);
    env.add_filter("date", date);
    env.add_filter("amount_in_words", amount_in_words);
    env.add_test("nonzero", is_nonzero);
    env.add_function("add", add);
    env
}

/// Writes a value into the markup so that data can never be taken for
/// markup: characters with a meaning are backslash-escaped and line breaks
/// in a value become `<br>`, keeping a table row on one line.
fn markup_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(());
    }
    if value.is_safe() || matches!(state.auto_escape(), AutoEscape::None) {
        return write!(out, "{value}").map_err(Error::from);
    }
    let text = match value.as_str() {
        Some(s) => escape_markup(s),
        None => escape_markup(&value.to_string()),
    };
    out.write_str(&text).map_err(Error::from)
}

pub(crate) fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut at_start = true;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            '\\' | '*' | '|' | '<' | ':' => {
                out.push('\\');
                out.push(c);
            }
            // These only mean something at the start of a line.
            '#' | '@' | '-' | '=' if at_start => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        if !c.is_whitespace() {
            at_start = false;
        }
    }
    out
}

/// Converts the JSON context. Numbers that are not integers become their
/// exact decimal text, so amounts never pass through binary floating point.
pub(crate) fn to_value(json: &serde_json::Value) -> Value {
    fn convert(json: &serde_json::Value, depth: usize) -> Value {
        if depth > MAX_JSON_DEPTH {
            return Value::from(());
        }
        match json {
            serde_json::Value::Null => Value::from(()),
            serde_json::Value::Bool(b) => Value::from(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::from(i)
                } else if let Some(u) = n.as_u64() {
                    Value::from(u)
                } else {
                    Value::from(n.to_string())
                }
            }
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::from(items.iter().map(|v| convert(v, depth + 1)).collect::<Vec<_>>())
            }
            serde_json::Value::Object(map) => {
                Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), convert(v, depth + 1))))
            }
        }
    }
    convert(json, 0)
}

/// The document language from a context's `language` value.
pub(crate) fn lang_from_value(value: &Value) -> Lang {
    if let Some(s) = value.as_str() {
        return Lang::from_tag(s);
    }
    match value.as_i64().and_then(|i| u32::try_from(i).ok()) {
        Some(lcid) => Lang::from_lcid(lcid),
        None => Lang::En,
    }
}

fn lang_of(state: &State) -> Lang {
    state.lookup("language").map(|v| lang_from_value(&v)).unwrap_or(Lang::En)
}

fn attr(value: &Value, name: &str) -> Value {
    value.get_attr(name).unwrap_or(Value::UNDEFINED)
}

fn text_of(value: &Value) -> Option<String> {
    if value.is_undefined() || value.is_none() {
        return None;
    }
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None => value.to_string(),
    };
    Some(text)
}

/// The document's currency from `document.currency`.
fn document_currency(state: &State) -> CurrencyInfo {
    let currency = state.lookup("document").map(|d| attr(&d, "currency")).unwrap_or(Value::UNDEFINED);
    let code = text_of(&attr(&currency, "code")).unwrap_or_default();
    let mut info = CurrencyInfo::from_code(&code);
    if let Some(symbol) = text_of(&attr(&currency, "symbol")).filter(|s| !s.trim().is_empty()) {
        info.symbol = symbol.trim().to_owned();
    }
    let precision = attr(&currency, "precision");
    let precision = precision.as_i64().or_else(|| text_of(&precision).and_then(|t| t.trim().parse().ok()));
    if let Some(p) = precision.and_then(|p| u32::try_from(p).ok()) {
        info.precision = p.min(10);
    }
    info
}

/// The currency a filter formats in: the document's, unless the template
/// names another code.
fn currency_for(state: &State, code: Option<&str>) -> CurrencyInfo {
    let doc = document_currency(state);
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) if !code.eq_ignore_ascii_case(&doc.code) => CurrencyInfo::from_code(code),
        _ => doc,
    }
}

/// The decimal in a value, `None` when it holds nothing, `Err` with the
/// original text when it is not a number.
fn decimal_of(value: &Value) -> Option<Result<Decimal, String>> {
    let text = text_of(value)?;
    if text.trim().is_empty() {
        return None;
    }
    Some(format::parse_decimal(&text).ok_or(text))
}

/// Runs `f` on the value's decimal; missing values print as nothing and
/// text that is not a number prints unchanged, so a stray value never stops
/// a document from printing.
fn with_decimal(value: &Value, f: impl FnOnce(Decimal) -> String) -> String {
    match decimal_of(value) {
        None => String::new(),
        Some(Ok(d)) => f(d),
        Some(Err(text)) => text,
    }
}

fn money(state: &State, value: Value, code: Option<String>) -> String {
    let currency = currency_for(state, code.as_deref());
    let lang = lang_of(state);
    with_decimal(&value, |d| format::money(d, &currency, lang))
}

fn amount(state: &State, value: Value, code: Option<String>) -> String {
    let currency = currency_for(state, code.as_deref());
    let lang = lang_of(state);
    with_decimal(&value, |d| format::amount(d, &currency, lang))
}

fn number(state: &State, value: Value, places: Option<u32>) -> String {
    let lang = lang_of(state);
    with_decimal(&value, |d| format::number(d, places.map(|p| p.min(10)), lang))
}

fn date(state: &State, value: Value, style: Option<String>) -> Result<String, Error> {
    let style = match style.as_deref().map(str::trim) {
        None | Some("short") | Some("") => DateStyle::Short,
        Some("long") => DateStyle::Long,
        Some(other) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("date style must be \"short\" or \"long\", not \"{other}\""),
            ))
        }
    };
    let Some(text) = text_of(&value) else { return Ok(String::new()) };
    Ok(match format::parse_date(&text) {
        Some(d) => format::date(d, style, lang_of(state)),
        None => text,
    })
}

fn amount_in_words(state: &State, value: Value, code: Option<String>) -> String {
    let currency = currency_for(state, code.as_deref());
    let lang = lang_of(state);
    with_decimal(&value, |d| format::amount_in_words(d, &currency, lang))
}

fn is_nonzero(value: Value) -> bool {
    matches!(decimal_of(&value), Some(Ok(d)) if !d.is_zero())
}

/// `add(a, b, …)`: exact decimal sum; missing values count as zero.
fn add(values: Rest<Value>) -> Result<String, Error> {
    let mut sum = Decimal::ZERO;
    for value in values.iter() {
        match decimal_of(value) {
            None => {}
            Some(Ok(d)) => {
                sum = sum
                    .checked_add(d)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "add: the sum is too large"))?;
            }
            Some(Err(text)) => {
                return Err(Error::new(ErrorKind::InvalidOperation, format!("add: \"{text}\" is not a number")))
            }
        }
    }
    Ok(sum.to_string())
}

/// Maps a minijinja error to what an administrator needs to fix it.
pub(crate) fn error(err: &Error) -> PrintError {
    let line = err.line().unwrap_or(0);
    let message = err.detail().map(str::to_owned).unwrap_or_else(|| err.kind().to_string());
    let name_in = |prefix: &str, suffix: &str| {
        message.strip_prefix(prefix).and_then(|m| m.strip_suffix(suffix)).unwrap_or(&message).to_owned()
    };
    match err.kind() {
        ErrorKind::SyntaxError | ErrorKind::BadEscape | ErrorKind::InvalidDelimiter | ErrorKind::UnknownBlock => {
            PrintError::Syntax { line, message }
        }
        ErrorKind::UnknownFilter => PrintError::UnknownFilter { name: name_in("filter ", " is unknown"), line },
        ErrorKind::UnknownTest => PrintError::UnknownTest { name: name_in("test ", " is unknown"), line },
        ErrorKind::UnknownFunction => PrintError::UnknownFunction { name: name_in("", " is unknown"), line },
        ErrorKind::OutOfFuel => {
            PrintError::TooLarge(format!("the template does too much work or produces too much text (line {line})"))
        }
        _ => PrintError::Render { line, message },
    }
}

/// Renders a template to markup.
pub(crate) fn render(env: &Environment<'_>, source: &str, context: &Value) -> Result<String, PrintError> {
    let template = env.template_from_str(source).map_err(|e| error(&e))?;
    template.render(context).map_err(|e| error(&e))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    Filter,
    Test,
}

/// Finds the filter and test names a template uses, with their lines, so
/// that a misspelt one is reported even in a branch the sample data does
/// not reach. A light scan of the tags, not a parser: the template has
/// already compiled when this runs.
pub(crate) fn used_names(source: &str) -> Vec<(NameKind, String, usize)> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let ident_at = |j: usize| -> Option<(usize, usize)> {
        let start = j;
        let mut k = j;
        while k < bytes.len() && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_') {
            k += 1;
        }
        (k > start && !bytes[start].is_ascii_digit()).then_some((start, k))
    };
    while i + 1 < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if b != b'{' || !matches!(bytes[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let opener = bytes[i + 1];
        let close: &[u8] = match opener {
            b'{' => b"}}",
            b'%' => b"%}",
            _ => b"#}",
        };
        i += 2;
        if opener == b'#' {
            while i < bytes.len() && !bytes[i..].starts_with(close) {
                if bytes[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 2;
            continue;
        }
        let mut first_word = true;
        let mut expect: Option<NameKind> = None;
        let mut raw = false;
        while i < bytes.len() && !bytes[i..].starts_with(close) {
            let c = bytes[i];
            match c {
                b'\n' => {
                    line += 1;
                    i += 1;
                }
                b'\'' | b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != c {
                        if bytes[i] == b'\\' {
                            i += 1;
                        } else if bytes[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                    expect = None;
                }
                b'|' => {
                    expect = Some(NameKind::Filter);
                    i += 1;
                }
                _ if c.is_ascii_alphabetic() || c == b'_' => {
                    let Some((s, e)) = ident_at(i) else {
                        i += 1;
                        continue;
                    };
                    let word = &source[s..e];
                    if first_word && opener == b'%' {
                        match word {
                            "filter" => expect = Some(NameKind::Filter),
                            "raw" => raw = true,
                            _ => {}
                        }
                    } else if let Some(kind) = expect.take() {
                        if !(kind == NameKind::Test && word == "not") {
                            found.push((kind, word.to_owned(), line));
                        } else {
                            expect = Some(NameKind::Test);
                        }
                    } else if word == "is" {
                        expect = Some(NameKind::Test);
                    }
                    first_word = false;
                    i = e;
                }
                _ => {
                    if !c.is_ascii_whitespace() && c != b'-' && c != b'+' {
                        expect = None;
                        first_word = false;
                    }
                    i += 1;
                }
            }
        }
        i += 2;
        if raw {
            // Skip to the matching endraw tag.
            while i < bytes.len() {
                if bytes[i] == b'\n' {
                    line += 1;
                }
                if bytes[i..].starts_with(b"{%") {
                    let rest = source[i + 2..].trim_start_matches(['-', '+', ' ', '\t', '\r', '\n']);
                    if rest.starts_with("endraw") {
                        break;
                    }
                }
                i += 1;
            }
        }
    }
    found
}

/// Whether the environment knows a filter or test of this name.
pub(crate) fn known(env: &Environment<'_>, kind: NameKind, name: &str) -> bool {
    let probe = match kind {
        NameKind::Filter => format!("{{{{ none | {name} }}}}"),
        NameKind::Test => format!("{{{{ none is {name} }}}}"),
    };
    match env.render_str(&probe, ()) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), ErrorKind::UnknownFilter | ErrorKind::UnknownTest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_markup("a*b|c"), r"a\*b\|c");
        assert_eq!(escape_markup("# x"), r"\# x");
        assert_eq!(escape_markup("  - x - y"), r"  \- x - y");
        assert_eq!(escape_markup("line1\r\nline2\nline3"), "line1<br>line2<br>line3");
        assert_eq!(escape_markup("10:30 <b>"), r"10\:30 \<b>");
    }

    #[test]
    fn scanning_finds_filters_and_tests() {
        let src = "{{ a | money }}\n{% if x is not nonzero %}{{ b|upper|trim }}{% endif %}\n{# {{ c | nope }} #}\n{{ 'a|b' | lower }}\n{% filter upper %}x{% endfilter %}{% raw %}{{ x | secret }}{% endraw %}{{ y | z(1) }}";
        let found = used_names(src);
        let names: Vec<(NameKind, &str, usize)> = found.iter().map(|(k, n, l)| (*k, n.as_str(), *l)).collect();
        assert_eq!(
            names,
            vec![
                (NameKind::Filter, "money", 1),
                (NameKind::Test, "nonzero", 2),
                (NameKind::Filter, "upper", 2),
                (NameKind::Filter, "trim", 2),
                (NameKind::Filter, "lower", 4),
                (NameKind::Filter, "upper", 5),
                (NameKind::Filter, "z", 5),
            ]
        );
    }
}
