//! `relata demo`: fills the database with varied, reproducible demo data
//! through the engine's write pipeline, so every rule applies.

pub mod generate;
pub mod words;

use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relata_engine::{Condition, EngineError, Org, RecordInput};
use relata_metadata::Value;
use rust_decimal::Decimal;
use uuid::Uuid;

use self::generate::*;
use self::words::*;
use super::{open_admin, users_with_password, Access};
use crate::config::{Flags, Settings};

/// Records per transaction: large enough to amortize commits, small enough
/// not to hold SQLite's write lock for long while a server runs.
const BATCH: usize = 500;
const DEFAULT_SEED: u64 = 20_240_601;
const PROGRESS_TEMPLATE: &str =
    "{spinner:.green} {msg:<16} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate}, {eta} left)";

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Size {
    /// About 200 accounts and 1,500 records in all
    Small,
    /// 100,000 accounts and 310,000 records in all
    Large,
}

#[derive(Args)]
pub struct DemoArgs {
    /// How much data to generate
    #[arg(long, value_enum, default_value_t = Size::Small)]
    pub size: Size,
    /// Random seed; the same seed gives the same data
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

struct Counts {
    accounts: usize,
    contacts: usize,
    leads: usize,
    opportunities: usize,
    activities: usize,
    notes: usize,
}

impl Size {
    fn counts(self) -> Counts {
        match self {
            Size::Small => {
                Counts { accounts: 200, contacts: 400, leads: 100, opportunities: 150, activities: 500, notes: 200 }
            }
            Size::Large => Counts {
                accounts: 100_000,
                contacts: 100_000,
                leads: 20_000,
                opportunities: 20_000,
                activities: 50_000,
                notes: 20_000,
            },
        }
    }
}

struct Account {
    id: Uuid,
    lang: Lang,
    city: &'static City,
    owner: usize,
    domain: String,
    short: String,
    primary_contact: Option<Uuid>,
}

/// What later records need to know about earlier ones.
struct Ctx {
    rng: StdRng,
    now: DateTime<Utc>,
    owners: Vec<Uuid>,
    accounts: Vec<Account>,
    contacts: Vec<(Uuid, usize)>,
    leads: Vec<(Uuid, usize)>,
    /// Qualified leads and the account each became.
    qualified: Vec<(Uuid, usize)>,
    /// Opportunity, its account, owner.
    opportunities: Vec<(Uuid, usize, usize)>,
}

impl Ctx {
    fn owner_ref(&self, owner: usize) -> Value {
        reference("systemuser", self.owners[owner])
    }
    fn random_owner(&mut self) -> usize {
        self.rng.gen_range(0..self.owners.len())
    }
    /// Mostly the related record's owner, sometimes a colleague.
    fn owner_like(&mut self, owner: usize) -> usize {
        if self.rng.gen_bool(0.85) {
            owner
        } else {
            self.random_owner()
        }
    }
}

pub fn run(flags: &Flags, args: DemoArgs) -> Result<()> {
    super::init_logging("warn");
    let settings = Settings::load(flags)?;
    let org = open_admin(&settings, Access::Create)?;
    let counts = args.size.counts();

    let mut owners = users_with_password(&org, false)?;
    if owners.is_empty() {
        eprintln!(
            "note: no user can sign in yet; the demo records are owned by SYSTEM (create users first to spread them)"
        );
        owners.push(org.ids.system_user);
    }
    let today = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc();
    let mut ctx = Ctx {
        rng: StdRng::seed_from_u64(args.seed),
        now: today,
        owners,
        accounts: Vec::with_capacity(counts.accounts),
        contacts: Vec::with_capacity(counts.contacts),
        leads: Vec::with_capacity(counts.leads),
        qualified: Vec::new(),
        opportunities: Vec::with_capacity(counts.opportunities),
    };

    let total =
        counts.accounts + counts.contacts * 2 + counts.leads + counts.opportunities + counts.activities + counts.notes;
    let pb = ProgressBar::new(total as u64);
    pb.set_style(super::progress_style(PROGRESS_TEMPLATE));
    pb.enable_steady_tick(StdDuration::from_millis(200));
    let started = Instant::now();

    let mut w = Writer { org: &org, pb: &pb, created: 0, updated: 0 };
    w.phase("accounts", &mut ctx, counts.accounts, account, |ctx, id, a| {
        ctx.accounts.push(Account { id, ..a });
    })?;
    w.phase("contacts", &mut ctx, counts.contacts, contact, |ctx, id, (account, owner)| {
        ctx.contacts.push((id, owner));
        if let Some(a) = account {
            ctx.accounts[a].primary_contact.get_or_insert(id);
        }
    })?;
    w.link_primary_contacts(&ctx, counts.contacts)?;
    w.phase("leads", &mut ctx, counts.leads, lead, |ctx, id, (owner, qualified)| {
        ctx.leads.push((id, owner));
        if let Some(a) = qualified {
            ctx.qualified.push((id, a));
        }
    })?;
    w.phase("opportunities", &mut ctx, counts.opportunities, opportunity, |ctx, id, (account, owner)| {
        ctx.opportunities.push((id, account, owner));
    })?;
    w.phase("activities", &mut ctx, counts.activities, activity, |_, _, ()| {})?;
    w.phase("notes", &mut ctx, counts.notes, note, |_, _, ()| {})?;
    pb.finish_and_clear();

    let secs = started.elapsed().as_secs_f64().max(0.001);
    let written = w.created + w.updated;
    println!(
        "created {} records ({} accounts, {} contacts, {} leads, {} opportunities, {} activities, {} notes) and linked {} primary contacts",
        w.created, counts.accounts, counts.contacts, counts.leads, counts.opportunities, counts.activities, counts.notes, w.updated
    );
    println!(
        "{written} writes in {secs:.1} s: {:.0} records/s (seed {}, owners: {})",
        written as f64 / secs,
        args.seed,
        ctx.owners.len()
    );
    Ok(())
}

struct Writer<'a> {
    org: &'a Org,
    pb: &'a ProgressBar,
    created: usize,
    updated: usize,
}

impl Writer<'_> {
    /// Creates `n` records in transactions of `BATCH`; `make` builds one
    /// (entity, input, facts), `done` records the facts under the new id.
    fn phase<M>(
        &mut self,
        label: &str,
        ctx: &mut Ctx,
        n: usize,
        make: fn(&mut Ctx, usize) -> (&'static str, RecordInput, M),
        mut done: impl FnMut(&mut Ctx, Uuid, M),
    ) -> Result<()> {
        self.pb.set_message(label.to_string());
        let started = Instant::now();
        let principal = self.org.system_principal();
        let mut i = 0;
        while i < n {
            let m = BATCH.min(n - i);
            let mut batch = Vec::with_capacity(m);
            let mut facts = Vec::with_capacity(m);
            for k in i..i + m {
                let (entity, input, fact) = make(ctx, k);
                batch.push((entity, input));
                facts.push(fact);
            }
            let mut failed = "";
            let ids = self
                .org
                .write(&principal, |s| {
                    let mut ids = Vec::with_capacity(batch.len());
                    for (entity, input) in batch {
                        failed = entity;
                        ids.push(s.create(entity, input)?);
                    }
                    Ok::<_, EngineError>(ids)
                })
                .with_context(|| format!("cannot create a demo {failed} record"))?;
            for (id, fact) in ids.into_iter().zip(facts) {
                done(ctx, id, fact);
            }
            self.created += m;
            self.pb.inc(m as u64);
            i += m;
        }
        self.report(label, n, started);
        Ok(())
    }

    /// Accounts point back at their first contact; that needs an update
    /// once the contacts exist.
    fn link_primary_contacts(&mut self, ctx: &Ctx, planned: usize) -> Result<()> {
        self.pb.set_message("primary contacts");
        let started = Instant::now();
        let principal = self.org.system_principal();
        let links: Vec<(Uuid, Uuid)> =
            ctx.accounts.iter().filter_map(|a| a.primary_contact.map(|c| (a.id, c))).collect();
        for chunk in links.chunks(BATCH) {
            self.org
                .write(&principal, |s| {
                    for (account, contact) in chunk {
                        let input = RecordInput::new(vec![("primarycontactid".into(), reference("contact", *contact))]);
                        s.update("account", *account, input, Condition::default(), false)?;
                    }
                    Ok::<_, EngineError>(())
                })
                .context("cannot set the primary contact of a demo account")?;
            self.updated += chunk.len();
            self.pb.inc(chunk.len() as u64);
        }
        // The bar reserved one step per contact.
        self.pb.inc(planned.saturating_sub(links.len()) as u64);
        self.report("primary contacts", links.len(), started);
        Ok(())
    }

    fn report(&self, label: &str, n: usize, started: Instant) {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        self.pb.suspend(|| eprintln!("  {label:<16} {n:>8} in {secs:>6.1} s ({:.0}/s)", n as f64 / secs));
    }
}

fn account(ctx: &mut Ctx, k: usize) -> (&'static str, RecordInput, Account) {
    let rng = &mut ctx.rng;
    let lang = lang(rng);
    let city = city(rng, lang);
    let company = company(rng, lang);
    let domain = format!("{}.{}", company.slug, tld(rng, city));
    let owner = rng.gen_range(0..ctx.owners.len());
    let revenue = money(rng, 5.8, 9.7);
    let employees = (revenue / Decimal::from(rng.gen_range(60_000..400_000)))
        .round()
        .to_string()
        .parse::<i64>()
        .unwrap_or(1)
        .max(1);
    let ownership = weighted(rng, &[(1, 15), (2, 70), (3, 10), (4, 5)]);
    let mut f = Fields::default();
    f.set("name", company.name.as_str())
        .set("accountnumber", format!("{}-{:06}", if lang == Lang::Ru { "КЛ" } else { "AC" }, k + 1))
        .set("telephone1", phone(rng, city))
        .set(
            "emailaddress1",
            format!(
                "{}@{domain}",
                pick(rng, by_lang(lang, &["info", "sales", "hello", "contact"], &["info", "office", "zakaz", "sales"]))
            ),
        )
        .set("websiteurl", format!("https://www.{domain}"))
        .set("address1_line1", street(rng, lang))
        .set("address1_city", city.name)
        .set("address1_stateorprovince", city.region)
        .set("address1_postalcode", fill_pattern(rng, city.postal))
        .set("address1_country", city.country)
        .set("address1_latitude", ((city.lat + rng.gen_range(-0.08..0.08)) * 1e5).round() / 1e5)
        .set("address1_longitude", ((city.lon + rng.gen_range(-0.08..0.08)) * 1e5).round() / 1e5)
        .set("revenue", revenue)
        .set("numberofemployees", employees)
        .set("industrycode", rng.gen_range(1..=33i64))
        .set("accountcategorycode", weighted(rng, &[(1i64, 20), (2, 80)]))
        .set("customertypecode", weighted(rng, &[(3i64, 50), (8, 25), (5, 8), (10, 5), (9, 5), (1, 3), (12, 4)]))
        .set("ownershipcode", ownership as i64)
        .set("preferredcontactmethodcode", weighted(rng, &[(1i64, 40), (2, 30), (3, 25), (5, 5)]))
        .set("ownerid", reference("systemuser", ctx.owners[owner]));
    if rng.gen_bool(0.3) {
        f.set("telephone2", phone(rng, city));
    }
    if rng.gen_bool(0.15) {
        f.set("fax", phone(rng, city));
    }
    if rng.gen_bool(0.2) {
        f.set(
            "address1_line2",
            if lang == Lang::Ru {
                format!("офис {}", rng.gen_range(1..600))
            } else {
                format!("Suite {}", rng.gen_range(1..40) * 10)
            },
        );
    }
    if rng.gen_bool(0.4) {
        f.set("creditlimit", money(rng, 4.0, 7.0)).set("creditonhold", rng.gen_bool(0.05));
    }
    if ownership == 1 && lang == Lang::En {
        let ticker: String =
            company.short.chars().filter(|c| c.is_ascii_alphabetic()).take(4).collect::<String>().to_uppercase();
        f.set("tickersymbol", ticker);
    }
    if rng.gen_bool(0.25) {
        f.set("description", sentences(rng, lang, 2));
    }
    if rng.gen_bool(0.04) {
        f.set("statecode", 1i64).set("statuscode", 2i64);
    }
    // A few subsidiaries of earlier accounts.
    if !ctx.accounts.is_empty() && rng.gen_bool(0.05) {
        let parent = ctx.accounts[rng.gen_range(0..ctx.accounts.len())].id;
        f.set("parentaccountid", reference("account", parent));
    }
    let facts = Account { id: Uuid::nil(), lang, city, owner, domain, short: company.short, primary_contact: None };
    ("account", f.into_input(), facts)
}

fn contact(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, (Option<usize>, usize)) {
    let account = (!ctx.accounts.is_empty() && ctx.rng.gen_bool(0.9)).then(|| ctx.rng.gen_range(0..ctx.accounts.len()));
    let (lang, city, owner, domain) = match account {
        Some(a) => {
            let acc = &ctx.accounts[a];
            (acc.lang, acc.city, acc.owner, Some(acc.domain.clone()))
        }
        None => {
            let lang = lang(&mut ctx.rng);
            (lang, city(&mut ctx.rng, lang), ctx.random_owner(), None)
        }
    };
    let owner = ctx.owner_like(owner);
    let owner_ref = ctx.owner_ref(owner);
    let rng = &mut ctx.rng;
    let p = person(rng, lang);
    let domain = domain.unwrap_or_else(|| free_mail_domain(rng, lang).to_string());
    let mut f = Fields::default();
    f.set("firstname", p.first.as_str())
        .set("middlename", p.middle.clone())
        .set("lastname", p.last.as_str())
        .set("gendercode", p.gender)
        .set("jobtitle", *pick(rng, by_lang(lang, EN_JOB_TITLES, RU_JOB_TITLES)))
        .set("department", *pick(rng, by_lang(lang, EN_DEPARTMENTS, RU_DEPARTMENTS)))
        .set("emailaddress1", email(&p.first, &p.last, &domain))
        .set("telephone1", phone(rng, city))
        .set("mobilephone", mobile(rng, lang, city))
        .set("address1_line1", street(rng, lang))
        .set("address1_city", city.name)
        .set("address1_stateorprovince", city.region)
        .set("address1_postalcode", fill_pattern(rng, city.postal))
        .set("address1_country", city.country)
        .set("preferredcontactmethodcode", weighted(rng, &[(1i64, 30), (2, 40), (3, 30)]))
        .set("donotemail", rng.gen_bool(0.03))
        .set("ownerid", owner_ref);
    if lang == Lang::En && rng.gen_bool(0.6) {
        f.set(
            "salutation",
            if rng.gen_bool(0.1) {
                "Dr."
            } else if p.gender == 1 {
                "Mr."
            } else {
                "Ms."
            },
        );
    }
    if rng.gen_bool(0.4) {
        let age_days = rng.gen_range(25 * 365..65 * 365);
        f.set("birthdate", ctx.now - Duration::days(age_days));
    }
    if rng.gen_bool(0.3) {
        f.set("familystatuscode", rng.gen_range(1..=4i64));
    }
    if let Some(a) = account {
        f.set("parentcustomerid", reference("account", ctx.accounts[a].id));
    }
    if ctx.rng.gen_bool(0.03) {
        f.set("statecode", 1i64).set("statuscode", 2i64);
    }
    ("contact", f.into_input(), (account, owner))
}

fn lead(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, (usize, Option<usize>)) {
    let owner = ctx.random_owner();
    let owner_ref = ctx.owner_ref(owner);
    let now = ctx.now;
    let rng = &mut ctx.rng;
    let lang = lang(rng);
    let city = city(rng, lang);
    let p = person(rng, lang);
    let company = company(rng, lang);
    let domain = format!("{}.{}", company.slug, tld(rng, city));
    let product = *pick(rng, by_lang(lang, EN_PRODUCTS, RU_PRODUCTS));
    let (state, status) = weighted(
        rng,
        &[((0i64, 1i64), 35), ((0, 2), 25), ((1, 3), 20), ((2, 4), 6), ((2, 5), 5), ((2, 6), 5), ((2, 7), 4)],
    );
    let mut f = Fields::default();
    f.set(
        "subject",
        if lang == Lang::Ru {
            format!("Интерес: {product}")
        } else {
            format!("Interested in {}", product.to_lowercase())
        },
    )
    .set("firstname", p.first.as_str())
    .set("middlename", p.middle.clone())
    .set("lastname", p.last.as_str())
    .set("companyname", company.name.chars().take(100).collect::<String>())
    .set("jobtitle", *pick(rng, by_lang(lang, EN_JOB_TITLES, RU_JOB_TITLES)))
    .set("emailaddress1", email(&p.first, &p.last, &domain))
    .set("telephone1", phone(rng, city))
    .set("mobilephone", mobile(rng, lang, city))
    .set("websiteurl", format!("https://{domain}"))
    .set("address1_city", city.name)
    .set("address1_stateorprovince", city.region)
    .set("address1_country", city.country)
    .set("leadsourcecode", rng.gen_range(1..=10i64))
    .set("leadqualitycode", weighted(rng, &[(1i64, 20), (2, 45), (3, 35)]))
    .set("industrycode", rng.gen_range(1..=33i64))
    .set("estimatedamount", money(rng, 3.0, 6.5))
    .set("estimatedclosedate", days(rng, now, 7, 200))
    .set("numberofemployees", 10f64.powf(rng.gen_range(0.5..4.5)).round() as i64)
    .set("budgetstatus", rng.gen_range(0..=3i64))
    .set("purchasetimeframe", rng.gen_range(0..=4i64))
    .set("purchaseprocess", rng.gen_range(0..=2i64))
    .set("need", rng.gen_range(0..=3i64))
    .set("initialcommunication", rng.gen_range(0..=1i64))
    .set("decisionmaker", rng.gen_bool(0.35))
    .set("statecode", state)
    .set("statuscode", status)
    .set("ownerid", owner_ref);
    if rng.gen_bool(0.5) {
        f.set("budgetamount", money(rng, 3.0, 6.5));
    }
    if rng.gen_bool(0.3) {
        f.set("description", sentences(rng, lang, 2));
    }
    // Qualified leads became customers: link them to an account.
    let mut qualified = None;
    if state == 1 && !ctx.accounts.is_empty() {
        let a = ctx.rng.gen_range(0..ctx.accounts.len());
        let acc = &ctx.accounts[a];
        f.set("parentaccountid", reference("account", acc.id)).set("customerid", reference("account", acc.id));
        if let Some(c) = acc.primary_contact {
            f.set("parentcontactid", reference("contact", c));
        }
        f.set("qualificationcomments", sentences(&mut ctx.rng, acc.lang, 1));
        qualified = Some(a);
    }
    ("lead", f.into_input(), (owner, qualified))
}

fn opportunity(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, (usize, usize)) {
    let from_lead = (!ctx.qualified.is_empty() && ctx.rng.gen_bool(0.25))
        .then(|| ctx.qualified[ctx.rng.gen_range(0..ctx.qualified.len())]);
    let a = match from_lead {
        Some((_, a)) => a,
        None => ctx.rng.gen_range(0..ctx.accounts.len()),
    };
    let acc = &ctx.accounts[a];
    let (account_id, lang, short, contact, acc_owner) =
        (acc.id, acc.lang, acc.short.clone(), acc.primary_contact, acc.owner);
    let owner = ctx.owner_like(acc_owner);
    let owner_ref = ctx.owner_ref(owner);
    let now = ctx.now;
    let rng = &mut ctx.rng;
    let product = *pick(rng, by_lang(lang, EN_PRODUCTS, RU_PRODUCTS));
    let qty = *pick(rng, &[5, 10, 12, 20, 25, 50, 100, 200]);
    let name = match (lang, rng.gen_range(0..3)) {
        (Lang::En, 0) => format!("{qty} × {} for {short}", product.to_lowercase()),
        (Lang::En, _) => format!("{product} — {short}"),
        (Lang::Ru, 0) => format!("{product} ({qty} шт.) для {short}"),
        (Lang::Ru, _) => format!("{product} — {short}"),
    };
    let estimated = money(rng, 3.0, 6.3);
    let (state, status) = weighted(rng, &[((0i64, 1i64), 50), ((0, 2), 10), ((1, 3), 22), ((2, 4), 10), ((2, 5), 8)]);
    let mut f = Fields::default();
    f.set("name", name)
        .set("customerid", reference("account", account_id))
        .set("parentaccountid", reference("account", account_id))
        .set("estimatedvalue", estimated)
        .set("opportunityratingcode", weighted(rng, &[(1i64, 25), (2, 45), (3, 30)]))
        .set("budgetstatus", rng.gen_range(0..=3i64))
        .set("purchasetimeframe", rng.gen_range(0..=4i64))
        .set("purchaseprocess", rng.gen_range(0..=2i64))
        .set("need", rng.gen_range(0..=3i64))
        .set("decisionmaker", rng.gen_bool(0.5))
        .set("customerneed", sentences(rng, lang, 1))
        .set("statecode", state)
        .set("statuscode", status)
        .set("ownerid", owner_ref);
    if let Some(c) = contact {
        f.set("parentcontactid", reference("contact", c));
    }
    if let Some((lead, _)) = from_lead {
        f.set("originatingleadid", reference("lead", lead));
    }
    if rng.gen_bool(0.4) {
        f.set("budgetamount", money(rng, 3.0, 6.5));
    }
    if rng.gen_bool(0.3) {
        f.set("description", sentences(rng, lang, 2)).set("proposedsolution", sentences(rng, lang, 1));
    }
    match state {
        0 => {
            let stage = rng.gen_range(0..=3i64);
            let steps = by_lang(
                lang,
                &["1-Qualify", "2-Develop", "3-Propose", "4-Close"],
                &["1-Квалификация", "2-Разработка", "3-Предложение", "4-Закрытие"],
            );
            f.set("salesstage", stage)
                .set("stepname", steps[stage as usize])
                .set("closeprobability", (stage * 20 + rng.gen_range(5..=25)).min(95))
                .set("estimatedclosedate", days(rng, now, 3, 180));
        }
        1 => {
            let closed = days(rng, now, -365, -1);
            let actual = (estimated * Decimal::from(rng.gen_range(80..=110)) / Decimal::from(100)).round_dp(0);
            f.set("salesstage", 3i64)
                .set("closeprobability", 100i64)
                .set("estimatedclosedate", closed)
                .set("actualclosedate", closed)
                .set("actualvalue", actual);
        }
        _ => {
            let closed = days(rng, now, -365, -1);
            f.set("closeprobability", 0i64).set("estimatedclosedate", closed).set("actualclosedate", closed);
        }
    }
    ("opportunity", f.into_input(), (a, owner))
}

fn activity(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, ()) {
    // Regarding an account or one of its opportunities.
    let (regarding, acc_index, owner) = if !ctx.opportunities.is_empty() && ctx.rng.gen_bool(0.4) {
        let (id, a, owner) = ctx.opportunities[ctx.rng.gen_range(0..ctx.opportunities.len())];
        (reference("opportunity", id), a, owner)
    } else {
        let a = ctx.rng.gen_range(0..ctx.accounts.len());
        (reference("account", ctx.accounts[a].id), a, ctx.accounts[a].owner)
    };
    let owner = ctx.owner_like(owner);
    let owner_ref = ctx.owner_ref(owner);
    let now = ctx.now;
    let acc = &ctx.accounts[acc_index];
    let (lang, city, domain) = (acc.lang, acc.city, acc.domain.clone());
    let rng = &mut ctx.rng;
    let when = work_time(rng, now, -90, 30);
    let past = when < now;
    // 0 open, 1 completed, 2 canceled
    let outcome = if past { weighted(rng, &[(1, 78), (2, 6), (0, 16)]) } else { 0 };
    let kind = weighted(rng, &[("task", 35), ("phonecall", 30), ("appointment", 15), ("email", 20)]);
    let mut f = Fields::default();
    f.set("regardingobjectid", regarding)
        .set("ownerid", owner_ref)
        .set("prioritycode", weighted(rng, &[(0i64, 15), (1, 70), (2, 15)]));
    match kind {
        "task" => {
            f.set("subject", *pick(rng, by_lang(lang, EN_TASKS, RU_TASKS))).set("scheduledend", when);
            let (state, status, pct) = match outcome {
                1 => (1i64, 5i64, 100i64),
                2 => (2, 6, 0),
                _ => {
                    let s = weighted(rng, &[(2i64, 50), (3, 30), (4, 12), (7, 8)]);
                    (0, s, if s == 3 { rng.gen_range(1..10) * 10 } else { 0 })
                }
            };
            f.set("statecode", state).set("statuscode", status).set("percentcomplete", pct);
            if rng.gen_bool(0.3) {
                f.set("description", sentences(rng, lang, 1));
            }
        }
        "phonecall" => {
            let minutes = rng.gen_range(1..=6) * 5;
            let outgoing = rng.gen_bool(0.7);
            f.set("subject", *pick(rng, by_lang(lang, EN_CALLS, RU_CALLS)))
                .set("phonenumber", phone(rng, city))
                .set("directioncode", outgoing)
                .set("scheduledstart", when)
                .set("scheduledend", when + Duration::minutes(minutes));
            match outcome {
                1 => {
                    f.set("statecode", 1i64)
                        .set("statuscode", if outgoing { 2i64 } else { 4 })
                        .set("actualdurationminutes", minutes)
                        .set("actualend", when + Duration::minutes(minutes))
                        .set("leftvoicemail", rng.gen_bool(0.1));
                }
                2 => {
                    f.set("statecode", 2i64).set("statuscode", 3i64);
                }
                _ => {
                    f.set("statecode", 0i64).set("statuscode", 1i64);
                }
            }
        }
        "appointment" => {
            let minutes = rng.gen_range(2..=8) * 15;
            let location = if rng.gen_bool(0.3) {
                by_lang(lang, &["Video call", "Our office"], &["Видеозвонок", "Наш офис"])[rng.gen_range(0..2)]
                    .to_string()
            } else {
                format!("{}, {}", city.name, street(rng, lang))
            };
            f.set("subject", *pick(rng, by_lang(lang, EN_MEETINGS, RU_MEETINGS)))
                .set("location", location)
                .set("scheduledstart", when)
                .set("scheduledend", when + Duration::minutes(minutes))
                .set("isalldayevent", false);
            let (state, status) = match outcome {
                1 => (1i64, 3i64),
                2 => (2, 4),
                _ => weighted(rng, &[((3i64, 5i64), 70), ((0, 1), 15), ((0, 2), 15)]),
            };
            f.set("statecode", state).set("statuscode", status);
            if state == 1 {
                f.set("actualstart", when).set("actualend", when + Duration::minutes(minutes));
            }
        }
        _ => {
            let outgoing = rng.gen_bool(0.6);
            let ours = "sales@relata.example";
            let theirs = format!("{}@{domain}", pick(rng, &["info", "office", "procurement", "ceo"]));
            let (from, to) = if outgoing { (ours.to_string(), theirs) } else { (theirs, ours.to_string()) };
            f.set("subject", *pick(rng, by_lang(lang, EN_EMAILS, RU_EMAILS)))
                .set("description", sentences(rng, lang, 3))
                .set("directioncode", outgoing)
                .set("sender", from)
                .set("torecipients", to);
            match outcome {
                1 => {
                    f.set("statecode", 1i64).set("statuscode", if outgoing { 3i64 } else { 4 }).set("actualend", when);
                }
                2 => {
                    f.set("statecode", 2i64).set("statuscode", 5i64);
                }
                _ => {
                    f.set("statecode", 0i64).set("statuscode", 1i64);
                }
            }
        }
    }
    (kind, f.into_input(), ())
}

fn note(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, ()) {
    let which = weighted(&mut ctx.rng, &[(0, 50), (1, 20), (2, 20), (3, 10)]);
    let (object, lang, owner) = match which {
        1 if !ctx.contacts.is_empty() => {
            let (id, owner) = ctx.contacts[ctx.rng.gen_range(0..ctx.contacts.len())];
            (reference("contact", id), lang(&mut ctx.rng), owner)
        }
        2 if !ctx.opportunities.is_empty() => {
            let (id, a, owner) = ctx.opportunities[ctx.rng.gen_range(0..ctx.opportunities.len())];
            (reference("opportunity", id), ctx.accounts[a].lang, owner)
        }
        3 if !ctx.leads.is_empty() => {
            let (id, owner) = ctx.leads[ctx.rng.gen_range(0..ctx.leads.len())];
            (reference("lead", id), lang(&mut ctx.rng), owner)
        }
        _ => {
            let a = &ctx.accounts[ctx.rng.gen_range(0..ctx.accounts.len())];
            (reference("account", a.id), a.lang, a.owner)
        }
    };
    let owner = ctx.owner_like(owner);
    let owner_ref = ctx.owner_ref(owner);
    let rng = &mut ctx.rng;
    let n = rng.gen_range(1..=4);
    let mut f = Fields::default();
    f.set("subject", *pick(rng, by_lang(lang, EN_NOTE_SUBJECTS, RU_NOTE_SUBJECTS)))
        .set("notetext", sentences(rng, lang, n))
        .set("objectid", object)
        .set("ownerid", owner_ref);
    ("annotation", f.into_input(), ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_template_is_valid() {
        assert!(indicatif::ProgressStyle::with_template(super::PROGRESS_TEMPLATE).is_ok());
    }
}
