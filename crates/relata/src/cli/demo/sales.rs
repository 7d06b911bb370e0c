//! The sales story of the past year, acted out by each deal's owner
//! through the engine's sales actions, so that their roles apply and the
//! records carry their name: opportunities at every stage with product
//! lines priced from the price list (some from a qualified lead), quotes
//! drafted and sent, deals won and lost, orders fulfilled, invoices and
//! their payments. Every step happens on its own day (the session's clock
//! is set to it), so won revenue spreads over the months, and nothing
//! happens after today.
//!
//! The whole plan is drawn from the seeded generator first; only then is
//! it carried out, owner by owner, so the data depends on the seed alone.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use relata_engine::{CloseRequest, EngineError, Org, QualifyLead, RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::company::Company;
use super::generate::*;
use super::words::*;
use crate::cli::query_all;

/// Deals carried out per transaction.
const DEALS_PER_BATCH: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Still open at this sales stage (0 Qualify … 3 Close).
    Open {
        stage: i64,
    },
    Won,
    /// Lost with this status (4 Canceled, 5 Out-Sold).
    Lost {
        status: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuotePlan {
    None,
    /// Generated from the opportunity and left a draft.
    Draft,
    /// Generated and sent to the customer (active).
    Active,
}

/// One line: a catalog item, the quantity, and whether in the larger unit.
struct LinePlan {
    item: usize,
    quantity: Decimal,
    larger: bool,
}

/// Everything that will happen to one deal, and when.
pub struct Deal {
    owner: Uuid,
    account: Uuid,
    account_index: usize,
    contact: Option<Uuid>,
    /// An open lead of the owner's that this deal qualifies.
    lead: Option<Uuid>,
    name: String,
    lines: Vec<LinePlan>,
    discount: Option<Decimal>,
    rating: i64,
    outcome: Outcome,
    quote: QuotePlan,
    created: DateTime<Utc>,
    quoted: DateTime<Utc>,
    /// When it was won or lost; for open deals the estimated close date.
    closed: DateTime<Utc>,
    /// Won deals: the order's fulfilment, the invoice, and the payments
    /// (date, share of the invoice's total).
    fulfilled: Option<DateTime<Utc>>,
    invoiced: Option<DateTime<Utc>>,
    payments: Vec<(DateTime<Utc>, Decimal)>,
}

/// What a deal became, for the activities and notes about it.
pub struct DealRecord {
    pub opportunity: Uuid,
    pub owner: Uuid,
    /// Where the account is in the demo's list of accounts.
    pub account: usize,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(Default, Debug)]
pub struct SalesCounts {
    pub opportunities: usize,
    pub open: usize,
    pub won: usize,
    pub lost: usize,
    pub from_leads: usize,
    pub lines: usize,
    pub quotes: usize,
    pub orders: usize,
    pub invoices: usize,
    pub payments: usize,
}

/// A customer a deal can be made with: the account, its owner and its
/// primary contact when the same owner has it.
pub struct Customer {
    /// Where the account is in the demo's list of accounts.
    pub index: usize,
    pub account: Uuid,
    pub owner: Uuid,
    pub contact: Option<Uuid>,
    pub short: String,
}

/// Midnight (UTC) of the day of `t`: what date-only columns hold.
fn day_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Draws the plan of `n` deals. `today` is the start of the current day:
/// every date is drawn relative to it and only what falls before it
/// happens, so the plan depends on the seed and the day alone.
pub fn plan(
    rng: &mut StdRng,
    company: &Company,
    today: DateTime<Utc>,
    n: usize,
    customers: &[Customer],
    open_leads: &mut Vec<(Uuid, Uuid)>,
) -> Vec<Deal> {
    let lang = company.lang;
    let now = today;
    let mut deals = Vec::with_capacity(n);
    for k in 0..n {
        let c = &customers[rng.gen_range(0..customers.len())];
        let theme = THEMES[rng.gen_range(0..THEMES.len())];
        // Products of the deal's theme, sometimes with one from another.
        let mut items: Vec<usize> =
            company.catalog.iter().enumerate().filter(|(_, it)| it.def.theme == theme).map(|(i, _)| i).collect();
        let mut picked = Vec::new();
        for _ in 0..rng.gen_range(1..=3usize.min(items.len())) {
            picked.push(items.swap_remove(rng.gen_range(0..items.len())));
        }
        if rng.gen_bool(0.25) {
            let extra = rng.gen_range(0..company.catalog.len());
            if !picked.contains(&extra) {
                picked.push(extra);
            }
        }
        let lines = picked
            .into_iter()
            .map(|item| {
                let def = company.catalog[item].def;
                let (lo, hi) = def.quantity;
                let larger = company.catalog[item].larger.is_some() && rng.gen_bool(0.3);
                let qty = if larger { rng.gen_range(1..=(hi / 10).max(2)) } else { rng.gen_range(lo..=hi) };
                LinePlan { item, quantity: Decimal::from(qty), larger }
            })
            .collect();

        // Open deals spread evenly over the stages; the others were won or
        // lost in the past year.
        let outcome = match weighted(rng, &[(0, 40), (1, 38), (2, 22)]) {
            0 => Outcome::Open { stage: (k % 4) as i64 },
            1 => Outcome::Won,
            _ => Outcome::Lost { status: weighted(rng, &[(4i64, 40), (5, 60)]) },
        };
        let (created, closed) = match outcome {
            Outcome::Open { stage } => {
                let created = work_time(rng, now, -30 - 25 * stage, -1);
                (created, day_of(days(rng, now, 7, 120)))
            }
            _ => {
                let closed = work_time(rng, now, -365, -1);
                (closed - Duration::days(rng.gen_range(14..100)), closed)
            }
        };
        let quote = match outcome {
            Outcome::Open { stage: 2 } => {
                weighted(rng, &[(QuotePlan::Draft, 50), (QuotePlan::Active, 30), (QuotePlan::None, 20)])
            }
            Outcome::Open { stage: 3 } => weighted(rng, &[(QuotePlan::Active, 80), (QuotePlan::Draft, 20)]),
            Outcome::Open { .. } => QuotePlan::None,
            Outcome::Won => weighted(rng, &[(QuotePlan::Active, 85), (QuotePlan::None, 15)]),
            Outcome::Lost { .. } => weighted(rng, &[(QuotePlan::Active, 40), (QuotePlan::None, 60)]),
        };
        let until = if matches!(outcome, Outcome::Open { .. }) { now } else { closed };
        let span = (until - created).num_minutes().max(60);
        let offset = Duration::minutes(rng.gen_range(span / 3..=span * 2 / 3));
        let quoted = at_work(rng, created + offset);
        let quoted = quoted.clamp(created, until.max(created));

        let (mut fulfilled, mut invoiced, mut payments) = (None, None, Vec::new());
        if outcome == Outcome::Won && quote == QuotePlan::Active {
            let after = Duration::days(rng.gen_range(2..12));
            let shipped = at_work(rng, closed + after);
            fulfilled = (rng.gen_bool(0.9) && shipped < now).then_some(shipped);
            let billed = fulfilled.unwrap_or(closed) + Duration::days(rng.gen_range(0..4));
            let billed = at_work(rng, billed).max(fulfilled.unwrap_or(closed));
            invoiced = (fulfilled.is_some() && billed < now).then_some(billed);
            if let Some(billed) = invoiced {
                let after = Duration::days(rng.gen_range(10..45));
                let first = at_work(rng, billed + after);
                // A few customers pay late: nothing yet.
                let late = rng.gen_bool(0.1);
                if !late && first < now {
                    if rng.gen_bool(0.2) {
                        let after = Duration::days(rng.gen_range(15..40));
                        let second = at_work(rng, first + after);
                        payments.push((first, Decimal::new(5, 1)));
                        if second < now {
                            payments.push((second, Decimal::ONE));
                        }
                    } else {
                        payments.push((first, Decimal::ONE));
                    }
                }
            }
        }
        let lead = if rng.gen_bool(0.3) {
            open_leads.iter().position(|(_, owner)| *owner == c.owner).map(|i| open_leads.swap_remove(i).0)
        } else {
            None
        };
        deals.push(Deal {
            owner: c.owner,
            account: c.account,
            account_index: c.index,
            contact: c.contact,
            lead,
            name: deal_name(lang, theme, &c.short),
            lines,
            discount: rng.gen_bool(0.2).then(|| Decimal::from(*pick(rng, &[3, 5, 5, 10]))),
            rating: weighted(rng, &[(1i64, 25), (2, 45), (3, 30)]),
            outcome,
            quote,
            created,
            quoted,
            closed,
            fulfilled,
            invoiced,
            payments,
        });
    }
    deals
}

fn opportunity_ref(id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "opportunity".into(), id })
}

fn close_request(lookup: &str, entity: &str, id: Uuid, extra: Vec<(String, Value)>, status: i64) -> CloseRequest {
    let mut fields = vec![(lookup.to_string(), Value::Ref(EntityRef { entity: entity.into(), id }))];
    fields.extend(extra);
    CloseRequest { close: RecordInput::new(fields), status: Some(status) }
}

/// Carries out one deal as its owner; returns the opportunity.
fn act(
    s: &mut Session<'_, '_, '_>,
    company: &Company,
    d: &Deal,
    counts: &mut SalesCounts,
) -> relata_engine::Result<Uuid> {
    s.now = d.created;
    let mut f = Fields::default();
    f.set("name", d.name.as_str())
        .set("customerid", reference("account", d.account))
        .set("parentaccountid", reference("account", d.account))
        .set("parentcontactid", d.contact.map(|c| reference("contact", c)))
        .set("pricelevelid", reference("pricelevel", company.price_list))
        .set("isrevenuesystemcalculated", true)
        .set("discountpercentage", d.discount)
        .set("opportunityratingcode", d.rating)
        .set("estimatedclosedate", day_of(d.closed))
        .set(
            "salesstage",
            match d.outcome {
                Outcome::Open { stage } => stage,
                Outcome::Won => 3,
                Outcome::Lost { .. } => 1,
            },
        );
    let opp = match d.lead {
        Some(lead) => {
            let req = QualifyLead {
                create_opportunity: true,
                opportunity_customer: Some(EntityRef { entity: "account".into(), id: d.account }),
                status: Some(3),
                link_existing: true,
                ..Default::default()
            };
            let made = s.qualify_lead(lead, &req)?;
            let opp = made
                .iter()
                .find(|r| r.entity == "opportunity")
                .map(|r| r.id)
                .ok_or_else(|| EngineError::Invalid("QualifyLead made no opportunity".into()))?;
            s.update("opportunity", opp, f.into_input(), Default::default(), false)?;
            counts.from_leads += 1;
            opp
        }
        None => s.create("opportunity", f.into_input())?,
    };
    counts.opportunities += 1;
    for l in &d.lines {
        let item = &company.catalog[l.item];
        let uom = if l.larger { item.larger.unwrap_or(item.unit) } else { item.unit };
        let mut f = Fields::default();
        f.set("opportunityid", opportunity_ref(opp))
            .set("productid", reference("product", item.id))
            .set("uomid", reference("uom", uom))
            .set("quantity", l.quantity);
        s.create("opportunityproduct", f.into_input())?;
        counts.lines += 1;
    }

    let mut quote = None;
    if d.quote != QuotePlan::None {
        s.now = d.quoted;
        let q = s.generate_from_opportunity(opp, "quote")?;
        counts.quotes += 1;
        if d.quote == QuotePlan::Active {
            let activate =
                RecordInput::new(vec![("statecode".into(), Value::Int(1)), ("statuscode".into(), Value::Int(3))]);
            s.update("quote", q, activate, Default::default(), false)?;
        }
        quote = Some(q);
    }

    let closed_on = vec![("actualend".to_string(), Value::DateTime(day_of(d.closed)))];
    match d.outcome {
        Outcome::Open { .. } => counts.open += 1,
        Outcome::Lost { status } => {
            s.now = d.closed;
            if let (Some(q), QuotePlan::Active) = (quote, d.quote) {
                s.close_quote(close_request("quoteid", "quote", q, vec![], 5))?;
            }
            s.lose_opportunity(close_request("opportunityid", "opportunity", opp, closed_on, status))?;
            counts.lost += 1;
        }
        Outcome::Won => {
            s.now = d.closed;
            s.win_opportunity(close_request("opportunityid", "opportunity", opp, closed_on, 3))?;
            counts.won += 1;
            if let (Some(q), QuotePlan::Active) = (quote, d.quote) {
                let order = s.convert_quote_to_sales_order(q)?;
                counts.orders += 1;
                if let Some(t) = d.fulfilled {
                    s.now = t;
                    s.fulfill_sales_order(close_request("salesorderid", "salesorder", order, vec![], 100001))?;
                }
                if let Some(t) = d.invoiced {
                    s.now = t;
                    let invoice = s.convert_sales_order_to_invoice(order)?;
                    counts.invoices += 1;
                    let total =
                        query_all(s, "invoice", &format!("$select=totalamount&$filter=invoiceid eq {invoice}"))?
                            .first()
                            .and_then(|r| r.get("totalamount").and_then(Value::as_decimal))
                            .unwrap_or_default();
                    let mut paid = Decimal::ZERO;
                    for (when, share) in &d.payments {
                        let amount = ((total * share).round_dp(2) - paid).max(Decimal::ZERO);
                        if amount.is_zero() {
                            continue;
                        }
                        s.now = *when;
                        let mut f = Fields::default();
                        f.set("relata_invoiceid", reference("invoice", invoice))
                            .set("relata_amount", amount)
                            .set("relata_paidon", day_of(*when));
                        s.create("relata_payment", f.into_input())?;
                        paid += amount;
                        counts.payments += 1;
                    }
                }
            }
        }
    }
    Ok(opp)
}

/// Carries the deals out, owner by owner; `progress` is told of each batch.
pub fn carry_out(
    org: &Org,
    company: &Company,
    deals: &[Deal],
    counts: &mut SalesCounts,
    mut progress: impl FnMut(usize),
) -> Result<Vec<DealRecord>> {
    let mut owners: Vec<Uuid> = deals.iter().map(|d| d.owner).collect();
    owners.sort();
    owners.dedup();
    let mut records = Vec::with_capacity(deals.len());
    for owner in owners {
        let principal = org.principal_of_user(owner).context("cannot act as a demo salesperson")?;
        let mine: Vec<&Deal> = deals.iter().filter(|d| d.owner == owner).collect();
        for batch in mine.chunks(DEALS_PER_BATCH) {
            let mut batch_counts = SalesCounts::default();
            let mut failed = "";
            let ids = org
                .write(&principal, |s| {
                    let mut ids = Vec::with_capacity(batch.len());
                    for d in batch {
                        failed = d.name.as_str();
                        ids.push(act(s, company, d, &mut batch_counts)?);
                    }
                    Ok::<_, EngineError>(ids)
                })
                .with_context(|| format!("cannot carry out the demo deal '{failed}'"))?;
            counts.add(&batch_counts);
            for (d, id) in batch.iter().zip(ids) {
                records.push(DealRecord {
                    opportunity: id,
                    owner,
                    account: d.account_index,
                    from: d.created,
                    until: d.closed,
                });
            }
            progress(batch.len());
        }
    }
    Ok(records)
}

impl SalesCounts {
    fn add(&mut self, o: &SalesCounts) {
        self.opportunities += o.opportunities;
        self.open += o.open;
        self.won += o.won;
        self.lost += o.lost;
        self.from_leads += o.from_leads;
        self.lines += o.lines;
        self.quotes += o.quotes;
        self.orders += o.orders;
        self.invoices += o.invoices;
        self.payments += o.payments;
    }
}
