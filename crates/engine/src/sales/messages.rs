//! The sales refusals in Russian (their English text is the error's own),
//! keyed `sales.…` (see `Registry::messages`).

use crate::error::EngineError;

pub(super) const RUSSIAN: &[(&str, &str)] = &[
    // Closing and converting documents.
    ("sales.cannot_close", "Запись нельзя закрыть: она в состоянии «{state}»."),
    ("sales.bad_close_status", "{status} — недопустимая причина для {action}."),
    ("sales.opportunity_closed", "Возможная сделка закрыта; откройте её снова, чтобы создавать по ней документы."),
    ("sales.revise_state", "Пересмотреть можно только активное, проигранное или отменённое предложение."),
    (
        "sales.order_from_quote_state",
        "Заказ можно создать только из активного или выигранного предложения; сначала активируйте его.",
    ),
    ("sales.invoice_from_order_state", "По отменённому или уже выставленному заказу счёт создать нельзя."),
    // Qualifying a lead.
    ("sales.lead_qualified", "Интерес уже квалифицирован."),
    ("sales.lead_disqualified", "Интерес дисквалифицирован; активируйте его повторно, чтобы квалифицировать."),
    ("sales.lead_status", "{status} — не причина для квалифицированного интереса."),
    ("sales.lead_no_company", "У интереса нет названия организации, из которого можно создать организацию."),
    ("sales.lead_no_lastname", "У интереса нет фамилии, из которой можно создать контакт."),
    // Payments.
    ("sales.invoice_paid", "Счёт уже оплачен полностью."),
    ("sales.invoice_canceled", "Отменённый счёт нельзя оплатить."),
    ("sales.payment_amount", "Сумма платежа должна быть больше нуля."),
    ("sales.payment_exceeds", "Платёж ({paid}) превышает сумму к оплате ({due})."),
    ("sales.canceled_invoice_payments", "Платежи отменённого счёта изменить нельзя."),
    ("sales.record_payment", "Зарегистрируйте платёж (сумму и дату): счёт сам станет частично оплаченным."),
    ("sales.cancel_paid_invoice", "Счёт с платежами нельзя отменить; сначала удалите платежи."),
    ("sales.nothing_to_pay", "Счёт без суммы к оплате нельзя отметить как оплаченный."),
    ("sales.payment_fixed", "Зарегистрированный платёж нельзя изменить; удалите его и зарегистрируйте верный."),
    // Documents and their product lines.
    ("sales.currency_with_products", "Валюту документа с товарами изменить нельзя; сначала удалите товары."),
    (
        "sales.revenue_calculated",
        "Предполагаемый доход вычисляется по товарам; отключите расчёт дохода системой, чтобы ввести его.",
    ),
    ("sales.currency_of_price_list", "Валюта документа должна совпадать с валютой прайс-листа."),
    ("sales.lines_frozen", "Товары документа нельзя изменить: он в состоянии «{state}»."),
    ("sales.line_quantity", "Укажите количество."),
    ("sales.writein_product", "Строка с произвольным товаром не может ссылаться на товар каталога."),
    ("sales.writein_name", "Укажите название произвольного товара."),
    ("sales.writein_price", "Укажите цену произвольного товара."),
    ("sales.choose_product", "Выберите товар или сделайте строку произвольным товаром."),
    ("sales.product_not_sellable", "Товар «{product}» снят с продажи или ещё не опубликован и не может быть продан."),
    ("sales.product_family", "«{product}» — семейство товаров: семейства объединяют товары и сами не продаются."),
    ("sales.choose_unit", "Выберите единицу: у товара «{product}» нет единицы по умолчанию."),
    ("sales.override_price", "Для изменённой цены укажите цену."),
    ("sales.enter_price", "Укажите цену товара «{product}»."),
    (
        "sales.price_from_list",
        "Цена товара «{product}» берётся из прайс-листа; отметьте, что цена изменена, чтобы ввести свою.",
    ),
    ("sales.no_price_list", "У документа нет прайс-листа: выберите его, прежде чем добавлять товары каталога."),
    ("sales.no_price", "У товара «{product}» нет цены для этой единицы в прайс-листе документа."),
    ("sales.unit_group", "Единица «{unit}» не входит в группу единиц товара «{product}»."),
    ("sales.price_list_inactive", "Прайс-лист «{list}» неактивен; цену товара «{product}» из него взять нельзя."),
    // Record teams.
    ("sales.disabled_team_member", "Отключённый пользователь не может войти в рабочую группу записи."),
];

/// A sales refusal: the column it is about, if any, its key and
/// parameters, and its English text.
pub(super) fn refused(
    attribute: Option<&str>,
    key: &'static str,
    params: Vec<(&'static str, String)>,
    english: impl Into<String>,
) -> EngineError {
    EngineError::refused(attribute, key, params, english)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_the_modules_and_every_placeholder_a_parameter() {
        for (key, text) in RUSSIAN {
            assert!(key.starts_with("sales."), "{key}");
            assert!(!text.is_empty() && text.ends_with('.'), "{key}: {text}");
        }
        let mut keys: Vec<&str> = RUSSIAN.iter().map(|(k, _)| *k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), RUSSIAN.len(), "keys are unique");
    }
}
