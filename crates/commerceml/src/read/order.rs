//! `Документ`: orders and order status documents.

use std::io::Read;

use chrono::NaiveTime;
use rust_decimal::Decimal;

use super::xml::{Cursor, Element};
use super::{base_unit, flag, presentation, requisites, tax_rates};
use crate::model::{Contact, Counterparty, Discount, Order, OrderLine, Representative, Tax};
use crate::names::*;
use crate::value::{lenient_date, lenient_datetime, lenient_time};
use crate::Error;

pub(super) fn document<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Order, Error> {
    let mut order = Order::default();
    let mut date = None;
    let mut time = None;
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => order.id = x.text(&c)?,
            NUMBER => order.number = x.text(&c)?,
            // Some exporters put the time into `Дата` as well.
            DATE => {
                let text = x.text(&c)?;
                date = lenient_date(&text);
                time = time.or_else(|| lenient_datetime(&text).map(|d| d.time()).filter(|t| *t != NaiveTime::MIN));
            }
            TIME => time = lenient_time(&x.text(&c)?).or(time),
            NUMBER_1C => order.number_1c = x.opt_text(&c)?,
            DATE_1C => order.date_1c = lenient_date(&x.text(&c)?),
            OPERATION => order.operation = x.text(&c)?,
            ROLE => order.role = x.text(&c)?,
            CURRENCY => order.currency = x.text(&c)?,
            EXCHANGE_RATE => order.exchange_rate = x.decimal(&c)?.unwrap_or(Decimal::ONE),
            AMOUNT => order.amount = x.decimal(&c)?.unwrap_or_default(),
            COMMENT => order.comment = x.opt_text(&c)?,
            DELETION_MARK => order.deleted |= flag(x, &c)?,
            COUNTERPARTIES => counterparties(x, &c, &mut order.counterparties)?,
            PRODUCTS => {
                while let Some(l) = x.next_child(&c)? {
                    match l.name.as_str() {
                        PRODUCT => order.lines.push(line(x, &l)?),
                        _ => x.skip(&l)?,
                    }
                }
            }
            DISCOUNTS => discounts(x, &c, &mut order.discounts)?,
            TAXES => taxes(x, &c, &mut order.taxes)?,
            REQUISITES => requisites(x, &c, &mut order.requisites)?,
            _ => x.skip(&c)?,
        }
    }
    order.date = date.map(|d| d.and_time(time.unwrap_or(NaiveTime::MIN)));
    Ok(order)
}

/// The `Контрагент`s of a `Контрагенты` element.
pub(super) fn counterparties<R: Read>(
    x: &mut Cursor<R>,
    element: &Element,
    out: &mut Vec<Counterparty>,
) -> Result<(), Error> {
    while let Some(p) = x.next_child(element)? {
        match p.name.as_str() {
            COUNTERPARTY => out.push(counterparty(x, &p)?),
            _ => x.skip(&p)?,
        }
    }
    Ok(())
}

fn counterparty<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Counterparty, Error> {
    let mut party = Counterparty::default();
    counterparty_fields(x, element, &mut party)?;
    Ok(party)
}

/// A counterparty's fields, directly under `Контрагент` or (2.08+, 3.x)
/// inside `РеквизитыЮрЛица` / `РеквизитыФизЛица`.
fn counterparty_fields<R: Read>(x: &mut Cursor<R>, element: &Element, party: &mut Counterparty) -> Result<(), Error> {
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => party.id = x.text(&c)?,
            NAME => party.name = x.text(&c)?,
            FULL_NAME => party.full_name = x.opt_text(&c)?,
            OFFICIAL_NAME => party.official_name = x.opt_text(&c)?,
            LAST_NAME => party.last_name = x.opt_text(&c)?,
            FIRST_NAME => party.first_name = x.opt_text(&c)?,
            MIDDLE_NAME => party.middle_name = x.opt_text(&c)?,
            INN => party.inn = x.opt_text(&c)?,
            KPP => party.kpp = x.opt_text(&c)?,
            ROLE => party.role = x.text(&c)?,
            REGISTRATION_ADDRESS => party.registration_address = presentation(x, &c)?,
            LEGAL_ADDRESS => party.legal_address = presentation(x, &c)?,
            ADDRESS => party.address = presentation(x, &c)?,
            CONTACTS => {
                while let Some(k) = x.next_child(&c)? {
                    if k.name != CONTACT {
                        x.skip(&k)?;
                        continue;
                    }
                    let mut contact = Contact::default();
                    while let Some(f) = x.next_child(&k)? {
                        match f.name.as_str() {
                            TYPE => contact.kind = x.text(&f)?,
                            VALUE => contact.value = x.text(&f)?,
                            _ => x.skip(&f)?,
                        }
                    }
                    if !contact.value.is_empty() {
                        party.contacts.push(contact);
                    }
                }
            }
            REPRESENTATIVES => {
                while let Some(r) = x.next_child(&c)? {
                    match r.name.as_str() {
                        REPRESENTATIVE => party.representatives.push(representative(x, &r)?),
                        _ => x.skip(&r)?,
                    }
                }
            }
            COMPANY_DETAILS | PERSON_DETAILS => counterparty_fields(x, &c, party)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(())
}

/// `Представитель{Отношение, Ид, Наименование}` (1C) or the same fields
/// wrapped in a `Контрагент` (Bitrix).
fn representative<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<Representative, Error> {
    let mut person = Representative::default();
    representative_fields(x, element, &mut person)?;
    Ok(person)
}

fn representative_fields<R: Read>(
    x: &mut Cursor<R>,
    element: &Element,
    person: &mut Representative,
) -> Result<(), Error> {
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            RELATION => person.relation = x.text(&c)?,
            ID => person.id = x.text(&c)?,
            NAME => person.name = x.text(&c)?,
            COUNTERPARTY => representative_fields(x, &c, person)?,
            _ => x.skip(&c)?,
        }
    }
    Ok(())
}

fn line<R: Read>(x: &mut Cursor<R>, element: &Element) -> Result<OrderLine, Error> {
    let mut line = OrderLine::default();
    let mut unit_price = None;
    let mut price = None;
    while let Some(c) = x.next_child(element)? {
        match c.name.as_str() {
            ID => line.id = x.text(&c)?,
            CATALOG_ID => line.catalog_id = x.opt_text(&c)?,
            NAME => line.name = x.text(&c)?,
            BASE_UNIT => line.unit = base_unit(x, &c)?.or(line.unit.take()),
            // 1C writes `Единица{…}` + `Коэффициент` + `Цена` instead.
            UNIT => line.unit = line.unit.take().or(base_unit(x, &c)?),
            FACTOR => line.factor = x.decimal(&c)?,
            UNIT_PRICE => unit_price = x.decimal(&c)?,
            PRICE => price = x.decimal(&c)?,
            QUANTITY => line.quantity = x.decimal(&c)?.unwrap_or_default(),
            AMOUNT => line.amount = x.decimal(&c)?.unwrap_or_default(),
            DISCOUNTS => discounts(x, &c, &mut line.discounts)?,
            TAXES => taxes(x, &c, &mut line.taxes)?,
            TAX_RATES => tax_rates(x, &c, &mut line.tax_rates)?,
            REQUISITES => requisites(x, &c, &mut line.requisites)?,
            _ => x.skip(&c)?,
        }
    }
    line.unit_price = unit_price.or(price).unwrap_or_default();
    Ok(line)
}

fn discounts<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<Discount>) -> Result<(), Error> {
    while let Some(d) = x.next_child(element)? {
        if d.name != DISCOUNT {
            x.skip(&d)?;
            continue;
        }
        let mut discount = Discount::default();
        while let Some(c) = x.next_child(&d)? {
            match c.name.as_str() {
                NAME => discount.name = x.text(&c)?,
                AMOUNT => discount.amount = x.decimal(&c)?.unwrap_or_default(),
                PERCENT => discount.percent = x.decimal(&c)?,
                INCLUDED_IN_AMOUNT => discount.included_in_amount = flag(x, &c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(discount);
    }
    Ok(())
}

fn taxes<R: Read>(x: &mut Cursor<R>, element: &Element, out: &mut Vec<Tax>) -> Result<(), Error> {
    while let Some(t) = x.next_child(element)? {
        if t.name != TAX {
            x.skip(&t)?;
            continue;
        }
        let mut tax = Tax::default();
        while let Some(c) = x.next_child(&t)? {
            match c.name.as_str() {
                NAME => tax.name = x.text(&c)?,
                INCLUDED_IN_AMOUNT => tax.included_in_amount = flag(x, &c)?,
                AMOUNT => tax.amount = x.decimal(&c)?.unwrap_or_default(),
                RATE => tax.rate = x.opt_text(&c)?,
                _ => x.skip(&c)?,
            }
        }
        out.push(tax);
    }
    Ok(())
}
