//! The crate's arithmetic checked against a second model written with i128
//! integers: inputs are scaled to a fixed number of decimals, money results
//! are counted in units of 10^-precision, and every rounding is an explicit
//! integer division. Nothing here goes through `Decimal` arithmetic.

use proptest::prelude::*;
use relata_pricing::*;

/// Decimals every generated input fits in, so scaling to it is exact.
const FINE: u32 = 8;

fn pow10(exponent: u32) -> i128 {
    10i128.pow(exponent)
}

/// `n / d` rounded half away from zero; `d` > 0.
fn div_round(n: i128, d: i128) -> i128 {
    assert!(d > 0);
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// `n / d` rounded towards negative infinity; `d` > 0.
fn div_floor(n: i128, d: i128) -> i128 {
    assert!(d > 0);
    let q = n / d;
    if n % d < 0 {
        q - 1
    } else {
        q
    }
}

/// A generated number: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy)]
struct Num {
    mantissa: i64,
    scale: u32,
}

impl Num {
    const ZERO: Num = Num { mantissa: 0, scale: 0 };

    fn decimal(self) -> Decimal {
        Decimal::new(self.mantissa, self.scale)
    }

    fn fine(self) -> i128 {
        i128::from(self.mantissa) * pow10(FINE - self.scale)
    }

    /// Rounded to money units of 10^-precision.
    fn units(self, precision: u32) -> i128 {
        div_round(self.fine(), pow10(FINE - precision))
    }

    /// Decimal places without trailing zeros.
    fn places(self) -> u32 {
        let (mut mantissa, mut scale) = (self.mantissa, self.scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        scale
    }
}

fn num(max_mantissa: i64, max_scale: u32) -> impl Strategy<Value = Num> {
    (0..=max_mantissa, 0..=max_scale).prop_map(|(mantissa, scale)| Num { mantissa, scale })
}

/// A percentage from 0 to `max` (exclusive when `below`), with up to two decimals.
fn percent(max: i64, below: bool) -> impl Strategy<Value = Num> {
    (0..=2u32).prop_flat_map(move |scale| {
        let top = max * 10i64.pow(scale) - i64::from(below);
        (0..=top).prop_map(move |mantissa| Num { mantissa, scale })
    })
}

/// Mostly small numbers, so that prices sit near rounding amounts, and some large ones.
fn small_or_large(max_mantissa: i64, max_scale: u32) -> impl Strategy<Value = Num> {
    prop_oneof![num(100_000, max_scale), num(max_mantissa, max_scale)]
}

/// A crate result in units of 10^-precision; it must carry exactly `precision` decimals.
fn units(value: Decimal, precision: u32) -> i128 {
    assert_eq!(value.scale(), precision, "{value} should have {precision} decimals");
    value.mantissa()
}

fn from_units(units: i128, precision: u32) -> Decimal {
    Decimal::from_i128_with_scale(units, precision)
}

// ---------------------------------------------------------------- lines

#[derive(Debug, Clone)]
enum TaxSpec {
    Amount(Num),
    Rate(Num),
}

#[derive(Debug, Clone)]
enum VolumeSpec {
    /// A discount list; ranges are (low, high, value).
    List { is_amount: bool, ranges: Vec<(Num, Num, Num)> },
    /// A per-unit discount handed straight to `line`, which must cap it.
    Direct(Num),
}

#[derive(Debug, Clone)]
struct LineSpec {
    price: Num,
    quantity: Num,
    manual: Num,
    volume: VolumeSpec,
    tax: TaxSpec,
}

fn tax_spec() -> impl Strategy<Value = TaxSpec> {
    prop_oneof![percent(100, false).prop_map(TaxSpec::Rate), num(10_000_000, 4).prop_map(TaxSpec::Amount),]
}

fn volume_spec() -> impl Strategy<Value = VolumeSpec> {
    // Low bounds up to 1000 and high bounds up to a million, so most bands hold something.
    let bands = |value: BoxedStrategy<Num>| prop::collection::vec((num(1_000, 1), num(100_000_000, 2), value), 0..4);
    prop_oneof![
        bands(num(1_000_000, 4).boxed()).prop_map(|ranges| VolumeSpec::List { is_amount: true, ranges }),
        // Up to 150% so the cap at the price matters.
        bands(percent(150, false).boxed()).prop_map(|ranges| VolumeSpec::List { is_amount: false, ranges }),
        num(100_000_000, 4).prop_map(VolumeSpec::Direct),
    ]
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    let manual = prop_oneof![3 => Just(Num::ZERO), 2 => num(100_000, 4), 1 => num(10_000_000_000, 4)];
    (num(100_000_000, 4), num(1_000_000, 3), manual, volume_spec(), tax_spec())
        .prop_map(|(price, quantity, manual, volume, tax)| LineSpec { price, quantity, manual, volume, tax })
}

/// The model's volume discount per unit for a discount list, in units.
fn model_volume_per_unit(is_amount: bool, ranges: &[(Num, Num, Num)], quantity: Num, price: Num, p: u32) -> i128 {
    let q = quantity.fine();
    let Some(&(_, _, value)) = ranges.iter().find(|(low, high, _)| low.fine() <= q && q <= high.fine()) else {
        return 0;
    };
    let discount = if is_amount {
        value.units(p)
    } else {
        div_round(price.fine() * value.fine() * pow10(p), pow10(2 * FINE) * 100)
    };
    // Capped at the price cut down to whole units.
    discount.min(price.fine() / pow10(FINE - p))
}

#[derive(Debug, PartialEq, Eq)]
struct ModelLine {
    base: i128,
    manual: i128,
    volume: i128,
    net: i128,
    tax: i128,
    extended: i128,
}

/// The model's line, or `Err((manual, amount after volume))` when the manual discount is too large.
fn model_line(spec: &LineSpec, per_unit_fine: i128, p: u32) -> Result<ModelLine, (i128, i128)> {
    let price = spec.price.fine();
    let quantity = spec.quantity.fine();
    let base = div_round(price * quantity * pow10(p), pow10(2 * FINE));
    let volume = div_round(per_unit_fine.min(price) * quantity * pow10(p), pow10(2 * FINE));
    let manual = spec.manual.units(p);
    let net = base - volume - manual;
    if net < 0 {
        return Err((manual, base - volume));
    }
    let tax = match spec.tax {
        TaxSpec::Amount(amount) => amount.units(p),
        TaxSpec::Rate(rate) => div_round(net * rate.fine(), 100 * pow10(FINE)),
    };
    Ok(ModelLine { base, manual, volume, net, tax, extended: net + tax })
}

/// Runs one line through the crate and the model, checks they agree, and returns the crate's totals.
fn check_line(spec: &LineSpec, p: u32) -> Result<Option<LineTotals>, TestCaseError> {
    let price = spec.price.decimal();
    let per_unit = match &spec.volume {
        VolumeSpec::List { is_amount, ranges } => {
            let list = DiscountList {
                is_amount: *is_amount,
                ranges: ranges
                    .iter()
                    .map(|(low, high, value)| DiscountRange {
                        low: low.decimal(),
                        high: high.decimal(),
                        value: value.decimal(),
                    })
                    .collect(),
            };
            let got = volume_discount_per_unit(&list, spec.quantity.decimal(), price, p).unwrap();
            let expected = model_volume_per_unit(*is_amount, ranges, spec.quantity, spec.price, p);
            prop_assert_eq!(units(got, p), expected, "volume discount per unit");
            got
        }
        VolumeSpec::Direct(per_unit) => per_unit.decimal(),
    };
    let per_unit_fine = match &spec.volume {
        VolumeSpec::List { .. } => units(per_unit, p) * pow10(FINE - p),
        VolumeSpec::Direct(per_unit) => per_unit.fine(),
    };
    let input = LineInput {
        price_per_unit: price,
        quantity: spec.quantity.decimal(),
        manual_discount: spec.manual.decimal(),
        volume_discount_per_unit: per_unit,
        tax: match spec.tax {
            TaxSpec::Amount(amount) => Tax::Amount(amount.decimal()),
            TaxSpec::Rate(rate) => Tax::Rate(rate.decimal()),
        },
    };
    match (line(&input, p), model_line(spec, per_unit_fine, p)) {
        (Ok(got), Ok(expected)) => {
            let got_units = ModelLine {
                base: units(got.base_amount, p),
                manual: units(got.manual_discount, p),
                volume: units(got.volume_discount, p),
                net: units(got.net_amount, p),
                tax: units(got.tax, p),
                extended: units(got.extended_amount, p),
            };
            prop_assert_eq!(&got_units, &expected);
            prop_assert_eq!(got.extended_amount, got.net_amount + got.tax);
            prop_assert_eq!(got.net_amount, got.base_amount - got.manual_discount - got.volume_discount);
            Ok(Some(got))
        }
        (Err(PricingError::ManualDiscountExceedsAmount { discount, amount }), Err((manual, after_volume))) => {
            prop_assert_eq!(units(discount, p), manual);
            prop_assert_eq!(units(amount, p), after_volume);
            Ok(None)
        }
        (got, expected) => Err(TestCaseError::fail(format!("crate {got:?}, model {expected:?}"))),
    }
}

// ------------------------------------------------------------ documents

#[derive(Debug, Clone)]
struct DocumentSpec {
    lines: Vec<LineSpec>,
    discount_percentage: Option<Num>,
    discount_amount: Option<Num>,
    freight: Option<Num>,
    precision: u32,
}

fn document_spec() -> impl Strategy<Value = DocumentSpec> {
    let discount_amount = prop_oneof![
        Just(None),
        num(100_000, 4).prop_map(Some),
        num(1_000_000_000_000, 2).prop_map(Some),
        num(1_000_000_000_000_000_000, 2).prop_map(Some),
    ];
    // A full percentage discount plus any amount is sure to exceed the detail amount.
    let discount_percentage = prop_oneof![2 => Just(None), 3 => percent(100, false).prop_map(Some), 1 => Just(Some(Num { mantissa: 100, scale: 0 }))];
    (
        prop::collection::vec(line_spec(), 1..=200),
        discount_percentage,
        discount_amount,
        prop::option::of(num(100_000_000, 4)),
        0..=4u32,
    )
        .prop_map(|(lines, discount_percentage, discount_amount, freight, precision)| DocumentSpec {
            lines,
            discount_percentage,
            discount_amount,
            freight,
            precision,
        })
}

// ------------------------------------------------------------- rounding

#[derive(Debug, Clone, Copy)]
struct RoundingSpec {
    policy: RoundingPolicy,
    option: RoundingOption,
    amount: Num,
}

impl RoundingSpec {
    fn rounding(self) -> Rounding {
        Rounding { policy: self.policy, option: Some(self.option), amount: Some(self.amount.decimal()) }
    }
}

fn rounding_spec() -> impl Strategy<Value = RoundingSpec> {
    let policy = prop_oneof![Just(RoundingPolicy::Up), Just(RoundingPolicy::Down), Just(RoundingPolicy::ToNearest)];
    let option = prop_oneof![Just(RoundingOption::EndsIn), Just(RoundingOption::MultipleOf)];
    (policy, option, num(99_999, 4)).prop_filter_map("a multiple must be above zero", |(policy, option, amount)| {
        (option == RoundingOption::EndsIn || amount.mantissa > 0).then_some(RoundingSpec { policy, option, amount })
    })
}

#[derive(Debug, PartialEq, Eq)]
enum ModelRounded {
    /// The rounded price at FINE decimals.
    Price(i128),
    BelowZero,
}

/// Rounds the price `numerator / denominator` (≥ 0) by the rule, exactly.
fn model_round(numerator: i128, denominator: i128, spec: RoundingSpec) -> ModelRounded {
    let amount = spec.amount.fine();
    let (offset, modulus) = match spec.option {
        RoundingOption::MultipleOf => (0, amount),
        RoundingOption::EndsIn => {
            let mut modulus = pow10(FINE);
            while modulus <= amount {
                modulus *= 10;
            }
            (amount, modulus)
        }
    };
    // Everything below is in units of 1 / (10^FINE × denominator).
    let shifted = numerator * pow10(FINE) - offset * denominator;
    let step = modulus * denominator;
    let n = div_floor(shifted, step);
    let past = shifted - n * step;
    let down = offset + n * modulus;
    let up = if past == 0 { down } else { down + modulus };
    match spec.policy {
        RoundingPolicy::Up => ModelRounded::Price(up),
        RoundingPolicy::Down if down < 0 => ModelRounded::BelowZero,
        RoundingPolicy::Down => ModelRounded::Price(down),
        RoundingPolicy::ToNearest if down < 0 || step - past <= past => ModelRounded::Price(up),
        RoundingPolicy::ToNearest => ModelRounded::Price(down),
        RoundingPolicy::None => unreachable!(),
    }
}

// --------------------------------------------------------------- extremes

fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0..=28u32)
            .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
        Just(Decimal::ONE_HUNDRED),
        (-1_000i64..=1_000, 0..=4u32).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

fn any_method() -> impl Strategy<Value = PricingMethod> {
    (1..=6i64).prop_map(|code| PricingMethod::from_code(code).unwrap())
}

fn any_rounding() -> impl Strategy<Value = Rounding> {
    (
        (1..=4i64).prop_map(|code| RoundingPolicy::from_code(code).unwrap()),
        prop::option::of((1..=2i64).prop_map(|code| RoundingOption::from_code(code).unwrap())),
        prop::option::of(any_decimal()),
    )
        .prop_map(|(policy, option, amount)| Rounding { policy, option, amount })
}

// Each case is a whole document of up to 200 lines.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lines_and_documents_match_the_integer_model(spec in document_spec()) {
        let p = spec.precision;
        let mut lines = Vec::new();
        let mut model = Vec::new();
        for line_spec in &spec.lines {
            if let Some(line) = check_line(line_spec, p)? {
                model.push((
                    units(line.net_amount, p),
                    units(line.manual_discount, p) + units(line.volume_discount, p),
                    units(line.tax, p),
                ));
                lines.push(line);
            }
        }
        let input = DocumentInput {
            lines: &lines,
            discount_percentage: spec.discount_percentage.map(Num::decimal),
            discount_amount: spec.discount_amount.map(Num::decimal),
            freight: spec.freight.map(Num::decimal),
        };
        let detail: i128 = model.iter().map(|line| line.0).sum();
        let line_discounts: i128 = model.iter().map(|line| line.1).sum();
        let tax: i128 = model.iter().map(|line| line.2).sum();
        let by_percentage = spec
            .discount_percentage
            .map_or(0, |percentage| div_round(detail * percentage.fine(), 100 * pow10(FINE)));
        let discount = by_percentage + spec.discount_amount.map_or(0, |amount| amount.units(p));
        let freight = spec.freight.map_or(0, |freight| freight.units(p));
        match document(&input, p) {
            Ok(totals) => {
                prop_assert_eq!(units(totals.total_line_item_amount, p), detail);
                prop_assert_eq!(units(totals.total_line_item_discount_amount, p), line_discounts);
                prop_assert_eq!(units(totals.total_discount_amount, p), discount);
                prop_assert_eq!(units(totals.total_amount_less_freight, p), detail - discount);
                prop_assert_eq!(units(totals.total_tax, p), tax);
                prop_assert_eq!(units(totals.total_amount, p), detail - discount + freight + tax);
                prop_assert_eq!(
                    totals.total_amount,
                    totals.total_amount_less_freight + from_units(freight, p) + totals.total_tax
                );
            }
            Err(PricingError::DocumentDiscountExceedsAmount { discount: got, amount }) => {
                prop_assert!(detail < discount, "the model accepts the discount");
                prop_assert_eq!(units(got, p), discount);
                prop_assert_eq!(units(amount, p), detail);
            }
            Err(error) => return Err(TestCaseError::fail(format!("unexpected {error}"))),
        }
    }
}

// Single values are cheap, so these run many more cases than the documents above.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn convert_matches_the_integer_model_and_round_trips(
        amount in (-1_000_000_000_000i64..=1_000_000_000_000, 0..=4u32),
        from in (0..=6u32).prop_flat_map(|scale| (1..=10i64.pow(4 + scale), Just(scale))),
        to in (0..=6u32).prop_flat_map(|scale| (1..=10i64.pow(4 + scale), Just(scale))),
        p in 0..=4u32,
    ) {
        // Rates scaled to six decimals, amounts to four.
        let rate = |(mantissa, scale): (i64, u32)| i128::from(mantissa) * pow10(6 - scale);
        let (from_rate, to_rate) = (rate(from), rate(to));
        let amount_fixed = i128::from(amount.0) * pow10(4 - amount.1);
        let decimal = |(mantissa, scale): (i64, u32)| Decimal::new(mantissa, scale);

        let converted = convert(decimal(amount), decimal(from), decimal(to), p).unwrap();
        let expected = div_round(amount_fixed * to_rate * pow10(p), pow10(4) * from_rate);
        prop_assert_eq!(units(converted, p), expected);

        // From an amount already in the currency's precision and back again: off by at most
        // half a unit of each rounding, the first one scaled by the rates' ratio.
        let start = round_money(decimal(amount), p);
        let there = convert(start, decimal(from), decimal(to), p).unwrap();
        let back = convert(there, decimal(to), decimal(from), p).unwrap();
        let drift = (units(back, p) - units(start, p)).abs();
        prop_assert!(2 * drift * to_rate <= to_rate + from_rate, "drift {} units", drift);
        if to_rate >= from_rate {
            prop_assert!(drift <= 1);
        }
    }

    #[test]
    fn rounding_brackets_the_price_and_keeps_the_rule(price in small_or_large(1_000_000_000_000, 6), spec in rounding_spec()) {
        let up = round_price(price.decimal(), &Rounding { policy: RoundingPolicy::Up, ..spec.rounding() }).unwrap();
        let down = round_price(price.decimal(), &Rounding { policy: RoundingPolicy::Down, ..spec.rounding() });
        let nearest = round_price(price.decimal(), &Rounding { policy: RoundingPolicy::ToNearest, ..spec.rounding() }).unwrap();
        let fine = |value: Decimal| {
            let value = value.normalize();
            prop_assert!(value.scale() <= FINE);
            Ok(value.mantissa() * pow10(FINE - value.scale()))
        };
        let (price_fine, up_fine, nearest_fine) = (price.fine(), fine(up)?, fine(nearest)?);
        let amount = spec.amount.fine();
        let modulus = match spec.option {
            RoundingOption::MultipleOf => amount,
            RoundingOption::EndsIn => {
                let mut modulus = pow10(FINE);
                while modulus <= amount {
                    modulus *= 10;
                }
                modulus
            }
        };
        let offset = if spec.option == RoundingOption::EndsIn { amount } else { 0 };
        let allowed = |value: i128| value >= 0 && (value - offset) % modulus == 0;
        prop_assert!(up_fine >= price_fine && up_fine - price_fine < modulus && allowed(up_fine));
        match down {
            Ok(down) => {
                let down_fine = fine(down)?;
                prop_assert!(down_fine <= price_fine && price_fine - down_fine < modulus && allowed(down_fine));
                prop_assert!(up_fine == down_fine || up_fine - down_fine == modulus);
                let expected = if up_fine - price_fine <= price_fine - down_fine { up_fine } else { down_fine };
                prop_assert_eq!(nearest_fine, expected);
            }
            Err(PricingError::RoundingBelowZero { .. }) => {
                prop_assert!(price_fine < offset);
                prop_assert_eq!(nearest_fine, up_fine);
            }
            Err(error) => return Err(TestCaseError::fail(format!("unexpected {error}"))),
        }
    }

    #[test]
    fn unit_prices_match_the_integer_model(
        method in any_method(),
        base in small_or_large(1_000_000_000, 4),
        percentage in percent(100, true),
        rounding in prop::option::of(rounding_spec()),
        p in 0..=4u32,
    ) {
        let hundred = 100 * pow10(FINE);
        // The price as numerator / denominator at FINE decimals.
        let (numerator, denominator) = match method {
            PricingMethod::CurrencyAmount => (base.fine(), pow10(FINE)),
            PricingMethod::PercentOfList => (base.fine() * percentage.fine(), hundred * pow10(FINE)),
            PricingMethod::MarkupCurrentCost | PricingMethod::MarkupStandardCost => {
                (base.fine() * (hundred + percentage.fine()), hundred * pow10(FINE))
            }
            PricingMethod::MarginCurrentCost | PricingMethod::MarginStandardCost => {
                (base.fine() * 100, hundred - percentage.fine())
            }
        };
        let item = PriceListItem {
            method,
            amount: Some(base.decimal()),
            percentage: Some(percentage.decimal()),
            rounding: rounding.map_or(Rounding::NONE, RoundingSpec::rounding),
        };
        let costs = ProductCosts {
            list_price: Some(base.decimal()),
            current_cost: Some(base.decimal()),
            standard_cost: Some(base.decimal()),
        };
        let got = unit_price(&item, &costs, p);
        match rounding {
            None => prop_assert_eq!(units(got.unwrap(), p), div_round(numerator * pow10(p), denominator)),
            Some(spec) if spec.amount.places() > p => {
                prop_assert_eq!(
                    got,
                    Err(PricingError::RoundingAmountPrecision { amount: spec.amount.decimal(), precision: p })
                );
            }
            Some(spec) => match (got, model_round(numerator, denominator, spec)) {
                (Ok(price), ModelRounded::Price(fine)) => {
                    prop_assert_eq!(units(price, p), div_round(fine, pow10(FINE - p)));
                    // The ending or multiple fits the currency, so the final rounding keeps it.
                    prop_assert_eq!(units(price, p) * pow10(FINE - p), fine);
                }
                (Err(PricingError::RoundingBelowZero { .. }), ModelRounded::BelowZero) => {}
                (got, expected) => return Err(TestCaseError::fail(format!("crate {got:?}, model {expected:?}"))),
            },
        }
    }

    #[test]
    fn quantities_follow_the_decimals_and_selling_rules(
        quantity in (-1_000_000i64..=1_000_000, 0..=6u32),
        supported in 0..=5u32,
        selling in (1..=3i64).prop_map(|code| QuantitySelling::from_code(code).unwrap()),
    ) {
        let number = Num { mantissa: quantity.0, scale: quantity.1 };
        let places = number.places();
        let got = check_quantity(number.decimal(), supported, selling);
        let expected_ok = quantity.0 >= 0 && places <= supported && (selling != QuantitySelling::Whole || places == 0);
        prop_assert_eq!(got.is_ok(), expected_ok, "{:?}", got);
    }

    #[test]
    fn extreme_inputs_never_panic(
        a in any_decimal(),
        b in any_decimal(),
        c in any_decimal(),
        d in any_decimal(),
        method in any_method(),
        rounding in any_rounding(),
        precision in 0..=12u32,
    ) {
        let item = PriceListItem { method, amount: Some(a), percentage: Some(b), rounding: rounding.clone() };
        let costs = ProductCosts { list_price: Some(c), current_cost: Some(c), standard_cost: Some(d) };
        let _ = unit_price(&item, &costs, precision);
        let _ = round_price(a, &rounding);
        let _ = check_quantity(a, precision, QuantitySelling::Whole);
        let list = DiscountList { is_amount: b > c, ranges: vec![DiscountRange { low: Decimal::MIN, high: Decimal::MAX, value: d }] };
        let _ = volume_discount_per_unit(&list, a, b, precision);
        let _ = convert(a, b, c, precision);
        let _ = round_money(a, precision);
        for tax in [Tax::Amount(d), Tax::Rate(d)] {
            let input = LineInput { price_per_unit: a, quantity: b, manual_discount: c, volume_discount_per_unit: d, tax };
            let _ = line(&input, precision);
        }
        let totals = LineTotals { base_amount: a, manual_discount: b, volume_discount: c, net_amount: d, tax: a, extended_amount: b };
        let lines = [totals.clone(), totals];
        let _ = document(&DocumentInput { lines: &lines, discount_percentage: Some(b), discount_amount: Some(c), freight: Some(d) }, precision);
    }

    #[test]
    fn huge_amounts_are_errors(
        // From 10^27 up to the largest Decimal, about 7.9 × 10^28.
        price in (1_000_000_000i64..=79_000_000_000).prop_map(|m| Decimal::from_i128_with_scale(i128::from(m) * pow10(18), 0)),
        quantity in 100i64..=1_000_000,
        p in 0..=4u32,
    ) {
        let input = LineInput {
            price_per_unit: price,
            quantity: Decimal::from(quantity),
            manual_discount: Decimal::ZERO,
            volume_discount_per_unit: Decimal::ZERO,
            tax: Tax::Rate(Decimal::TEN),
        };
        prop_assert_eq!(line(&input, p), Err(PricingError::Overflow { what: "line amount" }));
        let item = PriceListItem { method: PricingMethod::MarkupCurrentCost, amount: None, percentage: Some(Decimal::from(quantity * 100)), rounding: Rounding::NONE };
        let costs = ProductCosts { current_cost: Some(price), ..ProductCosts::default() };
        prop_assert_eq!(unit_price(&item, &costs, p), Err(PricingError::Overflow { what: "unit price" }));
    }
}
