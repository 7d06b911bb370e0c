//! Classifier and catalog files, one test per fixture, asserting the facts
//! an import relies on.

mod common;

use chrono::NaiveDate;
use common::{dec, load};
use relata_commerceml::{BaseUnit, Classifier, Group, SchemaVersion};

fn group<'a>(classifier: &'a Classifier, id: &str) -> &'a Group {
    classifier.groups.iter().find(|g| g.id == id).unwrap_or_else(|| panic!("group {id} not found"))
}

/// Walks parent links up to the root, returning the names from the group up.
fn ancestry(classifier: &Classifier, id: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = Some(id.to_owned());
    while let Some(id) = current {
        let g = group(classifier, &id);
        names.push(g.name.clone());
        current = g.parent_id.clone();
    }
    names
}

#[test]
fn official_2_04_sample_has_variant_products_with_characteristics() {
    let package = load("catalog-2.04-1c-official-sample.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V2_04));
    assert_eq!(package.generated_at, NaiveDate::from_ymd_opt(2008, 1, 9).unwrap().and_hms_opt(18, 13, 34));

    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.name, "Классификатор (Каталог товаров)");
    assert_eq!(classifier.groups.len(), 1);
    assert_eq!(classifier.groups[0].name, "Мебель");
    assert_eq!(classifier.groups[0].parent_id, None);

    let catalog = package.catalog.as_ref().unwrap();
    assert!(!catalog.only_changes);
    assert_eq!(catalog.classifier_id.as_deref(), Some("bd72d8f9-55bc-11d9-848a-00112f43529a"));
    assert_eq!(catalog.products.len(), 4);
    let table = &catalog.products[0];
    assert_eq!(table.name, "Стол обеденный");
    assert_eq!(table.product_id(), "05e26d70-01e4-11dc-a411-00055d80a2d1");
    assert_eq!(table.variant_id(), Some("05e26d76-01e4-11dc-a411-00055d80a2d1"));
    assert_eq!(table.group_ids, ["05e26d6f-01e4-11dc-a411-00055d80a2d1"]);
    assert_eq!(
        table.base_unit,
        Some(BaseUnit {
            code: Some("796".into()),
            short_name: Some("шт".into()),
            full_name: Some("Штука".into()),
            international_abbreviation: Some("PCE".into()),
        })
    );
    assert!(table.images.is_empty(), "an empty <Картинка/> is no image");
    assert_eq!(table.tax_rates[0].name, "НДС");
    assert_eq!(table.tax_rates[0].percent(), Some(dec("18")));
    assert_eq!(table.characteristics.len(), 1);
    assert_eq!((table.characteristics[0].name.as_str(), table.characteristics[0].value.as_str()), ("Цвет", "Белый"));
    assert_eq!(table.requisite("Полное наименование"), Some("Стол обеденный"));
    assert!(!table.is_service());
    // Two variants of the same product share its id.
    assert_eq!(catalog.products[1].product_id(), table.product_id());
    assert_eq!(catalog.products[1].characteristics[0].value, "Красный");
    assert_eq!(catalog.products.iter().filter(|p| p.name == "Стулья").count(), 2);
}

#[test]
fn moysklad_2_04_third_party_export_reads_like_1c() {
    let package = load("catalog-2.04-moysklad-avdivo.xml");
    // Millis and an offset in ДатаФормирования; the offset is dropped.
    assert_eq!(package.generated_at.unwrap().date(), NaiveDate::from_ymd_opt(2024, 1, 8).unwrap());

    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.groups.len(), 2);
    assert_eq!(classifier.properties.len(), 21);
    assert_eq!(classifier.properties[0].name, "AVITOID");
    assert_eq!(classifier.properties[0].value_type, None);
    let nested = group(classifier, "i9UQaFxni4icAO0JMV71J1");
    assert_eq!(nested.name, "Devops Test");
    assert_eq!(nested.parent_id.as_deref(), Some("syTpZPPtgcmvjte1p11IC0"));

    let catalog = package.catalog.as_ref().unwrap();
    assert_eq!(catalog.products.len(), 1);
    let product = &catalog.products[0];
    assert_eq!(product.id, "137");
    assert_eq!(product.variant_id(), None);
    assert_eq!(product.name, "dev test my 137");
    assert_eq!(product.images, ["12345.png"]);
    assert_eq!(product.description.as_deref(), Some("тест описания для картинки"));
    let unit = product.base_unit.as_ref().unwrap();
    assert_eq!(
        (unit.short_name.as_deref(), unit.full_name.as_deref(), unit.code.as_deref()),
        (Some("шт"), Some("шт"), None)
    );
}

#[test]
fn ut10_2_05_incremental_classifier_with_properties() {
    let package = load("catalog-2.05-ut10-etalon-readyscript.xml");
    let classifier = package.classifier.as_ref().unwrap();
    assert!(classifier.only_changes, "Классификатор СодержитТолькоИзменения=true");
    assert_eq!(classifier.groups.len(), 4);
    assert_eq!(classifier.groups.iter().filter(|g| g.parent_id.is_some()).count(), 1);
    assert_eq!(classifier.properties.len(), 7);
    assert_eq!(classifier.properties.iter().filter(|p| p.value_type.is_none()).count(), 2);
    let discount = &classifier.properties[0];
    assert_eq!((discount.name.as_str(), discount.value_type.as_deref()), ("Скидка %", Some("Справочник")));
    assert_eq!(discount.choices.len(), 1);
    assert!(classifier.properties.iter().any(|p| p.value_type.as_deref() == Some("Число")));

    let catalog = package.catalog.as_ref().unwrap();
    assert!(catalog.only_changes);
    let dress = &catalog.products[0];
    assert_eq!((dress.name.as_str(), dress.article.as_deref()), ("Платье 2", Some("П2")));
    assert_eq!(dress.property_values.len(), 7);
    // A Справочник value is the chosen ИдЗначения; an empty Значение is no value.
    let chosen = dress.property_values.iter().find(|v| v.property_id == discount.id).unwrap();
    assert_eq!(chosen.values, ["b54d42ad-ab6a-11e3-94cb-00241d337dcd"]);
    assert!(dress.property_values.iter().any(|v| v.values.is_empty()));
    assert_eq!(dress.requisite("Код"), Some("00000000004"));
}

#[test]
fn ut11_2_07_nested_groups_and_products_with_barcodes() {
    let package = load("catalog-2.07-ut11-carono.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V2_07));
    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.groups.len(), 22);
    assert_eq!(classifier.groups.iter().filter(|g| g.parent_id.is_none()).count(), 7);
    assert_eq!(
        ancestry(classifier, "f3257ce7-9c2f-11e1-a282-0011955bd175"),
        ["Бытовая техника с учетом серий, гарантия 12 мес.", "Бытовая техника"]
    );
    assert_eq!(classifier.properties.len(), 10);
    let maker = &classifier.properties[0];
    assert_eq!((maker.name.as_str(), maker.choices.len()), ("Производитель", 7));
    assert_eq!(classifier.properties.iter().map(|p| p.choices.len()).sum::<usize>(), 154);

    let catalog = package.catalog.as_ref().unwrap();
    assert!(!catalog.only_changes);
    assert_eq!(catalog.products.len(), 2);
    let boots = &catalog.products[0];
    assert_eq!(boots.name, "Женские ботфорты коричневые");
    assert_eq!(boots.article.as_deref(), Some("Б-130001"));
    assert_eq!(boots.barcode.as_deref(), Some("2000018987155"));
    // Attributes plus a Пересчет child and no text.
    let unit = boots.base_unit.as_ref().unwrap();
    assert_eq!(
        (unit.code.as_deref(), unit.full_name.as_deref(), unit.short_name.as_deref()),
        (Some("715"), Some("Пара (2 шт.)"), None)
    );
    assert_eq!(boots.property_values[0].values, ["444bbea3-6b18-11e0-9819-e0cb4ed5eed4"]);
    assert_eq!(boots.requisite("ВидНоменклатуры"), Some("Обувь"));
    assert_eq!(catalog.products.iter().filter(|p| p.barcode.is_some()).count(), 1);
}

#[test]
fn ut11_2_09_classifier_streams_1908_properties_and_marks_12_deleted() {
    let package = load("catalog-2.09-ut11-classifier-gillbeits.xml");
    let classifier = package.classifier.as_ref().unwrap();
    assert!(classifier.only_changes);
    assert_eq!(classifier.name, "Косметика и гигиена");
    assert_eq!(classifier.groups.len(), 97);
    assert_eq!(
        ancestry(classifier, "5b5d35c9-4aef-11e4-99fe-003048c64779"),
        ["Полоски восковые", "Гигиена интимная", "Гигиена тела и лица", "Косметика и гигиена"]
    );
    assert_eq!(classifier.properties.len(), 1908);
    assert_eq!(classifier.properties.iter().filter(|p| p.deleted).count(), 12);
    assert_eq!(classifier.properties.iter().map(|p| p.choices.len()).sum::<usize>(), 1811);
    assert!(classifier.groups.iter().all(|g| !g.deleted));

    assert_eq!(classifier.price_types.len(), 1);
    let price_type = &classifier.price_types[0];
    assert_eq!(price_type.name, "Типовое соглашение Интернет-МХТ");
    assert_eq!(price_type.currency.as_deref(), Some("RUB"));
    assert_eq!(classifier.warehouses.len(), 1);
    assert_eq!(classifier.warehouses[0].name, "Оптовый");
    assert_eq!(classifier.units.len(), 2);
    let piece = classifier.units.iter().find(|u| u.code.as_deref() == Some("796")).unwrap();
    assert_eq!((piece.short_name.as_deref(), piece.international_abbreviation.as_deref()), (Some("шт"), Some("PCE")));

    // A catalog header without Товары.
    let catalog = package.catalog.as_ref().unwrap();
    assert!(catalog.products.is_empty());
    assert!(catalog.only_changes);
}

#[test]
fn classifier_2_10_with_crlf_price_types_and_warehouses() {
    let package = load("catalog-2.10-classifier-turumburum.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V2_10));
    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.groups.len(), 33);
    assert_eq!(
        ancestry(classifier, "ae8db571-fd87-4baf-8745-f582bf38dc61"),
        ["Кроссовки 111", "Кроссовки", "Обувь", "Обувь и аксессуары"]
    );
    assert_eq!(classifier.price_types.len(), 2);
    let retail = &classifier.price_types[1];
    assert_eq!((retail.name.as_str(), retail.currency.as_deref()), ("розничный", Some("грн")));
    assert_eq!(retail.tax.as_ref().unwrap().name, "НДС");
    assert_eq!(classifier.warehouses.len(), 6);
    assert_eq!(classifier.warehouses[0].name, "Основной склад");
    assert!(classifier.warehouses.iter().all(|w| !w.name.ends_with('\r')), "CRLF never leaks into values");
    assert_eq!(classifier.units.len(), 1);
    assert_eq!(classifier.units[0].id, "2009");
    assert!(package.catalog.as_ref().unwrap().products.is_empty());
}

#[test]
fn bitrix_module_3_1_classifier_price_types_warehouses_unit() {
    let package = load("catalog-3.1-classifier-bitrixmod-irpsv.xml");
    assert_eq!(package.version(), Some(SchemaVersion::V3_1));
    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.groups.len(), 1);
    assert_eq!(classifier.price_types.len(), 8);
    assert_eq!(classifier.price_types[0].name, "Основная цена");
    assert_eq!(classifier.price_types[0].currency.as_deref(), Some("руб"));
    assert_eq!(classifier.warehouses.len(), 12);
    assert_eq!(classifier.warehouses[1].name, "Офис Тюмень");
    // Id and code padded with a space, full name with many.
    let unit = &classifier.units[0];
    assert_eq!(
        (unit.id.as_str(), unit.code.as_deref(), unit.full_name.as_deref()),
        ("796", Some("796"), Some("штука"))
    );
    assert_eq!(unit.international_abbreviation, None);
}

#[test]
fn bitrix_module_3_1_properties_with_directory_values() {
    let package = load("catalog-3.1-properties-bitrixmod-irpsv.xml");
    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.properties.len(), 25);
    assert_eq!(classifier.properties.iter().map(|p| p.choices.len()).sum::<usize>(), 147);
    let manager = &classifier.properties[0];
    assert_eq!(manager.name, "Продакт-менеджер");
    assert_eq!(manager.value_type.as_deref(), Some("Справочник"));
    assert_eq!(manager.choices[0].id.as_deref(), Some("d6faa480-a46b-4750-806b-ed043340806d"));
    assert_eq!(manager.choices[0].value, "Носов Николай Николаевич");
}

#[test]
fn bitrix_module_3_1_goods_with_bare_unit_codes() {
    let package = load("catalog-3.1-goods-bitrixmod-irpsv.xml");
    assert!(package.classifier.is_none());
    let catalog = package.catalog.as_ref().unwrap();
    assert!(catalog.only_changes);
    assert_eq!(catalog.products.len(), 21);
    let parallels = &catalog.products[0];
    assert_eq!(parallels.name, "Parallels Desktop for Mac Pro Lic");
    // `<БазоваяЕдиница>796 </БазоваяЕдиница>`: a bare OKEI code, trimmed.
    assert_eq!(parallels.base_unit, Some(BaseUnit { code: Some("796".into()), ..BaseUnit::default() }));
    assert_eq!((parallels.article.as_deref(), parallels.barcode.as_deref()), (None, None));
    assert_eq!(parallels.weight, Some(dec("0")));
    assert_eq!(parallels.tax_rates[0].rate, "Без налога");
    assert_eq!(parallels.tax_rates[0].percent(), None);
    assert_eq!(parallels.requisite("Код"), Some("С0006746"));
    assert_eq!(parallels.requisite("Планируемая дата поступления"), Some(""));
    assert!(catalog.products.iter().all(|p| p.base_unit.as_ref().and_then(|u| u.code.as_deref()) == Some("796")));
    assert!(catalog.products.iter().all(|p| !p.deleted));
    assert_eq!(catalog.products.iter().map(|p| p.property_values.len()).sum::<usize>(), 191);
}

#[test]
fn freesport_3_1_goods_with_images_and_manufacturer() {
    let package = load("catalog-3.1-goods-freesport.xml");
    let catalog = package.catalog.as_ref().unwrap();
    assert_eq!(catalog.name, "Товары 1С");
    assert_eq!(catalog.products.len(), 3);
    assert_eq!(catalog.products.iter().map(|p| p.images.len()).sum::<usize>(), 13);
    let dumbbell = &catalog.products[0];
    assert_eq!(dumbbell.name, "Гантель неопреновая Espado ES1115, жёлтый");
    assert_eq!(dumbbell.article.as_deref(), Some("ES1115"));
    assert_eq!(dumbbell.images.len(), 4);
    assert_eq!(
        dumbbell.images[0],
        "import_files/01/018d777d-9094-11ec-a2ff-04421a23d8e8_0596af08-a7ff-11ef-8f27-fa163e775e1f.jpg"
    );
    assert!(dumbbell.manufacturer.as_deref().unwrap().starts_with("Нантонг энджойплей фитнес"));
    assert_eq!(dumbbell.country.as_deref(), Some("КИТАЙ"));
    // Escaped HTML in Описание comes back as markup text.
    assert!(dumbbell.description.as_deref().unwrap().contains("ладонью. Особенность"));
    assert!(dumbbell.description.as_deref().unwrap().contains("<br>"));
    assert_eq!(catalog.products.iter().map(|p| p.property_values.len()).sum::<usize>(), 166);
}

#[test]
fn freesport_3_1_groups_file_has_119_nested_groups() {
    let package = load("catalog-3.1-groups-freesport.xml");
    let classifier = package.classifier.as_ref().unwrap();
    assert_eq!(classifier.groups.len(), 119);
    assert_eq!(classifier.groups[0].name, "СПОРТ");
    assert_eq!(
        ancestry(classifier, "4a4a48a1-750d-11ea-81c1-00155d3cae02"),
        ["Мячи футбольные №3", "Мячи футбольные", "Футбол", "Спортивные игры", "СПОРТ"]
    );
    // Parents always precede their children.
    for (i, g) in classifier.groups.iter().enumerate() {
        if let Some(parent) = &g.parent_id {
            assert!(classifier.groups[..i].iter().any(|p| &p.id == parent), "{} before its parent", g.name);
        }
    }
    assert!(package.catalog.as_ref().unwrap().products.is_empty());
}

#[test]
fn freesport_3_1_reference_packages() {
    let prices = load("catalog-3.1-pricelists-freesport.xml");
    let price_types = &prices.classifier.as_ref().unwrap().price_types;
    assert_eq!(price_types.len(), 6);
    assert_eq!(price_types[0].name, "Опт 1 (300-600 тыс.руб в квартал)");
    let tax = price_types[0].tax.as_ref().unwrap();
    assert!(tax.included_in_price);
    assert_eq!(tax.excise, Some(false));

    let storages = load("catalog-3.1-storages-freesport.xml");
    let warehouses = &storages.classifier.as_ref().unwrap().warehouses;
    let names: Vec<&str> = warehouses.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["1 СДВ склад", "2 ТЛВ склад"]);
    assert_eq!(warehouses[0].id, "8f06f4f1-b3f0-11ea-81c3-00155d3cae02");

    let units = load("catalog-3.1-units-freesport.xml");
    let units = &units.classifier.as_ref().unwrap().units;
    assert_eq!(units.len(), 18);
    let pack = &units[0];
    assert_eq!((pack.id.as_str(), pack.code.as_deref()), ("778", Some("778")));
    assert_eq!((pack.short_name.as_deref(), pack.full_name.as_deref()), (Some("упак"), Some("Упаковка")));
    assert!(units.iter().all(|u| u.id.trim() == u.id));
}

/// Shapes the spec describes that no saved fixture shows: УНФ's
/// `Статус="Удален"`, `СодержитТолькоИзменения` as an element,
/// `СвойствоНоменклатуры`, `ШтрихКод`, a `commerceml_210` namespace,
/// stock without warehouses, comma decimals and 3.1 `Контейнер` documents.
#[test]
fn shapes_described_by_the_spec_without_a_fixture() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_210" ВерсияСхемы="2.08" ДатаФормирования="2019-01-01T0:36:33">
  <Классификатор>
    <Ид>k</Ид><Наименование>K</Наименование>
    <СодержитТолькоИзменения>true</СодержитТолькоИзменения>
    <Свойства><СвойствоНоменклатуры><Ид>p</Ид><Наименование>Цвет</Наименование>
      <ВариантыЗначений><Значение>Красный</Значение><Значение>Синий</Значение></ВариантыЗначений>
    </СвойствоНоменклатуры></Свойства>
  </Классификатор>
  <Каталог>
    <Ид>c</Ид><Наименование>C</Наименование>
    <СодержитТолькоИзменения>true</СодержитТолькоИзменения>
    <Товары>
      <Товар Статус="Удален"><Ид>gone</Ид><Наименование>Снят</Наименование></Товар>
      <Товар><Ид>also-gone</Ид><Статус>Удален</Статус><Наименование>Снят 2</Наименование></Товар>
      <Товар><Ид>kept</Ид><ШтрихКод> 4600000000001 </ШтрихКод><Наименование>Есть</Наименование>
        <Вес>1,25</Вес><Картинка> </Картинка><Картинка>import_files/a.jpg</Картинка></Товар>
    </Товары>
  </Каталог>
  <ПакетПредложений>
    <Ид>c#</Ид><Наименование>P</Наименование><ИдКаталога>c</ИдКаталога>
    <СодержитТолькоИзменения>true</СодержитТолькоИзменения>
    <Предложения>
      <Предложение><Ид>kept#v1</Ид>
        <Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>1 234,50</ЦенаЗаЕдиницу></Цена></Цены>
        <Остатки><Остаток><Количество>7</Количество></Остаток></Остатки>
      </Предложение>
    </Предложения>
  </ПакетПредложений>
  <Контейнер><Документ><Ид>1</Ид><Номер>1</Номер><Дата>2019-01-01</Дата><Время>0:36:33</Время></Документ></Контейнер>
  <Контейнер><Документ><Ид>2</Ид><Номер>2</Номер></Документ></Контейнер>
</КоммерческаяИнформация>"#;
    let package = relata_commerceml::read(xml.as_bytes()).unwrap();
    assert_eq!(package.version(), Some(SchemaVersion::V2_08));
    assert_eq!(package.generated_at, NaiveDate::from_ymd_opt(2019, 1, 1).unwrap().and_hms_opt(0, 36, 33));

    let classifier = package.classifier.unwrap();
    assert!(classifier.only_changes);
    let colours: Vec<(Option<&str>, &str)> =
        classifier.properties[0].choices.iter().map(|c| (c.id.as_deref(), c.value.as_str())).collect();
    assert_eq!(colours, [(None, "Красный"), (None, "Синий")]);

    let catalog = package.catalog.unwrap();
    assert!(catalog.only_changes);
    let deleted: Vec<&str> = catalog.products.iter().filter(|p| p.deleted).map(|p| p.id.as_str()).collect();
    assert_eq!(deleted, ["gone", "also-gone"]);
    let kept = &catalog.products[2];
    assert_eq!(kept.barcode.as_deref(), Some("4600000000001"));
    assert_eq!(kept.weight, Some(dec("1.25")));
    assert_eq!(kept.images, ["import_files/a.jpg"]);

    let offers = package.offers.unwrap();
    assert!(offers.only_changes);
    let offer = &offers.offers[0];
    assert_eq!((offer.product_id(), offer.variant_id()), ("kept", Some("v1")));
    assert_eq!(offer.prices[0].unit_price, dec("1234.50"));
    assert_eq!(offer.quantity, Some(dec("7")));
    assert!(offer.stock.is_empty());

    assert_eq!(package.orders.len(), 2);
    assert_eq!(package.orders[0].date, NaiveDate::from_ymd_opt(2019, 1, 1).unwrap().and_hms_opt(0, 36, 33));
    assert_eq!(package.orders[1].number, "2");
}
