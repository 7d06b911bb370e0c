//! The company the demo is about: a head office (the root business unit)
//! and two regional units, the staff in them with their roles, manager,
//! language, time zone and a shared password, and the catalog they sell
//! from (unit groups, products, a price list in the demo's currency).
//! What exists already (matched by name, email or product number) is used
//! as it is, so running the demo again adds data without duplicating the
//! company.

use anyhow::{anyhow, Context, Result};
use chrono::{Datelike, NaiveDate, NaiveTime};
use relata_engine::{Org, OwnSettings, RecordInput, Session};
use relata_metadata::Value;
use relata_query::Record;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::generate::{reference, Fields, Lang};
use super::words::*;
use crate::cli::bu::Units;
use crate::cli::role::{find_role, load_roles, Within};
use crate::cli::{odata_string, query_all, text};

/// A member of the demo staff.
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub title: &'static str,
    pub job: Job,
    /// 0 head office, 1 and 2 the regions.
    pub unit: usize,
    /// Made by this run (with the demo password); otherwise found.
    pub new: bool,
}

pub struct CatalogItem {
    pub id: Uuid,
    pub def: &'static ProductDef,
    /// The unit the product is sold in by default, and the larger one.
    pub unit: Uuid,
    pub larger: Option<Uuid>,
}

pub struct Company {
    pub def: &'static DemoCompany,
    pub lang: Lang,
    pub units: [Uuid; 3],
    pub unit_names: [String; 3],
    pub staff: Vec<Member>,
    pub price_list: Uuid,
    pub price_list_name: String,
    /// The price list's currency (ISO code).
    pub currency: String,
    pub catalog: Vec<CatalogItem>,
}

fn defs(lang: Lang) -> (&'static DemoCompany, &'static [StaffDef], &'static [ProductDef], &'static [UnitGroupDef; 2]) {
    match lang {
        Lang::En => (&EN_COMPANY, EN_STAFF, EN_CATALOG, &EN_UNIT_GROUPS),
        Lang::Ru => (&RU_COMPANY, RU_STAFF, RU_CATALOG, &RU_UNIT_GROUPS),
    }
}

/// `first.last@domain`, in Latin letters.
pub fn staff_email(def: &StaffDef, domain: &str) -> String {
    let part = |s: &str| transliterate(s).chars().filter(char::is_ascii_alphanumeric).collect::<String>();
    format!("{}.{}@{domain}", part(def.first), part(def.last))
}

/// Sets the company up (or finds it) and returns what the rest of the demo needs.
pub fn set_up(org: &Org, lang: Lang, password: &str) -> Result<Company> {
    let (def, staff_defs, catalog_defs, groups) = defs(lang);
    let (units, unit_names) = business_units(org, def)?;
    let staff = staff(org, lang, def, staff_defs, &units, password)?;
    let admin = staff.iter().find(|m| m.job == Job::Administrator).map(|m| m.id).context("no demo administrator")?;
    let admin = org.principal_of_user(admin).context("cannot act as the demo administrator")?;
    let (currency, currency_id, scale) = currency(org, lang)?;
    let (price_list, price_list_name, catalog) = org
        .write(&admin, |s| {
            localize_sales_process(s, lang)?;
            catalog(s, lang, catalog_defs, groups, currency_id, &currency, scale)
        })
        .context("cannot set up the demo catalog")?;
    Ok(Company { def, lang, units, unit_names, staff, price_list, price_list_name, currency, catalog })
}

/// The head office (the root unit) and the two regions below it.
fn business_units(org: &Org, def: &DemoCompany) -> Result<([Uuid; 3], [String; 3])> {
    let root = org.ids.root_business_unit;
    org.write(&org.system_principal(), |s| -> Result<_> {
        let units = Units::load(s)?;
        let mut ids = [root; 3];
        let mut names = [units.name(root), String::new(), String::new()];
        for (i, name) in def.regions.iter().enumerate() {
            let existing = units.all.iter().find(|u| u.name.eq_ignore_ascii_case(name)).map(|u| u.id);
            ids[i + 1] = match existing {
                Some(id) => id,
                None => s.create(
                    "businessunit",
                    RecordInput::new(vec![
                        ("name".into(), Value::String(name.to_string())),
                        ("parentbusinessunitid".into(), reference("businessunit", root)),
                    ]),
                )?,
            };
            names[i + 1] = name.to_string();
        }
        Ok((ids, names))
    })
    .context("cannot create the demo business units")
}

fn staff(
    org: &Org,
    lang: Lang,
    def: &DemoCompany,
    defs: &'static [StaffDef],
    units: &[Uuid; 3],
    password: &str,
) -> Result<Vec<Member>> {
    let emails: Vec<String> = defs.iter().map(|d| staff_email(d, def.domain)).collect();
    let existing: Vec<Option<Uuid>> =
        emails.iter().map(|e| org.find_user_by_email(e)).collect::<relata_engine::Result<_>>()?;
    // argon2 is slow on purpose: hash the new users' passwords side by
    // side, as many at a time as there are cores.
    let missing = existing.iter().filter(|e| e.is_none()).count();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut hashes: Vec<String> = Vec::with_capacity(missing);
    while hashes.len() < missing {
        let n = cores.min(missing - hashes.len());
        let round: Vec<Result<String, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n).map(|_| scope.spawn(|| relata_security::hash_password(password))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("the hashing thread failed".into()))).collect()
        });
        for h in round {
            hashes.push(h.map_err(|e| anyhow!("cannot hash the demo password: {e}"))?);
        }
    }

    let members = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units_tree = Units::load(s)?;
            let roles = load_roles(s)?;
            let mut hashes = hashes.into_iter();
            let mut members: Vec<Member> = Vec::new();
            for (i, d) in defs.iter().enumerate() {
                let name = match d.middle {
                    Some(m) if lang == Lang::Ru => format!("{} {} {}", d.first, m, d.last),
                    _ => format!("{} {}", d.first, d.last),
                };
                let (id, new) = match existing[i] {
                    Some(id) => (id, false),
                    None => {
                        let bu = units[d.unit];
                        let role = find_role(&roles, &units_tree, d.job.role(), Within::InheritedBy(bu))?.id;
                        // Salespeople report to their unit's manager, managers to the head of sales.
                        let manager = members
                            .iter()
                            .filter(|m| m.job == Job::SalesManager)
                            .find(|m| if d.job == Job::SalesManager { m.unit == 0 } else { m.unit == d.unit })
                            .map(|m| m.id);
                        let mut f = Fields::default();
                        f.set("firstname", d.first)
                            .set("middlename", d.middle.map(str::to_string))
                            .set("lastname", d.last)
                            .set("internalemailaddress", emails[i].as_str())
                            .set("jobtitle", d.title)
                            .set("isdisabled", false)
                            .set("businessunitid", reference("businessunit", bu))
                            .set("parentsystemuserid", manager.map(|m| reference("systemuser", m)));
                        let id = s.create("systemuser", f.into_input())?;
                        s.associate("systemuser", id, "systemuserroles_association", "role", role)?;
                        let hash = hashes.next().context("a password hash for every new user")?;
                        s.set_password_hash(id, &hash)?;
                        (id, true)
                    }
                };
                members.push(Member {
                    id,
                    email: emails[i].clone(),
                    name,
                    title: d.title,
                    job: d.job,
                    unit: d.unit,
                    new,
                });
            }
            Ok(members)
        })
        .context("cannot create the demo users")?;

    // Each new user's own settings: the demo's language and their office's time zone.
    let lcid = match lang {
        Lang::En => 1033,
        Lang::Ru => 1049,
    };
    for m in members.iter().filter(|m| m.new) {
        let p = org.principal_of_user(m.id).with_context(|| format!("cannot act as {}", m.email))?;
        let settings = OwnSettings {
            language: Some(lcid),
            locale: Some(lcid),
            time_zone: Some(def.time_zones[m.unit].to_string()),
        };
        org.write(&p, |s| s.save_own_settings(&settings))
            .with_context(|| format!("cannot save the settings of {}", m.email))?;
    }
    Ok(members)
}

/// The currency the catalog is priced in: the language's (US dollars or
/// roubles), created at a usual rate when the organization's base currency
/// is another one it knows, else the base currency. Returns its ISO code,
/// id, and the factor from the catalog's prices to it.
fn currency(org: &Org, lang: Lang) -> Result<(String, Uuid, Decimal)> {
    let (iso, name, symbol) = match lang {
        Lang::En => EN_CURRENCY,
        Lang::Ru => RU_CURRENCY,
    };
    let base_id = org.ids.base_currency;
    org.write(&org.system_principal(), |s| -> Result<_> {
        let all = query_all(s, "transactioncurrency", "$select=isocurrencycode")?;
        let code = |r: &Record| text(r, "isocurrencycode").to_ascii_uppercase();
        let base = all.iter().find(|r| r.id == base_id).map(code).unwrap_or_default();
        if base == iso {
            return Ok((iso.to_string(), base_id, Decimal::ONE));
        }
        if let Some(found) = all.iter().find(|r| code(r) == iso) {
            return Ok((iso.to_string(), found.id, Decimal::ONE));
        }
        let rate = |c: &str| RATES_PER_USD.iter().find(|(k, _)| *k == c).and_then(|(_, v)| v.parse::<Decimal>().ok());
        match (rate(iso), rate(&base)) {
            (Some(ours), Some(theirs)) => {
                let mut f = Fields::default();
                f.set("currencyname", name)
                    .set("isocurrencycode", iso)
                    .set("currencysymbol", symbol)
                    .set("currencyprecision", 2i64)
                    .set("exchangerate", (ours / theirs).round_dp(6));
                let id = s.create("transactioncurrency", f.into_input())?;
                Ok((iso.to_string(), id, Decimal::ONE))
            }
            // A base currency without a known rate: the catalog in it, at
            // the dollar figures (roubles are scaled down to them).
            _ => {
                let scale = if lang == Lang::Ru { Decimal::ONE / Decimal::from(90) } else { Decimal::ONE };
                Ok((base, base_id, scale))
            }
        }
    })
    .context("cannot set up the demo currency")
}

/// The stages of the seeded sales process in the demo's language, while
/// they still have their seeded English names.
fn localize_sales_process(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<()> {
    let Some(names) = sales_stage_names(lang) else { return Ok(()) };
    let stages =
        query_all(s, "processstage", "$select=stagename,stagecategory&$filter=primaryentitytypecode eq 'opportunity'")?;
    for st in stages {
        let category = st.get("stagecategory").and_then(Value::as_i64).unwrap_or(-1);
        let Some((english, local)) = usize::try_from(category).ok().and_then(|c| names.get(c)) else { continue };
        if text(&st, "stagename") == *english {
            let input = RecordInput::new(vec![("stagename".into(), Value::String(local.to_string()))]);
            s.update("processstage", st.id, input, Default::default(), false)?;
        }
    }
    Ok(())
}

fn find_one(s: &mut Session<'_, '_, '_>, entity: &str, filter: &str) -> Result<Option<Uuid>> {
    let key = s.entity(entity)?.def.primary_id.clone();
    let rows = query_all(s, entity, &format!("$select={key}&$filter={filter}"))?;
    Ok(rows.first().map(|r| r.id))
}

/// A price: the catalog figure scaled to the list's currency, in whole units.
fn price_of(figure: u32, scale: Decimal) -> Decimal {
    (Decimal::from(figure) * scale).round_dp(0).max(Decimal::ONE)
}

fn catalog(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    defs: &'static [ProductDef],
    groups: &[UnitGroupDef; 2],
    currency: Uuid,
    iso: &str,
    scale: Decimal,
) -> Result<(Uuid, String, Vec<CatalogItem>)> {
    // Unit groups: the base unit comes with the group; the larger one is added.
    let mut units = Vec::new();
    for g in groups {
        let schedule = match find_one(s, "uomschedule", &format!("name eq {}", odata_string(g.name)))? {
            Some(id) => id,
            None => {
                let mut f = Fields::default();
                f.set("name", g.name).set("baseuomname", g.base);
                s.create("uomschedule", f.into_input())?
            }
        };
        let base = find_one(s, "uom", &format!("_uomscheduleid_value eq {schedule} and isschedulebaseuom eq true"))?
            .context("a unit group holds its base unit")?;
        let larger = match find_one(
            s,
            "uom",
            &format!("_uomscheduleid_value eq {schedule} and name eq {}", odata_string(g.larger.0)),
        )? {
            Some(id) => id,
            None => {
                let mut f = Fields::default();
                f.set("name", g.larger.0)
                    .set("uomscheduleid", reference("uomschedule", schedule))
                    .set("quantity", Decimal::from(g.larger.1));
                s.create("uom", f.into_input())?
            }
        };
        units.push((schedule, base, larger));
    }

    // The price list, valid from the start of last year.
    let list_name = match lang {
        Lang::En => format!("Standard Price List ({iso})"),
        Lang::Ru => format!("Основной прайс-лист ({iso})"),
    };
    let today = s.now.date_naive();
    let from = NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap_or(today).and_time(NaiveTime::MIN).and_utc();
    let list = match find_one(s, "pricelevel", &format!("name eq {}", odata_string(&list_name)))? {
        Some(id) => id,
        None => {
            let mut f = Fields::default();
            f.set("name", list_name.as_str())
                .set("transactioncurrencyid", reference("transactioncurrency", currency))
                .set("begindate", from)
                .set(
                    "description",
                    match lang {
                        Lang::En => "List prices for all customers.",
                        Lang::Ru => "Цены для всех клиентов.",
                    },
                );
            s.create("pricelevel", f.into_input())?
        }
    };

    let mut items = Vec::new();
    for d in defs {
        let (schedule, base, larger) = units[d.group];
        let price = price_of(d.price, scale);
        let id = match find_one(s, "product", &format!("productnumber eq {}", odata_string(d.number)))? {
            Some(id) => id,
            None => {
                let mut f = Fields::default();
                f.set("name", d.name)
                    .set("productnumber", d.number)
                    .set("defaultuomscheduleid", reference("uomschedule", schedule))
                    .set("defaultuomid", reference("uom", base))
                    .set("transactioncurrencyid", reference("transactioncurrency", currency))
                    .set("price", price)
                    .set("quantitydecimal", if d.group == 1 { 1i64 } else { 0 })
                    .set("producttypecode", if d.theme == Theme::Services { 3i64 } else { 1 })
                    .set("pricelevelid", reference("pricelevel", list));
                if lang == Lang::Ru {
                    // НДС.
                    f.set("relata_taxrate", Decimal::from(20));
                }
                s.create("product", f.into_input())?
            }
        };
        let mut sold_in = vec![(base, price)];
        if d.larger_unit {
            // The larger unit is 5 % cheaper per piece.
            let per = Decimal::from(if d.group == 1 { groups[1].larger.1 } else { groups[0].larger.1 });
            sold_in.push((larger, (price * per * Decimal::new(95, 2)).round_dp(0)));
        }
        for (uom, amount) in sold_in {
            let filter =
                format!("_pricelevelid_value eq {list} and _productid_value eq {id} and _uomid_value eq {uom}");
            if find_one(s, "productpricelevel", &filter)?.is_none() {
                let mut f = Fields::default();
                f.set("pricelevelid", reference("pricelevel", list))
                    .set("productid", reference("product", id))
                    .set("uomid", reference("uom", uom))
                    .set("pricingmethodcode", 1i64)
                    .set("amount", amount);
                s.create("productpricelevel", f.into_input())?;
            }
        }
        items.push(CatalogItem { id, def: d, unit: base, larger: d.larger_unit.then_some(larger) });
    }
    Ok((list, list_name, items))
}
