//! `relata demo`: a believable company with a year of sales history,
//! made through the engine's write pipeline and sales actions, so every
//! rule applies. Reproducible: the same seed (and day) gives the same data.

pub mod company;
pub mod generate;
pub mod sales;
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
use self::sales::{Customer, DealRecord};
use self::words::*;
use super::{open_admin, Access};
use crate::config::{Flags, Settings};

/// Records per transaction: large enough to amortize commits, small enough
/// not to hold SQLite's write lock for long while a server runs.
const BATCH: usize = 500;
const DEFAULT_SEED: u64 = 20_240_601;
/// The password of the demo's users unless --password says otherwise.
pub const DEMO_PASSWORD: &str = "Demo-Passw0rd!";
const PROGRESS_TEMPLATE: &str =
    "{spinner:.green} {msg:<16} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate}, {eta} left)";

/// What `relata demo --help` says it makes.
pub const ABOUT: &str = "\
Fill the database with a demo company and a year of its sales history.

It makes, through the same engine calls as the Web API (so every rule and
privilege applies):
  - business units: the head office (the root unit) and two regions;
  - ten users in them who can sign in, with roles (System Administrator,
    Sales Manager, Salesperson, Marketing Professional), managers, job
    titles, language and time zone, all with one demo password;
  - a catalog: unit groups with units, products, and a price list with an
    item for each product (in US dollars, or roubles with --language ru;
    the currency is added when the organization's base currency differs);
  - customer accounts and contacts owned by the sales staff; leads from
    every source, open and disqualified;
  - opportunities at every sales stage with product lines priced from the
    price list, some made by qualifying a lead, acted out by their owners:
    quotes drafted and sent, deals won and lost over the past twelve
    months, orders fulfilled, invoices and their payments;
  - phone calls, tasks, appointments and emails over the past year and the
    next four weeks (done, canceled, overdue and coming), and notes.

The sign-in emails and the password are printed at the end. Running it
again adds more customers and deals to the same company (its units, users
and catalog are reused; existing users keep their password).";

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Size {
    /// About 200 accounts, 150 deals and 3,500 records in all
    Small,
    /// 100,000 accounts, 20,000 deals and about 450,000 records in all
    Large,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Language {
    /// An American company: English names, cities, products; US dollars
    En,
    /// A Russian company: Russian names, cities, products; roubles, VAT
    Ru,
}

#[derive(Args)]
pub struct DemoArgs {
    /// How much data to generate
    #[arg(long, value_enum, default_value_t = Size::Small)]
    pub size: Size,
    /// Random seed; the same seed gives the same data
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Language of the company, its people, customers and products
    #[arg(long, value_enum, default_value_t = Language::En)]
    pub language: Language,
    /// Password of the demo users (at least 8 characters)
    #[arg(long, default_value = DEMO_PASSWORD, env = "RELATA_DEMO_PASSWORD", hide_env_values = true)]
    pub password: String,
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
                Counts { accounts: 200, contacts: 400, leads: 120, opportunities: 150, activities: 1200, notes: 200 }
            }
            Size::Large => Counts {
                accounts: 100_000,
                contacts: 100_000,
                leads: 20_000,
                opportunities: 20_000,
                activities: 60_000,
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
    lang: Lang,
    /// Who owns customer records: salespeople three times, sales managers
    /// once, so a random pick gives the salespeople most.
    owners: Vec<Uuid>,
    /// Who owns some of the leads besides the sales staff.
    marketers: Vec<Uuid>,
    mailbox: &'static str,
    accounts: Vec<Account>,
    /// Contact, owner.
    contacts: Vec<(Uuid, usize)>,
    /// Lead, owner.
    leads: Vec<(Uuid, Uuid)>,
    /// Open leads of the sales staff, which deals may qualify.
    open_leads: Vec<(Uuid, Uuid)>,
    deals: Vec<DealRecord>,
    /// The products leads ask about.
    catalog: &'static [ProductDef],
    /// When the record being made was created (set by its maker).
    stamp: Option<DateTime<Utc>>,
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
    fn owner_index(&self, id: Uuid) -> usize {
        self.owners.iter().position(|o| *o == id).unwrap_or(0)
    }
}

pub fn run(flags: &Flags, args: DemoArgs) -> Result<()> {
    super::init_cli_logging();
    let mut settings = Settings::load(flags)?;
    if args.password.chars().count() < 8 {
        anyhow::bail!("the demo password must be at least 8 characters long");
    }
    let lang = match args.language {
        Language::En => Lang::En,
        Language::Ru => Lang::Ru,
    };
    // A database the demo starts is the demo company's: named after it,
    // in its currency, unless the settings say otherwise. (An existing
    // database keeps its own.)
    let defaults = relata_engine::OrgConfig::default();
    let (demo_company, demo_currency) = match lang {
        Lang::En => (&EN_COMPANY, EN_CURRENCY.0),
        Lang::Ru => (&RU_COMPANY, RU_CURRENCY.0),
    };
    if settings.organization_name == defaults.organization_name {
        settings.organization_name = demo_company.name.to_string();
    }
    if settings.base_currency == defaults.base_currency {
        settings.base_currency = demo_currency.to_string();
    }
    let org = open_admin(&settings, Access::Create)?;
    let counts = args.size.counts();
    let started = Instant::now();

    let company = company::set_up(&org, lang, &args.password)?;
    let new_users = company.staff.iter().filter(|m| m.new).count();
    eprintln!(
        "  company          {} business units, {} users ({new_users} new), {} products, price list '{}' in {} in {:.1} s",
        company.units.len(),
        company.staff.len(),
        company.catalog.len(),
        company.price_list_name,
        company.currency,
        started.elapsed().as_secs_f64()
    );
    let mut owners = Vec::new();
    for m in &company.staff {
        let times = match m.job {
            Job::Salesperson => 3,
            Job::SalesManager => 1,
            _ => 0,
        };
        owners.extend(std::iter::repeat_n(m.id, times));
    }
    let marketers = company.staff.iter().filter(|m| m.job == Job::Marketing).map(|m| m.id).collect();
    let today = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc();
    let mut ctx = Ctx {
        rng: StdRng::seed_from_u64(args.seed),
        // Dates are drawn relative to the start of today, so the same seed
        // gives the same data all day.
        now: today,
        lang,
        owners,
        marketers,
        mailbox: company.def.sales_mailbox,
        accounts: Vec::with_capacity(counts.accounts),
        contacts: Vec::with_capacity(counts.contacts),
        leads: Vec::with_capacity(counts.leads),
        open_leads: Vec::new(),
        deals: Vec::with_capacity(counts.opportunities),
        catalog: match lang {
            Lang::En => EN_CATALOG,
            Lang::Ru => RU_CATALOG,
        },
        stamp: None,
    };

    let total =
        counts.accounts + counts.contacts * 2 + counts.leads + counts.opportunities + counts.activities + counts.notes;
    let pb = ProgressBar::new(total as u64);
    pb.set_style(super::progress_style(PROGRESS_TEMPLATE));
    pb.enable_steady_tick(StdDuration::from_millis(200));

    let mut w = Writer { org: &org, pb: &pb, updated: 0 };
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
    w.phase("leads", &mut ctx, counts.leads, lead, |ctx, id, (owner, open)| {
        ctx.leads.push((id, owner));
        if open {
            ctx.open_leads.push((id, owner));
        }
    })?;

    // The sales story, acted out by the deals' owners.
    pb.set_message("deals");
    let deals_started = Instant::now();
    let customers: Vec<Customer> = ctx
        .accounts
        .iter()
        .enumerate()
        .map(|(index, a)| Customer {
            index,
            account: a.id,
            owner: ctx.owners[a.owner],
            // A contact the owner has (contacts of an account are its owner's).
            contact: a.primary_contact,
            short: a.short.clone(),
        })
        .collect();
    let plan = sales::plan(&mut ctx.rng, &company, ctx.now, counts.opportunities, &customers, &mut ctx.open_leads);
    let mut sales_counts = sales::SalesCounts::default();
    ctx.deals = sales::carry_out(&org, &company, &plan, &mut sales_counts, |n| pb.inc(n as u64))?;
    w.report("deals", plan.len(), deals_started);

    w.phase("activities", &mut ctx, counts.activities, activity, |_, _, ()| {})?;
    w.phase("notes", &mut ctx, counts.notes, note, |_, _, ()| {})?;
    pb.finish_and_clear();

    let secs = started.elapsed().as_secs_f64().max(0.001);
    let sc = &sales_counts;
    println!(
        "{} ({} business units, {} users, {} products on the price list '{}' in {})",
        company.def.name,
        company.units.len(),
        company.staff.len(),
        company.catalog.len(),
        company.price_list_name,
        company.currency
    );
    println!(
        "created {} accounts, {} contacts, {} leads, {} activities, {} notes; linked {} primary contacts",
        counts.accounts, counts.contacts, counts.leads, counts.activities, counts.notes, w.updated
    );
    println!(
        "sales: {} opportunities ({} open, {} won, {} lost; {} from qualified leads) with {} product lines, \
         {} quotes, {} orders, {} invoices, {} payments",
        sc.opportunities,
        sc.open,
        sc.won,
        sc.lost,
        sc.from_leads,
        sc.lines,
        sc.quotes,
        sc.orders,
        sc.invoices,
        sc.payments
    );
    println!("in {secs:.1} s (seed {}, size {:?}, language {:?})", args.seed, args.size, args.language);
    println!();
    println!("Sign in as (password: {}):", if new_users > 0 { args.password.as_str() } else { "unchanged" });
    let rows: Vec<[String; 5]> = company
        .staff
        .iter()
        .map(|m| {
            [
                m.email.clone(),
                m.name.clone(),
                m.title.to_string(),
                m.job.role().to_string(),
                if m.new {
                    company.unit_names[m.unit].clone()
                } else {
                    format!("{} (existed before)", company.unit_names[m.unit])
                },
            ]
        })
        .collect();
    super::user::print_table(&["EMAIL", "NAME", "TITLE", "ROLE", "BUSINESS UNIT"], &rows);
    Ok(())
}

struct Writer<'a> {
    org: &'a Org,
    pb: &'a ProgressBar,
    updated: usize,
}

impl Writer<'_> {
    /// Creates `n` records in transactions of `BATCH`; `make` builds one
    /// (entity, input, facts) and may say when it was created
    /// (`ctx.stamp`), `done` records the facts under the new id.
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
                batch.push((entity, input, ctx.stamp.take()));
                facts.push(fact);
            }
            let mut failed = "";
            let ids = self
                .org
                .write(&principal, |s| {
                    let mut ids = Vec::with_capacity(batch.len());
                    let real_now = s.now;
                    for (entity, input, created) in batch {
                        failed = entity;
                        s.now = created.unwrap_or(real_now);
                        ids.push(s.create(entity, input)?);
                    }
                    Ok::<_, EngineError>(ids)
                })
                .with_context(|| format!("cannot create a demo {failed} record"))?;
            for (id, fact) in ids.into_iter().zip(facts) {
                done(ctx, id, fact);
            }
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
    let lang = ctx.lang;
    let rng = &mut ctx.rng;
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
    // Customers of the last two and a half years.
    ctx.stamp = Some(work_time(&mut ctx.rng, ctx.now, -900, -30));
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
            let lang = ctx.lang;
            (lang, city(&mut ctx.rng, lang), ctx.random_owner(), None)
        }
    };
    // An account's contacts are its owner's, so the deals they sell can name them.
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
    ctx.stamp = Some(work_time(&mut ctx.rng, ctx.now, -800, -20));
    ("contact", f.into_input(), (account, owner))
}

/// A lead: the marketers own some, the sales staff the others. Open leads
/// of the sales staff may later be qualified into deals.
fn lead(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, (Uuid, bool)) {
    let marketing = !ctx.marketers.is_empty() && ctx.rng.gen_bool(0.3);
    let owner = if marketing {
        ctx.marketers[ctx.rng.gen_range(0..ctx.marketers.len())]
    } else {
        let i = ctx.random_owner();
        ctx.owners[i]
    };
    let owner_ref = reference("systemuser", owner);
    let now = ctx.now;
    let lang = ctx.lang;
    let rng = &mut ctx.rng;
    let city = city(rng, lang);
    let p = person(rng, lang);
    let company = company(rng, lang);
    let domain = format!("{}.{}", company.slug, tld(rng, city));
    let product = pick(rng, ctx.catalog).name;
    let (state, status) =
        weighted(rng, &[((0i64, 1i64), 40), ((0, 2), 30), ((2, 4), 8), ((2, 5), 8), ((2, 6), 7), ((2, 7), 7)]);
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
    ctx.stamp = Some(work_time(&mut ctx.rng, now, -365, -1));
    ("lead", f.into_input(), (owner, state == 0 && !marketing))
}

fn activity(ctx: &mut Ctx, _k: usize) -> (&'static str, RecordInput, ()) {
    let now = ctx.now;
    // About a deal, during its life (up to four weeks ahead), or about an
    // account at any time of the past year or the next four weeks.
    let horizon = now + Duration::days(28);
    let (regarding, acc_index, owner, when) = if !ctx.deals.is_empty() && ctx.rng.gen_bool(0.45) {
        let d = &ctx.deals[ctx.rng.gen_range(0..ctx.deals.len())];
        let (id, a, owner, from, until) = (d.opportunity, d.account, ctx.owner_index(d.owner), d.from, d.until);
        let until = until.min(horizon).max(from + Duration::hours(1));
        let when = from + Duration::minutes(ctx.rng.gen_range(0..(until - from).num_minutes().max(1)));
        let when = at_work(&mut ctx.rng, when);
        (reference("opportunity", id), a, owner, when)
    } else {
        let a = ctx.rng.gen_range(0..ctx.accounts.len());
        let when = work_time(&mut ctx.rng, now, -365, 28);
        (reference("account", ctx.accounts[a].id), a, ctx.accounts[a].owner, when)
    };
    let owner = ctx.owner_like(owner);
    let owner_ref = ctx.owner_ref(owner);
    // Planned a few days ahead (but not after today).
    let planned = when.min(Utc::now()) - Duration::days(ctx.rng.gen_range(0..10));
    ctx.stamp = Some(planned);
    let mailbox = ctx.mailbox;
    let acc = &ctx.accounts[acc_index];
    let (lang, city, domain) = (acc.lang, acc.city, acc.domain.clone());
    let rng = &mut ctx.rng;
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
            let ours = mailbox;
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
    let lang = ctx.lang;
    let (object, owner) = match which {
        1 if !ctx.contacts.is_empty() => {
            let (id, owner) = ctx.contacts[ctx.rng.gen_range(0..ctx.contacts.len())];
            (reference("contact", id), owner)
        }
        2 if !ctx.deals.is_empty() => {
            let d = &ctx.deals[ctx.rng.gen_range(0..ctx.deals.len())];
            (reference("opportunity", d.opportunity), ctx.owner_index(d.owner))
        }
        3 if !ctx.leads.is_empty() => {
            let (id, owner) = ctx.leads[ctx.rng.gen_range(0..ctx.leads.len())];
            (reference("lead", id), ctx.owner_index(owner))
        }
        _ => {
            let a = &ctx.accounts[ctx.rng.gen_range(0..ctx.accounts.len())];
            (reference("account", a.id), a.owner)
        }
    };
    ctx.stamp = Some(work_time(&mut ctx.rng, ctx.now, -365, -1));
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
