//! Administrator templates: a custom one, and the errors bad ones give.
mod common;

use common::{all_text, assert_contains, pages_text};
use relata_print::{check_template, render_markup, render_pdf, PrintError};
use serde_json::json;

const CUSTOM: &str = r#"{# A plain delivery note an administrator might write. #}
@pagenumbers Sheet {page}/{pages}
::: center
# Delivery note {{ document.number }}
:::
::: columns 60 40
**From:** {{ seller.legal_name }}\
{{ seller.address }}
|||
::: fields small
Date | {{ document.date | date("long") }}
Order | {{ document.name }}
Carrier | {{ document.carrier }}
:::
:::
---
@table plain
|:--- 70|---: 30|
| **Item** | **Qty** |
{% for line in lines %}
| {{ loop.index }}. {{ line.name }} | {{ line.quantity | number }} {{ line.unit }} |
{% endfor %}

::: right
Packed by: ________
:::
::: totals
Lines | {{ lines | length }}
Missing | {{ totals.nothing }}
:::
@pagebreak
## Notes
::: small
{{ document.description }}
:::
::: footer
Thank you for your business.
:::
"#;

#[test]
fn a_custom_template() {
    check_template(CUSTOM).unwrap();
    let mut context = common::english("salesorder", 3);
    context["lines"][1]["name"] = json!("Cable | 5 m **thick** # not a heading\nsecond line");
    context["document"]["description"] = json!("::: footer\n@pagebreak\n| not | a | table |");
    let pdf = render_pdf(CUSTOM, &context).unwrap();
    let pages = pages_text(&pdf);
    assert_eq!(pages.len(), 2, "the page break starts a second page");
    assert_contains(
        &pages[0],
        &[
            "Delivery note INV-01042",
            "From: Acme Analytics Ltd",
            "Date November 24, 2026",
            "Order Workshop",
            "1. Consulting services",
            "2. Cable | 5 m **thick** # not a heading second line",
            "1.5 hour",
            "Packed by:",
            "Lines 3",
            "Thank you for your business.",
            "Sheet 1/2",
        ],
    );
    assert!(!pages[0].contains("Carrier"), "a field without a value is left out");
    assert!(!pages[0].contains("Missing"), "a total without a value is left out");
    assert_contains(&pages[1], &["Notes", "::: footer @pagebreak | not | a | table |", "Sheet 2/2", "Thank you"]);
}

#[test]
fn values_cannot_inject_markup() {
    let markup = render_markup("| {{ a }} |\n{{ b }}", &json!({ "a": "x | y", "b": "# @pagebreak" })).unwrap();
    assert_eq!(markup, "| x \\| y |\n\\# @pagebreak");
    let markup = render_markup("{{ a | safe }}", &json!({ "a": "**bold**" })).unwrap();
    assert_eq!(markup, "**bold**");
}

/// The error of a render that must fail, without printing a PDF's bytes if it did not.
fn pdf_err(result: Result<Vec<u8>, PrintError>) -> PrintError {
    match result {
        Ok(pdf) => panic!("rendered a {}-byte PDF instead of failing", pdf.len()),
        Err(err) => err,
    }
}

fn line_of(err: &PrintError) -> usize {
    match err {
        PrintError::Syntax { line, .. }
        | PrintError::UnknownFilter { line, .. }
        | PrintError::UnknownTest { line, .. }
        | PrintError::UnknownFunction { line, .. }
        | PrintError::Render { line, .. }
        | PrintError::Markup { line, .. } => *line,
        other => panic!("no line in {other:?}"),
    }
}

#[test]
fn syntax_errors_name_the_line() {
    let template = "# Invoice\n{% for line in lines %}\n| {{ line.name }} |\n";
    let err = check_template(template).unwrap_err();
    assert!(matches!(err, PrintError::Syntax { .. }), "{err:?}");
    assert_eq!(line_of(&err), 3, "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");

    let err = check_template("a\nb {{ x + }}\n").unwrap_err();
    assert!(matches!(err, PrintError::Syntax { line: 2, .. }), "{err:?}");

    let err = pdf_err(render_pdf("ok\n{% if %}", &json!({})));
    assert!(matches!(err, PrintError::Syntax { line: 2, .. }), "{err:?}");
}

#[test]
fn unknown_filters_and_tests_are_named() {
    // In a branch no sample reaches, so only the scan can find it.
    let template = "x\n{% if false %}\n{{ totals.total | mony }}\n{% endif %}";
    let err = check_template(template).unwrap_err();
    assert_eq!(err, PrintError::UnknownFilter { name: "mony".into(), line: 3 });
    assert!(err.to_string().contains("`mony`"), "{err}");

    let err = pdf_err(render_pdf("a\n\n{{ 1 | mony }}", &json!({})));
    assert_eq!(err, PrintError::UnknownFilter { name: "mony".into(), line: 3 });

    let err = check_template("{% if x is nonzeroo %}{% endif %}").unwrap_err();
    assert_eq!(err, PrintError::UnknownTest { name: "nonzeroo".into(), line: 1 });

    let err = check_template("\n{{ ad(1, 2) }}").unwrap_err();
    assert!(matches!(err, PrintError::UnknownFunction { ref name, line: 2 } if name == "ad"), "{err:?}");
}

#[test]
fn markup_errors_name_the_line() {
    let err = check_template("# Title\n::: columns\nleft\n|||\nright\n").unwrap_err();
    assert!(matches!(err, PrintError::Markup { line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("never closed"), "{err}");

    let err = check_template("{% for i in [1, 2] %}\nline {{ i }}\n{% endfor %}\n::: colums\n:::").unwrap_err();
    assert!(matches!(err, PrintError::Markup { line: 3, ref text, .. } if text == "::: colums"), "{err:?}");
    assert!(err.to_string().contains("colums"), "{err}");

    let err = check_template("| a | b |\n|---|---|\n| 1 | 2 | 3 |").unwrap_err();
    assert!(matches!(err, PrintError::Markup { line: 3, .. }), "{err:?}");

    let err = check_template("@spaec 10").unwrap_err();
    assert!(matches!(err, PrintError::Markup { line: 1, .. }), "{err:?}");
}

#[test]
fn runtime_errors_name_the_line() {
    let err = check_template("a\n{{ document.date | date('weird') }}").unwrap_err();
    assert!(matches!(err, PrintError::Render { line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("short"), "{err}");

    let err = pdf_err(render_pdf("{{ add('x', 1) }}", &json!({})));
    assert!(matches!(err, PrintError::Render { line: 1, .. }), "{err:?}");
}

#[test]
fn runaway_templates_stop() {
    let err = pdf_err(render_pdf(
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        &json!({}),
    ));
    assert!(matches!(err, PrintError::TooLarge(_)), "{err:?}");

    let err = pdf_err(render_pdf("{% for i in range(3000) %}\n@pagebreak\nx\n{% endfor %}", &json!({})));
    assert!(matches!(err, PrintError::TooLarge(_)), "{err:?}");

    let err = pdf_err(render_pdf("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", &json!({})));
    assert!(matches!(err, PrintError::Render { .. } | PrintError::TooLarge(_)), "{err:?}");
}

#[test]
fn odd_markup_never_panics() {
    let samples = [
        "",
        "\n\n\n",
        "|",
        "||||||",
        "|---|",
        "|:-:|\n|",
        "| a |\n|---: 100|---: 100|",
        "|---: 0|",
        "**",
        "****",
        "\\",
        "\\\\\\",
        "<br><br><br>",
        "# ",
        "###### deep",
        "@space 1e9",
        "@space -3",
        "@table",
        "@pagenumbers {page}{pages}{page}",
        ":::",
        "::: columns 200",
        "::: columns 0",
        "::: columns\n|||\n|||\n|||\n:::",
        "::: fields\n|\n:\n: :\n:::",
        "::: totals\n---\n===\n:::",
        "::: footer\n::: footer\n:::\n:::",
        "::: small right center left\n:::",
        "\u{0}\u{1}\u{7f}\t\r\n",
        "😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 中文 عربى",
        "a\u{a0}\u{a0}\u{a0}b",
    ];
    for sample in samples {
        let _ = check_template(sample);
        let _ = render_pdf(sample, &json!({}));
    }
    // Very long words and cells break rather than overflow.
    let long = "x".repeat(5000);
    let template =
        format!("{long}\n\n| {long} | {long} |\n|---: 1|---: 1|\n| a | b |\n::: totals\n{long} | {long}\n:::");
    let pdf = render_pdf(&template, &json!({})).unwrap();
    assert!(all_text(&pdf).contains("xxxx"));
    // Nesting deeper than the limit is an error, not a stack overflow.
    let deep = "::: small\n".repeat(200);
    assert!(matches!(check_template(&deep), Err(PrintError::Markup { .. })));
    // So is a deeply nested context.
    let mut value = json!("leaf");
    for _ in 0..500 {
        value = json!({ "a": value });
    }
    render_pdf("{{ a.a.a }}", &value).unwrap();
}
