//! `Классификатор`, `Каталог` and `ПакетПредложений`.

use std::io::Read;

use super::xml::{Cursor, Element};
use super::{
    base_unit, characteristics, child_name, deleted_attr, flag, only_changes_attr, presentation, requisites, tax_rates,
};
use crate::model::{
    Classifier, Group, Offer, Price, PriceTax, PriceType, Product, Property, PropertyChoice, PropertyValue, Unit,
    Warehouse, WarehouseStock,
};
use crate::names::*;
use crate::Error;

pub(super) fn classifier<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Classifier, Error> {
    let mut classifier = Classifier { only_changes: only_changes_attr(element), ..Classifier::default() };
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => classifier.id = x.text(&c)?,
            NAME => classifier.name = x.text(&c)?,
            ONLY_CHANGES => classifier.only_changes |= flag(x, &c)?,
            GROUPS => classifier.groups.extend(groups(x, &c)?),
            PROPERTIES => {
                while let Some(p) = x.next_child(&c)? {
                    match p.name.as_str() {
                        PROPERTY | PRODUCT_PROPERTY => classifier.properties.push(property(x, &p)?),
                        _ => x.skip(&p)?,
                    }
                }
            }
            UNITS => {
                while let Some(u) = x.next_child(&c)? {
                    match u.name.as_str() {
                        UNIT_OF_MEASURE => classifier.units.push(unit(x, &u)?),
                        _ => x.skip(&u)?,
                    }
                }
            }
            PRICE_TYPES => price_types(x, &c, &mut classifier.price_types)?,
            WAREHOUSES => warehouses(x, &c, &mut classifier.warehouses)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(classifier)
}

/// `Группы`: the subtree flattened parent-first. Top-level entries of the
/// result have no parent; the caller links them to its own group.
fn groups<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Vec<Group>, Error> {
    let mut out = Vec::new();
    while let Some(g) = x.next_child(element)? {
        if g.name != GROUP {
            x.skip(&g)?;
            continue;
        }
        let mut group = Group { deleted: deleted_attr(&g), ..Group::default() };
        let mut children = Vec::new();
        while let Some(c) = x.next_child(&g)? {
            match c.name.as_str() {
                ID => group.id = x.text(&c)?,
                NAME => group.name = x.text(&c)?,
                DELETION_MARK => group.deleted |= flag(x, &c)?,
                GROUPS => children.extend(groups(x, &c)?),
                _ => x.skip(&c)?,
            }
        }
        for child in &mut children {
            if child.parent_id.is_none() {
                child.parent_id = Some(group.id.clone());
            }
        }
        out.push(group);
        out.append(&mut children);
    }
    Ok(out)
}

fn property<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Property, Error> {
    let mut property = Property { deleted: deleted_attr(element), ..Property::default() };
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => property.id = x.text(&c)?,
            NAME => property.name = x.text(&c)?,
            VALUE_TYPE => property.value_type = x.opt_text(&c)?,
            DELETION_MARK => property.deleted |= flag(x, &c)?,
            VALUE_CHOICES => {
                while let Some(v) = x.next_child(&c)? {
                    match v.name.as_str() {
                        DIRECTORY => {
                            let mut choice = PropertyChoice::default();
                            while let Some(f) = x.next_child(&v)? {
                                match f.name.as_str() {
                                    VALUE_ID => choice.id = x.opt_text(&f)?,
                                    VALUE => choice.value = x.text(&f)?,
                                    _ => x.skip(&f)?,
                                }
                            }
                            property.choices.push(choice);
                        }
                        VALUE => {
                            let value = x.text(&v)?;
                            property.choices.push(PropertyChoice { id: None, value });
                        }
                        _ => x.skip(&v)?,
                    }
                }
            }
            _ => x.skip(&c)?,
        }
    }
    Ok(property)
}

fn unit<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Unit, Error> {
    let mut unit = Unit::default();
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => unit.id = x.text(&c)?,
            CODE => unit.code = x.opt_text(&c)?,
            SHORT_NAME => unit.short_name = x.opt_text(&c)?,
            UNIT_FULL_NAME => unit.full_name = x.opt_text(&c)?,
            INTERNATIONAL_ABBREVIATION => unit.international_abbreviation = x.opt_text(&c)?,
            DELETION_MARK => unit.deleted |= flag(x, &c)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(unit)
}

pub(super) fn price_types<R: Read>(
    x: &mut Cursor<R>,
    element: &Element,
    out: &mut Vec<PriceType>,
) -> Result<(), Error> {
    while let Some(t) = x.next_child(element)? {
        if t.name != PRICE_TYPE {
            x.skip(&t)?;
            continue;
        }
        let mut price_type = PriceType::default();
        while let Some(c) = x.next_child(&t)? {
            match c.name.as_str() {
                ID => price_type.id = x.text(&c)?,
                NAME => price_type.name = x.text(&c)?,
                CURRENCY => price_type.currency = x.opt_text(&c)?,
                TAX => price_type.tax = Some(price_tax(x, &c)?),
                DELETION_MARK => price_type.deleted |= flag(x, &c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(price_type);
    }
    Ok(())
}

fn price_tax<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<PriceTax, Error> {
    let mut tax = PriceTax::default();
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            NAME => tax.name = x.text(&c)?,
            INCLUDED_IN_AMOUNT => tax.included_in_price = flag(x, &c)?,
            EXCISE => tax.excise = Some(flag(x, &c)?),
            _ => x.skip(&c)?,
        }
    }
    Ok(tax)
}

pub(super) fn warehouses<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<Warehouse>) -> Result<(), Error> {
    while let Some(w) = x.next_child(element)? {
        if w.name != WAREHOUSE {
            x.skip(&w)?;
            continue;
        }
        let mut warehouse = Warehouse::default();
        while let Some(c) = x.next_child(&w)? {
            match c.name.as_str() {
                ID => warehouse.id = x.text(&c)?,
                NAME => warehouse.name = x.text(&c)?,
                ADDRESS => warehouse.address = presentation(x, &c)?,
                DELETION_MARK => warehouse.deleted |= flag(x, &c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(warehouse);
    }
    Ok(())
}

pub(super) fn product<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Product, Error> {
    let mut product = Product { deleted: deleted_attr(element), ..Product::default() };
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => product.id = x.text(&c)?,
            NAME => product.name = x.text(&c)?,
            ARTICLE => product.article = x.opt_text(&c)?,
            BARCODE | BARCODE_ALT => product.barcode = x.opt_text(&c)?,
            DESCRIPTION => product.description = x.opt_text(&c)?,
            GROUPS => {
                while let Some(g) = x.next_child(&c)? {
                    match g.name.as_str() {
                        ID => product.group_ids.extend(x.opt_text(&g)?),
                        _ => x.skip(&g)?,
                    }
                }
            }
            BASE_UNIT => product.base_unit = base_unit(x, &c)?,
            IMAGE => product.images.extend(x.opt_text(&c)?),
            PROPERTY_VALUES => property_values(x, &c, &mut product.property_values)?,
            TAX_RATES => tax_rates(x, &c, &mut product.tax_rates)?,
            REQUISITES => requisites(x, &c, &mut product.requisites)?,
            CHARACTERISTICS => characteristics(x, &c, &mut product.characteristics)?,
            MANUFACTURER => product.manufacturer = child_name(x, &c)?,
            COUNTRY => product.country = x.opt_text(&c)?,
            WEIGHT => product.weight = x.decimal(&c)?,
            DELETION_MARK => product.deleted |= flag(x, &c)?,
            STATUS => product.deleted |= x.text(&c)? == STATUS_DELETED,
            _ => x.skip(&c)?,
        }
    }
    Ok(product)
}

fn property_values<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<PropertyValue>) -> Result<(), Error> {
    while let Some(v) = x.next_child(element)? {
        if v.name != PROPERTY_VALUE {
            x.skip(&v)?;
            continue;
        }
        let mut value = PropertyValue::default();
        while let Some(c) = x.next_child(&v)? {
            match c.name.as_str() {
                ID => value.property_id = x.text(&c)?,
                VALUE | VALUE_ID => value.values.extend(x.opt_text(&c)?),
                _ => x.skip(&c)?,
            }
        }
        out.push(value);
    }
    Ok(())
}

pub(super) fn offer<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Offer, Error> {
    let mut offer = Offer { deleted: deleted_attr(element), ..Offer::default() };
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => offer.id = x.text(&c)?,
            NAME => offer.name = x.opt_text(&c)?,
            ARTICLE => offer.article = x.opt_text(&c)?,
            BARCODE | BARCODE_ALT => offer.barcode = x.opt_text(&c)?,
            BASE_UNIT => offer.base_unit = base_unit(x, &c)?,
            CHARACTERISTICS => characteristics(x, &c, &mut offer.characteristics)?,
            PROPERTY_VALUES => property_values(x, &c, &mut offer.property_values)?,
            PRICES => {
                while let Some(p) = x.next_child(&c)? {
                    match p.name.as_str() {
                        PRICE => offer.prices.push(price(x, &p)?),
                        _ => x.skip(&p)?,
                    }
                }
            }
            QUANTITY => offer.quantity = x.decimal(&c)?,
            // 2.07: `<Склад ИдСклада="…" КоличествоНаСкладе="…"/>`.
            WAREHOUSE => {
                let id = c.attr(WAREHOUSE_ID_ATTR).map(str::to_owned);
                let quantity = c.attr(QUANTITY_IN_WAREHOUSE_ATTR).unwrap_or_default().to_owned();
                let quantity = x.parse_decimal(&c, QUANTITY_IN_WAREHOUSE_ATTR, &quantity)?;
                x.skip(&c)?;
                if let (Some(warehouse_id), Some(quantity)) = (id, quantity) {
                    offer.stock.push(WarehouseStock { warehouse_id, quantity });
                }
            }
            RESTS => rests(x, &c, &mut offer)?,
            DELETION_MARK => offer.deleted |= flag(x, &c)?,
            STATUS => offer.deleted |= x.text(&c)? == STATUS_DELETED,
            _ => x.skip(&c)?,
        }
    }
    Ok(offer)
}

fn price<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Price, Error> {
    let mut price = Price::default();
    let mut unit_price = None;
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            PRICE_TYPE_ID => price.price_type_id = x.text(&c)?,
            UNIT_PRICE => unit_price = x.decimal(&c)?,
            CURRENCY => price.currency = x.opt_text(&c)?,
            UNIT => price.unit = x.opt_text(&c)?,
            FACTOR => price.factor = x.decimal(&c)?,
            PRESENTATION => price.presentation = x.opt_text(&c)?,
            _ => x.skip(&c)?,
        }
    }
    price.unit_price = unit_price.unwrap_or_default();
    Ok(price)
}

/// 2.09+/3.x: `Остатки/Остаток/Склад{Ид, Количество}`, or
/// `Остаток/Количество` for a total without warehouses.
fn rests<R: Read>(x: &mut Cursor<R>, element: &Element, offer: &mut Offer) -> Result<(), Error> {
    while let Some(rest) = x.next_child(element)? {
        if rest.name != REST {
            x.skip(&rest)?;
            continue;
        }
        while let Some(c) = x.next_child(&rest)? {
            match c.name.as_str() {
                WAREHOUSE => {
                    let mut id = None;
                    let mut quantity = None;
                    while let Some(f) = x.next_child(&c)? {
                        match f.name.as_str() {
                            ID => id = x.opt_text(&f)?,
                            QUANTITY => quantity = x.decimal(&f)?,
                            _ => x.skip(&f)?,
                        }
                    }
                    if let (Some(warehouse_id), Some(quantity)) = (id, quantity) {
                        offer.stock.push(WarehouseStock { warehouse_id, quantity });
                    }
                }
                QUANTITY => offer.quantity = x.decimal(&c)?,
                _ => x.skip(&c)?,
            }
        }
    }
    Ok(())
}
