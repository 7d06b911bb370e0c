//! The built-in templates, compiled in.

use crate::format::Lang;

const QUOTE_EN: &str = include_str!("../templates/quote.en.txt");
const QUOTE_RU: &str = include_str!("../templates/quote.ru.txt");
const SALESORDER_EN: &str = include_str!("../templates/salesorder.en.txt");
const SALESORDER_RU: &str = include_str!("../templates/salesorder.ru.txt");
const INVOICE_EN: &str = include_str!("../templates/invoice.en.txt");
const INVOICE_RU: &str = include_str!("../templates/invoice.ru.txt");

/// The built-in template for an entity (`quote`, `salesorder` or `invoice`)
/// in a language given by LCID.
///
/// Russian (1049) and English (1033) are built in; other English locales
/// (such as 2057, en-GB) get the English template. Other languages and other
/// entities give `None`: callers usually fall back to 1033.
pub fn default_template(entity: &str, lcid: u32) -> Option<&'static str> {
    // The low ten bits of an LCID are the primary language.
    let lang = match lcid & 0x3ff {
        0x09 => Lang::En,
        0x19 => Lang::Ru,
        _ => return None,
    };
    let entity = entity.trim().to_ascii_lowercase();
    Some(match (entity.as_str(), lang) {
        ("quote", Lang::En) => QUOTE_EN,
        ("quote", Lang::Ru) => QUOTE_RU,
        ("salesorder", Lang::En) => SALESORDER_EN,
        ("salesorder", Lang::Ru) => SALESORDER_RU,
        ("invoice", Lang::En) => INVOICE_EN,
        ("invoice", Lang::Ru) => INVOICE_RU,
        _ => return None,
    })
}
