mod common;

use std::path::PathBuf;

/// Writes the default invoices to `target/print-samples/` for looking at.
#[test]
fn write_sample_invoices() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/print-samples");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, lcid, context) in [
        ("invoice-ru", 1049, common::russian("invoice", 5)),
        ("invoice-en", 1033, common::english("invoice", 5)),
        ("quote-ru", 1049, common::russian("quote", 4)),
        ("quote-en", 1033, common::english("quote", 4)),
        ("salesorder-ru", 1049, common::russian("salesorder", 4)),
        ("salesorder-en", 1033, common::english("salesorder", 4)),
        ("invoice-ru-long", 1049, common::russian("invoice", 200)),
    ] {
        let kind = name.split('-').next().unwrap();
        let template = relata_print::default_template(kind, lcid).unwrap();
        let pdf = relata_print::render_pdf(template, &context).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        // What a reader of each sample relies on: the parties, the number,
        // every line, and the long invoice running onto further pages.
        let pages = common::pages_text(&pdf);
        let text = pages.join("\n");
        let doc = &context["document"];
        common::assert_contains(
            &text,
            &[
                doc["number"].as_str().unwrap(),
                context["seller"]["legal_name"].as_str().unwrap(),
                context["customer"]["name"].as_str().unwrap(),
            ],
        );
        let lines = context["lines"].as_array().unwrap();
        let last = lines.last().unwrap()["name"].as_str().unwrap();
        common::assert_contains(&text, &[last]);
        if lines.len() > 100 {
            assert!(pages.len() > 2, "{name}: {} lines on {} pages", lines.len(), pages.len());
        } else {
            assert_eq!(pages.len(), 1, "{name}: a short document fits one page");
        }
    }
}

/// A template in the style an administrator would write, for looking at.
#[test]
fn write_custom_sample() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/print-samples");
    std::fs::create_dir_all(&dir).unwrap();
    let template = r#"::: center
# Price list
:::
@table grid small
| Code | Product | Description | Price |
|:-: 10|:--- 25|:--- |---: 15|
{% for line in lines %}
| P-{{ line.number }} | {{ line.name }} | {{ document.description }} {{ document.description }} {{ document.description }} | {{ line.price | money }} |
{% endfor %}
::: totals center
Lines | {{ lines | length }}
:::
::: small
Prices include **all** taxes\
Offer valid until {{ document.valid_until | date("long") }}.
:::
"#;
    let mut context = common::english("quote", 12);
    context["document"]["description"] = serde_json::json!("Long text that wraps inside a narrow cell, with https://example.com/a/very/long/address/that/cannot/break/at/spaces");
    let pdf = relata_print::render_pdf(template, &context).unwrap();
    std::fs::write(dir.join("custom.pdf"), &pdf).unwrap();
    let text = common::all_text(&pdf);
    common::assert_contains(&text, &["Price list", "Code", "P-1", "P-12", "Lines", "12", "all taxes"]);
    // The address that cannot break at spaces is broken inside the cell, not lost.
    let flat = common::flat(&text).replace(' ', "");
    assert!(flat.contains("https://example.com/a/very/long/address"), "{flat}");
    assert!(flat.contains("Offervaliduntil"), "{flat}");
}
