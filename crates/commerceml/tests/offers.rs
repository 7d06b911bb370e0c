//! Offer packages: 2.0x offers files, 2.09 split offers/prices/rests and
//! 3.1 packages.

mod common;

use common::{dec, load};

#[test]
fn official_2_04_offers_have_prices_in_usd_and_roubles() {
    let package = load("offers-2.04-1c-official-sample.xml");
    let offers = package.offers.as_ref().unwrap();
    assert!(!offers.only_changes);
    assert_eq!(offers.id, "bd72d8f9-55bc-11d9-848a-00112f43529a#");
    assert_eq!(offers.catalog_id.as_deref(), Some("bd72d8f9-55bc-11d9-848a-00112f43529a"));
    assert_eq!(offers.price_types.len(), 4);
    let wholesale = &offers.price_types[0];
    assert_eq!((wholesale.name.as_str(), wholesale.currency.as_deref()), ("Оптовая", Some("USD")));
    assert!(!wholesale.tax.as_ref().unwrap().included_in_price);
    assert!(offers.price_types[1].tax.as_ref().unwrap().included_in_price);

    assert_eq!(offers.offers.len(), 2);
    assert_eq!(offers.offers.iter().map(|o| o.prices.len()).sum::<usize>(), 8);
    let table = &offers.offers[0];
    assert_eq!(table.name.as_deref(), Some("Стол обеденный"));
    assert_eq!(table.product_id(), "05e26d70-01e4-11dc-a411-00055d80a2d1");
    assert_eq!(table.variant_id(), Some("05e26d76-01e4-11dc-a411-00055d80a2d1"));
    let wholesale_price = table.price("cbcf495d-55bc-11d9-848a-00112f43529a").unwrap();
    assert_eq!(wholesale_price.unit_price, dec("5"));
    assert_eq!(wholesale_price.currency.as_deref(), Some("USD"));
    assert_eq!(wholesale_price.presentation.as_deref(), Some("5 USD за шт"));
    assert_eq!(wholesale_price.unit.as_deref(), Some("шт"));
    assert_eq!(wholesale_price.factor, Some(dec("1")));
    let retail = table.price("cbcf493b-55bc-11d9-848a-00112f43529a").unwrap();
    assert_eq!((retail.unit_price, retail.currency.as_deref()), (dec("7"), Some("руб")));
    assert_eq!(table.quantity, Some(dec("0")));
}

#[test]
fn ut10_2_05_incremental_offers_with_a_variant() {
    let package = load("offers-2.05-ut10-etalon-readyscript.xml");
    let offers = package.offers.as_ref().unwrap();
    assert!(offers.only_changes);
    assert_eq!(offers.catalog_id.as_deref(), Some("5820ca70-b8e1-48af-a32f-f3766af48767"));
    assert_eq!(offers.price_types.len(), 1);
    assert_eq!(offers.price_types[0].name, "Розничная");
    assert_eq!(offers.offers.len(), 2);

    let base = &offers.offers[0];
    assert_eq!(base.variant_id(), None);
    assert_eq!(base.quantity, Some(dec("0")));
    let variant = &offers.offers[1];
    assert_eq!(variant.product_id(), base.id);
    assert_eq!(variant.variant_id(), Some("fd3fdddb-9964-11e3-9e81-00241d337dcd"));
    assert_eq!(variant.name.as_deref(), Some("Платье 2 (39, Красный)"));
    let sizes: Vec<(&str, &str)> =
        variant.characteristics.iter().map(|c| (c.name.as_str(), c.value.as_str())).collect();
    assert_eq!(sizes, [("Размер", "39"), ("Цвет", "Красный")]);
    let price = &variant.prices[0];
    assert_eq!(price.unit_price, dec("12356.00"));
    assert_eq!(price.currency.as_deref(), Some("руб"));
    assert_eq!(price.presentation.as_deref(), Some("12 356 руб. за шт"));
    assert_eq!(variant.quantity, Some(dec("9")));
}

#[test]
fn ut11_2_07_stock_per_warehouse_in_attributes() {
    let package = load("offers-2.07-ut11-carono.xml");
    // The offers file repeats the classifier header.
    assert_eq!(package.classifier.as_ref().unwrap().id, "07cfe53d-5145-4c4e-a81c-899be39cc5bd");
    let offers = package.offers.as_ref().unwrap();
    assert!(!offers.only_changes);
    assert_eq!(offers.price_types.len(), 1);
    assert_eq!(offers.warehouses.len(), 5);
    let shoes = &offers.warehouses[0];
    assert_eq!(shoes.name, "Магазин \"Обувь\"");
    assert_eq!(shoes.address.as_deref(), Some("РОССИЯ ,Москва г ,Москва г ,34 ,1 ,"));

    assert_eq!(offers.offers.len(), 5);
    assert!(offers.offers.iter().all(|o| o.variant_id().is_some()));
    let boots = &offers.offers[0];
    assert_eq!(boots.name.as_deref(), Some("Женские ботфорты коричневые (38)"));
    assert_eq!(boots.article.as_deref(), Some("Б-130001"));
    let price = boots.price("bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4").unwrap();
    assert_eq!((price.unit_price, price.currency.as_deref()), (dec("1719"), Some("RUB")));
    assert_eq!(price.presentation.as_deref(), Some("1\u{a0}719 RUB за пара"));
    assert_eq!(boots.quantity, Some(dec("20")));
    assert_eq!(boots.stock_in("b6112590-41ba-11dd-ac9d-0015e9b8c48d"), Some(dec("20")));
    let total: rust_decimal::Decimal = offers.offers.iter().filter_map(|o| o.quantity).sum();
    assert_eq!(total, dec("219"));
}

#[test]
fn bsp_2_07_offers_with_one_warehouse_and_padded_unit_code() {
    let package = load("offers-2.07-bsp-warehouses-sukhikh.xml");
    let offers = package.offers.as_ref().unwrap();
    assert_eq!(offers.price_types.len(), 1);
    assert_eq!(offers.price_types[0].currency.as_deref(), Some("RUB"));
    assert_eq!(offers.warehouses.len(), 1);
    assert_eq!(offers.warehouses[0].name, "Склад 1");
    assert!(offers.warehouses[0].address.as_deref().unwrap().contains("Ижевск"));
    assert_eq!(offers.offers.len(), 3);
    let converter = &offers.offers[0];
    assert_eq!(converter.name.as_deref(), Some("Преобразователь ржавчины, 0,5л"));
    assert_eq!(converter.article, None, "an empty <Артикул/> is none");
    assert_eq!(converter.base_unit.as_ref().unwrap().code.as_deref(), Some("796"), "Код=\"796 \" is trimmed");
    assert_eq!(converter.prices[0].unit_price, dec("70"));
    assert_eq!(converter.prices[0].unit.as_deref(), Some("PCE"));
    assert_eq!(converter.stock_in("a67dede2-e25c-11e8-90c5-0025904bff5d"), Some(dec("19")));
    assert_eq!(offers.offers[1].name.as_deref(), Some("Пластиковая обойма 3/8\" растворного пистолета /PUTZMEISTER/"));
    assert_eq!(offers.offers[1].quantity, Some(dec("4")));
}

#[test]
fn ut11_2_09_split_offers_prices_and_rests_cover_the_same_978_offers() {
    let offers = load("offers-2.09-ut11-gillbeits.xml").offers.unwrap();
    let prices = load("prices-2.09-ut11-gillbeits.xml").offers.unwrap();
    let rests = load("rests-2.09-ut11-gillbeits.xml").offers.unwrap();
    for package in [&offers, &prices, &rests] {
        assert!(package.only_changes);
        assert_eq!(package.catalog_id.as_deref(), Some("86bca4ea-eb3a-4beb-b0d6-2090dbef560e"));
        assert_eq!(package.offers.len(), 978);
        assert!(package.price_types.is_empty());
    }
    let deodorant = "26b0dc1e-4d66-11e4-99fe-003048c64779";
    assert_eq!(offers.offers[0].id, deodorant);
    assert_eq!(
        offers.offers[0].name.as_deref(),
        Some("Дезодорант для мужчин Чистая линия Фито защита без белых следов 150мл")
    );
    assert!(offers.offers.iter().all(|o| o.prices.is_empty() && o.stock.is_empty() && !o.deleted));

    assert!(prices.offers.iter().all(|o| o.prices.len() == 1));
    let price = &prices.offers[0].prices[0];
    assert_eq!(prices.offers[0].id, deodorant);
    assert_eq!(price.price_type_id, "4d968229-47ba-11e4-a628-003048c64779");
    assert_eq!((price.unit_price, price.currency.as_deref()), (dec("181"), Some("RUB")));

    assert!(rests.offers.iter().all(|o| o.stock.len() == 1 && o.prices.is_empty()));
    assert_eq!(rests.offers[0].id, deodorant);
    assert_eq!(rests.offers[0].stock_in("5d1caeb1-44b2-11e4-a628-003048c64779"), Some(dec("1")));
}

#[test]
fn bitrix_module_3_1_offers_with_deletion_marks() {
    let package = load("offers-3.1-bitrixmod-irpsv.xml");
    let offers = package.offers.as_ref().unwrap();
    assert_eq!(offers.offers.len(), 86);
    assert!(offers.offers.iter().all(|o| o.variant_id().is_some()), "all product#characteristic");
    assert_eq!(offers.offers.iter().filter(|o| o.deleted).count(), 6);
    let deleted = offers
        .offers
        .iter()
        .find(|o| o.id == "56ece96f-ae16-11e5-9468-00155d020201#d708d39f-168c-11e6-946e-00155d020201")
        .unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.product_id(), "56ece96f-ae16-11e5-9468-00155d020201");
    let first = &offers.offers[0];
    assert_eq!(first.property_values[0].values, ["RL 00610"]);
    assert_eq!(offers.offers.iter().map(|o| o.property_values.len()).sum::<usize>(), 404);
}

#[test]
fn freesport_3_1_offers_prices_and_rests() {
    let offers = load("offers-3.1-freesport.xml").offers.unwrap();
    assert_eq!(offers.id, "#916c4658-6e57-4468-91e7-60d53e352890");
    assert_eq!(offers.offers.len(), 3);
    assert_eq!(offers.offers.iter().map(|o| o.characteristics.len()).sum::<usize>(), 42);
    let kimono = &offers.offers[0];
    assert_eq!(kimono.product_id(), "3d5f3106-4839-11ef-804f-fa163e775e1f");
    assert_eq!(kimono.variant_id(), Some("3d96ff78-4839-11ef-804f-fa163e775e1f"));
    let box_weight = kimono.characteristics.iter().find(|c| c.name == "Вес коробки (кг)").unwrap();
    assert_eq!(box_weight.value, "21,6");

    let prices = load("prices-3.1-freesport.xml").offers.unwrap();
    assert_eq!(prices.offers.len(), 4);
    assert_eq!(prices.offers.iter().map(|o| o.prices.len()).sum::<usize>(), 23);
    let price = prices.offers[0].price("3d1482c4-bd77-11e4-afc8-20cf3073dde3").unwrap();
    assert_eq!((price.unit_price, price.currency.as_deref()), (dec("6990"), Some("руб")));
    assert_eq!(price.presentation.as_deref(), Some("6\u{a0}990 руб"), "no-break space kept in text");

    let rests = load("rests-3.1-freesport.xml").offers.unwrap();
    assert_eq!(rests.offers.len(), 5);
    assert_eq!(rests.offers.iter().map(|o| o.stock.len()).sum::<usize>(), 10);
    let in_stock = rests
        .offers
        .iter()
        .find(|o| o.id == "018d777d-9094-11ec-a2ff-04421a23d8e8#018d8047-9094-11ec-a2ff-04421a23d8e8")
        .unwrap();
    assert_eq!(in_stock.stock_in("8f06f4f1-b3f0-11ea-81c3-00155d3cae02"), Some(dec("215")));
    // Zero stock is stock, not absence.
    assert_eq!(rests.offers[0].stock_in("b41f7acc-58e5-11f0-90b3-fa163ea88911"), Some(dec("0")));
    assert_eq!(rests.offers.iter().flat_map(|o| &o.stock).filter(|s| s.quantity.is_zero()).count(), 9);
}
