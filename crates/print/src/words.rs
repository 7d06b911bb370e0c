//! Numbers in words, Russian and English, for "amount in words" lines.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gender {
    Masculine,
    Feminine,
}

/// The three Russian plural forms: 1 рубль, 2 рубля, 5 рублей.
type Forms = [&'static str; 3];

/// 1, 21, 101 take the first form; 2–4, 22–24 the second; 0, 5–20, 25–30
/// the third. 11–14 are the exception that makes the tens digit matter.
fn plural_index(n: u128) -> usize {
    let (last_two, last) = (n % 100, n % 10);
    if (11..=14).contains(&last_two) {
        2
    } else if last == 1 {
        0
    } else if (2..=4).contains(&last) {
        1
    } else {
        2
    }
}

const RU_UNITS_MASC: [&str; 10] = ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"];
const RU_UNITS_FEM: [&str; 10] = ["", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"];
const RU_TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const RU_TENS: [&str; 10] =
    ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"];
const RU_HUNDREDS: [&str; 10] =
    ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"];

/// Powers of a thousand from 10^3 up; a `Decimal` never exceeds 10^29.
const RU_SCALES: [(Gender, Forms); 9] = [
    (Gender::Feminine, ["тысяча", "тысячи", "тысяч"]),
    (Gender::Masculine, ["миллион", "миллиона", "миллионов"]),
    (Gender::Masculine, ["миллиард", "миллиарда", "миллиардов"]),
    (Gender::Masculine, ["триллион", "триллиона", "триллионов"]),
    (Gender::Masculine, ["квадриллион", "квадриллиона", "квадриллионов"]),
    (Gender::Masculine, ["квинтиллион", "квинтиллиона", "квинтиллионов"]),
    (Gender::Masculine, ["секстиллион", "секстиллиона", "секстиллионов"]),
    (Gender::Masculine, ["септиллион", "септиллиона", "септиллионов"]),
    (Gender::Masculine, ["октиллион", "октиллиона", "октиллионов"]),
];

/// Words for 1..=999; empty for 0.
fn russian_triad(n: u128, gender: Gender, out: &mut Vec<&'static str>) {
    let n = (n % 1000) as usize;
    let (h, t, u) = (n / 100, n / 10 % 10, n % 10);
    if h > 0 {
        out.push(RU_HUNDREDS[h]);
    }
    if t == 1 {
        out.push(RU_TEENS[u]);
        return;
    }
    if t > 1 {
        out.push(RU_TENS[t]);
    }
    if u > 0 {
        out.push(match gender {
            Gender::Masculine => RU_UNITS_MASC[u],
            Gender::Feminine => RU_UNITS_FEM[u],
        });
    }
}

/// A whole number in Russian words, agreeing with a noun of `gender`.
fn russian_number(n: u128, gender: Gender) -> String {
    if n == 0 {
        return "ноль".to_owned();
    }
    let mut triads = Vec::new();
    let mut rest = n;
    while rest > 0 {
        triads.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<&'static str> = Vec::new();
    for (power, &triad) in triads.iter().enumerate().rev() {
        if triad == 0 {
            continue;
        }
        if power == 0 {
            russian_triad(triad, gender, &mut words);
        } else if let Some((scale_gender, forms)) = RU_SCALES.get(power - 1) {
            russian_triad(triad, *scale_gender, &mut words);
            words.push(forms[plural_index(triad)]);
        }
    }
    words.join(" ")
}

struct RuCurrency {
    gender: Gender,
    major: Forms,
    minor: Forms,
}

fn russian_currency(code: &str) -> Option<RuCurrency> {
    let kopeks = ["копейка", "копейки", "копеек"];
    let cents = ["цент", "цента", "центов"];
    let (gender, major, minor) = match code {
        "RUB" | "RUR" => (Gender::Masculine, ["рубль", "рубля", "рублей"], kopeks),
        "USD" => (Gender::Masculine, ["доллар США", "доллара США", "долларов США"], cents),
        "EUR" => (Gender::Masculine, ["евро", "евро", "евро"], cents),
        "GBP" => (
            Gender::Masculine,
            ["фунт стерлингов", "фунта стерлингов", "фунтов стерлингов"],
            ["пенс", "пенса", "пенсов"],
        ),
        "CNY" => (Gender::Masculine, ["юань", "юаня", "юаней"], ["фэнь", "фэня", "фэней"]),
        "KZT" => (Gender::Masculine, ["тенге", "тенге", "тенге"], ["тиын", "тиына", "тиынов"]),
        "BYN" => (Gender::Masculine, ["белорусский рубль", "белорусских рубля", "белорусских рублей"], kopeks),
        _ => return None,
    };
    Some(RuCurrency { gender, major, minor })
}

/// Digits of the minor units, zero-padded to the currency's precision.
fn minor_digits(minor: u64, precision: u32) -> String {
    format!("{minor:0width$}", width = precision as usize)
}

/// `whole` units and `minor` hundredths (or whatever the precision is) in
/// Russian, lower case.
pub(crate) fn russian_amount(whole: u128, minor: u64, precision: u32, code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    match russian_currency(&code) {
        Some(cur) => {
            let mut text = format!("{} {}", russian_number(whole, cur.gender), cur.major[plural_index(whole)]);
            if precision == 2 {
                text.push_str(&format!(" {} {}", minor_digits(minor, 2), cur.minor[plural_index(minor as u128)]));
            } else if precision > 0 {
                text.push_str(&format!(" {}/{}", minor_digits(minor, precision), 10u64.pow(precision)));
            }
            text
        }
        None => {
            let mut text = russian_number(whole, Gender::Masculine);
            if !code.is_empty() {
                text.push(' ');
                text.push_str(&code);
            }
            if precision > 0 {
                text.push_str(&format!(" {}/{}", minor_digits(minor, precision), 10u64.pow(precision)));
            }
            text
        }
    }
}

const EN_ONES: [&str; 20] = [
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const EN_SCALES: [&str; 9] = [
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
];

fn english_triad(n: u128, out: &mut Vec<String>) {
    let n = (n % 1000) as usize;
    let (h, rest) = (n / 100, n % 100);
    if h > 0 {
        out.push(format!("{} hundred", EN_ONES[h]));
    }
    if rest >= 20 {
        let (t, u) = (rest / 10, rest % 10);
        if u > 0 {
            out.push(format!("{}-{}", EN_TENS[t], EN_ONES[u]));
        } else {
            out.push(EN_TENS[t].to_owned());
        }
    } else if rest > 0 {
        out.push(EN_ONES[rest].to_owned());
    }
}

/// A whole number in English words, US style (no "and" inside numbers).
fn english_number(n: u128) -> String {
    if n == 0 {
        return "zero".to_owned();
    }
    let mut triads = Vec::new();
    let mut rest = n;
    while rest > 0 {
        triads.push(rest % 1000);
        rest /= 1000;
    }
    let mut words = Vec::new();
    for (power, &triad) in triads.iter().enumerate().rev() {
        if triad == 0 {
            continue;
        }
        english_triad(triad, &mut words);
        if power > 0 {
            if let Some(scale) = EN_SCALES.get(power - 1) {
                words.push((*scale).to_owned());
            }
        }
    }
    words.join(" ")
}

fn english_currency(code: &str) -> Option<([&'static str; 2], [&'static str; 2])> {
    Some(match code {
        "USD" => (["US dollar", "US dollars"], ["cent", "cents"]),
        "EUR" => (["euro", "euros"], ["cent", "cents"]),
        "GBP" => (["pound sterling", "pounds sterling"], ["penny", "pence"]),
        "RUB" | "RUR" => (["ruble", "rubles"], ["kopeck", "kopecks"]),
        "CNY" => (["yuan", "yuan"], ["fen", "fen"]),
        _ => return None,
    })
}

/// `whole` units and `minor` hundredths in English, lower case.
pub(crate) fn english_amount(whole: u128, minor: u64, precision: u32, code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    let mut text = english_number(whole);
    match english_currency(&code) {
        Some((major, minor_names)) => {
            text.push(' ');
            text.push_str(major[usize::from(whole != 1)]);
            if precision == 2 {
                text.push_str(&format!(" and {} {}", minor_digits(minor, 2), minor_names[usize::from(minor != 1)]));
            } else if precision > 0 {
                text.push_str(&format!(" and {}/{}", minor_digits(minor, precision), 10u64.pow(precision)));
            }
        }
        None => {
            if !code.is_empty() {
                text.push(' ');
                text.push_str(&code);
            }
            if precision > 0 {
                text.push_str(&format!(" and {}/{}", minor_digits(minor, precision), 10u64.pow(precision)));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_numbers() {
        assert_eq!(russian_number(0, Gender::Masculine), "ноль");
        assert_eq!(russian_number(1, Gender::Feminine), "одна");
        assert_eq!(russian_number(12, Gender::Masculine), "двенадцать");
        assert_eq!(russian_number(2_002, Gender::Masculine), "две тысячи два");
        assert_eq!(russian_number(111_000, Gender::Masculine), "сто одиннадцать тысяч");
        assert_eq!(russian_number(1_000_000_001, Gender::Masculine), "один миллиард один");
    }

    #[test]
    fn english_numbers() {
        assert_eq!(english_number(0), "zero");
        assert_eq!(english_number(115), "one hundred fifteen");
        assert_eq!(english_number(1_234), "one thousand two hundred thirty-four");
        assert_eq!(english_number(2_000_040), "two million forty");
    }

    #[test]
    fn the_largest_decimal_has_words() {
        let max = 79_228_162_514_264_337_593_543_950_335u128;
        assert!(russian_number(max, Gender::Masculine).starts_with("семьдесят девять октиллионов"));
        assert!(english_number(max).starts_with("seventy-nine octillion"));
    }
}
