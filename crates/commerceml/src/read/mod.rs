//! Reading a CommerceML document (1C → site): whole into a [`Package`],
//! or as a stream of [`Entry`] values, one product or offer at a time.
//!
//! The document is decoded and parsed as it is read, so memory holds one
//! entry, not the file. Unknown elements are skipped, missing optional
//! ones stay empty, values are trimmed.

mod catalog;
mod order;
mod xml;

use std::collections::VecDeque;
use std::io::Read;

use chrono::NaiveDateTime;

use crate::decode::Text;
use crate::model::{
    BaseUnit, Catalog, Characteristic, Classifier, Counterparty, Offer, OfferPackage, Order, Package, Product,
    Requisite, TaxRate,
};
use crate::names::*;
use crate::value::{lenient_bool, lenient_datetime};
use crate::Error;
use xml::{Cursor, Element};

/// Reads one `КоммерческаяИнформация` document, whatever mix of
/// classifier, catalog, offers and documents it holds.
///
/// The encoding comes from a BOM or the XML declaration (UTF-8,
/// windows-1251 and the other encodings of the WHATWG list); element names
/// are matched without their namespace, so 2.x, `commerceml_2`,
/// `commerceml_210` and `commerceml_3` documents read alike.
pub fn read(bytes: &[u8]) -> Result<Package, Error> {
    entries(bytes)?.into_package()
}

/// One piece of a document, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A whole `Классификатор`.
    Classifier(Box<Classifier>),
    /// A `Каталог`'s own fields, before its products (`products` is empty).
    Catalog(Box<Catalog>),
    /// One `Товар` of the catalog above.
    Product(Box<Product>),
    /// A `ПакетПредложений`'s own fields — price types, warehouses —
    /// before its offers (`offers` is empty).
    Offers(Box<OfferPackage>),
    /// One `Предложение` of the package above.
    Offer(Box<Offer>),
    /// A `Документ`, at the root or inside `Контейнер`.
    Order(Box<Order>),
    /// A `Контрагент` sent on its own, not inside a document.
    Counterparty(Box<Counterparty>),
}

/// Reads a document as a stream of [`Entry`] values: the way to read a
/// package of any size with a fixed amount of memory. A catalog's or an
/// offer package's own fields come when its list of products or offers
/// starts (1C writes them first); ones written after the list are not
/// seen.
pub fn entries<R: Read>(reader: R) -> Result<Entries<R>, Error> {
    let mut x = Cursor::new(Text::new(reader)?);
    let root = x.root()?;
    if root.name != ROOT {
        return Err(Error::NotCommerceMl { root: root.name });
    }
    Ok(Entries {
        schema_version: root.attr(SCHEMA_VERSION).unwrap_or_default().to_owned(),
        generated_at: root.attr(GENERATED_AT).and_then(lenient_datetime),
        x,
        root,
        open: Vec::new(),
        pending: VecDeque::new(),
        ended: false,
    })
}

/// The iterator [`entries`] returns; it ends after the first error.
pub struct Entries<R: Read> {
    x: Cursor<R>,
    root: Element,
    schema_version: String,
    generated_at: Option<NaiveDateTime>,
    /// The sections being read, outermost first.
    open: Vec<Open>,
    /// Entries read together (a `Контрагенты` list), not yet handed out.
    pending: VecDeque<Entry>,
    ended: bool,
}

/// A section whose children are handed out one by one.
enum Open {
    Catalog { element: Element, header: Option<Box<Catalog>> },
    Products(Element),
    Offers { element: Element, header: Option<Box<OfferPackage>> },
    OfferList(Element),
    Container(Element),
}

impl<R: Read> Entries<R> {
    /// `ВерсияСхемы` as written, e.g. `2.05` or `3.1`.
    pub fn schema_version(&self) -> &str {
        &self.schema_version
    }

    /// `ДатаФормирования`, read leniently.
    pub fn generated_at(&self) -> Option<NaiveDateTime> {
        self.generated_at
    }

    /// How many bytes of the input have been read so far.
    pub fn bytes_read(&self) -> u64 {
        self.x.bytes_read()
    }

    /// The rest of the document as one [`Package`], as [`read`] gives it.
    pub fn into_package(mut self) -> Result<Package, Error> {
        let mut package = Package {
            schema_version: std::mem::take(&mut self.schema_version),
            generated_at: self.generated_at,
            ..Package::default()
        };
        for entry in self {
            match entry? {
                Entry::Classifier(classifier) => match &mut package.classifier {
                    None => package.classifier = Some(*classifier),
                    Some(first) => {
                        first.groups.extend(classifier.groups);
                        first.properties.extend(classifier.properties);
                        first.units.extend(classifier.units);
                        first.price_types.extend(classifier.price_types);
                        first.warehouses.extend(classifier.warehouses);
                    }
                },
                Entry::Catalog(catalog) => {
                    package.catalog.get_or_insert(*catalog);
                }
                Entry::Product(product) => package.catalog.get_or_insert_with(Catalog::default).products.push(*product),
                Entry::Offers(offers) => match &mut package.offers {
                    None => package.offers = Some(*offers),
                    Some(first) => {
                        first.price_types.extend(offers.price_types);
                        first.warehouses.extend(offers.warehouses);
                    }
                },
                Entry::Offer(offer) => package.offers.get_or_insert_with(OfferPackage::default).offers.push(*offer),
                Entry::Order(order) => package.orders.push(*order),
                Entry::Counterparty(party) => package.counterparties.push(*party),
            }
        }
        Ok(package)
    }

    fn advance(&mut self) -> Result<Option<Entry>, Error> {
        let x = &mut self.x;
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Ok(Some(entry));
            }
            let Some(open) = self.open.last_mut() else {
                let Some(section) = x.next_child(&self.root)? else { return Ok(None) };
                match section.name.as_str() {
                    CLASSIFIER => return Ok(Some(Entry::Classifier(Box::new(catalog::classifier(x, &section)?)))),
                    CATALOG => {
                        let header = Catalog { only_changes: only_changes_attr(&section), ..Catalog::default() };
                        self.open.push(Open::Catalog { element: section, header: Some(Box::new(header)) });
                    }
                    OFFER_PACKAGE => {
                        let header =
                            OfferPackage { only_changes: only_changes_attr(&section), ..OfferPackage::default() };
                        self.open.push(Open::Offers { element: section, header: Some(Box::new(header)) });
                    }
                    DOCUMENT => return Ok(Some(Entry::Order(Box::new(order::document(x, &section)?)))),
                    COUNTERPARTIES => counterparties(x, &section, &mut self.pending)?,
                    CONTAINER => self.open.push(Open::Container(section)),
                    _ => x.skip(&section)?,
                }
                continue;
            };
            match open {
                Open::Catalog { element, header } => {
                    let Some(c) = x.next_child(element)? else {
                        let header = header.take();
                        self.open.pop();
                        match header {
                            Some(header) => return Ok(Some(Entry::Catalog(header))),
                            None => continue,
                        }
                    };
                    let Some(fields) = header.as_deref_mut() else {
                        match c.name.as_str() {
                            PRODUCTS => self.open.push(Open::Products(c)),
                            _ => x.skip(&c)?,
                        }
                        continue;
                    };
                    match c.name.as_str() {
                        ID => fields.id = x.text(&c)?,
                        CLASSIFIER_ID => fields.classifier_id = x.opt_text(&c)?,
                        NAME => fields.name = x.text(&c)?,
                        ONLY_CHANGES => fields.only_changes |= flag(x, &c)?,
                        PRODUCTS => {
                            let header = header.take();
                            self.open.push(Open::Products(c));
                            if let Some(header) = header {
                                return Ok(Some(Entry::Catalog(header)));
                            }
                        }
                        _ => x.skip(&c)?,
                    }
                }
                Open::Products(element) => match x.next_child(element)? {
                    None => {
                        self.open.pop();
                    }
                    Some(p) if p.name == PRODUCT => {
                        return Ok(Some(Entry::Product(Box::new(catalog::product(x, &p)?))))
                    }
                    Some(p) => x.skip(&p)?,
                },
                Open::Offers { element, header } => {
                    let Some(c) = x.next_child(element)? else {
                        let header = header.take();
                        self.open.pop();
                        match header {
                            Some(header) => return Ok(Some(Entry::Offers(header))),
                            None => continue,
                        }
                    };
                    let Some(fields) = header.as_deref_mut() else {
                        match c.name.as_str() {
                            OFFERS => self.open.push(Open::OfferList(c)),
                            _ => x.skip(&c)?,
                        }
                        continue;
                    };
                    match c.name.as_str() {
                        ID => fields.id = x.text(&c)?,
                        NAME => fields.name = x.text(&c)?,
                        CATALOG_ID => fields.catalog_id = x.opt_text(&c)?,
                        CLASSIFIER_ID => fields.classifier_id = x.opt_text(&c)?,
                        ONLY_CHANGES => fields.only_changes |= flag(x, &c)?,
                        PRICE_TYPES => catalog::price_types(x, &c, &mut fields.price_types)?,
                        WAREHOUSES => catalog::warehouses(x, &c, &mut fields.warehouses)?,
                        OFFERS => {
                            let header = header.take();
                            self.open.push(Open::OfferList(c));
                            if let Some(header) = header {
                                return Ok(Some(Entry::Offers(header)));
                            }
                        }
                        _ => x.skip(&c)?,
                    }
                }
                Open::OfferList(element) => match x.next_child(element)? {
                    None => {
                        self.open.pop();
                    }
                    Some(o) if o.name == OFFER => return Ok(Some(Entry::Offer(Box::new(catalog::offer(x, &o)?)))),
                    Some(o) => x.skip(&o)?,
                },
                Open::Container(element) => match x.next_child(element)? {
                    None => {
                        self.open.pop();
                    }
                    Some(c) if c.name == DOCUMENT => {
                        return Ok(Some(Entry::Order(Box::new(order::document(x, &c)?))));
                    }
                    Some(c) if c.name == COUNTERPARTIES => counterparties(x, &c, &mut self.pending)?,
                    Some(c) => x.skip(&c)?,
                },
            }
        }
    }
}

impl<R: Read> Iterator for Entries<R> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let next = self.advance();
        if !matches!(next, Ok(Some(_))) {
            self.ended = true;
        }
        next.transpose()
    }
}

/// A `Контрагенты` list, queued as entries.
fn counterparties<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut VecDeque<Entry>) -> Result<(), Error> {
    let mut parties = Vec::new();
    order::counterparties(x, element, &mut parties)?;
    out.extend(parties.into_iter().map(|p| Entry::Counterparty(Box::new(p))));
    Ok(())
}

/// A boolean element; unreadable text counts as `false`.
fn flag<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<bool, Error> {
    Ok(lenient_bool(&x.text(element)?).unwrap_or(false))
}

/// `СодержитТолькоИзменения` as an attribute of `section`.
fn only_changes_attr(section: &Element) -> bool {
    section.attr(ONLY_CHANGES).and_then(lenient_bool).unwrap_or(false)
}

/// `Статус="Удален"` on the element itself (УНФ style).
fn deleted_attr(element: &Element) -> bool {
    element.attr(STATUS).is_some_and(|s| s == STATUS_DELETED)
}

/// The text of the `Наименование` child (an `Изготовитель`), skipping the rest.
fn child_name<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Option<String>, Error> {
    let mut name = None;
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            NAME => name = x.opt_text(&c)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(name)
}

/// The `Представление` of an address element.
fn presentation<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Option<String>, Error> {
    let mut text = None;
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            PRESENTATION => text = x.opt_text(&c)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(text)
}

/// `БазоваяЕдиница` (or a 1C order line's `Единица`): attributes plus
/// text (`шт`), a bare code (`796 `), or `{Ид, Код, НаименованиеКраткое,
/// НаименованиеПолное}` children; a `Пересчет` child is skipped.
fn base_unit<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Option<BaseUnit>, Error> {
    let mut unit = BaseUnit {
        code: element.attr(CODE).map(str::to_owned),
        short_name: element.attr(SHORT_NAME).map(str::to_owned),
        full_name: element.attr(UNIT_FULL_NAME).map(str::to_owned),
        international_abbreviation: element.attr(INTERNATIONAL_ABBREVIATION).map(str::to_owned),
    };
    let mut id = None;
    let mut text = String::new();
    while let Some(c) = x.next_child_with_text(element, &mut text)? {
        match c.name.as_str() {
            ID => id = x.opt_text(&c)?,
            CODE => unit.code = x.opt_text(&c)?,
            SHORT_NAME => unit.short_name = x.opt_text(&c)?,
            UNIT_FULL_NAME => unit.full_name = x.opt_text(&c)?,
            INTERNATIONAL_ABBREVIATION => unit.international_abbreviation = x.opt_text(&c)?,
            _ => x.skip(&c)?,
        }
    }
    if !text.is_empty() {
        if unit.code.is_none() && text.chars().all(|c| c.is_ascii_digit()) {
            unit.code = Some(text);
        } else if unit.short_name.is_none() {
            unit.short_name = Some(text);
        }
    }
    if unit.code.is_none() {
        unit.code = id;
    }
    Ok((unit != BaseUnit::default()).then_some(unit))
}

/// `ЗначенияРеквизитов/ЗначениеРеквизита{Наименование, Значение}`.
fn requisites<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<Requisite>) -> Result<(), Error> {
    while let Some(item) = x.next_child(element)? {
        if item.name != REQUISITE {
            x.skip(&item)?;
            continue;
        }
        let mut requisite = Requisite::default();
        while let Some(c) = x.next_child(&item)? {
            match c.name.as_str() {
                NAME => requisite.name = x.text(&c)?,
                // Several values are allowed; they are joined.
                VALUE => {
                    let value = x.text(&c)?;
                    if requisite.value.is_empty() {
                        requisite.value = value;
                    } else if !value.is_empty() {
                        requisite.value.push_str(", ");
                        requisite.value.push_str(&value);
                    }
                }
                _ => x.skip(&c)?,
            }
        }
        if !requisite.name.is_empty() {
            out.push(requisite);
        }
    }
    Ok(())
}

/// `СтавкиНалогов/СтавкаНалога{Наименование, Ставка}`.
fn tax_rates<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<TaxRate>) -> Result<(), Error> {
    while let Some(item) = x.next_child(element)? {
        if item.name != TAX_RATE {
            x.skip(&item)?;
            continue;
        }
        let mut rate = TaxRate::default();
        while let Some(c) = x.next_child(&item)? {
            match c.name.as_str() {
                NAME => rate.name = x.text(&c)?,
                RATE => rate.rate = x.text(&c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(rate);
    }
    Ok(())
}

/// `ХарактеристикиТовара/ХарактеристикаТовара{Ид?, Наименование, Значение}`.
fn characteristics<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<Characteristic>) -> Result<(), Error> {
    while let Some(item) = x.next_child(element)? {
        if item.name != CHARACTERISTIC {
            x.skip(&item)?;
            continue;
        }
        let mut characteristic = Characteristic::default();
        while let Some(c) = x.next_child(&item)? {
            match c.name.as_str() {
                ID => characteristic.id = x.opt_text(&c)?,
                NAME => characteristic.name = x.text(&c)?,
                VALUE => characteristic.value = x.text(&c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(characteristic);
    }
    Ok(())
}
