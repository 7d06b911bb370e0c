//! Printable quotes, orders and invoices: the record, its lines, the
//! seller's requisites (the organization) and the customer's, laid out by
//! a print template (`documenttemplate` of type 3, or the built-in one for
//! the entity and the caller's language).

use relata_metadata::{Entity, Value};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use super::kind_of_doc;
use crate::error::{EngineError, Result};
use crate::session::{Fields, Session};

/// `documenttemplate.documenttype` of Relata's print layouts.
pub const PRINT_LAYOUT: i64 = 3;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// A print layout is checked when an administrator saves it.
pub(super) fn check_template(fields: &Fields) -> Result<()> {
    let is_layout = fields.get("documenttype").and_then(Value::as_i64) == Some(PRINT_LAYOUT);
    match fields.get("content").and_then(Value::as_str) {
        Some(content) if is_layout || !fields.contains_key("documenttype") => {
            relata_print::check_template(content).map_err(|e| invalid(format!("The print template is not valid: {e}")))
        }
        _ => Ok(()),
    }
}

fn text(f: &Fields, n: &str) -> Json {
    f.get(n).map(json_of).unwrap_or(Json::Null)
}

fn json_of(v: &Value) -> Json {
    match Some(v) {
        Some(Value::String(s)) => Json::String(s.clone()),
        Some(Value::Decimal(d)) => Json::String(d.normalize().to_string()),
        Some(Value::Int(i)) => Json::String(i.to_string()),
        Some(Value::DateTime(d)) => Json::String(d.date_naive().to_string()),
        _ => Json::Null,
    }
}

fn address(f: &Fields, prefix: &str) -> Json {
    let parts: Vec<String> = ["line1", "line2", "line3", "postalcode", "city", "stateorprovince", "country"]
        .iter()
        .filter_map(|p| f.get(&format!("{prefix}_{p}")).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if parts.is_empty() {
        Json::Null
    } else {
        Json::String(parts.join(", "))
    }
}

impl Session<'_, '_, '_> {
    /// Renders a quote, order or invoice as PDF. `template` picks a
    /// `documenttemplate`; otherwise the newest activated print layout for
    /// the entity in the caller's language, else the built-in layout.
    pub fn print_document(&mut self, entity: &str, id: Uuid, template: Option<Uuid>) -> Result<Vec<u8>> {
        let kind = kind_of_doc(entity).filter(|k| k.doc != "opportunity").ok_or_else(|| {
            invalid(format!("'{entity}' records cannot be printed; quotes, orders and invoices can."))
        })?;
        let doc_entity = self.entity(kind.doc)?;
        let doc = self.load(&doc_entity, id)?.ok_or_else(|| crate::session::not_found(kind.doc, id))?;
        let language = self.principal.language;
        let source = self.template_text(entity, template, language)?;
        let lines = self.query_system(
            kind.line,
            &format!("$filter=_{}_value eq {id}&$orderby=lineitemnumber,sequencenumber", kind.parent),
        )?;
        let context = self.print_context(&doc_entity, &doc, &lines, language)?;
        relata_print::render_pdf(&source, &context).map_err(|e| invalid(format!("The document cannot be printed: {e}")))
    }

    fn template_text(&mut self, entity: &str, template: Option<Uuid>, language: u32) -> Result<String> {
        if let Some(t) = template {
            let e = self.entity("documenttemplate")?;
            let row = self.load(&e, t)?.ok_or_else(|| crate::session::not_found("documenttemplate", t))?;
            if row.get("documenttype").and_then(Value::as_i64) != Some(PRINT_LAYOUT) {
                return Err(invalid("The chosen document template is not a print layout (documenttype 3)."));
            }
            if row.get("associatedentitytypecode").and_then(Value::as_str).is_some_and(|a| a != entity) {
                return Err(invalid(format!("The chosen document template does not print '{entity}' records.")));
            }
            return row
                .get("content")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| invalid("The chosen document template is empty."));
        }
        let rows = self.query_system(
            "documenttemplate",
            &format!(
                "$select=content,languagecode&$filter=documenttype eq {PRINT_LAYOUT} and associatedentitytypecode eq \
                 '{entity}' and status eq false&$orderby=modifiedon desc"
            ),
        )?;
        let pick = rows
            .iter()
            .find(|r| r.get("languagecode").and_then(Value::as_i64) == Some(language as i64))
            .or_else(|| rows.iter().find(|r| r.get("languagecode").is_none_or(Value::is_null)));
        if let Some(content) = pick.and_then(|r| r.get("content")).and_then(Value::as_str) {
            return Ok(content.to_string());
        }
        relata_print::default_template(entity, language)
            .or_else(|| relata_print::default_template(entity, 1033))
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("There is no print layout for '{entity}'.")))
    }

    fn print_context(&mut self, entity: &Entity, doc: &Fields, lines: &[Fields], language: u32) -> Result<Json> {
        let currency = match doc.get("transactioncurrencyid").and_then(Value::as_uuid) {
            Some(c) => self.read_system("transactioncurrency", c)?.unwrap_or_default(),
            None => Fields::new(),
        };
        let org = self.read_system("organization", self.org.ids.organization)?.unwrap_or_default();
        let customer = match doc.get("customerid").and_then(Value::as_ref_value).cloned() {
            Some(r) => self.read_system(&r.entity, r.id)?.map(|c| (r.entity, c)),
            None => None,
        };
        let number = ["invoicenumber", "ordernumber", "quotenumber"].iter().find_map(|k| doc.get(*k)).map(json_of);
        let mut d = Map::new();
        d.insert("kind".into(), json!(entity.name()));
        d.insert("number".into(), number.unwrap_or(Json::Null));
        d.insert("name".into(), text(doc, "name"));
        d.insert("date".into(), text(doc, "createdon"));
        d.insert("due_date".into(), text(doc, "duedate"));
        d.insert(
            "valid_until".into(),
            text(doc, "effectiveto").as_str().map(|s| json!(s)).unwrap_or(text(doc, "expireson")),
        );
        d.insert("revision".into(), text(doc, "revisionnumber"));
        d.insert("description".into(), text(doc, "description"));
        d.insert(
            "currency".into(),
            json!({
                "code": text(&currency, "isocurrencycode"),
                "symbol": text(&currency, "currencysymbol"),
                "precision": currency.get("currencyprecision").and_then(Value::as_i64).unwrap_or(2),
            }),
        );
        let seller = json!({
            "legal_name": if org.get("relata_legalname").is_some_and(|v| !v.is_null()) { text(&org, "relata_legalname") } else { text(&org, "name") },
            "inn": text(&org, "relata_inn"),
            "kpp": text(&org, "relata_kpp"),
            "ogrn": text(&org, "relata_ogrn"),
            "vat_number": text(&org, "relata_vatnumber"),
            "address": text(&org, "relata_address"),
            "phone": text(&org, "relata_phone"),
            "email": text(&org, "relata_email"),
            "bank": {
                "name": text(&org, "relata_bankname"),
                "bic": text(&org, "relata_bankbic"),
                "account": text(&org, "relata_bankaccount"),
                "correspondent_account": text(&org, "relata_correspondentaccount"),
                "swift": text(&org, "relata_swift"),
            },
            "director": text(&org, "relata_director"),
            "accountant": text(&org, "relata_accountant"),
            "logo": match org.get("relata_logo") {
                Some(Value::Bytes(b)) if !b.is_empty() => {
                    use base64::Engine as _;
                    Json::String(base64::engine::general_purpose::STANDARD.encode(b))
                }
                _ => Json::String(String::new()),
            },
        });
        let customer = match &customer {
            Some((kind, c)) => {
                let name = if kind == "account" { text(c, "name") } else { text(c, "fullname") };
                let bill = address(doc, "billto");
                json!({
                    "name": if doc.get("billto_name").is_some_and(|v| !v.is_null()) { text(doc, "billto_name") } else { name },
                    "inn": text(c, "relata_inn"),
                    "kpp": text(c, "relata_kpp"),
                    "vat_number": text(c, "relata_vatnumber"),
                    "address": if bill.is_null() { address(c, "address1") } else { bill },
                    "phone": text(c, "telephone1"),
                    "email": text(c, "emailaddress1"),
                })
            }
            None => json!({ "name": text(doc, "billto_name"), "address": address(doc, "billto") }),
        };
        let mut units: std::collections::HashMap<Uuid, Json> = std::collections::HashMap::new();
        let mut out_lines = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let unit = match l.get("uomid").and_then(Value::as_uuid) {
                Some(u) => match units.get(&u) {
                    Some(name) => name.clone(),
                    None => {
                        let name = self.read_system("uom", u)?.map(|f| text(&f, "name")).unwrap_or(Json::Null);
                        units.insert(u, name.clone());
                        name
                    }
                },
                None => Json::Null,
            };
            let name = ["quotedetailname", "salesorderdetailname", "invoicedetailname"]
                .iter()
                .find_map(|k| l.get(*k).filter(|v| !v.is_null()))
                .or_else(|| l.get("productdescription"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let extended = l.get("extendedamount").and_then(Value::as_decimal).unwrap_or_default();
            let tax = l.get("tax").and_then(Value::as_decimal).unwrap_or_default();
            let quantity = l.get("quantity").and_then(Value::as_decimal).unwrap_or_default();
            let volume = l.get("volumediscountamount").and_then(Value::as_decimal).unwrap_or_default() * quantity;
            out_lines.push(json!({
                "number": i + 1,
                "name": name,
                "quantity": text(l, "quantity"),
                "unit": unit,
                "price": text(l, "priceperunit"),
                "manual_discount": text(l, "manualdiscountamount"),
                "volume_discount": volume.normalize().to_string(),
                "tax": text(l, "tax"),
                "tax_rate": text(l, "relata_taxrate"),
                "net": (extended - tax).normalize().to_string(),
                "amount": text(l, "extendedamount"),
            }));
        }
        let total = |n: &str| text(doc, n);
        let totals = json!({
            "detail": total("totallineitemamount"),
            "discount": total("totaldiscountamount"),
            "line_discount": total("totallineitemdiscountamount"),
            "freight": total("freightamount"),
            "tax": total("totaltax"),
            "total": total("totalamount"),
            "paid": total("relata_amountpaid"),
            "due": total("relata_amountdue"),
        });
        Ok(json!({
            "language": language,
            "document": Json::Object(d),
            "seller": seller,
            "customer": customer,
            "lines": out_lines,
            "totals": totals,
        }))
    }
}
