//! The typed content of a CommerceML document.

mod catalog;
mod order;

use chrono::NaiveDateTime;

pub use catalog::{
    BaseUnit, Catalog, Characteristic, Classifier, Group, Offer, OfferPackage, Price, PriceTax, PriceType, Product,
    Property, PropertyChoice, PropertyValue, TaxRate, Unit, Warehouse, WarehouseStock,
};
pub use order::{
    Contact, Counterparty, Discount, LinkedDocument, Order, OrderLine, Representative, SiteStatus, StatusFacts, Tax,
};

use crate::SchemaVersion;

/// Everything found in one `КоммерческаяИнформация` document. A file may
/// hold any combination of sections; when a section appears twice its
/// lists are concatenated under the first header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Package {
    /// `ВерсияСхемы` as written, e.g. `2.05` or `3.1`.
    pub schema_version: String,
    /// `ДатаФормирования`, read leniently (date only, millis, offsets and
    /// one-digit hours are accepted; an offset is dropped). `None` when
    /// absent or unreadable.
    pub generated_at: Option<NaiveDateTime>,
    /// `Классификатор`.
    pub classifier: Option<Classifier>,
    /// `Каталог`.
    pub catalog: Option<Catalog>,
    /// `ПакетПредложений`.
    pub offers: Option<OfferPackage>,
    /// Every `Документ`, at the root or inside `Контейнер` (3.x).
    pub orders: Vec<Order>,
    /// `Контрагенты` sent on their own (3.x's `contragents` package), not
    /// inside a document.
    pub counterparties: Vec<Counterparty>,
}

impl Package {
    /// [`Package::schema_version`] when it is one this crate knows.
    pub fn version(&self) -> Option<SchemaVersion> {
        self.schema_version.parse().ok()
    }
}

/// `ЗначениеРеквизита`: a named value attached to a product, a document
/// or a document line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Requisite {
    /// `Наименование`.
    pub name: String,
    /// `Значение` (empty when sent empty).
    pub value: String,
}

impl Requisite {
    /// A requisite with this name and value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Requisite { name: name.into(), value: value.into() }
    }
}

/// Splits `product#variant` into its parts; an empty variant is none.
pub(crate) fn split_item_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once('#') {
        Some((product, variant)) if !variant.is_empty() => (product, Some(variant)),
        Some((product, _)) => (product, None),
        None => (id, None),
    }
}

/// 1C configurations differ in the case of requisite names, so they are
/// compared ignoring case and surrounding spaces.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b || a.to_lowercase() == b.to_lowercase()
}

pub(crate) fn find_value<'a>(requisites: &'a [Requisite], name: &str) -> Option<&'a str> {
    requisites.iter().find(|r| same_name(&r.name, name)).map(|r| r.value.as_str())
}
