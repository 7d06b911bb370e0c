use relata_query::ast::*;
use relata_query::options::*;

fn prop(p: &str) -> Expr {
    Expr::Property(p.split('/').map(String::from).collect())
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
}

fn s(v: &str) -> Expr {
    Expr::Literal(Literal::String(v.to_string()))
}

fn err(q: &str) -> String {
    match parse_query_options(q) {
        Ok(o) => panic!("{q} parsed as {o:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn all_options() {
    let q = "$select=name,revenue&$filter=revenue%20gt%20100&$orderby=name%20desc&$top=10&$skip=20&$count=true\
             &$expand=primarycontactid($select=fullname)&$skiptoken=abc%3D%3D&api-version=9.2";
    let o = parse_query_options(q).unwrap();
    assert_eq!(o.select, Some(vec!["name".to_string(), "revenue".to_string()]));
    assert_eq!(o.filter, Some(bin(BinOp::Gt, prop("revenue"), Expr::Literal(Literal::Int(100)))));
    assert_eq!(o.orderby, vec![OrderBy { path: vec!["name".into()], descending: true }]);
    assert_eq!(o.top, Some(10));
    assert_eq!(o.skip, Some(20));
    assert!(o.count);
    assert_eq!(o.expand.len(), 1);
    assert_eq!(o.expand[0].options.select, Some(vec!["fullname".to_string()]));
    assert_eq!(o.skiptoken.as_deref(), Some("abc=="));
    assert!(o.apply.is_empty());
}

#[test]
fn empty_and_leading_question_mark() {
    assert_eq!(parse_query_options("").unwrap(), QueryOptions::default());
    assert_eq!(parse_query_options("?$top=1").unwrap().top, Some(1));
    assert_eq!(parse_query_options("&&$top=1&").unwrap().top, Some(1));
    assert!(!parse_query_options("$count=false").unwrap().count);
}

#[test]
fn plus_is_a_space_and_percent_2b_a_plus() {
    let o = parse_query_options("$filter=name+eq+'a+b%2Bc'").unwrap();
    assert_eq!(o.filter, Some(bin(BinOp::Eq, prop("name"), s("a b+c"))));
    let o = parse_query_options("$filter=createdon%20gt%202024-01-31T13:00:00%2B03:00").unwrap();
    assert!(o.filter.is_some());
    assert!(err("$filter=createdon gt 2024-01-31T13:00:00+03:00").contains("%2B"));
}

#[test]
fn unicode_and_utf8() {
    let o = parse_query_options("$filter=contains(name,'%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0')").unwrap();
    assert_eq!(o.filter, Some(Expr::Call { name: "contains".into(), args: vec![prop("name"), s("Ромашка")] }));
    assert_eq!(err("$filter=name eq '%FF'"), "the query string is not valid UTF-8 after percent-decoding");
}

#[test]
fn option_errors() {
    assert_eq!(err("$foo=1"), "unknown query option '$foo'");
    assert_eq!(err("$top=1&$top=2"), "query option '$top' is given more than once");
    assert_eq!(err("$top=1&$TOP=2"), "query option '$TOP' is given more than once");
    assert_eq!(err("$top=-1"), "syntax error at position 0 in $top: expected a non-negative integer but found '-1'");
    assert_eq!(err("$top=%2B1"), "syntax error at position 0 in $top: expected a non-negative integer but found '+1'");
    assert_eq!(err("$top="), "syntax error at position 0 in $top: expected a non-negative integer but found nothing");
    assert!(err("$top=99999999999999999999999").contains("too large"));
    assert!(err("$skip=abc").contains("expected a non-negative integer but found 'abc'"));
    assert_eq!(err("$count=yes"), "syntax error at position 0 in $count: expected 'true' or 'false' but found 'yes'");
    assert_eq!(
        err("$filter=name%20eq"),
        "syntax error at position 7 in $filter: expected an expression but found end of input"
    );
    assert!(err("$filter=").contains("expected an expression but found end of input"));
    assert_eq!(err("@p=1&@p=2"), "parameter alias '@p' is given more than once");
}

#[test]
fn option_names_are_case_insensitive() {
    let o = parse_query_options("$Top=3&$FILTER=a%20eq%201").unwrap();
    assert_eq!(o.top, Some(3));
    assert!(o.filter.is_some());
}

#[test]
fn other_parameters_are_ignored() {
    let o = parse_query_options("foo=bar&baz&$top=1").unwrap();
    assert_eq!(o.top, Some(1));
}

#[test]
fn aliases_feed_filters_everywhere() {
    let o = parse_query_options("$filter=name%20eq%20@p1&@p1='It''s'").unwrap();
    assert_eq!(o.filter, Some(bin(BinOp::Eq, prop("name"), s("It's"))));
    let o = parse_query_options("@n=5&$expand=contacts($filter=x%20eq%20@n)&$apply=filter(y%20eq%20@n)").unwrap();
    let five = Expr::Literal(Literal::Int(5));
    assert_eq!(o.expand[0].options.filter, Some(bin(BinOp::Eq, prop("x"), five.clone())));
    assert_eq!(o.apply, vec![Transformation::Filter(bin(BinOp::Eq, prop("y"), five))]);
    assert_eq!(
        err("$filter=x%20eq%20@missing"),
        "syntax error at position 5 in $filter: unknown parameter alias '@missing'"
    );
    assert_eq!(
        err("$filter=x%20eq%20@a&@a=@b&@b=1"),
        "syntax error at position 0 in @a: a parameter alias value cannot refer to another alias"
    );
}

#[test]
fn apply_option() {
    let o = parse_query_options("$apply=groupby((statecode),aggregate($count%20as%20n))").unwrap();
    assert_eq!(
        o.apply,
        vec![Transformation::GroupBy {
            paths: vec![vec!["statecode".into()]],
            aggregates: vec![Aggregate { path: vec![], method: AggregateMethod::Count, alias: "n".into() }],
        }]
    );
}

#[test]
fn expand_options_directly() {
    let o = parse_expand_options("$select=a,b; $filter=c eq 'x;y' ;$top=2;$expand=d($select=e)").unwrap();
    assert_eq!(o.select, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(o.filter, Some(bin(BinOp::Eq, prop("c"), s("x;y"))));
    assert_eq!(o.top, Some(2));
    assert_eq!(o.expand[0].nav, "d");
    assert_eq!(parse_expand_options("").unwrap(), QueryOptions::default());
    assert!(parse_expand_options("$select=a;$select=b").unwrap_err().to_string().contains("given more than once"));
    assert_eq!(
        parse_expand_options("$top=1;$filter=a eq").unwrap_err().to_string(),
        "syntax error at position 19 in $expand: expected an expression but found end of input"
    );
}

#[test]
fn nested_expand_in_query_string() {
    let q = "$expand=contact_customer_accounts(%24select%3Dfullname%3B%24filter%3Dstatecode%20eq%200%3B%24orderby%3Dfullname%20desc%3B%24top%3D5)";
    let o = parse_query_options(q).unwrap();
    let n = &o.expand[0].options;
    assert_eq!(n.select, Some(vec!["fullname".to_string()]));
    assert_eq!(n.top, Some(5));
    assert_eq!(n.orderby, vec![OrderBy { path: vec!["fullname".into()], descending: true }]);
}
