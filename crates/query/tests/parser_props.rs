use chrono::{DateTime, NaiveDate};
use proptest::prelude::*;
use proptest::sample::select;
use relata_query::ast::*;
use relata_query::options::{parse_expand_options, parse_query_options};
use relata_query::parser::*;
use rust_decimal::Decimal;
use uuid::Uuid;

// ---------------------------------------------------------------- (a) never panics

const VOCAB: &[&str] = &[
    "(",
    ")",
    "'",
    "''",
    "\"",
    "\\\"",
    "[",
    "]",
    ",",
    "/",
    ":",
    "=",
    ";",
    "$",
    "@",
    "@p",
    "@q",
    "$filter=",
    "$select=",
    "$expand=",
    "$top=",
    "$apply=",
    "$count",
    "$it",
    "a",
    "name",
    "o/name",
    "x:",
    "eq",
    "ne",
    "gt",
    "and",
    "or",
    "not",
    "add",
    "mul",
    "EQ",
    "-",
    "- ",
    "1",
    "-1",
    "007",
    "1.5",
    "1.",
    "1e3",
    "1e",
    "2.5E-2",
    "M",
    "9223372036854775808",
    "2024-01-31",
    "T10:00:00Z",
    "2024-01-31T10:00:00+03:00",
    "2024-01-31T10:00",
    "2024-02-30",
    "00000000-0000-0000-0000-000000000001",
    "contains",
    "tolower",
    "now",
    "substring",
    "any",
    "all",
    "in",
    "has",
    "divby",
    "Microsoft.Dynamics.CRM.In",
    "Microsoft.Dynamics.CRM.",
    "PropertyName",
    "PropertyValues",
    "with",
    "as",
    "sum",
    "countdistinct",
    "groupby",
    "aggregate",
    "filter",
    "asc",
    "desc",
    "&",
    "%",
    "%2",
    "%20",
    "%FF",
    "%27",
    "+",
    "Ж",
    "🎉",
    "\u{0}",
    "null",
    "TRUE",
    "*",
    ".",
    "INF",
    "NaN",
    "\t",
    " ",
];

fn soup() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        prop::collection::vec((select(VOCAB), select(&["", " ", ""][..])), 0..40)
            .prop_map(|v| v.into_iter().map(|(a, b)| format!("{a}{b}")).collect::<String>()),
    ]
}

fn run_everything(s: &str, alias_text: &str) {
    let _ = parse_filter(s);
    let _ = parse_filter_with_aliases(s, &|_| Some(alias_text.to_string()));
    let _ = parse_orderby(s);
    let _ = parse_select(s);
    let _ = parse_expand(s);
    let _ = parse_apply(s);
    let _ = parse_query_options(s);
    let _ = parse_expand_options(s);
    if let Ok(e) = parse_filter(s) {
        // Whatever parses must print to something that parses again.
        let printed = to_odata(&e);
        assert_eq!(parse_filter(&printed), Ok(e), "{printed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_input_never_panics(s in soup(), alias in soup()) {
        run_everything(&s, &alias);
        // The same text in the positions it would take in a request.
        run_everything(&format!("$filter={s}"), &alias);
        run_everything(&format!("a($filter={s})"), &alias);
        run_everything(&format!("x eq @p and {s}"), &alias);
        let _ = parse_query_options(&format!("$filter=a eq @p&@p={s}"));
    }
}

// ---------------------------------------------------------------- (b) round trip

const RESERVED: &[&str] = &[
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod", "in", "has", "divby",
    "any", "all", "null", "true", "false", "inf", "nan",
];

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}".prop_filter("reserved word", |s| !RESERVED.contains(&s.to_ascii_lowercase().as_str()))
}

fn path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(ident(), 1..4)
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            select(
                &[
                    "'",
                    "''",
                    ";",
                    "--",
                    "/*",
                    "*/",
                    "\"",
                    "\\",
                    "%",
                    "%27",
                    "(",
                    ")",
                    ",",
                    " OR 1=1",
                    "DROP TABLE x",
                    "Ж",
                    "\n",
                    "a"
                ][..]
            ),
            0..8
        )
        .prop_map(|v| v.concat()),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        ((-(1i128 << 95))..(1i128 << 95), 0u32..=28)
            .prop_map(|(m, s)| Literal::Decimal(Decimal::from_i128_with_scale(m, s))),
        (any::<i32>(), 0u32..=6).prop_map(|(m, s)| Literal::Decimal(Decimal::new(i64::from(m), s))),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Literal::Double),
        tricky_string().prop_map(Literal::String),
        any::<u128>().prop_map(|u| Literal::Guid(Uuid::from_u128(u))),
        (-62_135_596_800i64..253_402_300_799, prop_oneof![Just(0u32), 0u32..1_000_000_000])
            .prop_map(|(s, n)| Literal::DateTime(DateTime::from_timestamp(s, n).unwrap())),
        (1i32..=3_652_059).prop_map(|d| Literal::Date(NaiveDate::from_num_days_from_ce_opt(d).unwrap())),
    ]
}

fn binop() -> impl Strategy<Value = BinOp> {
    select(
        &[
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Lt,
            BinOp::Le,
            BinOp::And,
            BinOp::Or,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Mod,
        ][..],
    )
}

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("contains", 2, 2),
    ("startswith", 2, 2),
    ("endswith", 2, 2),
    ("indexof", 2, 2),
    ("concat", 2, 2),
    ("substring", 2, 3),
    ("tolower", 1, 1),
    ("toupper", 1, 1),
    ("trim", 1, 1),
    ("length", 1, 1),
    ("year", 1, 1),
    ("date", 1, 1),
    ("round", 1, 1),
    ("now", 0, 0),
];

fn crm_function() -> impl Strategy<Value = Expr> {
    let arg = prop_oneof![
        literal().prop_map(FunctionArg::Literal),
        prop::collection::vec(literal(), 0..4).prop_map(FunctionArg::List),
    ];
    ("[A-Z][A-Za-z]{0,8}", prop::collection::vec((ident(), arg), 0..4)).prop_map(|(name, raw)| {
        let mut params: Vec<(String, FunctionArg)> = Vec::new();
        for (n, a) in raw {
            if !params.iter().any(|(m, _)| *m == n) {
                params.push((n, a));
            }
        }
        Expr::CrmFunction { name, params }
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        3 => literal().prop_map(Expr::Literal),
        3 => path().prop_map(Expr::Property),
        1 => crm_function(),
        1 => path().prop_map(|path| Expr::Lambda { path, kind: LambdaKind::Any, var: None, body: None }),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            4 => (binop(), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| Expr::Binary { op, left: Box::new(l), right: Box::new(r) }),
            1 => inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            1 => inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            1 => (inner.clone(), prop::collection::vec(inner.clone(), 1..4))
                .prop_map(|(e, list)| Expr::In { expr: Box::new(e), list }),
            2 => (select(FUNCTIONS), prop::collection::vec(inner.clone(), 0..=3)).prop_map(|((name, min, max), mut args)| {
                args.truncate(max);
                while args.len() < min {
                    args.push(Expr::Literal(Literal::Null));
                }
                Expr::Call { name: name.to_string(), args }
            }),
            1 => (path(), any::<bool>(), ident(), inner).prop_map(|(path, all, var, body)| Expr::Lambda {
                path,
                kind: if all { LambdaKind::All } else { LambdaKind::Any },
                var: Some(var),
                body: Some(Box::new(body)),
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_filters_parse_back(e in expr()) {
        let printed = to_odata(&e);
        prop_assert_eq!(parse_filter(&printed), Ok(e), "printed: {}", printed);
    }

    #[test]
    fn printed_filters_survive_the_query_string(e in expr()) {
        let q = format!("$filter={}", percent_encode(&to_odata(&e)));
        prop_assert_eq!(parse_query_options(&q).map(|o| o.filter), Ok(Some(e)));
    }
}

/// Cuts `s` at the character boundary nearest below `i`.
fn boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len())).rev().find(|&k| s.is_char_boundary(k)).unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Almost-valid input reaches the error paths deep inside the grammar.
    #[test]
    fn damaged_filters_never_panic(e in expr(), at in any::<prop::sample::Index>(), tok in select(VOCAB), cut in any::<bool>()) {
        let printed = to_odata(&e);
        let k = boundary(&printed, at.index(printed.len() + 1));
        let damaged = if cut {
            printed[..k].to_string()
        } else {
            format!("{}{tok}{}", &printed[..k], &printed[k..])
        };
        run_everything(&damaged, &printed);
        run_everything(&format!("a($filter={damaged};$top=1)"), "");
    }
}

// ---------------------------------------------------------------- (c) user text stays a literal

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Encodes everything but RFC 3986 unreserved characters, as
/// `encodeURIComponent` does (and more).
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn string_literals_are_only_values(s in tricky_string()) {
        let expected = Expr::Binary {
            op: BinOp::Eq,
            left: Box::new(Expr::Property(vec!["name".into()])),
            right: Box::new(Expr::Literal(Literal::String(s.clone()))),
        };
        let src = format!("name eq {}", quote(&s));
        prop_assert_eq!(parse_filter(&src), Ok(expected.clone()));

        let q = format!("$filter={}", percent_encode(&src));
        prop_assert_eq!(parse_query_options(&q).map(|o| o.filter), Ok(Some(expected.clone())));

        let q = format!("$filter=name%20eq%20@v&@v={}", percent_encode(&quote(&s)));
        prop_assert_eq!(parse_query_options(&q).map(|o| o.filter), Ok(Some(expected.clone())));

        let ex = parse_expand(&format!("a($filter={src};$select=b),c")).map(|v| v.into_iter().map(|i| i.options.filter).collect::<Vec<_>>());
        prop_assert_eq!(ex, Ok(vec![Some(expected), None]));

        let call = parse_filter(&format!("contains(name,{})", quote(&s)));
        prop_assert_eq!(call, Ok(Expr::Call {
            name: "contains".into(),
            args: vec![Expr::Property(vec!["name".into()]), Expr::Literal(Literal::String(s.clone()))],
        }));

        let crm = parse_filter(&format!("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[{}])", quote(&s)));
        prop_assert_eq!(crm, Ok(Expr::CrmFunction {
            name: "In".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("name".into()))),
                ("PropertyValues".into(), FunctionArg::List(vec![Literal::String(s.clone())])),
            ],
        }));

        let dq = format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let crm = parse_filter(&format!("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[{dq}])"));
        prop_assert_eq!(crm, Ok(Expr::CrmFunction {
            name: "In".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("name".into()))),
                ("PropertyValues".into(), FunctionArg::List(vec![Literal::String(s)])),
            ],
        }));
    }
}
