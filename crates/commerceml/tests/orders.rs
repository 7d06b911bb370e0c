//! Order documents: windows-1251 Bitrix output (site → 1C) and УТ 11
//! status feedback (1C → site).

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::{dec, load};
use relata_commerceml::{requisite, LinkedDocument, SchemaVersion};

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, s).unwrap()
}

#[test]
fn bitrix_2_03_sample_order_decodes_from_windows_1251() {
    let package = load("orders-2.03-bitrix-sample-cp1251-carono.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V2_03));
    // ДатаФормирования is a date only.
    assert_eq!(package.generated_at, Some(at(2007, 10, 30, 0, 0, 0)));
    assert_eq!(package.orders.len(), 1);
    let order = &package.orders[0];
    assert_eq!((order.id.as_str(), order.number.as_str()), ("36", "36"));
    assert_eq!(order.date, Some(at(2007, 10, 30, 15, 19, 27)));
    assert_eq!((order.operation.as_str(), order.role.as_str()), ("Заказ товара", "Продавец"));
    assert_eq!(order.currency, "руб");
    assert_eq!(order.exchange_rate, dec("1"));
    assert_eq!(order.amount, dec("6734.47"));
    assert_eq!(order.comment, None);

    let buyer = order.buyer().unwrap();
    assert_eq!(buyer.id, "1#admin# admin", "trailing space trimmed");
    assert_eq!(buyer.role, "Покупатель");
    assert_eq!(buyer.last_name.as_deref(), Some("Иванов"));
    assert_eq!(buyer.registration_address.as_deref(), Some("ггг"));
    assert!(buyer.contacts.is_empty());
    assert_eq!(buyer.representatives.len(), 1);
    assert_eq!(buyer.representatives[0].relation, "Контактное лицо");
    assert_eq!(buyer.representatives[0].id, "b342955a9185c40132d4c1df6b30af2f");

    assert_eq!(order.lines.len(), 2);
    let delivery = &order.lines[0];
    assert_eq!((delivery.id.as_str(), delivery.name.as_str()), ("ORDER_DELIVERY", "Доставка заказа"));
    assert!(delivery.is_service());
    assert_eq!((delivery.unit_price, delivery.quantity, delivery.amount), (dec("340.00"), dec("1"), dec("340.00")));
    let tv = &order.lines[1];
    // Bitrix escaped the quotes twice; one level of escaping is undone.
    assert_eq!(tv.name, "Телевизор &quot;JVC&quot;");
    assert_eq!(tv.catalog_id.as_deref(), Some("bd72d8f9-55bc-11d9-848a-00112f43529a"));
    assert_eq!(tv.unit.as_ref().unwrap().code.as_deref(), Some("796"));
    assert!(!tv.is_service());

    assert_eq!(order.requisites.len(), 7);
    assert_eq!(order.requisite(requisite::PAYMENT_METHOD), Some("Наличный расчет"));
    let status = order.status();
    assert_eq!(status.status_name.as_deref(), Some("[N] Принят"));
    assert_eq!(status.status_changed_at, Some(at(2007, 10, 30, 15, 19, 27)));
    assert_eq!(
        (status.canceled, status.final_status, status.delivery_allowed),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(status.paid, None, "Заказ оплачен=false and no payment document");
    assert!(!status.is_canceled());
}

#[test]
fn bitrix_2_03_raw_template_paid_and_delivered() {
    let package = load("orders-2.03-bitrix-raw-cp1251-carono.xml");
    let order = &package.orders[0];
    assert_eq!(order.id, "20");
    assert_eq!(order.date, Some(at(2007, 10, 16, 15, 40, 40)));
    assert_eq!((order.currency.as_str(), order.amount), ("RUB", dec("9683.42")));
    let buyer = order.buyer().unwrap();
    assert_eq!(buyer.id, "1#admin#Петров Петр");
    assert_eq!(buyer.name, "Петр Петров");
    assert_eq!((buyer.first_name.as_deref(), buyer.last_name.as_deref()), (Some("Петр"), Some("Петров")));
    assert_eq!(buyer.representatives[0].name, "Петр Петров");
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[1].name, "Комбайн MOULINEX  A77 4C");
    assert_eq!(order.lines[1].amount, dec("9335.42"));
    assert_eq!(order.requisites.len(), 10);

    let status = order.status();
    assert_eq!(
        status.paid,
        Some(LinkedDocument { number: Some("ТК000000026".into()), date: Some(at(2007, 10, 16, 15, 44, 47)) })
    );
    assert_eq!(status.final_status, Some(true));
    assert_eq!(status.delivery_allowed, Some(true));
    assert_eq!(status.status_name.as_deref(), Some("[F] Доставлен"));
    assert_eq!(status.shipped, None);
}

#[test]
fn bitrix_2_05_query_answer_with_two_orders() {
    let package = load("orders-2.05-bitrix-query-cp1251-dobromyslov.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V2_05));
    assert_eq!(package.orders.len(), 2);
    let first = &package.orders[0];
    assert_eq!(first.id, "132");
    assert_eq!(first.date, Some(at(2021, 2, 11, 18, 45, 21)));
    assert_eq!(first.amount, dec("231.7400"));
    let buyer = first.buyer().unwrap();
    assert_eq!((buyer.id.as_str(), buyer.name.as_str()), ("38#catalog_exchange#", ""));
    assert_eq!(buyer.registration_address, None);
    let line = &first.lines[0];
    assert_eq!(line.name, "Hello Kitty toothbrush for 3~6 years old,2pcs");
    assert_eq!((line.unit_price, line.quantity, line.amount), (dec("231.7400"), dec("1.0000"), dec("231.74")));
    assert_eq!(line.catalog_id.as_deref(), Some("42475bb5-958f-40dc-a99f-9ad996a27af1"));
    assert_eq!(line.requisite("СвойствоКорзины#PRODUCT.XML_ID"), Some(line.id.as_str()));
    assert_eq!(first.requisite("Комментарии покупателя"), Some("Я повелитель порошочков"));
    assert_eq!(first.requisite(requisite::SITE), Some("[s1] Сайт по умолчанию"));
    assert_eq!(first.requisite(requisite::DELIVERY_METHOD), Some("Самовывоз"));
    let status = first.status();
    assert_eq!(status.status_id.as_deref(), Some("N"));
    assert_eq!(status.status_name.as_deref(), Some("[N] Принят, ожидается оплата"));
    // `11.02.2021 18:45:21`: the site's locale format.
    assert_eq!(status.status_changed_at, Some(at(2021, 2, 11, 18, 45, 21)));

    let second = &package.orders[1];
    assert_eq!((second.id.as_str(), second.amount), ("133", dec("14380.5800")));
    assert_eq!(second.lines.len(), 7);
    assert_eq!(second.buyer().unwrap().id, "5#content-manager# Контент менджер");
    // A name followed by a line break and indentation before its end tag is trimmed.
    assert_eq!(
        second.lines[0].name,
        "HERBMENT/Dishwashing liquid detergent with disinfecting effect,orange scent ,refill 800ml"
    );
    assert_eq!(second.lines[1].quantity, dec("2.0000"));
    assert_eq!(second.lines[5].name.chars().filter(|c| *c == '"').count(), 2);
    let total: rust_decimal::Decimal = second.lines.iter().map(|l| l.amount).sum();
    assert_eq!(total, dec("14380.58"));
}

#[test]
fn bitrix_2_05_empty_query_answer() {
    let package = load("orders-2.05-bitrix-query-empty-cp1251-dobromyslov.xml");
    assert_eq!(package.schema_version, "2.05");
    assert_eq!(package.generated_at, Some(at(2021, 2, 12, 17, 4, 36)));
    assert!(package.orders.is_empty());
    assert!(package.classifier.is_none() && package.catalog.is_none() && package.offers.is_none());
}

#[test]
fn ut11_2_09_status_feedback_states_payment_and_shipment() {
    let package = load("orders-2.09-ut11-to-site-argentcrusade.xml");
    assert_eq!(package.orders.len(), 2);
    let order = &package.orders[0];
    assert_eq!((order.id.as_str(), order.number.as_str()), ("142", "142"));
    assert_eq!(order.number_1c.as_deref(), Some("ТДЦУ-000001"));
    assert_eq!(order.date_1c, NaiveDate::from_ymd_opt(2015, 6, 29));
    assert_eq!(order.date, Some(at(2015, 6, 29, 15, 39, 10)));
    assert!(!order.deleted);
    assert_eq!(order.comment.as_deref(), Some("[Номер документа на сайте: 142]"));
    assert_eq!(order.exchange_rate, dec("1.0000"));
    assert_eq!(order.amount, dec("8186.84"));
    assert_eq!(order.taxes.len(), 1);
    assert_eq!((order.taxes[0].name.as_str(), order.taxes[0].amount), ("НДС", dec("1248.84")));
    assert!(!order.taxes[0].included_in_amount);

    let buyer = order.buyer().unwrap();
    assert_eq!(buyer.name, "Kikinda (Сербия)");
    assert_eq!(buyer.official_name.as_deref(), Some("Kikinda (Сербия)"));
    assert_eq!((buyer.inn.as_deref(), buyer.kpp.as_deref()), (None, None), "<ИНН/> is none");
    assert_eq!(buyer.address.as_deref(), Some("Адрес"));
    assert_eq!(buyer.representatives[0].name, "Смирнов Олег Иванович");
    assert_eq!(buyer.representatives[0].id, "5018186c-ddb3-11df-aeb7-0015e9b8c48d");

    // 1C's own line layout: Единица{…} + Коэффициент + Цена.
    let fan = &order.lines[0];
    assert_eq!(fan.name, "Вентилятор BINATONE ALPINE 160вт, напольный ,");
    let unit = fan.unit.as_ref().unwrap();
    assert_eq!(
        (unit.code.as_deref(), unit.short_name.as_deref(), unit.full_name.as_deref()),
        (Some("796"), Some("шт"), Some("Штука"))
    );
    assert_eq!(fan.factor, Some(dec("1")));
    assert_eq!((fan.unit_price, fan.quantity, fan.amount), (dec("3338"), dec("1"), dec("3338")));
    assert_eq!(fan.taxes[0].amount, dec("600.84"));
    assert_eq!(fan.taxes[0].percent(), Some(dec("18")));
    assert_eq!(fan.tax_rates[0].rate, "18");
    assert_eq!(fan.requisite(requisite::NOMENCLATURE_KIND), Some("Электротовары"));
    let boots = &order.lines[1];
    assert_eq!(boots.product_id(), "bd72d913-55bc-11d9-848a-00112f43529a");
    assert_eq!(boots.variant_id(), Some("b02e2814-720f-11df-b436-0015e92f2802"));
    assert_eq!(boots.unit.as_ref().unwrap().full_name.as_deref(), Some("Пара (2 шт.)"));

    let status = order.status();
    assert_eq!(status.posted, Some(true));
    assert_eq!(
        status.paid,
        Some(LinkedDocument { number: Some("ТДЦУ-000001".into()), date: Some(at(2015, 6, 29, 15, 39, 10)) })
    );
    assert_eq!(
        status.shipped,
        Some(LinkedDocument { number: Some("ТДЦУ-000003".into()), date: Some(at(2015, 6, 29, 17, 32, 27)) })
    );
    assert_eq!(status.status_id.as_deref(), Some("P"));
    assert_eq!(status.number_in_1c.as_deref(), Some("ТДЦУ-000001"));
    assert_eq!(status.date_in_1c, Some(at(2015, 6, 29, 0, 0, 0)));
    assert_eq!((status.canceled, status.deletion_mark), (None, None));
    assert!(!status.is_canceled());

    let second = &package.orders[1];
    assert_eq!(second.id, "235");
    assert_eq!(second.comment.as_deref(), Some("[Номер документа на сайте: 235]"));
    assert!(second.taxes[0].included_in_amount);
    assert_eq!(second.lines.len(), 2);
    assert!(second.lines[1].id == "ORDER_DELIVERY" && second.lines[1].unit_price == dec("500"));
    let status = second.status();
    assert_eq!(status.paid.as_ref().and_then(|p| p.number.as_deref()), Some("ТДЦУ-000002"));
    assert_eq!(status.shipped, None, "not shipped yet");
}

#[test]
fn a_contragents_package_lists_counterparties_with_their_company_details() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1" ДатаФормирования="2026-12-01T10:00:00">
  <Контейнер>
    <Контрагенты>
      <Контрагент>
        <Ид>c-1</Ид><Наименование>Ромашка</Наименование>
        <РеквизитыЮрЛица>
          <ОфициальноеНаименование>ООО "Ромашка"</ОфициальноеНаименование>
          <ИНН>7701234567</ИНН><КПП>770101001</КПП>
          <ЮридическийАдрес><Представление>Москва, ул. Лесная, 1</Представление></ЮридическийАдрес>
        </РеквизитыЮрЛица>
        <Контакты><Контакт><Тип>Почта</Тип><Значение>info@romashka.test</Значение></Контакт></Контакты>
      </Контрагент>
    </Контрагенты>
  </Контейнер>
  <Контрагенты>
    <Контрагент><Ид>c-2</Ид><Наименование>Петров П.</Наименование><ИНН>500100732259</ИНН></Контрагент>
  </Контрагенты>
</КоммерческаяИнформация>"#;
    let package = relata_commerceml::read(xml.as_bytes()).unwrap();
    assert!(package.orders.is_empty());
    let ids: Vec<&str> = package.counterparties.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c-1", "c-2"]);
    let c = &package.counterparties[0];
    assert_eq!(c.official_name.as_deref(), Some("ООО \"Ромашка\""));
    assert_eq!((c.inn.as_deref(), c.kpp.as_deref()), (Some("7701234567"), Some("770101001")));
    assert_eq!(c.legal_address.as_deref(), Some("Москва, ул. Лесная, 1"));
    assert_eq!(c.contacts[0].value, "info@romashka.test");
    assert_eq!(package.counterparties[1].inn.as_deref(), Some("500100732259"));
}
