//! Names of the `ЗначенияРеквизитов` entries that carry meaning between a
//! site and 1C, for building and inspecting requisite lists.

/// Product kind (`ВидНоменклатуры`), free text of the 1C configuration.
pub const NOMENCLATURE_KIND: &str = "ВидНоменклатуры";
/// Product type (`ТипНоменклатуры`): [`NOMENCLATURE_TYPE_GOODS`] or [`NOMENCLATURE_TYPE_SERVICE`].
pub const NOMENCLATURE_TYPE: &str = "ТипНоменклатуры";
/// `ТипНоменклатуры` of goods.
pub const NOMENCLATURE_TYPE_GOODS: &str = "Товар";
/// `ТипНоменклатуры` of a service (delivery lines among them).
pub const NOMENCLATURE_TYPE_SERVICE: &str = "Услуга";

/// Site status text, e.g. `[N] Принят`.
pub const ORDER_STATUS: &str = "Статус заказа";
/// Site status code; the misspelling is what 1C and Bitrix use.
pub const ORDER_STATUS_ID: &str = "Статуса заказа ИД";
/// When the site status last changed.
pub const STATUS_CHANGED_AT: &str = "Дата изменения статуса";
/// The order is cancelled.
pub const CANCELED: &str = "Отменен";
/// The order reached a final status.
pub const FINAL_STATUS: &str = "Финальный статус";
/// The order is posted (confirmed) in 1C.
pub const POSTED: &str = "Проведен";
/// The order is marked for deletion in 1C.
pub const DELETION_MARK: &str = "ПометкаУдаления";

/// Payment method shown on the site.
pub const PAYMENT_METHOD: &str = "Метод оплаты";
/// Paid flag written by a site.
pub const ORDER_PAID: &str = "Заказ оплачен";
/// Paid flag written by 1C.
pub const PAID: &str = "Оплачен";
/// Payment date written by a site.
pub const PAYMENT_DATE: &str = "Дата оплаты";
/// Payment document number written by a site.
pub const PAYMENT_DOCUMENT_NUMBER: &str = "Номер платежного документа";
/// Number of the 1C payment document.
pub const PAYMENT_NUMBER_1C: &str = "Номер оплаты по 1С";
/// Date of the 1C payment document.
pub const PAYMENT_DATE_1C: &str = "Дата оплаты по 1С";

/// Delivery method shown on the site.
pub const DELIVERY_METHOD: &str = "Способ доставки";
/// Delivery is allowed.
pub const DELIVERY_ALLOWED: &str = "Доставка разрешена";
/// Shipped flag written by 1C.
pub const SHIPPED: &str = "Отгружен";
/// Number of the 1C shipment document.
pub const SHIPMENT_NUMBER_1C: &str = "Номер отгрузки по 1С";
/// Date of the 1C shipment document.
pub const SHIPMENT_DATE_1C: &str = "Дата отгрузки по 1С";

/// The order's number in 1C (older configurations, before `Номер1С`).
pub const NUMBER_1C: &str = "Номер по 1С";
/// The order's date in 1C (older configurations, before `Дата1С`).
pub const DATE_1C: &str = "Дата по 1С";
/// The site the order came from (Bitrix multi-site).
pub const SITE: &str = "Сайт";
