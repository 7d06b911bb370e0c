//! Reading a CommerceML document (1C → site) into a [`Package`].
//!
//! The document is decoded once, then streamed through quick-xml; only the
//! typed result is kept in memory. Unknown elements are skipped, missing
//! optional ones stay empty, values are trimmed.

mod catalog;
mod order;
mod xml;

use crate::model::{BaseUnit, Characteristic, Package, Requisite, TaxRate};
use crate::names::*;
use crate::value::{lenient_bool, lenient_datetime};
use crate::{decode, Error};
use xml::{Cursor, Element};

/// Reads one `КоммерческаяИнформация` document, whatever mix of
/// classifier, catalog, offers and documents it holds.
///
/// The encoding comes from a BOM or the XML declaration (UTF-8,
/// windows-1251 and the other encodings of the WHATWG list); element names
/// are matched without their namespace, so 2.x, `commerceml_2`,
/// `commerceml_210` and `commerceml_3` documents read alike.
pub fn read(bytes: &[u8]) -> Result<Package, Error> {
    let text = decode::decode(bytes)?;
    let mut x = Cursor::new(&text);
    let root = x.root()?;
    if root.name != ROOT {
        return Err(Error::NotCommerceMl { root: root.name });
    }
    let mut package = Package {
        schema_version: root.attr(SCHEMA_VERSION).unwrap_or_default().to_owned(),
        generated_at: root.attr(GENERATED_AT).and_then(lenient_datetime),
        ..Package::default()
    };
    while let Some(section) = x.next_child(&root)? {
        match section.name.as_str() {
            CLASSIFIER => {
                let classifier = catalog::classifier(&mut x, &section)?;
                match &mut package.classifier {
                    None => package.classifier = Some(classifier),
                    Some(first) => {
                        first.groups.extend(classifier.groups);
                        first.properties.extend(classifier.properties);
                        first.units.extend(classifier.units);
                        first.price_types.extend(classifier.price_types);
                        first.warehouses.extend(classifier.warehouses);
                    }
                }
            }
            CATALOG => {
                let catalog = catalog::catalog(&mut x, &section)?;
                match &mut package.catalog {
                    None => package.catalog = Some(catalog),
                    Some(first) => first.products.extend(catalog.products),
                }
            }
            OFFER_PACKAGE => {
                let offers = catalog::offer_package(&mut x, &section)?;
                match &mut package.offers {
                    None => package.offers = Some(offers),
                    Some(first) => {
                        first.price_types.extend(offers.price_types);
                        first.warehouses.extend(offers.warehouses);
                        first.offers.extend(offers.offers);
                    }
                }
            }
            DOCUMENT => package.orders.push(order::document(&mut x, &section)?),
            COUNTERPARTIES => order::counterparties(&mut x, &section, &mut package.counterparties)?,
            CONTAINER => {
                while let Some(child) = x.next_child(&section)? {
                    match child.name.as_str() {
                        DOCUMENT => package.orders.push(order::document(&mut x, &child)?),
                        COUNTERPARTIES => order::counterparties(&mut x, &child, &mut package.counterparties)?,
                        _ => x.skip(&child)?,
                    }
                }
            }
            _ => x.skip(&section)?,
        }
    }
    Ok(package)
}

/// A boolean element; unreadable text counts as `false`.
fn flag(x: &mut Cursor<'_>, element: &Element) -> Result<bool, Error> {
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
fn child_name(x: &mut Cursor<'_>, element: &Element) -> Result<Option<String>, Error> {
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
fn presentation(x: &mut Cursor<'_>, element: &Element) -> Result<Option<String>, Error> {
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
fn base_unit(x: &mut Cursor<'_>, element: &Element) -> Result<Option<BaseUnit>, Error> {
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
fn requisites(x: &mut Cursor<'_>, element: &Element, out: &mut Vec<Requisite>) -> Result<(), Error> {
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
fn tax_rates(x: &mut Cursor<'_>, element: &Element, out: &mut Vec<TaxRate>) -> Result<(), Error> {
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
fn characteristics(x: &mut Cursor<'_>, element: &Element, out: &mut Vec<Characteristic>) -> Result<(), Error> {
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
