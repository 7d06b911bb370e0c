//! What 1C pushes to a site: the classifier (groups, properties, units,
//! price types, warehouses), the catalog of products, and offer packages
//! with prices and stock.

use rust_decimal::Decimal;

use super::{split_item_id, Requisite};
use crate::requisite;

/// `Классификатор`: the reference books products point to. In 2.09+ and 3.1
/// each kind may come in a file of its own, every one with its own
/// classifier header.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Classifier {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `СодержитТолькоИзменения`: a delta, never a reason to delete what is absent.
    pub only_changes: bool,
    /// All groups of the tree, flattened in document order: a parent always
    /// comes before its children.
    pub groups: Vec<Group>,
    /// `Свойства/Свойство` (or `СвойствоНоменклатуры`).
    pub properties: Vec<Property>,
    /// `ЕдиницыИзмерения/ЕдиницаИзмерения`.
    pub units: Vec<Unit>,
    /// `ТипыЦен/ТипЦены` (2.09+; earlier versions put them in the offer package).
    pub price_types: Vec<PriceType>,
    /// `Склады/Склад`.
    pub warehouses: Vec<Warehouse>,
}

/// `Группа`: one node of the product group tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Ид` of the enclosing group; `None` for a top-level group.
    pub parent_id: Option<String>,
    /// `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// `Свойство`: a product or offer attribute defined in the classifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Property {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ТипЗначений`: `Строка`, `Число`, `Время`, `Справочник`; `None` when absent.
    pub value_type: Option<String>,
    /// `ВариантыЗначений`: the allowed values of a `Справочник` property.
    pub choices: Vec<PropertyChoice>,
    /// `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// One allowed value of a property.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PropertyChoice {
    /// `ИдЗначения`; `None` for a plain `Значение` without an id.
    pub id: Option<String>,
    /// `Значение`.
    pub value: String,
}

/// `ЕдиницаИзмерения` of the classifier (3.x and 2.09+).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    /// `Ид` (usually the OKEI code, e.g. `796`).
    pub id: String,
    /// `Код`.
    pub code: Option<String>,
    /// `НаименованиеКраткое`, e.g. `шт`.
    pub short_name: Option<String>,
    /// `НаименованиеПолное`, e.g. `Штука`.
    pub full_name: Option<String>,
    /// `МеждународноеСокращение`, e.g. `PCE`.
    pub international_abbreviation: Option<String>,
    /// `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// `ТипЦены`: a price list of 1C.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PriceType {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Валюта` as 1C spells it (`RUB`, `руб`, `USD`…).
    pub currency: Option<String>,
    /// `Налог`: how tax is treated in prices of this type.
    pub tax: Option<PriceTax>,
    /// `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// `Налог` of a price type or a price.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PriceTax {
    /// `Наименование`, e.g. `НДС`.
    pub name: String,
    /// `УчтеноВСумме`: the price already includes this tax.
    pub included_in_price: bool,
    /// `Акциз`, when present.
    pub excise: Option<bool>,
}

/// `Склад`: a warehouse stock is counted in.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warehouse {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Адрес/Представление`, when present.
    pub address: Option<String>,
    /// `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// `Каталог`: the products of one catalog.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    /// `Ид`.
    pub id: String,
    /// `ИдКлассификатора`.
    pub classifier_id: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `СодержитТолькоИзменения` (attribute, or child element in older files).
    pub only_changes: bool,
    /// `Товары/Товар`; empty for a header-only catalog.
    pub products: Vec<Product>,
}

/// `Товар` of a catalog.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Product {
    /// `Ид` as sent: a product id, or `product#variant` for a characteristic.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Артикул`.
    pub article: Option<String>,
    /// `Штрихкод`.
    pub barcode: Option<String>,
    /// `Описание` (plain text or HTML).
    pub description: Option<String>,
    /// `Группы/Ид`.
    pub group_ids: Vec<String>,
    /// `БазоваяЕдиница`.
    pub base_unit: Option<BaseUnit>,
    /// `Картинка`: paths relative to the upload folder; empty ones skipped.
    pub images: Vec<String>,
    /// `ЗначенияСвойств`.
    pub property_values: Vec<PropertyValue>,
    /// `СтавкиНалогов`.
    pub tax_rates: Vec<TaxRate>,
    /// `ЗначенияРеквизитов`, in document order.
    pub requisites: Vec<Requisite>,
    /// `ХарактеристикиТовара`.
    pub characteristics: Vec<Characteristic>,
    /// `Изготовитель/Наименование`.
    pub manufacturer: Option<String>,
    /// `Страна`.
    pub country: Option<String>,
    /// `Вес`.
    pub weight: Option<Decimal>,
    /// `ПометкаУдаления=true` or `Статус=Удален`.
    pub deleted: bool,
}

impl Product {
    /// The product part of [`Product::id`] (before `#`).
    pub fn product_id(&self) -> &str {
        split_item_id(&self.id).0
    }

    /// The characteristic part of [`Product::id`] (after `#`), if any.
    pub fn variant_id(&self) -> Option<&str> {
        split_item_id(&self.id).1
    }

    /// The value of the `ЗначенияРеквизитов` entry with this name.
    pub fn requisite(&self, name: &str) -> Option<&str> {
        super::find_value(&self.requisites, name)
    }

    /// `ТипНоменклатуры` is `Услуга`.
    pub fn is_service(&self) -> bool {
        self.requisite(requisite::NOMENCLATURE_TYPE)
            .is_some_and(|v| super::same_name(v, requisite::NOMENCLATURE_TYPE_SERVICE))
    }
}

/// `БазоваяЕдиница` (or an order line's `Единица`). 1C writes it as text
/// with attributes (`<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</…>`)
/// or as a bare OKEI code (`<БазоваяЕдиница>796 </БазоваяЕдиница>`), which
/// lands in [`BaseUnit::code`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseUnit {
    /// `Код` attribute, or the text when it is a bare numeric code.
    pub code: Option<String>,
    /// The element text, e.g. `шт` (`НаименованиеКраткое` of a `Единица`).
    pub short_name: Option<String>,
    /// `НаименованиеПолное`, e.g. `Штука`.
    pub full_name: Option<String>,
    /// `МеждународноеСокращение`, e.g. `PCE`.
    pub international_abbreviation: Option<String>,
}

/// `ЗначенияСвойства`: a product's value of a classifier property.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PropertyValue {
    /// `Ид` of the [`Property`].
    pub property_id: String,
    /// Non-empty `Значение`s (for `Справочник` properties, the chosen
    /// `ИдЗначения`). Empty means "no value".
    pub values: Vec<String>,
}

/// `СтавкаНалога`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaxRate {
    /// `Наименование`, e.g. `НДС`.
    pub name: String,
    /// `Ставка` as sent: a number (`18`) or words (`Без налога`).
    pub rate: String,
}

impl TaxRate {
    /// The rate as a percentage, when it is a number.
    pub fn percent(&self) -> Option<Decimal> {
        crate::value::parse_decimal(&self.rate)
    }
}

/// `ХарактеристикаТовара`: a variant attribute such as size or colour.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Characteristic {
    /// `Ид`, when sent.
    pub id: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `Значение`.
    pub value: String,
}

/// `ПакетПредложений`: offers with prices and stock. A 2.0x `offers.xml`
/// holds everything; 2.09+ splits offers, prices and stock into separate
/// packages with the same shape.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OfferPackage {
    /// `Ид` (`<catalog>#`, or `#<catalog>` in newer 3.1).
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ИдКаталога`.
    pub catalog_id: Option<String>,
    /// `ИдКлассификатора`.
    pub classifier_id: Option<String>,
    /// `СодержитТолькоИзменения`.
    pub only_changes: bool,
    /// `ТипыЦен` of the package (2.0x).
    pub price_types: Vec<PriceType>,
    /// `Склады` of the package (2.07).
    pub warehouses: Vec<Warehouse>,
    /// `Предложения/Предложение`.
    pub offers: Vec<Offer>,
}

/// `Предложение`: what is sold, at which prices, with how much in stock.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    /// `Ид`: a product id, or `product#variant`.
    pub id: String,
    /// `Наименование`.
    pub name: Option<String>,
    /// `Артикул`.
    pub article: Option<String>,
    /// `Штрихкод`.
    pub barcode: Option<String>,
    /// `БазоваяЕдиница`.
    pub base_unit: Option<BaseUnit>,
    /// `ХарактеристикиТовара`.
    pub characteristics: Vec<Characteristic>,
    /// `ЗначенияСвойств`.
    pub property_values: Vec<PropertyValue>,
    /// `Цены/Цена`.
    pub prices: Vec<Price>,
    /// `Количество`: total stock.
    pub quantity: Option<Decimal>,
    /// Stock per warehouse, from `Склад ИдСклада=… КоличествоНаСкладе=…`
    /// attributes or `Остатки/Остаток/Склад{Ид, Количество}`.
    pub stock: Vec<WarehouseStock>,
    /// `ПометкаУдаления=true` or `Статус=Удален`.
    pub deleted: bool,
}

impl Offer {
    /// The product part of [`Offer::id`] (before `#`).
    pub fn product_id(&self) -> &str {
        split_item_id(&self.id).0
    }

    /// The characteristic part of [`Offer::id`] (after `#`), if any.
    pub fn variant_id(&self) -> Option<&str> {
        split_item_id(&self.id).1
    }

    /// The price of the given price type.
    pub fn price(&self, price_type_id: &str) -> Option<&Price> {
        self.prices.iter().find(|p| p.price_type_id == price_type_id)
    }

    /// The stock in the given warehouse.
    pub fn stock_in(&self, warehouse_id: &str) -> Option<Decimal> {
        self.stock.iter().find(|s| s.warehouse_id == warehouse_id).map(|s| s.quantity)
    }
}

/// `Цена` of an offer.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Price {
    /// `ИдТипаЦены`.
    pub price_type_id: String,
    /// `ЦенаЗаЕдиницу`.
    pub unit_price: Decimal,
    /// `Валюта`.
    pub currency: Option<String>,
    /// `Единица`.
    pub unit: Option<String>,
    /// `Коэффициент`.
    pub factor: Option<Decimal>,
    /// `Представление`, e.g. `1 719 RUB за пара`.
    pub presentation: Option<String>,
}

/// Stock of an offer in one warehouse.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarehouseStock {
    /// `Ид` of the [`Warehouse`].
    pub warehouse_id: String,
    /// The quantity in stock.
    pub quantity: Decimal,
}
