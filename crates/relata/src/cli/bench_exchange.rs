//! `relata bench --exchange-1c`: a catalog exchange as 1C runs it, over
//! HTTP against a fresh server: checkauth, init, the catalog and the
//! offers (four price types, five warehouses) uploaded in `file_limit`
//! slices, then `import` polled as 1C polls it until each file is in.
//! Prints the time per file, items per second, the slowest `import` call
//! (what a proxy between 1C and Relata would see) and then a second,
//! unchanged run of the same package, which must change nothing.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::bench::{wait_healthy, BenchArgs, Server, ServerEnd};

/// Products per group of the generated catalog.
const PER_GROUP: u64 = 50;

/// The generated catalog: `products` goods in groups, with articles,
/// barcodes and a property.
fn catalog(products: u64) -> Vec<u8> {
    let mut x = String::with_capacity(products as usize * 700);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<КоммерческаяИнформация ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-12-01T10:00:00\">\n");
    x.push_str("<Классификатор><Ид>bench-classifier</Ид><Наименование>Классификатор</Наименование><Группы>\n");
    for g in 0..products.div_ceil(PER_GROUP) {
        let _ = writeln!(x, "<Группа><Ид>group-{g}</Ид><Наименование>Группа {g}</Наименование></Группа>");
    }
    x.push_str("</Группы><Свойства><Свойство><Ид>prop-color</Ид><Наименование>Цвет</Наименование>");
    x.push_str("<ТипЗначений>Справочник</ТипЗначений><ВариантыЗначений>");
    for (i, c) in ["Красный", "Синий", "Чёрный"].iter().enumerate() {
        let _ = write!(x, "<Справочник><ИдЗначения>color-{i}</ИдЗначения><Значение>{c}</Значение></Справочник>");
    }
    x.push_str("</ВариантыЗначений></Свойство></Свойства></Классификатор>\n");
    x.push_str("<Каталог СодержитТолькоИзменения=\"false\"><Ид>bench-catalog</Ид><ИдКлассификатора>bench-classifier</ИдКлассификатора>");
    x.push_str("<Наименование>Каталог</Наименование><Товары>\n");
    for p in 0..products {
        let _ = writeln!(
            x,
            "<Товар><Ид>product-{p}</Ид><Артикул>ART-{p}</Артикул><Штрихкод>46{p:011}</Штрихкод>\
             <Наименование>Товар номер {p}</Наименование>\
             <БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница>\
             <Группы><Ид>group-{}</Ид></Группы><Описание>Описание товара {p}</Описание>\
             <ЗначенияСвойств><ЗначенияСвойства><Ид>prop-color</Ид><Значение>color-{}</Значение></ЗначенияСвойства></ЗначенияСвойств>\
             <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>\
             </Товар>",
            p / PER_GROUP,
            p % 3
        );
    }
    x.push_str("</Товары></Каталог></КоммерческаяИнформация>\n");
    x.into_bytes()
}

/// Price types and warehouses of the generated offers.
const PRICE_TYPES: [&str; 4] = ["Розничная", "Оптовая", "Дилерская", "Закупочная"];
const WAREHOUSES: [&str; 5] = ["Основной склад", "Магазин", "Склад Север", "Склад Юг", "Транзит"];

/// The offers: a price of each type and stock in each warehouse per product.
fn offers(products: u64) -> Vec<u8> {
    let mut x = String::with_capacity(products as usize * 1600);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<КоммерческаяИнформация ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-12-01T10:00:00\">\n");
    x.push_str(
        "<ПакетПредложений СодержитТолькоИзменения=\"false\"><Ид>bench-catalog#</Ид><Наименование>Пакет</Наименование>",
    );
    x.push_str("<ИдКаталога>bench-catalog</ИдКаталога><ТипыЦен>");
    for (i, name) in PRICE_TYPES.iter().enumerate() {
        let _ =
            write!(x, "<ТипЦены><Ид>price-{i}</Ид><Наименование>{name}</Наименование><Валюта>RUB</Валюта></ТипЦены>");
    }
    x.push_str("</ТипыЦен><Склады>");
    for (i, name) in WAREHOUSES.iter().enumerate() {
        let _ = write!(x, "<Склад><Ид>store-{i}</Ид><Наименование>{name}</Наименование></Склад>");
    }
    x.push_str("</Склады><Предложения>\n");
    for p in 0..products {
        let _ = write!(
            x,
            "<Предложение><Ид>product-{p}</Ид><Наименование>Товар номер {p}</Наименование>\
             <БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница><Цены>"
        );
        for i in 0..PRICE_TYPES.len() as u64 {
            let price = 100 + (p * 7 + i * 13) % 900;
            let _ = write!(
                x,
                "<Цена><ИдТипаЦены>price-{i}</ИдТипаЦены><ЦенаЗаЕдиницу>{price}.50</ЦенаЗаЕдиницу><Валюта>RUB</Валюта>\
                 <Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена>"
            );
        }
        let stock: Vec<u64> = (0..WAREHOUSES.len() as u64).map(|w| (p + w * 3) % 17).collect();
        let _ = write!(x, "</Цены><Количество>{}</Количество>", stock.iter().sum::<u64>());
        for (w, q) in stock.iter().enumerate() {
            let _ = write!(x, "<Склад ИдСклада=\"store-{w}\" КоличествоНаСкладе=\"{q}\"/>");
        }
        x.push_str("</Предложение>\n");
    }
    x.push_str("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n");
    x.into_bytes()
}

/// One file's import, as measured.
pub(super) struct FileRun {
    name: &'static str,
    bytes: usize,
    upload_secs: f64,
    import_secs: f64,
    calls: u64,
    slowest_call_ms: f64,
    answer: String,
}

struct Exchange<'a> {
    client: &'a reqwest::Client,
    url: String,
    cookie: String,
}

impl Exchange<'_> {
    async fn call(&self, query: &str, body: Option<Vec<u8>>) -> Result<String> {
        let url = format!("{}&{query}", self.url);
        let rb = match body {
            Some(b) => self.client.post(&url).body(b),
            None => self.client.get(&url),
        };
        let r = rb.header("Cookie", &self.cookie).send().await.with_context(|| query.to_string())?;
        Ok(r.text().await?)
    }

    async fn file(&self, name: &'static str, bytes: &[u8], limit: usize) -> Result<FileRun> {
        let started = Instant::now();
        for part in bytes.chunks(limit) {
            let a = self.call(&format!("mode=file&filename={name}"), Some(part.to_vec())).await?;
            if !a.starts_with("success") {
                bail!("upload of {name}: {a}");
            }
        }
        let upload_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let (mut calls, mut slowest) = (0u64, 0f64);
        loop {
            let call = Instant::now();
            let a = self.call(&format!("mode=import&filename={name}"), None).await?;
            slowest = slowest.max(call.elapsed().as_secs_f64() * 1000.0);
            calls += 1;
            if a.starts_with("progress") {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            if !a.starts_with("success") {
                bail!("import of {name}: {a}");
            }
            let answer = a.lines().nth(1).unwrap_or("").to_string();
            return Ok(FileRun {
                name,
                bytes: bytes.len(),
                upload_secs,
                import_secs: started.elapsed().as_secs_f64(),
                calls,
                slowest_call_ms: slowest,
                answer,
            });
        }
    }
}

/// Runs the exchange twice; returns the runs.
pub(super) async fn measure(
    server: &mut Server,
    base: &str,
    email: &str,
    password: &str,
    products: u64,
) -> Result<Vec<Vec<FileRun>>> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
    wait_healthy(server, &client, base).await?;
    let files = [("import.xml", catalog(products)), ("offers.xml", offers(products))];
    let mut runs = Vec::new();
    for _ in 0..2 {
        let url = format!("{base}/1c_exchange?type=catalog");
        let auth = client.get(format!("{url}&mode=checkauth")).basic_auth(email, Some(password)).send().await?;
        let lines: Vec<String> = auth.text().await?.lines().map(str::to_string).collect();
        if lines.first().map(String::as_str) != Some("success") {
            bail!("checkauth: {lines:?}");
        }
        let ex = Exchange { client: &client, url, cookie: format!("{}={}", lines[1], lines[2]) };
        let init = ex.call("mode=init&version=2.07", None).await?;
        let limit: usize = init
            .lines()
            .find_map(|l| l.strip_prefix("file_limit="))
            .and_then(|l| l.parse().ok())
            .context("init gave no file_limit")?;
        let mut run = Vec::new();
        for (name, bytes) in &files {
            run.push(ex.file(name, bytes, limit).await?);
        }
        runs.push(run);
    }
    Ok(runs)
}

pub(super) fn summarize(backend: &str, products: u64, runs: &[Vec<FileRun>], end: &ServerEnd) -> Result<()> {
    let items = |name: &str| match name {
        "import.xml" => products + products.div_ceil(PER_GROUP) + 1,
        _ => products + (PRICE_TYPES.len() + WAREHOUSES.len()) as u64,
    };
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        println!("{} run:", if i == 0 { "first" } else { "repeated (nothing changes)" });
        println!(
            "{:<12} {:>9} {:>9} {:>9} {:>10} {:>7} {:>12}",
            "file", "MiB", "upload s", "import s", "items/s", "calls", "slowest ms"
        );
        for f in run {
            let rate = items(f.name) as f64 / f.import_secs.max(1e-9);
            println!(
                "{:<12} {:>9.2} {:>9.2} {:>9.2} {:>10.0} {:>7} {:>12.1}",
                f.name,
                f.bytes as f64 / 1048576.0,
                f.upload_secs,
                f.import_secs,
                rate,
                f.calls,
                f.slowest_call_ms
            );
            println!("  {}", f.answer.chars().take(160).collect::<String>());
            out.push(json!({
                "run": i + 1, "file": f.name, "bytes": f.bytes, "upload_seconds": f.upload_secs,
                "import_seconds": f.import_secs, "items_per_second": rate.round(), "calls": f.calls,
                "slowest_call_ms": f.slowest_call_ms, "answer": f.answer,
            }));
        }
    }
    println!(
        "{}",
        json!({
            "backend": backend, "bench": "exchange-1c", "products": products, "files": out,
            "peak_rss_kb": end.peak_rss_kb, "anon_kb": end.anon_kb, "data_bytes": end.data_bytes,
        })
    );
    let repeated_changed = runs.get(1).is_some_and(|r| r.iter().any(|f| !f.answer.contains(" 0 created, 0 updated")));
    if repeated_changed {
        bail!("the repeated exchange changed records");
    }
    Ok(())
}

/// The bench's settings for this mode.
pub(super) fn products(args: &BenchArgs) -> u64 {
    args.exchange_1c.unwrap_or(0)
}
