//! Realistic-looking records, drawn from a seeded RNG.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use relata_engine::RecordInput;
use relata_metadata::{EntityRef, Value};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::words::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

pub fn word(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

/// One of `items`, with probability proportional to its weight.
pub fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.gen_range(0..total);
    for (item, w) in items {
        if n < *w {
            return *item;
        }
        n -= w;
    }
    items[items.len() - 1].0
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

/// `#` → digit, `@` → capital letter.
pub fn fill_pattern(rng: &mut StdRng, pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + rng.gen_range(0..10u8)),
            '@' => char::from(b'A' + rng.gen_range(0..26u8)),
            c => c,
        })
        .collect()
}

/// A landline in the city's national format.
pub fn phone(rng: &mut StdRng, city: &City) -> String {
    let (country, area) = city.phone.split_once(' ').unwrap_or((city.phone, ""));
    match country {
        "+1" => format!("+1 ({area}) {}{}-{}", rng.gen_range(2..10), digits(rng, 2), digits(rng, 4)),
        "+7" | "+375" => {
            let local = 10 - area.len().min(9) - if country == "+375" { 1 } else { 0 };
            let d = format!("{}{}", rng.gen_range(2..10), digits(rng, local - 1));
            let (a, rest) = d.split_at(d.len() - 4);
            let open = if country == "+7" { format!("({area})") } else { area.to_string() };
            format!("{country} {open} {a}-{}-{}", &rest[..2], &rest[2..])
        }
        _ if area.len() <= 2 => {
            format!("{country} {area} {}{} {}", rng.gen_range(2..10), digits(rng, 3), digits(rng, 4))
        }
        _ => format!("{country} {area} {}{} {}", rng.gen_range(2..10), digits(rng, 2), digits(rng, 4)),
    }
}

pub fn mobile(rng: &mut StdRng, lang: Lang, city: &City) -> String {
    match lang {
        Lang::Ru if city.phone.starts_with("+7") => {
            format!("+7 (9{}) {}-{}-{}", digits(rng, 2), digits(rng, 3), digits(rng, 2), digits(rng, 2))
        }
        _ => phone(rng, city),
    }
}

pub fn street(rng: &mut StdRng, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} {} {}", rng.gen_range(1..9900), pick(rng, EN_STREETS), pick(rng, EN_STREET_TYPES)),
        Lang::Ru => {
            let mut s = format!("{}, д. {}", pick(rng, RU_STREETS), rng.gen_range(1..180));
            if rng.gen_bool(0.2) {
                s.push_str(&format!(", стр. {}", rng.gen_range(1..6)));
            }
            s
        }
    }
}

pub fn city(rng: &mut StdRng, lang: Lang) -> &'static City {
    match lang {
        Lang::En => pick(rng, EN_CITIES),
        Lang::Ru => pick(rng, RU_CITIES),
    }
}

pub fn lang(rng: &mut StdRng) -> Lang {
    if rng.gen_bool(0.4) {
        Lang::Ru
    } else {
        Lang::En
    }
}

pub struct Company {
    pub name: String,
    /// The distinctive part, for opportunity names and domains.
    pub short: String,
    pub slug: String,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn slug(s: &str) -> String {
    let t = transliterate(s);
    let mut out = String::new();
    for c in t.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if (c == ' ' || c == '-') && !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

pub fn company(rng: &mut StdRng, lang: Lang) -> Company {
    match lang {
        Lang::En => {
            let core = format!("{}{}", pick(rng, EN_COMPANY_ADJ), pick(rng, EN_COMPANY_NOUN));
            let (name, short) = match rng.gen_range(0..10) {
                0..=4 => {
                    let sector = pick(rng, EN_SECTORS);
                    let suffix = pick(rng, EN_SUFFIXES);
                    (format!("{core} {sector} {suffix}").trim().to_string(), core)
                }
                5..=6 => {
                    let (a, b) = (pick(rng, EN_LAST), pick(rng, EN_LAST));
                    (format!("{a} & {b} {}", pick(rng, EN_SECTORS)), format!("{a} & {b}"))
                }
                7 => {
                    let a = pick(rng, EN_LAST);
                    (
                        format!("{a} {} {}", pick(rng, EN_SECTORS), pick(rng, EN_SUFFIXES)).trim().to_string(),
                        a.to_string(),
                    )
                }
                _ => {
                    let adj = pick(rng, EN_COMPANY_ADJ);
                    let noun = capitalize(word(rng, EN_COMPANY_NOUN));
                    let short = format!("{adj} {noun}");
                    (format!("{short} {}", pick(rng, EN_SECTORS)), short)
                }
            };
            let slug = slug(&short.replace('&', "and"));
            Company { name, short, slug }
        }
        Lang::Ru => {
            let form = *pick(rng, RU_FORMS);
            let short = match rng.gen_range(0..10) {
                0..=5 => format!("{}{}", pick(rng, RU_ROOTS), pick(rng, RU_ENDINGS)),
                6..=8 => {
                    if rng.gen_bool(0.55) {
                        let adj = pick(rng, RU_ADJ).0;
                        format!("{adj} {}", pick(rng, RU_NOUN_M))
                    } else {
                        let adj = pick(rng, RU_ADJ).1;
                        format!("{adj} {}", pick(rng, RU_NOUN_F))
                    }
                }
                _ => {
                    // A sole proprietor: "ИП Смирнова А. В.".
                    let p = person(rng, Lang::Ru);
                    let initials: String = [p.first.chars().next(), p.middle.as_deref().and_then(|m| m.chars().next())]
                        .into_iter()
                        .flatten()
                        .map(|c| format!("{c}. "))
                        .collect();
                    let name = format!("ИП {} {}", p.last, initials.trim_end());
                    let slug = slug(&p.last);
                    return Company { name, short: p.last, slug };
                }
            };
            let slug = slug(&short);
            Company { name: format!("{form} «{short}»"), short, slug }
        }
    }
}

pub struct Person {
    pub first: String,
    pub middle: Option<String>,
    pub last: String,
    /// `gendercode`: 1 male, 2 female.
    pub gender: i64,
}

pub fn person(rng: &mut StdRng, lang: Lang) -> Person {
    let male = rng.gen_bool(0.5);
    match lang {
        Lang::En => Person {
            first: pick(rng, if male { EN_FIRST_MALE } else { EN_FIRST_FEMALE }).to_string(),
            middle: None,
            last: pick(rng, EN_LAST).to_string(),
            gender: if male { 1 } else { 2 },
        },
        Lang::Ru => {
            let father = pick(rng, RU_FIRST_MALE);
            let last = pick(rng, RU_LAST);
            let (first, middle, last) = if male {
                (pick(rng, RU_FIRST_MALE).0.to_string(), father.1.to_string(), last.to_string())
            } else {
                (pick(rng, RU_FIRST_FEMALE).to_string(), father.2.to_string(), feminine_surname(last))
            };
            Person { first, middle: Some(middle), last, gender: if male { 1 } else { 2 } }
        }
    }
}

pub fn email(first: &str, last: &str, domain: &str) -> String {
    let user = format!("{}.{}", slug(first), slug(last)).replace('-', "");
    format!("{user}@{domain}")
}

pub fn free_mail_domain(rng: &mut StdRng, lang: Lang) -> &'static str {
    match lang {
        Lang::En => word(rng, &["gmail.com", "outlook.com", "yahoo.com", "icloud.com"]),
        Lang::Ru => word(rng, &["yandex.ru", "mail.ru", "gmail.com", "bk.ru"]),
    }
}

pub fn tld(rng: &mut StdRng, city: &City) -> &'static str {
    match city.country {
        "Россия" => {
            if rng.gen_bool(0.85) {
                "ru"
            } else {
                "com"
            }
        }
        "Казахстан" => "kz",
        "Беларусь" => "by",
        "United Kingdom" => "co.uk",
        "Canada" => "ca",
        "Ireland" => "ie",
        "Australia" => "com.au",
        _ => word(rng, &["com", "com", "com", "com", "io", "net", "co"]),
    }
}

/// Amounts spread over orders of magnitude, rounded like people round them.
pub fn money(rng: &mut StdRng, min_exp: f64, max_exp: f64) -> Decimal {
    let v = 10f64.powf(rng.gen_range(min_exp..max_exp));
    let step = 10f64.powf((v.log10().floor() - 2.0).max(0.0));
    Decimal::from(((v / step).round() * step) as i64)
}

pub fn sentences(rng: &mut StdRng, lang: Lang, n: usize) -> String {
    let list = match lang {
        Lang::En => EN_SENTENCES,
        Lang::Ru => RU_SENTENCES,
    };
    (0..n).map(|_| *pick(rng, list)).collect::<Vec<_>>().join(" ")
}

pub fn by_lang<'a>(lang: Lang, en: &'a [&'a str], ru: &'a [&'a str]) -> &'a [&'a str] {
    match lang {
        Lang::En => en,
        Lang::Ru => ru,
    }
}

pub fn days(rng: &mut StdRng, now: DateTime<Utc>, from: i64, to: i64) -> DateTime<Utc> {
    now + Duration::days(rng.gen_range(from..=to))
}

/// A time during office hours (UTC), `from..=to` days from `now`.
pub fn work_time(rng: &mut StdRng, now: DateTime<Utc>, from: i64, to: i64) -> DateTime<Utc> {
    days(rng, now, from, to) + Duration::minutes(rng.gen_range(6 * 4..17 * 4) * 15)
}

/// The same day as `t`, at a time during office hours (UTC).
pub fn at_work(rng: &mut StdRng, t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc() + Duration::minutes(rng.gen_range(6 * 4..17 * 4) * 15)
}

pub fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// Builds a record's fields, skipping absent values.
#[derive(Default)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    pub fn set(&mut self, name: &str, value: impl Into<FieldValue>) -> &mut Self {
        if let Some(v) = value.into().0 {
            self.0.push((name.to_string(), v));
        }
        self
    }
    pub fn into_input(self) -> RecordInput {
        RecordInput::new(self.0)
    }
}

pub struct FieldValue(Option<Value>);

impl From<Value> for FieldValue {
    fn from(v: Value) -> Self {
        FieldValue(Some(v))
    }
}
impl From<Option<Value>> for FieldValue {
    fn from(v: Option<Value>) -> Self {
        FieldValue(v)
    }
}
impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue(Some(Value::String(v)))
    }
}
impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue(Some(Value::String(v.to_string())))
    }
}
impl From<Option<String>> for FieldValue {
    fn from(v: Option<String>) -> Self {
        FieldValue(v.map(Value::String))
    }
}
impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue(Some(Value::Int(v)))
    }
}
impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue(Some(Value::Bool(v)))
    }
}
impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue(Some(Value::Double(v)))
    }
}
impl From<Decimal> for FieldValue {
    fn from(v: Decimal) -> Self {
        FieldValue(Some(Value::Decimal(v)))
    }
}
impl From<Option<Decimal>> for FieldValue {
    fn from(v: Option<Decimal>) -> Self {
        FieldValue(v.map(Value::Decimal))
    }
}
impl From<DateTime<Utc>> for FieldValue {
    fn from(v: DateTime<Utc>) -> Self {
        FieldValue(Some(Value::DateTime(v)))
    }
}
impl From<Option<DateTime<Utc>>> for FieldValue {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        FieldValue(v.map(Value::DateTime))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn generated_values_fit_their_columns() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            for lang in [Lang::En, Lang::Ru] {
                let c = company(&mut rng, lang);
                assert!(!c.name.is_empty() && c.name.chars().count() <= 160, "{}", c.name);
                assert!(!c.slug.is_empty() && c.slug.is_ascii(), "{} → {}", c.name, c.slug);
                let city = city(&mut rng, lang);
                let p = phone(&mut rng, city);
                assert!(p.len() <= 50 && p.starts_with('+'), "{p}");
                let m = mobile(&mut rng, lang, city);
                assert!(m.chars().count() <= 20, "{m}");
                let person = person(&mut rng, lang);
                let e = email(&person.first, &person.last, "x.com");
                assert!(e.is_ascii() && e.len() <= 100, "{e}");
            }
        }
    }

    #[test]
    fn phones_look_national() {
        let mut rng = StdRng::seed_from_u64(1);
        let moscow = &RU_CITIES[0];
        let p = phone(&mut rng, moscow);
        assert!(p.starts_with("+7 (495) ") && p.len() == "+7 (495) 123-45-67".len(), "{p}");
        let ny = &EN_CITIES[0];
        let p = phone(&mut rng, ny);
        assert!(p.starts_with("+1 (212) ") && p.len() == "+1 (212) 555-0147".len(), "{p}");
        let minsk = RU_CITIES.iter().find(|c| c.name == "Минск").unwrap();
        let p = phone(&mut rng, minsk);
        assert_eq!(p.len(), "+375 17 123-45-67".len(), "{p}");
    }

    #[test]
    fn same_seed_same_data() {
        let a: Vec<String> = {
            let mut rng = StdRng::seed_from_u64(42);
            (0..50).map(|_| company(&mut rng, Lang::Ru).name).collect()
        };
        let b: Vec<String> = {
            let mut rng = StdRng::seed_from_u64(42);
            (0..50).map(|_| company(&mut rng, Lang::Ru).name).collect()
        };
        assert_eq!(a, b);
    }
}
