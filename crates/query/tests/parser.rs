use chrono::{NaiveDate, TimeZone, Utc};
use relata_query::ast::*;
use relata_query::parser::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use uuid::Uuid;

fn prop(p: &str) -> Expr {
    Expr::Property(p.split('/').map(String::from).collect())
}

fn lit(l: Literal) -> Expr {
    Expr::Literal(l)
}

fn s(v: &str) -> Expr {
    lit(Literal::String(v.to_string()))
}

fn int(v: i64) -> Expr {
    lit(Literal::Int(v))
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call { name: name.to_string(), args }
}

fn f(src: &str) -> Expr {
    parse_filter(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn ferr(src: &str) -> String {
    match parse_filter(src) {
        Ok(e) => panic!("{src} parsed as {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn dec(v: &str) -> Expr {
    lit(Literal::Decimal(Decimal::from_str(v).unwrap()))
}

// ---------------------------------------------------------------- literals

#[test]
fn null_true_false_any_case() {
    assert_eq!(f("x eq null"), bin(BinOp::Eq, prop("x"), lit(Literal::Null)));
    assert_eq!(f("x eq NULL"), bin(BinOp::Eq, prop("x"), lit(Literal::Null)));
    assert_eq!(f("x eq True"), bin(BinOp::Eq, prop("x"), lit(Literal::Bool(true))));
    assert_eq!(f("x ne FALSE"), bin(BinOp::Ne, prop("x"), lit(Literal::Bool(false))));
}

#[test]
fn integers() {
    assert_eq!(f("x eq 42"), bin(BinOp::Eq, prop("x"), int(42)));
    assert_eq!(f("x eq -7"), bin(BinOp::Eq, prop("x"), int(-7)));
    assert_eq!(f("x eq 9223372036854775807"), bin(BinOp::Eq, prop("x"), int(i64::MAX)));
    assert_eq!(f("x eq -9223372036854775808"), bin(BinOp::Eq, prop("x"), int(i64::MIN)));
    // Beyond Int64 the digits are a decimal literal (OData's decimalValue);
    // the column's range decides whether it can be compared.
    assert_eq!(f("x eq 9223372036854775808"), bin(BinOp::Eq, prop("x"), dec("9223372036854775808")));
    let e = ferr("x eq 99999999999999999999999999999999");
    assert!(e.contains("integer literal '99999999999999999999999999999999' is out of range"), "{e}");
}

#[test]
fn decimals_are_exact() {
    let e = f("revenue gt 12.50");
    assert_eq!(e, bin(BinOp::Gt, prop("revenue"), dec("12.50")));
    // Exact where a float would not be.
    assert_eq!(f("x eq 0.1"), bin(BinOp::Eq, prop("x"), dec("0.1")));
    assert_eq!(
        f("x eq 12345678901234567890.123456789"),
        bin(BinOp::Eq, prop("x"), dec("12345678901234567890.123456789"))
    );
    assert_eq!(f("x eq 1.5M"), bin(BinOp::Eq, prop("x"), dec("1.5")));
    assert_eq!(f("x eq 7m"), bin(BinOp::Eq, prop("x"), dec("7")));
    assert_eq!(f("x eq -3.25"), bin(BinOp::Eq, prop("x"), dec("-3.25")));
    assert!(ferr("x eq 1.").contains("expected a digit after '.'"));
    assert!(ferr("x eq 99999999999999999999999999999999.5").contains("out of range"));
}

#[test]
fn doubles_need_an_exponent() {
    assert_eq!(f("x eq 1e3"), bin(BinOp::Eq, prop("x"), lit(Literal::Double(1000.0))));
    assert_eq!(f("x eq 2.5E-2"), bin(BinOp::Eq, prop("x"), lit(Literal::Double(0.025))));
    assert_eq!(f("x eq -1e+2"), bin(BinOp::Eq, prop("x"), lit(Literal::Double(-100.0))));
    assert!(ferr("x eq 1e999").contains("out of range"));
    assert!(ferr("x eq 1e").contains("exponent"));
    assert!(ferr("x eq INF").contains("'INF' is not supported"));
    assert!(ferr("x eq NaN").contains("'NaN' is not supported"));
    assert!(ferr("x eq 12abc").contains("invalid number literal '12abc'"));
    assert!(ferr("x eq 1.2.3").contains("invalid number literal"));
}

#[test]
fn strings_and_escapes() {
    assert_eq!(f("name eq 'Contoso'"), bin(BinOp::Eq, prop("name"), s("Contoso")));
    assert_eq!(f("name eq 'O''Neil'"), bin(BinOp::Eq, prop("name"), s("O'Neil")));
    assert_eq!(f("name eq ''"), bin(BinOp::Eq, prop("name"), s("")));
    assert_eq!(f("name eq ''''"), bin(BinOp::Eq, prop("name"), s("'")));
    assert_eq!(f("name eq 'a\"b\\c'"), bin(BinOp::Eq, prop("name"), s("a\"b\\c")));
    assert_eq!(f("name eq ' spaced  '"), bin(BinOp::Eq, prop("name"), s(" spaced  ")));
    let e = ferr("name eq 'open");
    assert_eq!(e, "syntax error at position 8 in $filter: unterminated string literal");
}

#[test]
fn unicode_strings() {
    assert_eq!(f("contains(name,'Ромашка')"), call("contains", vec![prop("name"), s("Ромашка")]));
    assert_eq!(f("name eq '日本語 🎉'"), bin(BinOp::Eq, prop("name"), s("日本語 🎉")));
    // Positions count characters, not bytes.
    let e = ferr("name eq 'Ромашка' xx");
    assert_eq!(e, "syntax error at position 18 in $filter: expected an operator or end of input but found 'xx'");
    let e = ferr("имя eq 1");
    assert_eq!(e, "syntax error at position 0 in $filter: unexpected character 'и'");
}

#[test]
fn guids() {
    let g = Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap();
    assert_eq!(
        f("accountid eq 00000000-0000-0000-0000-000000000001"),
        bin(BinOp::Eq, prop("accountid"), lit(Literal::Guid(g)))
    );
    let g2 = Uuid::parse_str("abcdefab-cdef-abcd-efab-cdefabcdef12").unwrap();
    assert_eq!(
        f("_parentcustomerid_value eq ABCDEFAB-CDEF-ABCD-EFAB-CDEFABCDEF12"),
        bin(BinOp::Eq, prop("_parentcustomerid_value"), lit(Literal::Guid(g2)))
    );
}

#[test]
fn dates_and_datetimes() {
    let d = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
    assert_eq!(f("birthdate eq 2024-01-31"), bin(BinOp::Eq, prop("birthdate"), lit(Literal::Date(d))));
    let dt = Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap();
    let at = |src: &str| match f(src) {
        Expr::Binary { right, .. } => *right,
        e => panic!("{e:?}"),
    };
    assert_eq!(at("createdon gt 2024-01-31T10:00:00Z"), lit(Literal::DateTime(dt)));
    assert_eq!(at("createdon gt 2024-01-31T13:00:00+03:00"), lit(Literal::DateTime(dt)));
    assert_eq!(at("createdon gt 2024-01-31T05:30:00-04:30"), lit(Literal::DateTime(dt)));
    assert_eq!(at("createdon gt 2024-01-31T10:00Z"), lit(Literal::DateTime(dt)));
    assert_eq!(at("createdon gt 2024-01-31T10:00:00"), lit(Literal::DateTime(dt)));
    let frac = Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap() + chrono::Duration::milliseconds(123);
    assert_eq!(at("createdon gt 2024-01-31T10:00:00.123Z"), lit(Literal::DateTime(frac)));
    assert_eq!(at("createdon gt 2024-01-31T10:00:00.1230000Z"), lit(Literal::DateTime(frac)));
    assert!(ferr("x eq 2024-02-30").contains("invalid date/time literal '2024-02-30'"));
    assert!(ferr("x eq 2024-01-31T25:00:00Z").contains("invalid date/time literal"));
    assert!(ferr("x eq 2024-01-31Txx").contains("invalid date/time literal"));
    assert!(ferr("x eq 2024-01-31T10:00:00 03:00").contains("%2B"));
    assert!(ferr("x eq 9999-12-31T23:00:00-02:00").contains("invalid date/time literal"));
    assert!(f("x eq 9999-12-31T23:00:00+02:00") != f("x eq 0000-01-01T00:00:00Z"));
}

#[test]
fn negation() {
    assert_eq!(f("-x eq 1"), bin(BinOp::Eq, Expr::Neg(Box::new(prop("x"))), int(1)));
    assert_eq!(f("x eq - 5"), bin(BinOp::Eq, prop("x"), Expr::Neg(Box::new(int(5)))));
    assert_eq!(f("x eq -(5)"), bin(BinOp::Eq, prop("x"), Expr::Neg(Box::new(int(5)))));
    assert_eq!(f("x sub -5"), bin(BinOp::Sub, prop("x"), int(-5)));
}

// ---------------------------------------------------------------- operators

#[test]
fn comparison_operators() {
    for (w, op) in [
        ("eq", BinOp::Eq),
        ("ne", BinOp::Ne),
        ("gt", BinOp::Gt),
        ("ge", BinOp::Ge),
        ("lt", BinOp::Lt),
        ("le", BinOp::Le),
    ] {
        assert_eq!(f(&format!("a {w} 1")), bin(op, prop("a"), int(1)));
    }
}

#[test]
fn arithmetic_operators() {
    for (w, op) in
        [("add", BinOp::Add), ("sub", BinOp::Sub), ("mul", BinOp::Mul), ("div", BinOp::Div), ("mod", BinOp::Mod)]
    {
        assert_eq!(f(&format!("a {w} 2 eq 4")), bin(BinOp::Eq, bin(op, prop("a"), int(2)), int(4)));
    }
}

#[test]
fn precedence() {
    // or < and
    assert_eq!(
        f("a eq 1 or b eq 2 and c eq 3"),
        bin(
            BinOp::Or,
            bin(BinOp::Eq, prop("a"), int(1)),
            bin(BinOp::And, bin(BinOp::Eq, prop("b"), int(2)), bin(BinOp::Eq, prop("c"), int(3)))
        )
    );
    // mul > add > comparison
    assert_eq!(
        f("a add b mul c gt 10"),
        bin(BinOp::Gt, bin(BinOp::Add, prop("a"), bin(BinOp::Mul, prop("b"), prop("c"))), int(10))
    );
    // left associativity
    assert_eq!(
        f("a sub b sub c eq 0"),
        bin(BinOp::Eq, bin(BinOp::Sub, bin(BinOp::Sub, prop("a"), prop("b")), prop("c")), int(0))
    );
    assert_eq!(
        f("a div b mod c eq 0"),
        bin(BinOp::Eq, bin(BinOp::Mod, bin(BinOp::Div, prop("a"), prop("b")), prop("c")), int(0))
    );
    // parentheses
    assert_eq!(
        f("(a eq 1 or b eq 2) and c eq 3"),
        bin(
            BinOp::And,
            bin(BinOp::Or, bin(BinOp::Eq, prop("a"), int(1)), bin(BinOp::Eq, prop("b"), int(2))),
            bin(BinOp::Eq, prop("c"), int(3))
        )
    );
    // not binds tighter than comparisons
    assert_eq!(f("not a eq b"), bin(BinOp::Eq, Expr::Not(Box::new(prop("a"))), prop("b")));
    assert_eq!(
        f("not (a eq b) and c"),
        bin(BinOp::And, Expr::Not(Box::new(bin(BinOp::Eq, prop("a"), prop("b")))), prop("c"))
    );
    // relational binds tighter than equality (OData 4.01)
    assert_eq!(f("x eq a gt 1"), bin(BinOp::Eq, prop("x"), bin(BinOp::Gt, prop("a"), int(1))));
    // unary minus binds tighter than mul
    assert_eq!(f("-a mul b eq 1"), bin(BinOp::Eq, bin(BinOp::Mul, Expr::Neg(Box::new(prop("a"))), prop("b")), int(1)));
}

#[test]
fn not_and_contains() {
    assert_eq!(f("not contains(name,'x')"), Expr::Not(Box::new(call("contains", vec![prop("name"), s("x")]))));
    assert_eq!(f("not not a"), Expr::Not(Box::new(Expr::Not(Box::new(prop("a"))))));
}

#[test]
fn in_operator() {
    assert_eq!(f("name in ('a','b')"), Expr::In { expr: Box::new(prop("name")), list: vec![s("a"), s("b")] });
    assert_eq!(f("statecode in (0)"), Expr::In { expr: Box::new(prop("statecode")), list: vec![int(0)] });
    // `in` belongs to OData's primary group: tighter than not and arithmetic.
    assert_eq!(
        f("not statecode in (0, 1)"),
        Expr::Not(Box::new(Expr::In { expr: Box::new(prop("statecode")), list: vec![int(0), int(1)] }))
    );
    assert_eq!(
        f("a in (1) and b eq 2"),
        bin(BinOp::And, Expr::In { expr: Box::new(prop("a")), list: vec![int(1)] }, bin(BinOp::Eq, prop("b"), int(2)))
    );
    assert_eq!(
        f("tolower(name) in ('x')"),
        Expr::In { expr: Box::new(call("tolower", vec![prop("name")])), list: vec![s("x")] }
    );
    assert!(ferr("name in ()").contains("expected a value in the list after 'in'"));
    assert!(ferr("name in 'a'").contains("expected '(' after 'in'"));
}

#[test]
fn has_and_divby_rejected() {
    assert!(ferr("flags has 1").contains("the 'has' operator is not supported"));
    assert!(ferr("a divby 2 eq 1").contains("the 'divby' operator is not supported"));
}

#[test]
fn keywords_are_case_sensitive() {
    let e = ferr("a EQ 1");
    assert_eq!(e, "syntax error at position 2 in $filter: expected an operator or end of input but found 'EQ' (keywords are lower-case: use 'eq')");
    assert!(ferr("a eq 1 AND b eq 2").contains("use 'and'"));
    assert!(ferr("a = 1").contains("use 'eq' to compare values"));
    assert_eq!(
        ferr("NOT a"),
        "syntax error at position 0 in $filter: expected an expression but found 'NOT' (keywords are lower-case: use 'not')"
    );
}

// ---------------------------------------------------------------- paths and functions

#[test]
fn property_paths() {
    assert_eq!(
        f("_parentcustomerid_value eq null"),
        bin(BinOp::Eq, prop("_parentcustomerid_value"), lit(Literal::Null))
    );
    assert_eq!(f("primarycontactid/fullname eq 'x'"), bin(BinOp::Eq, prop("primarycontactid/fullname"), s("x")));
    assert_eq!(f("a/b/c"), prop("a/b/c"));
    assert!(ferr("a/ eq 1").contains("expected a property name after '/'"));
    assert!(ferr("a/Microsoft.Dynamics.CRM.contact/b eq 1").contains("type-cast segment"));
    assert!(ferr("Namespace.Type eq 1").contains("qualified name 'Namespace.Type' is not supported"));
    assert!(ferr("a/$count gt 1").contains("'$count' is not supported"));
    assert!(ferr("$it/name eq 1").contains("'$it' is not supported"));
}

#[test]
fn canonical_functions() {
    let one = [
        "tolower", "toupper", "trim", "length", "year", "month", "day", "hour", "minute", "second", "date", "time",
        "round", "floor", "ceiling",
    ];
    for name in one {
        assert_eq!(f(&format!("{name}(x)")), call(name, vec![prop("x")]));
    }
    for name in ["contains", "startswith", "endswith", "indexof", "concat"] {
        assert_eq!(f(&format!("{name}(x,'y')")), call(name, vec![prop("x"), s("y")]));
    }
    assert_eq!(f("substring(x,1)"), call("substring", vec![prop("x"), int(1)]));
    assert_eq!(f("substring(x,1,2)"), call("substring", vec![prop("x"), int(1), int(2)]));
    assert_eq!(f("createdon lt now()"), bin(BinOp::Lt, prop("createdon"), call("now", vec![])));
    // Names are lower-cased.
    assert_eq!(f("ToLower(name) eq 'a'"), bin(BinOp::Eq, call("tolower", vec![prop("name")]), s("a")));
    // Nested calls.
    assert_eq!(
        f("startswith(tolower(trim(name)), concat('a','b'))"),
        call(
            "startswith",
            vec![call("tolower", vec![call("trim", vec![prop("name")])]), call("concat", vec![s("a"), s("b")])]
        )
    );
}

#[test]
fn function_errors() {
    assert_eq!(ferr("foo(x) eq 1"), "syntax error at position 0 in $filter: unknown function 'foo'");
    assert_eq!(ferr("cast(x,Edm.String) eq 1"), "syntax error at position 0 in $filter: unknown function 'cast'");
    assert!(ferr("contains(name)").contains("function 'contains' takes 2 arguments but 1 given"));
    assert!(ferr("now(1)").contains("function 'now' takes 0 arguments but 1 given"));
    assert!(ferr("substring(x)").contains("takes 2 or 3 arguments"));
    assert_eq!(
        ferr("contains(name,'x'"),
        "syntax error at position 17 in $filter: expected ',' or ')' but found end of input"
    );
    assert!(ferr("any(x:x eq 1)").contains("must follow a collection path"));
    assert!(ferr("true(1)").contains("expected an operator after 'true'"));
}

#[test]
fn crm_functions() {
    assert_eq!(
        f("Microsoft.Dynamics.CRM.Today(PropertyName='createdon')"),
        Expr::CrmFunction {
            name: "Today".into(),
            params: vec![("PropertyName".into(), FunctionArg::Literal(Literal::String("createdon".into())))]
        }
    );
    assert_eq!(
        f("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=7)"),
        Expr::CrmFunction {
            name: "LastXDays".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("createdon".into()))),
                ("PropertyValue".into(), FunctionArg::Literal(Literal::Int(7))),
            ]
        }
    );
    assert_eq!(
        f("Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=[\"1\",\"5\"])"),
        Expr::CrmFunction {
            name: "In".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("statuscode".into()))),
                (
                    "PropertyValues".into(),
                    FunctionArg::List(vec![Literal::String("1".into()), Literal::String("5".into())])
                ),
            ]
        }
    );
    assert_eq!(
        f("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a''b', \"c\\\"d\", 3, null])"),
        Expr::CrmFunction {
            name: "In".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("name".into()))),
                (
                    "PropertyValues".into(),
                    FunctionArg::List(vec![
                        Literal::String("a'b".into()),
                        Literal::String("c\"d".into()),
                        Literal::Int(3),
                        Literal::Null
                    ])
                ),
            ]
        }
    );
    let g = Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap();
    assert_eq!(
        f("Microsoft.Dynamics.CRM.Under(PropertyName='accountid',PropertyValue=00000000-0000-0000-0000-000000000001)"),
        Expr::CrmFunction {
            name: "Under".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("accountid".into()))),
                ("PropertyValue".into(), FunctionArg::Literal(Literal::Guid(g))),
            ]
        }
    );
    assert_eq!(
        f("Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and statecode eq 0"),
        bin(
            BinOp::And,
            Expr::CrmFunction {
                name: "EqualUserId".into(),
                params: vec![("PropertyName".into(), FunctionArg::Literal(Literal::String("ownerid".into())))]
            },
            bin(BinOp::Eq, prop("statecode"), int(0))
        )
    );
    assert_eq!(f("Microsoft.Dynamics.CRM.Something()"), Expr::CrmFunction { name: "Something".into(), params: vec![] });
    assert!(ferr("Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyName='b')")
        .contains("duplicate parameter 'PropertyName'"));
    assert!(ferr("Microsoft.Dynamics.CRM.In(PropertyName)").contains("expected '=' after 'PropertyName'"));
    assert!(ferr("Microsoft.Dynamics.CRM.In(PropertyName=name)").contains("expected a literal value"));
    assert!(ferr("Microsoft.Dynamics.CRM.Today").contains("expected '(' after 'Microsoft.Dynamics.CRM.Today'"));
    assert!(ferr("name eq \"x\"").contains("double-quoted strings are only allowed"));
}

#[test]
fn lambdas() {
    assert_eq!(
        f("contact_customer_accounts/any(o:o/fullname eq 'x')"),
        Expr::Lambda {
            path: vec!["contact_customer_accounts".into()],
            kind: LambdaKind::Any,
            var: Some("o".into()),
            body: Some(Box::new(bin(BinOp::Eq, prop("o/fullname"), s("x")))),
        }
    );
    assert_eq!(
        f("a/b/all(x: x/n gt 1 and x/m lt 2)"),
        Expr::Lambda {
            path: vec!["a".into(), "b".into()],
            kind: LambdaKind::All,
            var: Some("x".into()),
            body: Some(Box::new(bin(
                BinOp::And,
                bin(BinOp::Gt, prop("x/n"), int(1)),
                bin(BinOp::Lt, prop("x/m"), int(2))
            ))),
        }
    );
    assert_eq!(
        f("contacts/any()"),
        Expr::Lambda { path: vec!["contacts".into()], kind: LambdaKind::Any, var: None, body: None }
    );
    // nested lambda and a lambda in a larger expression
    assert_eq!(
        f("not a/any(x:x/b/any(y:y/c eq 1)) or d"),
        bin(
            BinOp::Or,
            Expr::Not(Box::new(Expr::Lambda {
                path: vec!["a".into()],
                kind: LambdaKind::Any,
                var: Some("x".into()),
                body: Some(Box::new(Expr::Lambda {
                    path: vec!["x".into(), "b".into()],
                    kind: LambdaKind::Any,
                    var: Some("y".into()),
                    body: Some(Box::new(bin(BinOp::Eq, prop("y/c"), int(1)))),
                })),
            })),
            prop("d")
        )
    );
    assert!(ferr("contacts/all()").contains("all() needs a condition"));
    assert!(ferr("contacts/any(o o/x eq 1)").contains("expected ':' after the lambda variable"));
    // `any` not followed by `(` is an ordinary property segment.
    assert_eq!(f("a/any eq 1"), bin(BinOp::Eq, prop("a/any"), int(1)));
}

#[test]
fn aliases() {
    let map = |n: &str| match n {
        "@p1" => Some("'Contoso'".to_string()),
        "@n" => Some("5".to_string()),
        "@e" => Some("a eq 1".to_string()),
        "@loop" => Some("@loop".to_string()),
        "@bad" => Some("'open".to_string()),
        "@list" => Some("['a','b']".to_string()),
        _ => None,
    };
    let p = |src: &str| parse_filter_with_aliases(src, &map);
    assert_eq!(p("name eq @p1").unwrap(), bin(BinOp::Eq, prop("name"), s("Contoso")));
    assert_eq!(p("x gt @n add @n").unwrap(), bin(BinOp::Gt, prop("x"), bin(BinOp::Add, int(5), int(5))));
    assert_eq!(p("@e and b").unwrap(), bin(BinOp::And, bin(BinOp::Eq, prop("a"), int(1)), prop("b")));
    assert_eq!(
        p("Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@list)").unwrap(),
        Expr::CrmFunction {
            name: "In".into(),
            params: vec![
                ("PropertyName".into(), FunctionArg::Literal(Literal::String("Contoso".into()))),
                (
                    "PropertyValues".into(),
                    FunctionArg::List(vec![Literal::String("a".into()), Literal::String("b".into())])
                ),
            ]
        }
    );
    assert_eq!(
        p("name eq @nope").unwrap_err().to_string(),
        "syntax error at position 8 in $filter: unknown parameter alias '@nope'"
    );
    assert!(p("@loop").unwrap_err().to_string().contains("cannot refer to another alias"));
    assert_eq!(
        p("x eq @bad").unwrap_err().to_string(),
        "syntax error at position 0 in @bad: unterminated string literal"
    );
    assert_eq!(
        parse_filter("name eq @p1").unwrap_err().to_string(),
        "syntax error at position 8 in $filter: unknown parameter alias '@p1'"
    );
}

#[test]
fn alias_expansion_is_bounded() {
    let big = format!("'{}'", "x".repeat(100_000));
    let map = move |_: &str| Some(big.clone());
    let src = vec!["a eq @p"; 20].join(" or ");
    let e = parse_filter_with_aliases(&src, &map).unwrap_err();
    assert!(e.message.contains("parameter aliases expand to too much text"), "{e}");
}

// ---------------------------------------------------------------- errors and limits

#[test]
fn error_messages_name_problem_and_position() {
    assert_eq!(
        ferr("(name eq 'a' eq"),
        "syntax error at position 15 in $filter: expected an expression but found end of input"
    );
    assert_eq!(ferr("(a eq 1"), "syntax error at position 7 in $filter: expected ')' but found end of input");
    assert_eq!(
        ferr("a eq 1)"),
        "syntax error at position 6 in $filter: expected an operator or end of input but found ')'"
    );
    assert_eq!(ferr(""), "syntax error at position 0 in $filter: expected an expression but found end of input");
    assert_eq!(ferr("a eq and"), "syntax error at position 5 in $filter: expected an expression but found 'and'");
    assert_eq!(ferr("a eq 1 ; drop"), "syntax error at position 7 in $filter: unexpected character ';'");
    assert_eq!(ferr("a eq @"), "syntax error at position 5 in $filter: expected a name after '@'");
    let e = parse_filter("(a").unwrap_err();
    assert_eq!(e.option, "$filter");
    assert_eq!(e.position, Some(2));
    let dyn_err: &dyn std::error::Error = &e;
    assert!(dyn_err.to_string().starts_with("syntax error"));
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(f(&ok), prop("a"));
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(ferr(&deep).contains("expression nested too deeply"));
    for src in [
        "(".repeat(100_000),
        "not ".repeat(100_000),
        "-".repeat(100_000),
        "tolower(".repeat(100_000),
        "a/any(x:".repeat(100_000),
        "a in (".repeat(100_000),
    ] {
        assert!(ferr(&src).contains("expression nested too deeply"), "{}", &src[..20]);
    }
}

#[test]
fn long_chains_are_linear_but_bounded() {
    let ok = vec!["a eq 1"; 500].join(" or ");
    assert!(parse_filter(&ok).is_ok());
    let long = vec!["a eq 1"; 5000].join(" or ");
    assert!(ferr(&long).contains("expression nested too deeply"));
    let long_add = vec!["a"; 100_000].join(" add ");
    assert!(ferr(&long_add).contains("expression nested too deeply"));
    // A long `in` list is flat.
    let list = vec!["1"; 10_000].join(",");
    assert!(parse_filter(&format!("a in ({list})")).is_ok());
}

// ---------------------------------------------------------------- $orderby, $select

#[test]
fn orderby() {
    assert_eq!(
        parse_orderby("name asc, createdon desc, primarycontactid/fullname").unwrap(),
        vec![
            OrderBy { path: vec!["name".into()], descending: false },
            OrderBy { path: vec!["createdon".into()], descending: true },
            OrderBy { path: vec!["primarycontactid".into(), "fullname".into()], descending: false },
        ]
    );
    assert_eq!(parse_orderby("name").unwrap(), vec![OrderBy { path: vec!["name".into()], descending: false }]);
    assert_eq!(
        parse_orderby("name DESC").unwrap_err().to_string(),
        "syntax error at position 5 in $orderby: expected ',', 'asc', 'desc' or end of input but found 'DESC' (keywords are lower-case: use 'desc')"
    );
    assert!(parse_orderby("").unwrap_err().to_string().contains("expected a property path but found end of input"));
    assert!(parse_orderby("name,").is_err());
    assert!(parse_orderby("tolower(name)").unwrap_err().to_string().contains("only property paths can be ordered by"));
}

#[test]
fn select() {
    assert_eq!(
        parse_select("name,accountid, _parentcustomerid_value").unwrap(),
        vec!["name", "accountid", "_parentcustomerid_value"]
    );
    assert_eq!(parse_select("*").unwrap(), vec!["*"]);
    assert_eq!(parse_select("name,*").unwrap(), vec!["name", "*"]);
    assert!(parse_select("").is_err());
    assert!(parse_select("a,,b").is_err());
    assert!(parse_select("a/b").unwrap_err().to_string().contains("paths are not supported in $select"));
    assert!(parse_select("a b").unwrap_err().to_string().contains("expected ',' or end of input but found 'b'"));
}

// ---------------------------------------------------------------- $expand

#[test]
fn expand() {
    let items = parse_expand(
        "primarycontactid($select=fullname,emailaddress1),contact_customer_accounts($select=fullname;$filter=statecode eq 0;$orderby=fullname desc;$top=5;$expand=owninguser($select=fullname))",
    )
    .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].nav, "primarycontactid");
    assert_eq!(items[0].options.select, Some(vec!["fullname".to_string(), "emailaddress1".to_string()]));
    let second = &items[1].options;
    assert_eq!(items[1].nav, "contact_customer_accounts");
    assert_eq!(second.select, Some(vec!["fullname".to_string()]));
    assert_eq!(second.filter, Some(bin(BinOp::Eq, prop("statecode"), int(0))));
    assert_eq!(second.orderby, vec![OrderBy { path: vec!["fullname".into()], descending: true }]);
    assert_eq!(second.top, Some(5));
    assert_eq!(second.expand.len(), 1);
    assert_eq!(second.expand[0].nav, "owninguser");
    assert_eq!(second.expand[0].options.select, Some(vec!["fullname".to_string()]));

    let plain = parse_expand("a, b").unwrap();
    assert_eq!(
        plain,
        vec![
            ExpandItem { nav: "a".into(), options: Default::default() },
            ExpandItem { nav: "b".into(), options: Default::default() }
        ]
    );
}

#[test]
fn expand_quotes_do_not_split() {
    let items = parse_expand("a($filter=name eq 'x,y;z)(' and contains(b,'('))").unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].options.filter,
        Some(bin(BinOp::And, bin(BinOp::Eq, prop("name"), s("x,y;z)(")), call("contains", vec![prop("b"), s("(")])))
    );
    let items =
        parse_expand("a($filter=Microsoft.Dynamics.CRM.In(PropertyName='n',PropertyValues=[\"1;2\",\"3)\"])),b")
            .unwrap();
    assert_eq!(items.len(), 2);
}

#[test]
fn expand_errors() {
    // Positions are in the whole $expand value.
    assert_eq!(
        parse_expand("a($select=x;$filter=statecode eq)").unwrap_err().to_string(),
        "syntax error at position 32 in $expand: expected an expression but found end of input"
    );
    assert_eq!(
        parse_expand("a($select=x").unwrap_err().to_string(),
        "syntax error at position 11 in $expand: expected ')' but found end of input"
    );
    assert!(parse_expand("a($bogus=1)").unwrap_err().to_string().contains("unknown query option '$bogus'"));
    assert!(parse_expand("a($top=1;$top=2)").unwrap_err().to_string().contains("'$top' is given more than once"));
    assert!(parse_expand("a($top=x)")
        .unwrap_err()
        .to_string()
        .contains("expected a non-negative integer but found 'x'"));
    assert!(parse_expand("a(select=x)").unwrap_err().to_string().contains("expected a query option such as '$select'"));
    assert!(parse_expand("a($select)").unwrap_err().to_string().contains("expected '=' after '$select'"));
    assert!(parse_expand("").unwrap_err().to_string().contains("expected a navigation property name"));
    assert!(parse_expand("a,").is_err());
    assert!(parse_expand("*").unwrap_err().to_string().contains("'*' is not supported"));
    assert!(parse_expand("a/$ref").unwrap_err().to_string().contains("not supported"));
    assert!(parse_expand("a b").unwrap_err().to_string().contains("expected ',', '(' or end of input but found 'b'"));
    assert!(parse_expand("a($filter=name eq 'x)").unwrap_err().to_string().contains("unterminated string literal"));
    assert!(parse_expand("a($filter=x eq @p)").unwrap_err().to_string().contains("unknown parameter alias '@p'"));
    let deep = format!("{}{}", "a($expand=".repeat(10_000), ")".repeat(10_000));
    assert!(parse_expand(&deep).unwrap_err().to_string().contains("$expand nested too deeply"));
}

// ---------------------------------------------------------------- $apply

fn agg(path: &str, method: AggregateMethod, alias: &str) -> Aggregate {
    let path = if path.is_empty() { vec![] } else { path.split('/').map(String::from).collect() };
    Aggregate { path, method, alias: alias.into() }
}

#[test]
fn apply() {
    assert_eq!(
        parse_apply("groupby((a,b))").unwrap(),
        vec![Transformation::GroupBy { paths: vec![vec!["a".into()], vec!["b".into()]], aggregates: vec![] }]
    );
    assert_eq!(
        parse_apply("groupby((a,b/c),aggregate(x with sum as total,$count as cnt))").unwrap(),
        vec![Transformation::GroupBy {
            paths: vec![vec!["a".into()], vec!["b".into(), "c".into()]],
            aggregates: vec![agg("x", AggregateMethod::Sum, "total"), agg("", AggregateMethod::Count, "cnt")],
        }]
    );
    assert_eq!(
        parse_apply("aggregate(revenue with average as avg,accountid with countdistinct as n, a with min as lo, a with max as hi)").unwrap(),
        vec![Transformation::Aggregate(vec![
            agg("revenue", AggregateMethod::Average, "avg"),
            agg("accountid", AggregateMethod::CountDistinct, "n"),
            agg("a", AggregateMethod::Min, "lo"),
            agg("a", AggregateMethod::Max, "hi"),
        ])]
    );
    assert_eq!(
        parse_apply("filter(statecode eq 0 and contains(name,'a/b'))/groupby((ownerid),aggregate($count as n))")
            .unwrap(),
        vec![
            Transformation::Filter(bin(
                BinOp::And,
                bin(BinOp::Eq, prop("statecode"), int(0)),
                call("contains", vec![prop("name"), s("a/b")])
            )),
            Transformation::GroupBy {
                paths: vec![vec!["ownerid".into()]],
                aggregates: vec![agg("", AggregateMethod::Count, "n")]
            },
        ]
    );
}

#[test]
fn apply_errors() {
    let e = |s: &str| parse_apply(s).unwrap_err().to_string();
    assert_eq!(
        e("aggregate(x with median as m)"),
        "syntax error at position 17 in $apply: unknown aggregation method 'median'"
    );
    assert!(e("topcount(5,x)").contains("unsupported transformation 'topcount'"));
    assert!(e("groupby(a)").contains("expected '(' starting the list of grouping properties"));
    assert!(e("groupby((a),filter(x))").contains("expected 'aggregate(…)'"));
    assert!(e("aggregate(x with sum)").contains("expected 'as'"));
    assert!(e("aggregate(x as y)").contains("expected 'with'"));
    assert!(e("filter(a eq 1) groupby((a))").contains("expected '/' or end of input"));
    assert!(e("").contains("expected a transformation"));
    assert!(e("aggregate($top as y)").contains("'$top' is not supported in aggregate"));
}

// ---------------------------------------------------------------- printer

#[test]
fn to_odata_prints_parseable_text() {
    for src in [
        "a eq 1 or b eq 2 and c eq 3",
        "(a eq 1 or b eq 2) and c eq 3",
        "a sub (b sub c) eq 0",
        "not (a eq b)",
        "-(5) eq x",
        "-x eq -5",
        "not statecode in (0,1)",
        "(a add b) in (1,2)",
        "contains(name,'O''Neil')",
        "a/any(o:o/b eq 1) and c/any() and d/all(x:x/e ne null)",
        "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a','b'])",
        "x eq 12.50 or x eq 7M or x eq 1e3 or x eq 2024-01-31 or x eq 2024-01-31T10:00:00.5Z",
        "x eq 00000000-0000-0000-0000-000000000001",
    ] {
        let e = f(src);
        let printed = to_odata(&e);
        assert_eq!(f(&printed), e, "{src} printed as {printed}");
    }
    assert_eq!(to_odata(&f("(a eq 1 or b eq 2) and c eq 3")), "(a eq 1 or b eq 2) and c eq 3");
    assert_eq!(to_odata(&f("name eq 'O''Neil'")), "name eq 'O''Neil'");
    assert_eq!(to_odata(&f("x eq 7M")), "x eq 7M");
    assert_eq!(to_odata(&f("x eq 1e3")), "x eq 1e3");
    assert_eq!(to_odata(&f("x gt 2024-01-31T13:00:00+03:00")), "x gt 2024-01-31T10:00:00Z");
}

#[test]
fn expand_depth_is_limited() {
    let nest = |k: usize| format!("{}b{}", "a($expand=".repeat(k), ")".repeat(k));
    assert!(parse_expand(&nest(MAX_EXPAND_DEPTH - 1)).is_ok());
    let e = parse_expand(&nest(MAX_EXPAND_DEPTH)).unwrap_err();
    assert!(e.message.contains("$expand nested too deeply"), "{e}");
}

#[test]
fn deepest_accepted_inputs_fit_a_small_stack() {
    // Frames are several times larger without optimizations.
    let stack = if cfg!(debug_assertions) { 4 << 20 } else { 1 << 20 };
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(|| {
            let n = MAX_NESTING - 1;
            let calls = format!("{}a{}", "tolower(".repeat(n), ")".repeat(n));
            assert!(parse_filter(&calls).is_ok());
            let lambdas = format!("{}a{}", "x/any(y:".repeat(n), ")".repeat(n));
            assert!(parse_filter(&lambdas).is_ok());
            let chain = vec!["a eq 1"; MAX_TREE_DEPTH / 2].join(" or ");
            assert!(parse_filter(&chain).is_ok());
            let both = format!(
                "{}b($filter={}true{})",
                "a($expand=".repeat(MAX_EXPAND_DEPTH - 2),
                "x/any(y:".repeat(n),
                ")".repeat(n + MAX_EXPAND_DEPTH - 2)
            );
            assert!(parse_expand(&both).is_ok());
            // And the first level past each limit is an error, not a crash.
            let calls = format!("{}a{}", "tolower(".repeat(n + 1), ")".repeat(n + 1));
            assert!(parse_filter(&calls).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}
