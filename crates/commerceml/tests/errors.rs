//! Bad input: every failure is a typed error naming the problem and its
//! place, and no input makes the reader panic.

mod common;

use common::{all_fixtures, bytes};
use proptest::prelude::*;
use relata_commerceml::{read, Error};

fn replace_once(haystack: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(haystack.to_vec()).expect("a UTF-8 fixture");
    assert!(text.contains(from), "{from} not in the fixture");
    text.replacen(from, to, 1).into_bytes()
}

/// 1-based line of the first occurrence of `needle`.
fn line_of(haystack: &[u8], needle: &str) -> usize {
    let text = String::from_utf8_lossy(haystack);
    let at = text.find(needle).expect("needle present");
    1 + text[..at].matches('\n').count()
}

#[test]
fn a_cut_upload_is_reported_as_truncated_with_the_open_element() {
    let full = bytes("offers-2.07-ut11-carono.xml");
    let cut = &full[..full.len() / 2];
    let error = read(cut).unwrap_err();
    let Error::Truncated { element, line } = &error else { panic!("expected Truncated, got {error:?}") };
    assert!(!element.is_empty());
    assert_eq!(*line, 1 + cut.iter().filter(|b| **b == b'\n').count());
    assert!(error.to_string().contains("truncated"), "{error}");

    // Cut inside a tag.
    let at = String::from_utf8_lossy(&full).find("<Цены>").unwrap() + 4;
    assert!(matches!(read(&full[..at]), Err(Error::Truncated { element, .. }) if element == "Предложение"));

    // Cut in the middle of a two-byte Cyrillic letter.
    let at = String::from_utf8_lossy(&full).find("Пакет предложений").unwrap() + 1;
    assert!(matches!(read(&full[..at]), Err(Error::Truncated { element, .. }) if element == "Наименование"));
}

#[test]
fn non_xml_bytes_are_refused_before_parsing() {
    let zip = read(b"PK\x03\x04\x14\x00\x00\x00\x08\x00").unwrap_err();
    assert!(matches!(&zip, Error::NotXml { start } if start.contains("50 4B 03 04") && start.contains("ZIP")));
    assert!(zip.to_string().starts_with("not an XML document"));
    assert!(matches!(read(b"success\nsessid=42"), Err(Error::NotXml { .. })));
    assert!(matches!(read(b""), Err(Error::NotXml { .. })));
    assert!(matches!(read(b" \r\n\t"), Err(Error::NotXml { .. })));
    assert!(matches!(read(b"\xEF\xBB\xBF{\"json\": true}"), Err(Error::NotXml { .. })));
}

#[test]
fn a_document_with_another_root_is_not_commerceml() {
    let error = read(b"<?xml version=\"1.0\"?>\n<html><body>502 Bad Gateway</body></html>").unwrap_err();
    assert_eq!(error, Error::NotCommerceMl { root: "html".into() });
    assert!(error.to_string().contains("<КоммерческаяИнформация>"));
    // A prefix does not make it CommerceML; a prefixed CommerceML root is fine.
    assert_eq!(read(b"<x:Foo xmlns:x=\"urn:x\"/>").unwrap_err(), Error::NotCommerceMl { root: "Foo".into() });
    let prefixed = "<cml:КоммерческаяИнформация xmlns:cml=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.07\"/>";
    assert_eq!(read(prefixed.as_bytes()).unwrap().schema_version, "2.07");
}

#[test]
fn a_bad_price_names_the_element_the_value_and_the_line() {
    let fixture = bytes("offers-2.07-ut11-carono.xml");
    let broken =
        replace_once(&fixture, "<ЦенаЗаЕдиницу>1719</ЦенаЗаЕдиницу>", "<ЦенаЗаЕдиницу>17,19,00</ЦенаЗаЕдиницу>");
    let expected_line = line_of(&broken, "17,19,00");
    let error = read(&broken).unwrap_err();
    assert_eq!(
        error,
        Error::BadDecimal {
            element: "ЦенаЗаЕдиницу".into(), value: "17,19,00".into(), line: expected_line
        }
    );
    assert_eq!(error.to_string(), format!("bad decimal \"17,19,00\" in <ЦенаЗаЕдиницу> at line {expected_line}"));

    // A comma decimal separator and digit-group spaces are not errors.
    let comma =
        replace_once(&fixture, "<ЦенаЗаЕдиницу>1719</ЦенаЗаЕдиницу>", "<ЦенаЗаЕдиницу>1 719,50</ЦенаЗаЕдиницу>");
    let offers = read(&comma).unwrap().offers.unwrap();
    assert_eq!(offers.offers[0].prices[0].unit_price.to_string(), "1719.50");
}

#[test]
fn a_bad_stock_attribute_names_the_attribute() {
    let fixture = bytes("offers-2.07-ut11-carono.xml");
    let broken = replace_once(&fixture, "КоличествоНаСкладе=\"20\"", "КоличествоНаСкладе=\"много\"");
    let error = read(&broken).unwrap_err();
    assert!(
        matches!(&error, Error::BadDecimal { element, value, line }
            if element == "КоличествоНаСкладе" && value == "много" && *line == line_of(&broken, "много")),
        "{error:?}"
    );
}

#[test]
fn a_bad_order_amount_is_an_error_not_a_zero() {
    let fixture = bytes("orders-2.09-ut11-to-site-argentcrusade.xml");
    let broken = replace_once(&fixture, "<Сумма>8186.84</Сумма>", "<Сумма>8186.84 руб</Сумма>");
    assert!(matches!(read(&broken), Err(Error::BadDecimal { element, .. }) if element == "Сумма"));
}

#[test]
fn malformed_xml_names_the_line() {
    let error = read(
        "<КоммерческаяИнформация>\n<Каталог>\n<Ид>1</Наименование>\n</Каталог>\n</КоммерческаяИнформация>".as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(&error, Error::Xml { line: 3, message } if message.contains("Наименование")), "{error:?}");
    let error = read(b"<a b=1/>").unwrap_err();
    assert!(matches!(error, Error::Xml { line: 1, .. }), "{error:?}");
    let error = read(
        "<КоммерческаяИнформация><Каталог><Наименование>A &nbsp; B</Наименование></Каталог></КоммерческаяИнформация>"
            .as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Xml { .. }), "an undeclared entity: {error:?}");
}

#[test]
fn hostile_nesting_is_refused_not_overflowing_the_stack() {
    let depth = 100_000;
    let mut text = String::from("<КоммерческаяИнформация><Классификатор>");
    text.push_str(&"<Группы><Группа><Ид>g</Ид>".repeat(depth));
    let error = read(text.as_bytes()).unwrap_err();
    assert!(matches!(&error, Error::Xml { message, .. } if message.contains("nested deeper")), "{error:?}");

    // Real trees stay well inside the limit.
    let mut text = String::from("<КоммерческаяИнформация><Классификатор><Группы>");
    for level in 0..40 {
        text.push_str(&format!("<Группа><Ид>{level}</Ид><Группы>"));
    }
    text.push_str(&"</Группы></Группа>".repeat(40));
    text.push_str("</Группы></Классификатор></КоммерческаяИнформация>");
    let groups = read(text.as_bytes()).unwrap().classifier.unwrap().groups;
    assert_eq!(groups.len(), 40);
    assert_eq!(groups[39].parent_id.as_deref(), Some("38"));
}

#[test]
fn encodings_the_reader_cannot_decode_are_named() {
    let error = read(b"<?xml version=\"1.0\" encoding=\"x-unknown-8\"?><a/>").unwrap_err();
    assert_eq!(error, Error::UnsupportedEncoding { label: "x-unknown-8".into() });
    // Bytes that are not UTF-8 in a document that does not declare
    // another encoding.
    let error = read(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\xC3\x28</a>").unwrap_err();
    assert!(matches!(error, Error::BadText { encoding: "UTF-8", offset: 42 }), "{error:?}");
}

#[test]
fn every_prefix_of_a_fixture_fails_cleanly() {
    for name in [
        "orders-2.03-bitrix-sample-cp1251-carono.xml",
        "catalog-2.10-classifier-turumburum.xml",
        "catalog-3.1-units-freesport.xml",
        "offers-2.07-ut11-carono.xml",
        "orders-2.09-ut11-to-site-argentcrusade.xml",
    ] {
        let full = bytes(name);
        let text = String::from_utf8_lossy(&full);
        // Everything after the root's end tag is whitespace.
        let complete = text.rfind("</").unwrap() + 2;
        let step = (full.len() / 400).max(1);
        let cuts = (0..300.min(full.len())).chain((300..full.len()).step_by(step));
        let mut truncated = 0;
        let mut total = 0;
        for cut in cuts {
            let result = read(&full[..cut]);
            if cut < complete {
                total += 1;
                match result {
                    Err(Error::Truncated { .. }) => truncated += 1,
                    // An empty prefix, or a cut inside an entity reference.
                    Err(Error::NotXml { .. } | Error::Xml { .. }) => {}
                    other => panic!("{name} cut at {cut}: {other:?}"),
                }
            }
        }
        assert!(truncated * 10 >= total * 9, "{name}: only {truncated} of {total} cuts reported as truncated");
    }
}

#[test]
fn every_fixture_reads() {
    let names = all_fixtures();
    assert_eq!(names.len(), 30);
    for name in names {
        let package = read(&bytes(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!package.schema_version.is_empty(), "{name}");
        assert!(package.version().is_some(), "{name}: {}", package.schema_version);
        assert!(package.generated_at.is_some(), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read(&data);
    }

    #[test]
    fn arbitrary_markup_never_panics(text in "[<>/a-zКИ=\" &;#x0-9Ё\\n]{0,200}") {
        let _ = read(text.as_bytes());
        let _ = read(format!("<КоммерческаяИнформация>{text}").as_bytes());
    }

    #[test]
    fn corrupted_fixtures_never_panic(at in 0usize..8_000, byte in any::<u8>(), len in 1usize..16) {
        let mut data = bytes("orders-2.03-bitrix-sample-cp1251-carono.xml");
        let start = at % data.len();
        let end = (start + len).min(data.len());
        for b in &mut data[start..end] {
            *b = byte;
        }
        let _ = read(&data);
    }
}
