//! `Документ`: orders a site sends to 1C and the order status documents 1C
//! sends back. One type serves both directions, so what the writer emits
//! reads back into the same value.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::{find_value, same_name, split_item_id, BaseUnit, Requisite, TaxRate};
use crate::requisite;
use crate::value::{lenient_bool, lenient_datetime, parse_decimal};

/// `Документ`: an order (`ХозОперация` = `Заказ товара`) or another
/// business document 1C may send (payments, shipments).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// `Ид`: the site's stable order id; 1C matches re-sent documents by it.
    pub id: String,
    /// `Номер`: the site's order number.
    pub number: String,
    /// `Дата` + `Время`.
    pub date: Option<NaiveDateTime>,
    /// `ХозОперация`; written as `Заказ товара` when empty.
    pub operation: String,
    /// `Роль`; written as `Продавец` when empty.
    pub role: String,
    /// `Валюта` as the 1C configuration expects it (`руб`, `RUB`…).
    pub currency: String,
    /// `Курс`.
    pub exchange_rate: Decimal,
    /// `Сумма`: the document total.
    pub amount: Decimal,
    /// `Комментарий`.
    pub comment: Option<String>,
    /// `Контрагенты/Контрагент`.
    pub counterparties: Vec<Counterparty>,
    /// `Товары/Товар`.
    pub lines: Vec<OrderLine>,
    /// `Скидки/Скидка` of the whole document.
    pub discounts: Vec<Discount>,
    /// `Налоги/Налог` of the whole document.
    pub taxes: Vec<Tax>,
    /// `ЗначенияРеквизитов`, in document order. See [`Order::status`] for
    /// the facts they carry and [`SiteStatus`] to build them.
    pub requisites: Vec<Requisite>,
    /// `Номер1С`: the number 1C gave the order (read only; 2.09+).
    pub number_1c: Option<String>,
    /// `Дата1С` (read only; 2.09+).
    pub date_1c: Option<NaiveDate>,
    /// `ПометкаУдаления` element of the document (read only; 2.09+).
    pub deleted: bool,
}

impl Default for Order {
    fn default() -> Self {
        Order {
            id: String::new(),
            number: String::new(),
            date: None,
            operation: String::new(),
            role: String::new(),
            currency: String::new(),
            exchange_rate: Decimal::ONE,
            amount: Decimal::ZERO,
            comment: None,
            counterparties: Vec::new(),
            lines: Vec::new(),
            discounts: Vec::new(),
            taxes: Vec::new(),
            requisites: Vec::new(),
            number_1c: None,
            date_1c: None,
            deleted: false,
        }
    }
}

impl Order {
    /// The value of the document requisite with this name (compared
    /// ignoring case and surrounding spaces); the first one wins.
    pub fn requisite(&self, name: &str) -> Option<&str> {
        find_value(&self.requisites, name)
    }

    /// The counterparty with `Роль` = `Покупатель`, or the first one.
    pub fn buyer(&self) -> Option<&Counterparty> {
        self.counterparties
            .iter()
            .find(|c| same_name(&c.role, crate::names::ROLE_BUYER))
            .or_else(|| self.counterparties.first())
    }

    /// The status facts this document states, gathered from its
    /// requisites and 1C's own elements.
    pub fn status(&self) -> StatusFacts {
        let flag = |name: &str| self.requisite(name).and_then(lenient_bool);
        let text = |name: &str| self.requisite(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let when = |name: &str| self.requisite(name).and_then(lenient_datetime);

        let paid = linked(
            text(requisite::PAYMENT_NUMBER_1C).or_else(|| text(requisite::PAYMENT_DOCUMENT_NUMBER)),
            when(requisite::PAYMENT_DATE_1C).or_else(|| when(requisite::PAYMENT_DATE)),
            flag(requisite::PAID).or_else(|| flag(requisite::ORDER_PAID)),
        );
        let shipped =
            linked(text(requisite::SHIPMENT_NUMBER_1C), when(requisite::SHIPMENT_DATE_1C), flag(requisite::SHIPPED));
        let deletion_mark = match flag(requisite::DELETION_MARK) {
            Some(mark) => Some(mark || self.deleted),
            None => self.deleted.then_some(true),
        };
        StatusFacts {
            posted: flag(requisite::POSTED),
            canceled: flag(requisite::CANCELED),
            deletion_mark,
            final_status: flag(requisite::FINAL_STATUS),
            delivery_allowed: flag(requisite::DELIVERY_ALLOWED),
            paid,
            shipped,
            status_id: text(requisite::ORDER_STATUS_ID),
            status_name: text(requisite::ORDER_STATUS),
            status_changed_at: when(requisite::STATUS_CHANGED_AT),
            number_in_1c: self.number_1c.clone().or_else(|| text(requisite::NUMBER_1C)),
            date_in_1c: self.date_1c.map(|d| d.and_time(chrono::NaiveTime::MIN)).or_else(|| when(requisite::DATE_1C)),
        }
    }
}

/// A payment or shipment is stated by a number, a date or an explicit
/// `true` flag; an explicit `false` with neither means "not yet".
fn linked(number: Option<String>, date: Option<NaiveDateTime>, flag: Option<bool>) -> Option<LinkedDocument> {
    if number.is_some() || date.is_some() || flag == Some(true) {
        Some(LinkedDocument { number, date })
    } else {
        None
    }
}

/// What a document says about the order's state. `None` means the
/// document does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusFacts {
    /// `Проведен`: the order is confirmed (posted) in 1C.
    pub posted: Option<bool>,
    /// `Отменен`.
    pub canceled: Option<bool>,
    /// `ПометкаУдаления`, as a requisite or as the document's own element.
    pub deletion_mark: Option<bool>,
    /// `Финальный статус`.
    pub final_status: Option<bool>,
    /// `Доставка разрешена`.
    pub delivery_allowed: Option<bool>,
    /// Paid: `Номер/Дата оплаты по 1С`, `Номер платежного документа`/`Дата
    /// оплаты`, or `Оплачен`/`Заказ оплачен` = true.
    pub paid: Option<LinkedDocument>,
    /// Shipped: `Номер/Дата отгрузки по 1С`, or `Отгружен` = true.
    pub shipped: Option<LinkedDocument>,
    /// `Статуса заказа ИД`: the site status code chosen in 1C's mapping.
    pub status_id: Option<String>,
    /// `Статус заказа`, e.g. `[N] Принят`.
    pub status_name: Option<String>,
    /// `Дата изменения статуса`.
    pub status_changed_at: Option<NaiveDateTime>,
    /// The order's number in 1C: `Номер1С`, or the `Номер по 1С` requisite.
    pub number_in_1c: Option<String>,
    /// The order's date in 1C: `Дата1С`, or the `Дата по 1С` requisite.
    pub date_in_1c: Option<NaiveDateTime>,
}

impl StatusFacts {
    /// Cancelled outright or marked for deletion in 1C.
    pub fn is_canceled(&self) -> bool {
        self.canceled == Some(true) || self.deletion_mark == Some(true)
    }
}

/// The 1C document (payment, shipment) that backs a status fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkedDocument {
    /// Its number in 1C, when sent.
    pub number: Option<String>,
    /// Its date, when sent.
    pub date: Option<NaiveDateTime>,
}

/// `Контрагент`: the buyer (a person or a company).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counterparty {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ПолноеНаименование` (a person).
    pub full_name: Option<String>,
    /// `ОфициальноеНаименование` (a company).
    pub official_name: Option<String>,
    /// `Фамилия`.
    pub last_name: Option<String>,
    /// `Имя`.
    pub first_name: Option<String>,
    /// `Отчество`.
    pub middle_name: Option<String>,
    /// `ИНН`.
    pub inn: Option<String>,
    /// `КПП`.
    pub kpp: Option<String>,
    /// `Роль`; written as `Покупатель` when empty.
    pub role: String,
    /// `АдресРегистрации/Представление`.
    pub registration_address: Option<String>,
    /// `ЮридическийАдрес/Представление`.
    pub legal_address: Option<String>,
    /// `Адрес/Представление`.
    pub address: Option<String>,
    /// `Контакты/Контакт`.
    pub contacts: Vec<Contact>,
    /// `Представители/Представитель`.
    pub representatives: Vec<Representative>,
}

/// `Контакт`: a phone number or an e-mail address.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// `Тип`: `Почта`, `Электронная почта`, `Телефон рабочий`, `Телефон мобильный`…
    pub kind: String,
    /// `Значение`.
    pub value: String,
}

/// `Представитель`: a contact person of the counterparty.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Representative {
    /// `Отношение`; written as `Контактное лицо` when empty.
    pub relation: String,
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
}

/// `Товар` line of a document.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderLine {
    /// `Ид`: the product's 1C `Ид` (`product#variant` for a variant) when
    /// known, otherwise the site's own product id (`ORDER_DELIVERY` is
    /// Bitrix's id for the delivery line).
    pub id: String,
    /// `ИдКаталога`.
    pub catalog_id: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `БазоваяЕдиница`, or the `Единица` element 1C writes instead.
    pub unit: Option<BaseUnit>,
    /// `Коэффициент` of [`OrderLine::unit`] (1C side).
    pub factor: Option<Decimal>,
    /// `ЦенаЗаЕдиницу` (or 1C's `Цена`).
    pub unit_price: Decimal,
    /// `Количество`.
    pub quantity: Decimal,
    /// `Сумма`.
    pub amount: Decimal,
    /// `Скидки/Скидка`.
    pub discounts: Vec<Discount>,
    /// `Налоги/Налог`.
    pub taxes: Vec<Tax>,
    /// `СтавкиНалогов/СтавкаНалога`.
    pub tax_rates: Vec<TaxRate>,
    /// `ЗначенияРеквизитов`. A site should send `ВидНоменклатуры` and
    /// `ТипНоменклатуры` (`Товар` or `Услуга`): 1C uses them to create an
    /// item it does not know. Written as given.
    pub requisites: Vec<Requisite>,
}

impl OrderLine {
    /// The product part of [`OrderLine::id`] (before `#`).
    pub fn product_id(&self) -> &str {
        split_item_id(&self.id).0
    }

    /// The characteristic part of [`OrderLine::id`] (after `#`), if any.
    pub fn variant_id(&self) -> Option<&str> {
        split_item_id(&self.id).1
    }

    /// The value of the line requisite with this name.
    pub fn requisite(&self, name: &str) -> Option<&str> {
        find_value(&self.requisites, name)
    }

    /// `ТипНоменклатуры` is `Услуга` (delivery and other services).
    pub fn is_service(&self) -> bool {
        self.requisite(requisite::NOMENCLATURE_TYPE).is_some_and(|v| same_name(v, requisite::NOMENCLATURE_TYPE_SERVICE))
    }
}

/// `Скидка`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Discount {
    /// `Наименование`.
    pub name: String,
    /// `Сумма`.
    pub amount: Decimal,
    /// `Процент`.
    pub percent: Option<Decimal>,
    /// `УчтеноВСумме`: the amount already reflects the discount.
    pub included_in_amount: bool,
}

/// `Налог` of a document or a line.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tax {
    /// `Наименование`, e.g. `НДС`.
    pub name: String,
    /// `УчтеноВСумме`: the amount already includes this tax.
    pub included_in_amount: bool,
    /// `Сумма`.
    pub amount: Decimal,
    /// `Ставка` as sent (`18`, `Без налога`); `None` when absent.
    pub rate: Option<String>,
}

impl Tax {
    /// The rate as a percentage, when it is a number.
    pub fn percent(&self) -> Option<Decimal> {
        self.rate.as_deref().and_then(parse_decimal)
    }
}

/// The order state a site reports to 1C, as the document requisites
/// Bitrix writes (`Метод оплаты`, `Заказ оплачен`, `Статус заказа`…).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteStatus {
    /// `Метод оплаты`.
    pub payment_method: Option<String>,
    /// `Заказ оплачен`.
    pub paid: bool,
    /// `Дата оплаты`.
    pub paid_at: Option<NaiveDateTime>,
    /// `Номер платежного документа`.
    pub payment_document_number: Option<String>,
    /// `Способ доставки`.
    pub delivery_method: Option<String>,
    /// `Доставка разрешена`.
    pub delivery_allowed: bool,
    /// `Отменен`.
    pub canceled: bool,
    /// `Финальный статус`.
    pub final_status: bool,
    /// `Статус заказа`, e.g. `[N] Принят`.
    pub status_name: Option<String>,
    /// `Статуса заказа ИД`, e.g. `N`.
    pub status_id: Option<String>,
    /// `Дата изменения статуса`.
    pub status_changed_at: Option<NaiveDateTime>,
}

impl SiteStatus {
    /// The requisites in the order Bitrix writes them; absent optional
    /// values are left out.
    pub fn requisites(&self) -> Vec<Requisite> {
        let mut out = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                out.push(Requisite { name: name.to_owned(), value });
            }
        };
        let flag = |b: bool| Some(b.to_string());
        let stamp = |d: Option<NaiveDateTime>| d.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
        push(requisite::PAYMENT_DATE, stamp(self.paid_at));
        push(requisite::PAYMENT_DOCUMENT_NUMBER, self.payment_document_number.clone());
        push(requisite::PAYMENT_METHOD, self.payment_method.clone());
        push(requisite::ORDER_PAID, flag(self.paid));
        push(requisite::DELIVERY_METHOD, self.delivery_method.clone());
        push(requisite::DELIVERY_ALLOWED, flag(self.delivery_allowed));
        push(requisite::CANCELED, flag(self.canceled));
        push(requisite::FINAL_STATUS, flag(self.final_status));
        push(requisite::ORDER_STATUS, self.status_name.clone());
        push(requisite::ORDER_STATUS_ID, self.status_id.clone());
        push(requisite::STATUS_CHANGED_AT, stamp(self.status_changed_at));
        out
    }
}
