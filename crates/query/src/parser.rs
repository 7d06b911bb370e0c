//! OData query-option syntax: a lexer and a recursive-descent parser that
//! turn `$filter`, `$orderby`, `$select`, `$expand` and `$apply` text into
//! the trees of [`crate::ast`], and [`to_odata`] to print a filter back.
//!
//! User text only ever ends up inside `Literal` values or identifiers that
//! match `[A-Za-z_][A-Za-z0-9_]*`; nothing is passed through verbatim.

use std::cell::Cell;
use std::fmt;
use std::mem::discriminant;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::ast::{
    Aggregate, AggregateMethod, BinOp, ExpandItem, Expr, FunctionArg, LambdaKind, Literal, OrderBy, Transformation,
};

/// Deepest syntactic nesting in an expression (parentheses, `not`, `-`,
/// call arguments, lambdas, `in` lists) accepted; keeps recursion far from
/// the stack limit.
pub const MAX_NESTING: usize = 100;

/// Deepest `$expand` nesting accepted. Real clients stay within a few
/// levels; each level may hold a `$filter` nested up to [`MAX_NESTING`].
pub const MAX_EXPAND_DEPTH: usize = 20;

/// Deepest expression tree accepted. Long `a or b or c…` chains are parsed
/// without recursion but yield deep trees, and whoever walks or drops the
/// tree recurses once per level.
pub const MAX_TREE_DEPTH: usize = 1000;

/// Parameter aliases can be referenced many times; without a budget a short
/// query could expand into an enormous tree.
const MAX_ALIAS_EXPANSION: usize = 1 << 20;

/// Namespace of the Dataverse query functions usable in `$filter`.
const CRM_NAMESPACE: &str = "Microsoft.Dynamics.CRM.";

/// Operator words of `$filter`; they cannot start a property path.
const OPERATORS: &[&str] =
    &["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod", "in", "has"];

/// Words that are keywords somewhere in the grammar; used for hints when a
/// client writes them in the wrong case (OData keywords are lower-case).
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod", "in", "has", "asc",
    "desc", "with", "as",
];

/// A query option that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was being parsed: `$filter`, `$expand`, a parameter alias such as
    /// `@p1`…; empty for problems with the query string as a whole.
    pub option: String,
    /// 0-based character (not byte) offset in that option's value.
    pub position: Option<usize>,
    pub message: String,
}

impl ParseError {
    pub(crate) fn general(message: impl Into<String>) -> Self {
        ParseError { option: String::new(), position: None, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.position, self.option.is_empty()) {
            (Some(p), false) => {
                write!(f, "syntax error at position {p} in {}: {}", self.option, self.message)
            }
            (Some(p), true) => write!(f, "syntax error at position {p}: {}", self.message),
            (None, false) => write!(f, "invalid {}: {}", self.option, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

type PResult<T> = Result<T, ParseError>;

// ---------------------------------------------------------------------------
// Spans

/// A byte range of an option value. Errors count characters from the start
/// of `root`, so text nested inside `$expand(...)` reports positions in the
/// whole `$expand` value; the count is only done when an error is built.
#[derive(Clone, Copy)]
pub(crate) struct Span<'a> {
    pub(crate) root: &'a str,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) label: &'a str,
}

impl<'a> Span<'a> {
    pub(crate) fn whole(root: &'a str, label: &'a str) -> Self {
        Span { root, start: 0, end: root.len(), label }
    }

    pub(crate) fn sub(&self, start: usize, end: usize) -> Self {
        let end = end.min(self.end);
        Span { start: start.min(end), end, ..*self }
    }

    pub(crate) fn text(&self) -> &'a str {
        self.root.get(self.start..self.end).unwrap_or("")
    }

    /// The same span without surrounding ASCII whitespace.
    pub(crate) fn trimmed(&self) -> Self {
        let b = self.root.as_bytes();
        let (mut s, mut e) = (self.start, self.end);
        while s < e && b.get(s).is_some_and(u8::is_ascii_whitespace) {
            s += 1;
        }
        while e > s && b.get(e - 1).is_some_and(u8::is_ascii_whitespace) {
            e -= 1;
        }
        Span { start: s, end: e, ..*self }
    }

    fn byte(&self, k: usize) -> Option<u8> {
        if k < self.end {
            self.root.as_bytes().get(k).copied()
        } else {
            None
        }
    }

    pub(crate) fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        let position = self.root.get(..at).map_or(at, |p| p.chars().count());
        ParseError { option: self.label.to_string(), position: Some(position), message: message.into() }
    }
}

/// Shows a piece of user text in a message, shortened on a char boundary.
fn quote_text(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    if out.starts_with('\'') || out.starts_with('"') {
        out
    } else {
        format!("'{out}'")
    }
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier; dotted names (`Microsoft.Dynamics.CRM.In`) are one token.
    Ident(String),
    Str(String),
    /// `"…"`; only allowed in lists of Dataverse function parameters.
    DqStr(String),
    Int(i64),
    Decimal(Decimal),
    Double(f64),
    Guid(Uuid),
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
    /// `@name`, with the `@`.
    Alias(String),
    /// `$name`, with the `$`.
    Dollar(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Slash,
    Colon,
    Equals,
    Minus,
    Star,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

static END: Token = Token { tok: Tok::End, start: 0, end: 0 };

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

struct Lexer<'a> {
    span: Span<'a>,
    i: usize,
}

impl<'a> Lexer<'a> {
    fn at(&self, k: usize) -> Option<u8> {
        self.span.byte(k)
    }

    fn digit_at(&self, k: usize) -> bool {
        self.at(k).is_some_and(|c| c.is_ascii_digit())
    }

    fn digits(&self, k: usize, n: usize) -> bool {
        (0..n).all(|d| self.digit_at(k + d))
    }

    /// Value of `n` ASCII digits at `k`; callers check them with `digits`.
    fn num(&self, k: usize, n: usize) -> u32 {
        (0..n).fold(0u32, |acc, d| {
            acc.saturating_mul(10).saturating_add(self.at(k + d).map_or(0, |c| u32::from(c.wrapping_sub(b'0'))))
        })
    }

    fn ident_end(&self, mut k: usize) -> usize {
        while self.at(k).is_some_and(is_ident_char) {
            k += 1;
        }
        k
    }

    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.span.root.get(a..b).unwrap_or("")
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> ParseError {
        self.span.error(at, msg)
    }

    fn run(mut self) -> PResult<Vec<Token>> {
        let mut out = Vec::new();
        while let Some(c) = self.at(self.i) {
            let start = self.i;
            let tok = match c {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.i += 1;
                    continue;
                }
                b'(' => self.punct(Tok::LParen),
                b')' => self.punct(Tok::RParen),
                b'[' => self.punct(Tok::LBracket),
                b']' => self.punct(Tok::RBracket),
                b',' => self.punct(Tok::Comma),
                b'/' => self.punct(Tok::Slash),
                b':' => self.punct(Tok::Colon),
                b'=' => self.punct(Tok::Equals),
                b'*' => self.punct(Tok::Star),
                b'\'' => Tok::Str(self.single_quoted()?),
                b'"' => Tok::DqStr(self.double_quoted()?),
                b'@' | b'$' => {
                    if !self.at(start + 1).is_some_and(is_ident_start) {
                        return Err(self.err(start, format!("expected a name after '{}'", c as char)));
                    }
                    self.i = self.ident_end(start + 1);
                    let name = self.slice(start, self.i).to_string();
                    if c == b'@' {
                        Tok::Alias(name)
                    } else {
                        Tok::Dollar(name)
                    }
                }
                b'-' if self.digit_at(start + 1) => self.number()?,
                b'-' => self.punct(Tok::Minus),
                _ if c.is_ascii_hexdigit() && self.guid_at(start) => {
                    let text = self.slice(start, start + 36);
                    let g = Uuid::parse_str(text)
                        .map_err(|_| self.err(start, format!("invalid GUID {}", quote_text(text))))?;
                    self.i = start + 36;
                    Tok::Guid(g)
                }
                b'0'..=b'9' if self.date_at(start) => self.date_or_datetime()?,
                b'0'..=b'9' => self.number()?,
                _ if is_ident_start(c) => self.ident(),
                _ => {
                    let ch = self.span.root.get(start..).and_then(|s| s.chars().next()).unwrap_or('?');
                    return Err(self.err(start, format!("unexpected character '{ch}'")));
                }
            };
            out.push(Token { tok, start, end: self.i });
        }
        out.push(Token { tok: Tok::End, start: self.span.end, end: self.span.end });
        Ok(out)
    }

    fn punct(&mut self, t: Tok) -> Tok {
        self.i += 1;
        t
    }

    fn ident(&mut self) -> Tok {
        let start = self.i;
        let mut k = self.ident_end(start);
        // Qualified names stay one token so the parser can tell a Dataverse
        // function from a (rejected) type cast.
        while self.at(k) == Some(b'.') && self.at(k + 1).is_some_and(is_ident_start) {
            k = self.ident_end(k + 1);
        }
        self.i = k;
        Tok::Ident(self.slice(start, k).to_string())
    }

    fn guid_at(&self, k: usize) -> bool {
        let shape = (0..36).all(|d| match d {
            8 | 13 | 18 | 23 => self.at(k + d) == Some(b'-'),
            _ => self.at(k + d).is_some_and(|c| c.is_ascii_hexdigit()),
        });
        shape && !self.at(k + 36).is_some_and(is_ident_char)
    }

    fn date_at(&self, k: usize) -> bool {
        self.digits(k, 4)
            && self.at(k + 4) == Some(b'-')
            && self.digits(k + 5, 2)
            && self.at(k + 7) == Some(b'-')
            && self.digits(k + 8, 2)
    }

    fn single_quoted(&mut self) -> PResult<String> {
        let open = self.i;
        let mut out = String::new();
        let (mut k, mut seg) = (open + 1, open + 1);
        loop {
            match self.at(k) {
                None => return Err(self.err(open, "unterminated string literal")),
                // No record can hold U+0000 (PostgreSQL text cannot), so no value equals it.
                Some(0) => return Err(self.err(k, "a string literal cannot contain the NUL character (U+0000)")),
                Some(b'\'') => {
                    out.push_str(self.slice(seg, k));
                    if self.at(k + 1) == Some(b'\'') {
                        out.push('\'');
                        k += 2;
                        seg = k;
                    } else {
                        self.i = k + 1;
                        return Ok(out);
                    }
                }
                Some(_) => k += 1,
            }
        }
    }

    /// `"…"` with `\"` and `\\` as the only escapes; any other backslash is
    /// kept as is, so Windows-style text survives unchanged.
    fn double_quoted(&mut self) -> PResult<String> {
        let open = self.i;
        let mut out = String::new();
        let (mut k, mut seg) = (open + 1, open + 1);
        loop {
            match self.at(k) {
                None => return Err(self.err(open, "unterminated string literal")),
                Some(0) => return Err(self.err(k, "a string literal cannot contain the NUL character (U+0000)")),
                Some(b'"') => {
                    out.push_str(self.slice(seg, k));
                    self.i = k + 1;
                    return Ok(out);
                }
                Some(b'\\') if matches!(self.at(k + 1), Some(b'"' | b'\\')) => {
                    out.push_str(self.slice(seg, k));
                    out.push_str(self.slice(k + 1, k + 2));
                    k += 2;
                    seg = k;
                }
                Some(_) => k += 1,
            }
        }
    }

    fn number(&mut self) -> PResult<Tok> {
        let start = self.i;
        let mut k = start;
        if self.at(k) == Some(b'-') {
            k += 1;
        }
        while self.digit_at(k) {
            k += 1;
        }
        let (mut frac, mut exp) = (false, false);
        if self.at(k) == Some(b'.') {
            k += 1;
            if !self.digit_at(k) {
                return Err(self.err(k, "expected a digit after '.' in a number"));
            }
            while self.digit_at(k) {
                k += 1;
            }
            frac = true;
        }
        if matches!(self.at(k), Some(b'e' | b'E')) {
            k += 1;
            if matches!(self.at(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if !self.digit_at(k) {
                return Err(self.err(k, "expected digits in the exponent of a number"));
            }
            while self.digit_at(k) {
                k += 1;
            }
            exp = true;
        }
        let text = self.slice(start, k);
        let decimal_suffix = matches!(self.at(k), Some(b'm' | b'M'));
        if decimal_suffix {
            k += 1;
        }
        if self.at(k).is_some_and(|c| is_ident_char(c) || c == b'.') {
            let mut bad = k;
            while self.at(bad).is_some_and(|c| is_ident_char(c) || c == b'.') {
                bad += 1;
            }
            let shown = quote_text(self.slice(start, bad));
            return Err(self.err(start, format!("invalid number literal {shown}")));
        }
        self.i = k;
        let out_of_range = |what: &str| self.err(start, format!("{what} literal {} is out of range", quote_text(text)));
        if decimal_suffix || (frac && !exp) {
            // Exact: digits go straight into the decimal, never through a float.
            let d = if exp { Decimal::from_scientific(text) } else { Decimal::from_str_exact(text) };
            return d.map(Tok::Decimal).map_err(|_| out_of_range("decimal"));
        }
        if exp {
            let f: f64 = text.parse().map_err(|_| out_of_range("number"))?;
            return if f.is_finite() { Ok(Tok::Double(f)) } else { Err(out_of_range("number")) };
        }
        // Digits beyond Int64 are still an OData decimal literal; whether the
        // column holds it is for the column's range check to say.
        text.parse::<i64>()
            .map(Tok::Int)
            .or_else(|_| Decimal::from_str_exact(text).map(Tok::Decimal))
            .map_err(|_| out_of_range("integer"))
    }

    fn date_or_datetime(&mut self) -> PResult<Tok> {
        let s = self.i;
        let bad = |lx: &Self, at: usize| {
            let mut e = at;
            while lx.at(e).is_some_and(|c| is_ident_char(c) || matches!(c, b'.' | b':' | b'-' | b'+')) {
                e += 1;
            }
            lx.err(s, format!("invalid date/time literal {}", quote_text(lx.slice(s, e))))
        };
        let year = self.num(s, 4) as i32;
        let date =
            NaiveDate::from_ymd_opt(year, self.num(s + 5, 2), self.num(s + 8, 2)).ok_or_else(|| bad(self, s + 10))?;
        let mut k = s + 10;
        if !matches!(self.at(k), Some(b'T' | b't')) {
            if self.at(k).is_some_and(|c| is_ident_char(c) || matches!(c, b'.' | b':')) {
                return Err(bad(self, k));
            }
            self.i = k;
            return Ok(Tok::Date(date));
        }
        k += 1;
        if !(self.digits(k, 2) && self.at(k + 2) == Some(b':') && self.digits(k + 3, 2)) {
            return Err(bad(self, k));
        }
        let (hh, mm) = (self.num(k, 2), self.num(k + 3, 2));
        k += 5;
        let (mut ss, mut nanos) = (0, 0);
        if self.at(k) == Some(b':') {
            if !self.digits(k + 1, 2) {
                return Err(bad(self, k));
            }
            ss = self.num(k + 1, 2);
            k += 3;
            if self.at(k) == Some(b'.') {
                let fs = k + 1;
                let mut fe = fs;
                while self.digit_at(fe) {
                    fe += 1;
                }
                if fe == fs || fe - fs > 12 {
                    return Err(bad(self, fe));
                }
                let n = (fe - fs).min(9);
                nanos = self.num(fs, n) * 10u32.pow((9 - n) as u32);
                k = fe;
            }
        }
        let time = NaiveTime::from_hms_nano_opt(hh, mm, ss, nanos).ok_or_else(|| bad(self, k))?;
        let offset_secs: i32 = match self.at(k) {
            Some(b'Z' | b'z') => {
                k += 1;
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                if !(self.digits(k + 1, 2) && self.at(k + 3) == Some(b':') && self.digits(k + 4, 2)) {
                    return Err(bad(self, k));
                }
                let (oh, om) = (self.num(k + 1, 2), self.num(k + 4, 2));
                if oh > 23 || om > 59 {
                    return Err(bad(self, k));
                }
                k += 6;
                let secs = (oh * 3600 + om * 60) as i32;
                if sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            // A `+03:00` offset whose `+` was decoded as a space by the URL layer.
            Some(b' ') if self.digits(k + 1, 2) && self.at(k + 3) == Some(b':') && self.digits(k + 4, 2) => {
                return Err(self.err(k, "a date/time offset needs '+' or '-'; in a URL a '+' must be sent as %2B"));
            }
            // No offset: taken as UTC, which is how Dataverse stores date/times.
            _ => 0,
        };
        if self.at(k).is_some_and(|c| is_ident_char(c) || matches!(c, b'.' | b':')) {
            return Err(bad(self, k));
        }
        let naive = date.and_time(time);
        let dt = FixedOffset::east_opt(offset_secs)
            .and_then(|o| o.from_local_datetime(&naive).single())
            .ok_or_else(|| bad(self, k))?;
        let utc = dt.with_timezone(&Utc);
        // An offset can push the instant outside the four-digit years that
        // OData text (and `to_odata`) can express.
        if !(0..=9999).contains(&utc.year()) {
            return Err(bad(self, k));
        }
        self.i = k;
        Ok(Tok::DateTime(utc))
    }
}

fn lex(span: Span<'_>) -> PResult<Vec<Token>> {
    Lexer { span, i: span.start }.run()
}

// ---------------------------------------------------------------------------
// Parser

/// Resolves `@alias` references of one query and tracks how much alias text
/// has been expanded so far.
pub(crate) struct AliasCtx<'a> {
    resolve: &'a dyn Fn(&str) -> Option<String>,
    used: Cell<usize>,
}

impl<'a> AliasCtx<'a> {
    pub(crate) fn new(resolve: &'a dyn Fn(&str) -> Option<String>) -> Self {
        AliasCtx { resolve, used: Cell::new(0) }
    }
}

#[derive(Clone, Copy)]
enum AliasMode<'a> {
    Unavailable,
    Resolve(&'a AliasCtx<'a>),
    /// Alias values may not refer to aliases: that could loop forever.
    InsideAlias,
}

/// An expression with the depth of its tree.
struct N {
    e: Expr,
    d: usize,
}

struct Parser<'a> {
    span: Span<'a>,
    toks: Vec<Token>,
    pos: usize,
    nesting: usize,
    aliases: AliasMode<'a>,
}

fn binop(t: &Tok) -> Option<(BinOp, u8)> {
    let Tok::Ident(s) = t else { return None };
    // Precedence follows OData 4.01 §5.1.1.15: relational binds tighter than
    // equality; `in` and unary operators are handled above these levels.
    Some(match s.as_str() {
        "or" => (BinOp::Or, 1),
        "and" => (BinOp::And, 2),
        "eq" => (BinOp::Eq, 3),
        "ne" => (BinOp::Ne, 3),
        "gt" => (BinOp::Gt, 4),
        "ge" => (BinOp::Ge, 4),
        "lt" => (BinOp::Lt, 4),
        "le" => (BinOp::Le, 4),
        "add" => (BinOp::Add, 5),
        "sub" => (BinOp::Sub, 5),
        "mul" => (BinOp::Mul, 6),
        "div" => (BinOp::Div, 6),
        "mod" => (BinOp::Mod, 6),
        _ => return None,
    })
}

/// Canonical functions with their minimum and maximum argument counts.
fn function_arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "contains" | "startswith" | "endswith" | "indexof" | "concat" => (2, 2),
        "substring" => (2, 3),
        "tolower" | "toupper" | "trim" | "length" | "year" | "month" | "day" | "hour" | "minute" | "second"
        | "date" | "time" | "round" | "floor" | "ceiling" => (1, 1),
        "now" => (0, 0),
        _ => return None,
    })
}

fn literal_word(s: &str) -> Option<Literal> {
    if s.eq_ignore_ascii_case("null") {
        Some(Literal::Null)
    } else if s.eq_ignore_ascii_case("true") {
        Some(Literal::Bool(true))
    } else if s.eq_ignore_ascii_case("false") {
        Some(Literal::Bool(false))
    } else {
        None
    }
}

fn literal_tok(t: &Tok) -> Option<Literal> {
    Some(match t {
        Tok::Str(s) => Literal::String(s.clone()),
        Tok::Int(i) => Literal::Int(*i),
        Tok::Decimal(d) => Literal::Decimal(*d),
        Tok::Double(f) => Literal::Double(*f),
        Tok::Guid(g) => Literal::Guid(*g),
        Tok::DateTime(d) => Literal::DateTime(*d),
        Tok::Date(d) => Literal::Date(*d),
        Tok::Ident(s) => return literal_word(s),
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    fn new(span: Span<'a>, aliases: AliasMode<'a>, nesting: usize) -> PResult<Self> {
        Ok(Parser { span, toks: lex(span)?, pos: 0, nesting, aliases })
    }

    fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&END)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if !matches!(t.tok, Tok::End) {
            self.pos += 1;
        }
        t
    }

    fn peek_is(&self, t: &Tok) -> bool {
        discriminant(&self.peek().tok) == discriminant(t)
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == w)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        let hit = self.peek_is(t);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect(&mut self, t: &Tok, what: &str) -> PResult<Token> {
        if self.peek_is(t) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(self.peek(), what))
        }
    }

    fn expect_word(&mut self, w: &str) -> PResult<()> {
        if self.peek_word(w) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(self.peek(), &format!("'{w}'")))
        }
    }

    fn expect_end(&self, what: &str) -> PResult<()> {
        if self.peek_is(&Tok::End) {
            Ok(())
        } else {
            Err(self.unexpected(self.peek(), what))
        }
    }

    fn describe(&self, t: &Token) -> String {
        if matches!(t.tok, Tok::End) {
            "end of input".to_string()
        } else {
            quote_text(self.span.root.get(t.start..t.end).unwrap_or(""))
        }
    }

    fn unexpected(&self, t: &Token, expected: &str) -> ParseError {
        let hint = match &t.tok {
            Tok::Ident(s) => {
                let lower = s.to_ascii_lowercase();
                if *s != lower && KEYWORDS.contains(&lower.as_str()) {
                    format!(" (keywords are lower-case: use '{lower}')")
                } else {
                    String::new()
                }
            }
            Tok::Equals => " (use 'eq' to compare values)".to_string(),
            _ => String::new(),
        };
        self.span.error(t.start, format!("expected {expected} but found {}{hint}", self.describe(t)))
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            Err(self.span.error(at, "expression nested too deeply"))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn node(&self, e: Expr, d: usize, at: usize) -> PResult<N> {
        if d > MAX_TREE_DEPTH {
            Err(self.span.error(at, "expression nested too deeply"))
        } else {
            Ok(N { e, d })
        }
    }

    // -- expressions ------------------------------------------------------

    /// Operator-precedence parsing with explicit stacks: binary and prefix
    /// operators never recurse, so only real nesting (parentheses, calls,
    /// lambdas, lists) costs stack, one nesting level per call.
    fn expr(&mut self) -> PResult<N> {
        self.enter(self.peek().start)?;
        let mut operands = vec![self.unary()?];
        let mut ops: Vec<(BinOp, u8, usize)> = Vec::new();
        loop {
            if self.peek_word("divby") {
                return Err(self.span.error(self.peek().start, "the 'divby' operator is not supported"));
            }
            let Some((op, prec)) = binop(&self.peek().tok) else {
                break;
            };
            let at = self.bump().start;
            // Left-associative: reduce everything that binds at least as tightly.
            while let Some(&(top, top_prec, top_at)) = ops.last() {
                if top_prec < prec {
                    break;
                }
                ops.pop();
                self.reduce(&mut operands, top, top_at)?;
            }
            ops.push((op, prec, at));
            operands.push(self.unary()?);
        }
        while let Some((op, _, at)) = ops.pop() {
            self.reduce(&mut operands, op, at)?;
        }
        self.leave();
        operands.pop().ok_or_else(|| self.span.error(self.peek().start, "internal error: empty expression"))
    }

    fn reduce(&self, operands: &mut Vec<N>, op: BinOp, at: usize) -> PResult<()> {
        let (Some(right), Some(left)) = (operands.pop(), operands.pop()) else {
            return Err(self.span.error(at, "internal error: missing operand"));
        };
        let d = left.d.max(right.d) + 1;
        let e = Expr::Binary { op, left: Box::new(left.e), right: Box::new(right.e) };
        operands.push(self.node(e, d, at)?);
        Ok(())
    }

    /// Prefix `not` and `-` are collected in a loop and applied innermost
    /// first; each still counts as a nesting level.
    fn unary(&mut self) -> PResult<N> {
        let mut prefixes: Vec<(bool, usize)> = Vec::new();
        loop {
            let neg = match &self.peek().tok {
                Tok::Minus => true,
                Tok::Ident(s) if s == "not" => false,
                _ => break,
            };
            let at = self.bump().start;
            self.enter(at)?;
            prefixes.push((neg, at));
        }
        let p = self.primary()?;
        let mut n = self.postfix(p)?;
        while let Some((neg, at)) = prefixes.pop() {
            self.leave();
            let e = if neg { Expr::Neg(Box::new(n.e)) } else { Expr::Not(Box::new(n.e)) };
            n = self.node(e, n.d + 1, at)?;
        }
        Ok(n)
    }

    /// `in` binds tighter than the unary operators (OData's "primary"
    /// group), so `not x in (1,2)` is `not (x in (1,2))`.
    fn postfix(&mut self, mut p: N) -> PResult<N> {
        loop {
            if self.peek_word("has") {
                return Err(self.span.error(self.peek().start, "the 'has' operator is not supported"));
            }
            if !self.peek_word("in") {
                return Ok(p);
            }
            let at = self.bump().start;
            // Items go through `expr`, which counts the nesting.
            self.expect(&Tok::LParen, "'(' after 'in'")?;
            if self.peek_is(&Tok::RParen) {
                return Err(self.unexpected(self.peek(), "a value in the list after 'in'"));
            }
            let mut list = Vec::new();
            let mut d = p.d;
            loop {
                let item = self.expr()?;
                d = d.max(item.d);
                list.push(item.e);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen, "',' or ')'")?;
            p = self.node(Expr::In { expr: Box::new(p.e), list }, d + 1, at)?;
        }
    }

    fn primary(&mut self) -> PResult<N> {
        let t = self.bump();
        if let Some(lit) = literal_tok(&t.tok) {
            if let Tok::Ident(s) = &t.tok {
                // `true(`/`null/…` would otherwise silently read as a literal.
                if self.peek_is(&Tok::LParen) || self.peek_is(&Tok::Slash) {
                    return Err(self.unexpected(self.peek(), &format!("an operator after '{s}'")));
                }
            }
            return Ok(N { e: Expr::Literal(lit), d: 1 });
        }
        match t.tok {
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::Ident(ref name) => self.ident_expr(name.clone(), t.start),
            Tok::Alias(ref name) => self.alias_expr(name, t.start),
            Tok::DqStr(_) => Err(self.span.error(
                t.start,
                "double-quoted strings are only allowed in lists of Microsoft.Dynamics.CRM function parameters; use single quotes",
            )),
            Tok::Dollar(ref name) => Err(self.span.error(t.start, format!("'{name}' is not supported in $filter"))),
            _ => Err(self.unexpected(&t, "an expression")),
        }
    }

    fn ident_expr(&mut self, name: String, at: usize) -> PResult<N> {
        if name.contains('.') {
            if let Some(fname) = name.strip_prefix(CRM_NAMESPACE) {
                if !fname.contains('.') && self.peek_is(&Tok::LParen) {
                    return self.crm_function(fname.to_string());
                }
                if !fname.contains('.') {
                    return Err(self.unexpected(self.peek(), &format!("'(' after '{name}'")));
                }
            }
            return Err(self.span.error(
                at,
                format!(
                    "qualified name {} is not supported (only Microsoft.Dynamics.CRM query functions; type casts are rejected)",
                    quote_text(&name)
                ),
            ));
        }
        if name != "not" && name.eq_ignore_ascii_case("not") {
            return Err(self
                .span
                .error(at, format!("expected an expression but found '{name}' (keywords are lower-case: use 'not')")));
        }
        if name == "INF" || name == "NaN" {
            return Err(self.span.error(at, format!("'{name}' is not supported")));
        }
        if self.peek_is(&Tok::LParen) {
            return self.call(name, at);
        }
        if OPERATORS.contains(&name.as_str()) {
            return Err(self.span.error(at, format!("expected an expression but found '{name}'")));
        }
        let mut path = vec![name];
        while self.eat(&Tok::Slash) {
            let seg = self.bump();
            match seg.tok {
                Tok::Ident(s) if s.contains('.') => {
                    return Err(self
                        .span
                        .error(seg.start, format!("type-cast segment {} is not supported", quote_text(&s))));
                }
                Tok::Ident(s) if (s == "any" || s == "all") && self.peek_is(&Tok::LParen) => {
                    let kind = if s == "any" { LambdaKind::Any } else { LambdaKind::All };
                    return self.lambda(path, kind, seg.start);
                }
                Tok::Ident(s) if !OPERATORS.contains(&s.as_str()) => path.push(s),
                Tok::Dollar(s) => {
                    return Err(self.span.error(seg.start, format!("path segment '{s}' is not supported")));
                }
                _ => return Err(self.unexpected(&seg, "a property name after '/'")),
            }
        }
        Ok(N { e: Expr::Property(path), d: 1 })
    }

    fn call(&mut self, name: String, at: usize) -> PResult<N> {
        let lname = name.to_ascii_lowercase();
        if lname == "any" || lname == "all" {
            return Err(self
                .span
                .error(at, format!("'{name}' must follow a collection path, as in 'nav/{lname}(x:x/name eq 1)'")));
        }
        let Some((min, max)) = function_arity(&lname) else {
            return Err(self.span.error(at, format!("unknown function '{name}'")));
        };
        self.bump();
        let mut args = Vec::new();
        let mut d = 0;
        if !self.peek_is(&Tok::RParen) {
            loop {
                let a = self.expr()?;
                d = d.max(a.d);
                args.push(a.e);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(&Tok::RParen, "',' or ')'")?;
        if args.len() < min || args.len() > max {
            let wanted = if min == max { min.to_string() } else { format!("{min} or {max}") };
            let plural = if wanted == "1" { "" } else { "s" };
            return Err(self
                .span
                .error(at, format!("function '{lname}' takes {wanted} argument{plural} but {} given", args.len())));
        }
        self.node(Expr::Call { name: lname, args }, d + 1, at)
    }

    fn lambda(&mut self, path: Vec<String>, kind: LambdaKind, at: usize) -> PResult<N> {
        self.bump();
        if self.eat(&Tok::RParen) {
            if kind == LambdaKind::All {
                return Err(self.span.error(at, "all() needs a condition, as in 'nav/all(x:x/name eq 1)'"));
            }
            return Ok(N { e: Expr::Lambda { path, kind, var: None, body: None }, d: 1 });
        }
        let var = match &self.peek().tok {
            Tok::Ident(s) if !s.contains('.') && !OPERATORS.contains(&s.as_str()) => s.clone(),
            _ => return Err(self.unexpected(self.peek(), "a lambda variable name")),
        };
        self.bump();
        self.expect(&Tok::Colon, "':' after the lambda variable")?;
        let body = self.expr()?;
        self.expect(&Tok::RParen, "')'")?;
        let e = Expr::Lambda { path, kind, var: Some(var), body: Some(Box::new(body.e)) };
        self.node(e, body.d + 1, at)
    }

    fn crm_function(&mut self, name: String) -> PResult<N> {
        self.bump();
        let mut params: Vec<(String, FunctionArg)> = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                let pt = self.bump();
                let pname = match &pt.tok {
                    Tok::Ident(s) if !s.contains('.') => s.clone(),
                    _ => return Err(self.unexpected(&pt, "a parameter name")),
                };
                if params.iter().any(|(n, _)| *n == pname) {
                    return Err(self.span.error(pt.start, format!("duplicate parameter '{pname}'")));
                }
                self.expect(&Tok::Equals, &format!("'=' after '{pname}'"))?;
                let value = self.crm_arg()?;
                params.push((pname, value));
                if self.eat(&Tok::Comma) {
                    continue;
                }
                self.expect(&Tok::RParen, "',' or ')'")?;
                break;
            }
        }
        Ok(N { e: Expr::CrmFunction { name, params }, d: 1 })
    }

    fn crm_arg(&mut self) -> PResult<FunctionArg> {
        let t = self.bump();
        match &t.tok {
            Tok::LBracket => {
                let mut items = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        let it = self.bump();
                        let lit = match &it.tok {
                            Tok::DqStr(s) => Literal::String(s.clone()),
                            other => literal_tok(other).ok_or_else(|| self.unexpected(&it, "a literal value"))?,
                        };
                        items.push(lit);
                        if self.eat(&Tok::Comma) {
                            continue;
                        }
                        self.expect(&Tok::RBracket, "',' or ']'")?;
                        break;
                    }
                }
                Ok(FunctionArg::List(items))
            }
            Tok::Alias(name) => {
                let text = self.alias_text(name, t.start)?;
                let span = Span::whole(&text, name);
                let mut sub = Parser::new(span, AliasMode::InsideAlias, self.nesting)?;
                let v = sub.crm_arg()?;
                sub.expect_end("end of the parameter alias value")?;
                Ok(v)
            }
            other => literal_tok(other)
                .map(FunctionArg::Literal)
                .ok_or_else(|| self.unexpected(&t, "a literal value or a list such as ['a','b']")),
        }
    }

    fn alias_text(&self, name: &str, at: usize) -> PResult<String> {
        let ctx = match self.aliases {
            AliasMode::Resolve(ctx) => ctx,
            AliasMode::InsideAlias => {
                return Err(self.span.error(at, "a parameter alias value cannot refer to another alias"));
            }
            AliasMode::Unavailable => {
                return Err(self.span.error(at, format!("unknown parameter alias '{name}'")));
            }
        };
        let text =
            (ctx.resolve)(name).ok_or_else(|| self.span.error(at, format!("unknown parameter alias '{name}'")))?;
        let used = ctx.used.get().saturating_add(text.len());
        if used > MAX_ALIAS_EXPANSION {
            return Err(self.span.error(at, "parameter aliases expand to too much text"));
        }
        ctx.used.set(used);
        Ok(text)
    }

    fn alias_expr(&mut self, name: &str, at: usize) -> PResult<N> {
        let text = self.alias_text(name, at)?;
        let span = Span::whole(&text, name);
        let mut sub = Parser::new(span, AliasMode::InsideAlias, self.nesting)?;
        let n = sub.expr()?;
        sub.expect_end("an operator or end of the parameter alias value")?;
        Ok(n)
    }

    // -- other options ----------------------------------------------------

    fn plain_ident(&mut self, what: &str) -> PResult<String> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Ident(s) if !s.contains('.') => {
                self.bump();
                Ok(s)
            }
            Tok::Ident(s) => {
                Err(self.span.error(t.start, format!("qualified name {} is not supported", quote_text(&s))))
            }
            _ => Err(self.unexpected(&t, what)),
        }
    }

    fn plain_path(&mut self, what: &str) -> PResult<Vec<String>> {
        let mut path = vec![self.plain_ident(what)?];
        while self.eat(&Tok::Slash) {
            path.push(self.plain_ident("a property name after '/'")?);
        }
        Ok(path)
    }

    fn aggregate_list(&mut self) -> PResult<Vec<Aggregate>> {
        self.expect(&Tok::LParen, "'(' after 'aggregate'")?;
        let mut out = Vec::new();
        loop {
            let t = self.peek().clone();
            let (path, method) = match &t.tok {
                Tok::Dollar(d) if d == "$count" => {
                    self.bump();
                    (Vec::new(), AggregateMethod::Count)
                }
                Tok::Dollar(d) => {
                    return Err(self.span.error(t.start, format!("'{d}' is not supported in aggregate")));
                }
                _ => {
                    let path = self.plain_path("a property path or '$count'")?;
                    self.expect_word("with")?;
                    let mt = self.bump();
                    let method = match &mt.tok {
                        Tok::Ident(m) => match m.as_str() {
                            "sum" => AggregateMethod::Sum,
                            "min" => AggregateMethod::Min,
                            "max" => AggregateMethod::Max,
                            "average" => AggregateMethod::Average,
                            "countdistinct" => AggregateMethod::CountDistinct,
                            _ => {
                                return Err(self
                                    .span
                                    .error(mt.start, format!("unknown aggregation method {}", quote_text(m))));
                            }
                        },
                        _ => {
                            return Err(
                                self.unexpected(&mt, "an aggregation method (sum, min, max, average, countdistinct)")
                            )
                        }
                    };
                    (path, method)
                }
            };
            self.expect_word("as")?;
            let alias = self.plain_ident("an alias name after 'as'")?;
            out.push(Aggregate { path, method, alias });
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect(&Tok::RParen, "',' or ')'")?;
            return Ok(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points

pub(crate) fn filter_in(span: Span<'_>, aliases: Option<&AliasCtx<'_>>) -> PResult<Expr> {
    let mode = aliases.map_or(AliasMode::Unavailable, AliasMode::Resolve);
    let mut p = Parser::new(span, mode, 0)?;
    let n = p.expr()?;
    p.expect_end("an operator or end of input")?;
    Ok(n.e)
}

pub(crate) fn orderby_in(span: Span<'_>) -> PResult<Vec<OrderBy>> {
    let mut p = Parser::new(span, AliasMode::Unavailable, 0)?;
    let mut out = Vec::new();
    loop {
        let path = p.plain_path("a property path")?;
        if p.peek_is(&Tok::LParen) {
            return Err(p.span.error(p.peek().start, "only property paths can be ordered by"));
        }
        let descending = if p.peek_word("desc") {
            p.bump();
            true
        } else {
            if p.peek_word("asc") {
                p.bump();
            }
            false
        };
        out.push(OrderBy { path, descending });
        if p.eat(&Tok::Comma) {
            continue;
        }
        p.expect_end("',', 'asc', 'desc' or end of input")?;
        return Ok(out);
    }
}

pub(crate) fn select_in(span: Span<'_>) -> PResult<Vec<String>> {
    let mut p = Parser::new(span, AliasMode::Unavailable, 0)?;
    let mut out = Vec::new();
    loop {
        if p.eat(&Tok::Star) {
            out.push("*".to_string());
        } else {
            out.push(p.plain_ident("a property name or '*'")?);
        }
        match p.peek().tok {
            Tok::Comma => {
                p.bump();
            }
            Tok::Slash => return Err(p.span.error(p.peek().start, "paths are not supported in $select")),
            Tok::LParen => {
                return Err(p.span.error(p.peek().start, "options in parentheses are not supported in $select"));
            }
            _ => {
                p.expect_end("',' or end of input")?;
                return Ok(out);
            }
        }
    }
}

pub(crate) fn apply_in(span: Span<'_>, aliases: Option<&AliasCtx<'_>>) -> PResult<Vec<Transformation>> {
    let mode = aliases.map_or(AliasMode::Unavailable, AliasMode::Resolve);
    let mut p = Parser::new(span, mode, 0)?;
    let mut out = Vec::new();
    loop {
        let t = p.bump();
        let Tok::Ident(name) = &t.tok else {
            return Err(p.unexpected(&t, "a transformation such as filter(…), groupby(…) or aggregate(…)"));
        };
        match name.as_str() {
            "filter" => {
                p.expect(&Tok::LParen, "'(' after 'filter'")?;
                let e = p.expr()?;
                p.expect(&Tok::RParen, "')'")?;
                out.push(Transformation::Filter(e.e));
            }
            "groupby" => {
                p.expect(&Tok::LParen, "'(' after 'groupby'")?;
                p.expect(&Tok::LParen, "'(' starting the list of grouping properties")?;
                let mut paths = Vec::new();
                loop {
                    paths.push(p.plain_path("a property path")?);
                    if !p.eat(&Tok::Comma) {
                        break;
                    }
                }
                p.expect(&Tok::RParen, "',' or ')'")?;
                let mut aggregates = Vec::new();
                if p.eat(&Tok::Comma) {
                    if !p.peek_word("aggregate") {
                        return Err(p.unexpected(p.peek(), "'aggregate(…)'"));
                    }
                    p.bump();
                    aggregates = p.aggregate_list()?;
                }
                p.expect(&Tok::RParen, "')'")?;
                out.push(Transformation::GroupBy { paths, aggregates });
            }
            "aggregate" => out.push(Transformation::Aggregate(p.aggregate_list()?)),
            _ => return Err(p.span.error(t.start, format!("unsupported transformation {}", quote_text(name)))),
        }
        if p.eat(&Tok::Slash) {
            continue;
        }
        p.expect_end("'/' or end of input")?;
        return Ok(out);
    }
}

/// Index of the first `stop` byte at bracket depth 0 and outside quotes in
/// `[from, span.end)`, or `span.end` when there is none. Quotes follow the
/// lexer's rules so that `;`, `,` and `)` inside strings never split.
pub(crate) fn scan_to(span: Span<'_>, from: usize, stop: u8) -> PResult<usize> {
    let mut depth = 0usize;
    let mut k = from;
    while let Some(c) = span.byte(k) {
        match c {
            b'\'' => {
                let open = k;
                k += 1;
                loop {
                    match span.byte(k) {
                        None => return Err(span.error(open, "unterminated string literal")),
                        Some(b'\'') if span.byte(k + 1) == Some(b'\'') => k += 2,
                        Some(b'\'') => break,
                        Some(_) => k += 1,
                    }
                }
            }
            b'"' => {
                let open = k;
                k += 1;
                loop {
                    match span.byte(k) {
                        None => return Err(span.error(open, "unterminated string literal")),
                        Some(b'\\') => k += 2,
                        Some(b'"') => break,
                        Some(_) => k += 1,
                    }
                }
            }
            _ if c == stop && depth == 0 => return Ok(k),
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                if depth == 0 {
                    return Err(span.error(k, format!("unexpected '{}'", c as char)));
                }
                depth -= 1;
            }
            _ => {}
        }
        k += 1;
    }
    Ok(span.end)
}

pub(crate) fn expand_in(span: Span<'_>, aliases: Option<&AliasCtx<'_>>, depth: usize) -> PResult<Vec<ExpandItem>> {
    if depth >= MAX_EXPAND_DEPTH {
        return Err(span.error(span.start, "$expand nested too deeply"));
    }
    let found = |k: usize| match span.root.get(k..span.end).and_then(|s| s.chars().next()) {
        Some(ch) => format!("'{ch}'"),
        None => "end of input".to_string(),
    };
    let skip_ws = |mut k: usize| {
        while span.byte(k).is_some_and(|c| c.is_ascii_whitespace()) {
            k += 1;
        }
        k
    };
    let mut items = Vec::new();
    let mut i = span.start;
    loop {
        i = skip_ws(i);
        let start = i;
        match span.byte(i) {
            Some(c) if is_ident_start(c) => {}
            Some(b'*') => return Err(span.error(i, "'*' is not supported in $expand; name the navigation properties")),
            _ => return Err(span.error(i, format!("expected a navigation property name but found {}", found(i)))),
        }
        while span.byte(i).is_some_and(is_ident_char) {
            i += 1;
        }
        let nav = span.root.get(start..i).unwrap_or("").to_string();
        i = skip_ws(i);
        let mut options = Default::default();
        match span.byte(i) {
            Some(b'(') => {
                let close = scan_to(span, i + 1, b')')?;
                if close >= span.end {
                    return Err(span.error(span.end, "expected ')' but found end of input"));
                }
                options = crate::options::options_in(span.sub(i + 1, close), aliases, depth + 1)?;
                i = skip_ws(close + 1);
            }
            Some(b'/') => return Err(span.error(i, "paths such as 'nav/$ref' are not supported in $expand")),
            Some(b'.') => return Err(span.error(start, "qualified names are not supported in $expand")),
            _ => {}
        }
        items.push(ExpandItem { nav, options });
        match span.byte(i) {
            None => return Ok(items),
            Some(b',') => i += 1,
            Some(_) => return Err(span.error(i, format!("expected ',', '(' or end of input but found {}", found(i)))),
        }
    }
}

/// Parses a `$filter` expression. A parameter alias (`@p1`) is an error.
pub fn parse_filter(s: &str) -> Result<Expr, ParseError> {
    filter_in(Span::whole(s, "$filter"), None)
}

/// Parses a `$filter` expression whose `@name` references are resolved by
/// `aliases`, which is called with the alias as written (`"@p1"`) and returns
/// its raw (already percent-decoded) text. That text is parsed as an
/// expression; it may not refer to other aliases.
pub fn parse_filter_with_aliases(s: &str, aliases: &dyn Fn(&str) -> Option<String>) -> Result<Expr, ParseError> {
    let ctx = AliasCtx::new(aliases);
    filter_in(Span::whole(s, "$filter"), Some(&ctx))
}

/// Parses `$orderby`: `name asc, createdon desc, primarycontactid/fullname`.
pub fn parse_orderby(s: &str) -> Result<Vec<OrderBy>, ParseError> {
    orderby_in(Span::whole(s, "$orderby"))
}

/// Parses `$select`: a comma list of property names; `*` is kept as `"*"`.
pub fn parse_select(s: &str) -> Result<Vec<String>, ParseError> {
    select_in(Span::whole(s, "$select"))
}

/// Parses `$expand`: `nav1($select=a;$filter=…),nav2`; options nest.
pub fn parse_expand(s: &str) -> Result<Vec<ExpandItem>, ParseError> {
    expand_in(Span::whole(s, "$expand"), None, 0)
}

/// Parses `$apply`: `filter(…)`, `groupby((a,b),aggregate(…))` and
/// `aggregate(…)` transformations joined by `/`.
pub fn parse_apply(s: &str) -> Result<Vec<Transformation>, ParseError> {
    apply_in(Span::whole(s, "$apply"), None)
}

// ---------------------------------------------------------------------------
// Printer

fn binop_info(op: BinOp) -> (&'static str, u8) {
    match op {
        BinOp::Or => ("or", 1),
        BinOp::And => ("and", 2),
        BinOp::Eq => ("eq", 3),
        BinOp::Ne => ("ne", 3),
        BinOp::Gt => ("gt", 4),
        BinOp::Ge => ("ge", 4),
        BinOp::Lt => ("lt", 4),
        BinOp::Le => ("le", 4),
        BinOp::Add => ("add", 5),
        BinOp::Sub => ("sub", 5),
        BinOp::Mul => ("mul", 6),
        BinOp::Div => ("div", 6),
        BinOp::Mod => ("mod", 6),
    }
}

const UNARY_PREC: u8 = 7;
const IN_PREC: u8 = 8;
const ATOM_PREC: u8 = 9;

fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Binary { op, .. } => binop_info(*op).1,
        Expr::Not(_) | Expr::Neg(_) => UNARY_PREC,
        Expr::In { .. } => IN_PREC,
        _ => ATOM_PREC,
    }
}

fn write_literal(out: &mut String, l: &Literal) {
    match l {
        Literal::Null => out.push_str("null"),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Int(i) => out.push_str(&i.to_string()),
        Literal::Decimal(d) => {
            let s = d.to_string();
            out.push_str(&s);
            // Without a fraction the text would read back as an integer.
            if !s.contains('.') {
                out.push('M');
            }
        }
        // `{:e}` is the shortest text that reads back to the same f64 and
        // always has an exponent, which is what makes it a double again.
        Literal::Double(f) if f.is_finite() => out.push_str(&format!("{f:e}")),
        Literal::Double(f) => out.push_str(if f.is_nan() {
            "NaN"
        } else if *f > 0.0 {
            "INF"
        } else {
            "-INF"
        }),
        Literal::String(s) => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        Literal::Guid(g) => out.push_str(&g.hyphenated().to_string()),
        Literal::DateTime(d) => out.push_str(&d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Literal::Date(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
    }
}

fn write_sub(out: &mut String, e: &Expr, parens: bool) {
    if parens {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, it);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Literal(l) => write_literal(out, l),
        Expr::Property(p) => out.push_str(&p.join("/")),
        Expr::Binary { op, left, right } => {
            let (word, p) = binop_info(*op);
            write_sub(out, left, prec(left) < p);
            out.push(' ');
            out.push_str(word);
            out.push(' ');
            // Left-associative: an equal-precedence right operand needs parentheses.
            write_sub(out, right, prec(right) <= p);
        }
        Expr::Not(x) => {
            out.push_str("not ");
            write_sub(out, x, prec(x) < UNARY_PREC);
        }
        Expr::Neg(x) => {
            out.push('-');
            // `-5` would read back as a negative literal, not `Neg`.
            let bare =
                matches!(**x, Expr::Property(_) | Expr::Call { .. } | Expr::CrmFunction { .. } | Expr::Lambda { .. });
            write_sub(out, x, !bare);
        }
        Expr::In { expr, list } => {
            write_sub(out, expr, prec(expr) < IN_PREC);
            out.push_str(" in (");
            write_list(out, list, write_expr);
            out.push(')');
        }
        Expr::Call { name, args } => {
            out.push_str(name);
            out.push('(');
            write_list(out, args, write_expr);
            out.push(')');
        }
        Expr::CrmFunction { name, params } => {
            out.push_str(CRM_NAMESPACE);
            out.push_str(name);
            out.push('(');
            write_list(out, params, |o, (n, v)| {
                o.push_str(n);
                o.push('=');
                match v {
                    FunctionArg::Literal(l) => write_literal(o, l),
                    FunctionArg::List(items) => {
                        o.push('[');
                        write_list(o, items, write_literal);
                        o.push(']');
                    }
                }
            });
            out.push(')');
        }
        Expr::Lambda { path, kind, var, body } => {
            out.push_str(&path.join("/"));
            out.push_str(match kind {
                LambdaKind::Any => "/any(",
                LambdaKind::All => "/all(",
            });
            if let (Some(v), Some(b)) = (var, body) {
                out.push_str(v);
                out.push(':');
                write_expr(out, b);
            }
            out.push(')');
        }
    }
}

/// Prints a filter expression as OData text that [`parse_filter`] reads back
/// to an equal tree, adding parentheses only where precedence needs them.
pub fn to_odata(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}
