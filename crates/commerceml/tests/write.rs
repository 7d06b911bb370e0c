//! The orders document a site answers to `type=sale&mode=query`: what it
//! writes reads back into the same facts, in every version and both
//! encodings, and it has the layout of a real 1C-Bitrix answer.

mod common;

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use common::{bytes, dec, load};
use quick_xml::events::Event;
use quick_xml::Reader;
use relata_commerceml::{
    read, requisite, write_orders, write_orders_at, BaseUnit, Contact, Counterparty, Discount, Encoding, Order,
    OrderLine, Representative, Requisite, SchemaVersion, SiteStatus, Tax, TaxRate,
};

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, s).unwrap()
}

fn generated() -> NaiveDateTime {
    at(2024, 3, 5, 9, 7, 3)
}

fn piece() -> BaseUnit {
    BaseUnit {
        code: Some("796".into()),
        short_name: Some("шт".into()),
        full_name: Some("Штука".into()),
        international_abbreviation: Some("PCE".into()),
    }
}

fn goods_requisites(kind: &str) -> Vec<Requisite> {
    vec![
        Requisite::new(requisite::NOMENCLATURE_KIND, kind),
        Requisite::new(requisite::NOMENCLATURE_TYPE, requisite::NOMENCLATURE_TYPE_GOODS),
    ]
}

/// Two orders exercising every field the writer emits: a person and a
/// company, a variant line, a discount, taxes, a delivery service line,
/// markup characters and characters windows-1251 lacks.
fn sample_orders() -> Vec<Order> {
    let status = SiteStatus {
        payment_method: Some("Банковская карта".into()),
        paid: true,
        paid_at: Some(at(2024, 3, 4, 12, 0, 5)),
        payment_document_number: Some("PAY-17".into()),
        delivery_method: Some("Курьер".into()),
        delivery_allowed: true,
        canceled: false,
        final_status: false,
        status_name: Some("[P] Оплачен, формируется к отправке".into()),
        status_id: Some("P".into()),
        status_changed_at: Some(at(2024, 3, 4, 12, 1, 0)),
    };
    let person = Order {
        id: "A-1001".into(),
        number: "1001".into(),
        date: Some(at(2024, 3, 4, 11, 58, 30)),
        operation: "Заказ товара".into(),
        role: "Продавец".into(),
        currency: "руб".into(),
        exchange_rate: dec("1"),
        amount: dec("2649.50"),
        comment: Some("Позвонить за час <до> доставки & \"не\" раньше 9:00 — спасибо 🙂".into()),
        counterparties: vec![Counterparty {
            id: "c7d1c1f4-7a11-4b8e-9c55-0f3b3a2d1e01".into(),
            name: "Ёлкина Анна".into(),
            full_name: Some("Ёлкина Анна Сергеевна".into()),
            last_name: Some("Ёлкина".into()),
            first_name: Some("Анна".into()),
            middle_name: Some("Сергеевна".into()),
            role: "Покупатель".into(),
            registration_address: Some("123456, Москва, ул. Тверская, д. 1, кв. 2".into()),
            contacts: vec![
                Contact { kind: "Электронная почта".into(), value: "anna@example.com".into() },
                Contact { kind: "Телефон мобильный".into(), value: "+7 900 000-00-00".into() },
            ],
            representatives: vec![Representative {
                relation: "Контактное лицо".into(),
                id: "c7d1c1f4-7a11-4b8e-9c55-0f3b3a2d1e02".into(),
                name: "Ёлкин Пётр".into(),
            }],
            ..Counterparty::default()
        }],
        lines: vec![
            OrderLine {
                id: "bd72d913-55bc-11d9-848a-00112f43529a#b02e2814-720f-11df-b436-0015e92f2802".into(),
                catalog_id: Some("bd72d8f9-55bc-11d9-848a-00112f43529a".into()),
                name: "Ботинки женские (35, \"натуральная\" кожа) <бежевый> & Co".into(),
                unit: Some(BaseUnit {
                    code: Some("715".into()),
                    short_name: Some("пар".into()),
                    full_name: Some("Пара (2 шт.)".into()),
                    international_abbreviation: Some("NPR".into()),
                }),
                unit_price: dec("1199.75"),
                quantity: dec("2"),
                amount: dec("2249.50"),
                discounts: vec![Discount {
                    name: "Скидка 5%".into(),
                    amount: dec("150.00"),
                    percent: Some(dec("5")),
                    included_in_amount: true,
                }],
                taxes: vec![Tax {
                    name: "НДС".into(),
                    included_in_amount: true,
                    amount: dec("374.92"),
                    rate: Some("20".into()),
                }],
                tax_rates: vec![TaxRate { name: "НДС".into(), rate: "20".into() }],
                requisites: goods_requisites("Обувь"),
                ..OrderLine::default()
            },
            OrderLine {
                id: "ORDER_DELIVERY".into(),
                name: "Доставка заказа".into(),
                unit: Some(piece()),
                unit_price: dec("400.00"),
                quantity: dec("1"),
                amount: dec("400.00"),
                requisites: vec![
                    Requisite::new(requisite::NOMENCLATURE_KIND, requisite::NOMENCLATURE_TYPE_SERVICE),
                    Requisite::new(requisite::NOMENCLATURE_TYPE, requisite::NOMENCLATURE_TYPE_SERVICE),
                ],
                ..OrderLine::default()
            },
        ],
        taxes: vec![Tax { name: "НДС".into(), included_in_amount: true, amount: dec("441.58"), rate: None }],
        requisites: status.requisites(),
        ..Order::default()
    };
    let company = Order {
        id: "A-1002".into(),
        number: "1002".into(),
        date: Some(at(2024, 3, 5, 0, 0, 1)),
        operation: "Заказ товара".into(),
        role: "Продавец".into(),
        currency: "RUB".into(),
        exchange_rate: dec("1.0000"),
        amount: dec("0.30"),
        comment: None,
        counterparties: vec![Counterparty {
            id: "ООО-7701234567".into(),
            name: "ООО «Ромашка»".into(),
            official_name: Some("Общество с ограниченной ответственностью «Ромашка»".into()),
            inn: Some("7701234567".into()),
            kpp: Some("770101001".into()),
            role: "Покупатель".into(),
            legal_address: Some("101000, Москва, Чистопрудный б-р, 1".into()),
            address: Some("Склад: Подольск, ул. Заводская, 5".into()),
            ..Counterparty::default()
        }],
        lines: vec![OrderLine {
            id: "0b0a0c0d-0000-0000-0000-000000000001".into(),
            name: "Крепёж M3×10 (DIN 912) ✓".into(),
            unit: Some(piece()),
            unit_price: dec("0.003"),
            quantity: dec("100"),
            amount: dec("0.30"),
            requisites: goods_requisites("Метизы"),
            ..OrderLine::default()
        }],
        discounts: vec![Discount {
            name: "Промокод".into(),
            amount: dec("0"),
            percent: None,
            included_in_amount: false,
        }],
        requisites: SiteStatus {
            canceled: true,
            final_status: true,
            status_name: Some("[C] Отменён".into()),
            status_id: Some("C".into()),
            ..SiteStatus::default()
        }
        .requisites(),
        ..Order::default()
    };
    vec![person, company]
}

#[test]
fn what_is_written_reads_back_unchanged_in_every_version_and_encoding() {
    let orders = sample_orders();
    for version in SchemaVersion::ALL {
        for encoding in [Encoding::Utf8, Encoding::Windows1251] {
            let written = write_orders_at(&orders, version, encoding, generated());
            let package = read(&written).unwrap_or_else(|e| panic!("{version} {encoding:?}: {e}"));
            assert_eq!(package.version(), Some(version));
            assert_eq!(package.generated_at, Some(generated()));
            assert_eq!(package.orders, orders, "{version} {encoding:?}");
        }
    }
}

#[test]
fn read_back_status_facts_match_what_the_site_said() {
    let written = write_orders_at(&sample_orders(), SchemaVersion::V2_08, Encoding::Windows1251, generated());
    let package = read(&written).unwrap();
    let paid = package.orders[0].status();
    assert_eq!(paid.paid.as_ref().unwrap().number.as_deref(), Some("PAY-17"));
    assert_eq!(paid.paid.as_ref().unwrap().date, Some(at(2024, 3, 4, 12, 0, 5)));
    assert_eq!(paid.delivery_allowed, Some(true));
    assert_eq!(paid.status_id.as_deref(), Some("P"));
    assert_eq!(paid.status_changed_at, Some(at(2024, 3, 4, 12, 1, 0)));
    assert!(!paid.is_canceled());
    let canceled = package.orders[1].status();
    assert!(canceled.is_canceled());
    assert_eq!(canceled.final_status, Some(true));
    assert_eq!(canceled.paid, None);
    assert_eq!(package.orders[1].requisite(requisite::ORDER_PAID), Some("false"));
}

#[test]
fn windows_1251_output_is_single_byte_and_references_what_it_lacks() {
    let written = write_orders_at(&sample_orders(), SchemaVersion::V2_05, Encoding::Windows1251, generated());
    assert!(written.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n"));
    assert!(std::str::from_utf8(&written).is_err(), "Cyrillic is single-byte, not UTF-8");
    let (text, _, had_errors) = encoding_rs::WINDOWS_1251.decode(&written);
    assert!(!had_errors);
    assert!(text.contains("<Наименование>Ёлкина Анна</Наименование>"));
    // 🙂 and ✓ have no windows-1251 code: numeric references keep them.
    assert!(text.contains("&#128578;") && text.contains("&#10003;"));
    assert!(text.contains("&lt;до&gt; доставки &amp; &quot;не&quot;"));

    let utf8 = write_orders_at(&sample_orders(), SchemaVersion::V2_05, Encoding::Utf8, generated());
    let utf8 = String::from_utf8(utf8).unwrap();
    assert!(utf8.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert!(utf8.contains("🙂"));
}

#[test]
fn empty_fields_get_the_site_defaults() {
    let order = Order {
        id: "7".into(),
        number: "7".into(),
        counterparties: vec![Counterparty {
            id: "7#guest#".into(),
            representatives: vec![Representative {
                id: "r".into(), name: "Гость".into(), ..Representative::default()
            }],
            ..Counterparty::default()
        }],
        ..Order::default()
    };
    let package = read(&write_orders_at(&[order], SchemaVersion::V2_05, Encoding::Utf8, generated())).unwrap();
    let read_back = &package.orders[0];
    assert_eq!(read_back.operation, "Заказ товара");
    assert_eq!(read_back.role, "Продавец");
    assert_eq!(read_back.exchange_rate, dec("1"));
    assert_eq!(read_back.date, None, "no date was given, none is written");
    let buyer = read_back.buyer().unwrap();
    assert_eq!(buyer.role, "Покупатель");
    assert_eq!(buyer.representatives[0].relation, "Контактное лицо");
}

#[test]
fn control_characters_are_dropped_so_1c_can_parse_the_file() {
    let order =
        Order { id: "1".into(), number: "1".into(), comment: Some("a\u{1}b\u{1b}c\td".into()), ..Order::default() };
    let package = read(&write_orders_at(&[order], SchemaVersion::V2_05, Encoding::Utf8, generated())).unwrap();
    assert_eq!(package.orders[0].comment.as_deref(), Some("abc\td"));
}

#[test]
fn version_3_1_wraps_each_document_in_a_container() {
    let orders = sample_orders();
    let text = String::from_utf8(write_orders_at(&orders, SchemaVersion::V3_1, Encoding::Utf8, generated())).unwrap();
    assert_eq!(text.matches("<Контейнер>").count(), orders.len());
    assert_eq!(children(&text, &["КоммерческаяИнформация"]), ["Контейнер", "Контейнер"]);
    assert_eq!(children(&text, &["КоммерческаяИнформация", "Контейнер"]), ["Документ"]);
    let text = String::from_utf8(write_orders_at(&orders, SchemaVersion::V2_10, Encoding::Utf8, generated())).unwrap();
    assert!(!text.contains("Контейнер"));
}

#[test]
fn write_orders_stamps_the_current_time() {
    let before = chrono::Local::now().naive_local() - chrono::Duration::seconds(2);
    let package = read(&write_orders(&[], SchemaVersion::V2_09, Encoding::Utf8)).unwrap();
    let stamped = package.generated_at.unwrap();
    assert!(stamped >= before && stamped <= chrono::Local::now().naive_local());
}

// Structure of a real Bitrix answer.

/// A parsed element, for comparing layouts.
#[derive(Debug)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
}

impl Node {
    fn child_names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    fn find(&self, path: &[&str]) -> &Node {
        match path.split_first() {
            None => self,
            Some((first, rest)) => self
                .children
                .iter()
                .find(|c| c.name == *first)
                .unwrap_or_else(|| panic!("no <{first}> in <{}>", self.name))
                .find(rest),
        }
    }

    /// Every element path below this node (`a/b/c`) and `path@attribute`.
    fn paths(&self, prefix: &str, out: &mut BTreeSet<String>) {
        let path = if prefix.is_empty() { self.name.clone() } else { format!("{prefix}/{}", self.name) };
        for (key, _) in &self.attributes {
            out.insert(format!("{path}@{key}"));
        }
        for child in &self.children {
            child.paths(&path, out);
        }
        out.insert(path);
    }
}

fn parse_tree(bytes: &[u8]) -> Node {
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(bytes);
    let text = if bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"") {
        text.into_owned()
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let mut reader = Reader::from_str(&text);
    let mut stack: Vec<Node> = vec![Node { name: String::new(), attributes: Vec::new(), children: Vec::new() }];
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Start(e) => stack.push(node(&e)),
            Event::Empty(e) => {
                let leaf = node(&e);
                stack.last_mut().unwrap().children.push(leaf);
            }
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().children.pop().unwrap()
}

fn node(e: &quick_xml::events::BytesStart<'_>) -> Node {
    let attributes = e
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect();
    Node { name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(), attributes, children: Vec::new() }
}

fn children(text: &str, path: &[&str]) -> Vec<String> {
    let tree = parse_tree(text.as_bytes());
    tree.find(&path[1..]).child_names().into_iter().map(str::to_owned).collect()
}

fn all_paths(node: &Node) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    node.paths("", &mut out);
    out
}

#[test]
fn rewriting_a_bitrix_query_answer_keeps_its_layout_and_facts() {
    let fixture = "orders-2.05-bitrix-query-cp1251-dobromyslov.xml";
    let original = bytes(fixture);
    let orders = load(fixture).orders;
    let written = write_orders_at(&orders, SchemaVersion::V2_05, Encoding::Windows1251, at(2021, 2, 12, 17, 3, 19));

    // Same facts.
    assert_eq!(read(&written).unwrap().orders, orders);

    // Same declaration and root attributes, values included.
    assert!(written.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
    let theirs = parse_tree(&original);
    let ours = parse_tree(&written);
    assert_eq!(ours.name, theirs.name);
    assert_eq!(ours.attributes, theirs.attributes);

    // Every element and attribute Bitrix writes, we write, in the same
    // document and line order.
    let missing: Vec<String> = all_paths(&theirs).difference(&all_paths(&ours)).cloned().collect();
    assert!(missing.is_empty(), "missing from our output: {missing:?}");
    assert_eq!(ours.child_names(), theirs.child_names());
    assert_eq!(ours.find(&["Документ"]).child_names(), theirs.find(&["Документ"]).child_names());
    assert_eq!(
        ours.find(&["Документ", "Товары", "Товар"]).child_names(),
        theirs.find(&["Документ", "Товары", "Товар"]).child_names()
    );
    let mut our_party = ours.find(&["Документ", "Контрагенты", "Контрагент"]).child_names();
    let mut their_party = theirs.find(&["Документ", "Контрагенты", "Контрагент"]).child_names();
    our_party.sort();
    their_party.sort();
    assert_eq!(our_party, their_party);
}

#[test]
fn rewriting_the_2_03_bitrix_samples_keeps_their_facts() {
    for fixture in ["orders-2.03-bitrix-sample-cp1251-carono.xml", "orders-2.03-bitrix-raw-cp1251-carono.xml"] {
        let orders = load(fixture).orders;
        let written = write_orders_at(&orders, SchemaVersion::V2_03, Encoding::Windows1251, generated());
        assert_eq!(read(&written).unwrap().orders, orders, "{fixture}");
        let theirs = parse_tree(&bytes(fixture));
        let ours = parse_tree(&written);
        assert_eq!(ours.attributes.len(), 2, "2.03 roots carry only ВерсияСхемы and ДатаФормирования");
        let missing: Vec<String> = all_paths(&theirs)
            .difference(&all_paths(&ours))
            // Address parts are not modelled, only the Представление;
            // an empty <Контакты/> is left out.
            .filter(|p| !p.contains("/АдресноеПоле") && !p.ends_with("/Контакты"))
            .cloned()
            .collect();
        assert!(missing.is_empty(), "{fixture}: missing from our output: {missing:?}");
    }
}

#[test]
fn rewriting_1c_status_feedback_keeps_the_site_side_facts() {
    let mut orders = load("orders-2.09-ut11-to-site-argentcrusade.xml").orders;
    // 1C's own number, date and version are not part of what a site sends.
    for order in &mut orders {
        order.number_1c = None;
        order.date_1c = None;
    }
    for encoding in [Encoding::Utf8, Encoding::Windows1251] {
        let written = write_orders_at(&orders, SchemaVersion::V2_09, encoding, generated());
        assert_eq!(read(&written).unwrap().orders, orders);
    }
}

#[test]
fn an_empty_answer_matches_bitrix() {
    let fixture = bytes("orders-2.05-bitrix-query-empty-cp1251-dobromyslov.xml");
    let written = write_orders_at(&[], SchemaVersion::V2_05, Encoding::Windows1251, at(2021, 2, 12, 17, 4, 36));
    let (theirs, ours) = (parse_tree(&fixture), parse_tree(&written));
    assert_eq!(ours.attributes, theirs.attributes);
    assert!(ours.children.is_empty());
    assert_eq!(read(&written).unwrap(), read(&fixture).unwrap());
}
