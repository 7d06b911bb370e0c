//! Deterministic mutation for the stable runner: the same seed gives the
//! same inputs. Byte flips, inserted, deleted and duplicated spans, splices
//! of two corpus entries, dictionary tokens, and the values that break
//! parsers: boundary numbers, impossible dates, Unicode edge cases and very
//! long strings.

/// SplitMix64: small, fast and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Numbers at and past the limits of the types columns have.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "1e400",
    "-1e400",
    "1e-400",
    "1.7976931348623157e308",
    "922337203685477.5807",
    "100000000000000000000000000000000000000000",
    "NaN",
    "INF",
    "-INF",
    "1.5",
    "0x10",
    "1e3",
    "00000000000000000000000000000001",
];

/// Dates and times no calendar has, or only at its very ends.
pub const DATES: &[&str] = &[
    "-262143-01-01",
    "262142-12-31",
    "+262143-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.9999999Z",
    "9999-12-31",
    "10000-01-01",
    "0000-00-00",
    "0000-01-01T00:00:00Z",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "1970-01-01T00:00:00Z",
    "2024-02-29",
    "2023-02-29",
    "2026-13-01",
    "2026-03-29T02:30",
    "2026-10-25T02:30:00+25:00",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:59:60Z",
    "2026-06-15T12:00:00.123456789Z",
    "2026-06-15T12:00",
];

/// Text that tests encodings, escapes and lengths.
pub const STRINGS: &[&str] = &[
    "ООО Ромашка",
    "Ёжик в тумане",
    "😀",
    "👩\u{200D}👩\u{200D}👧",
    "\u{0}",
    "a\u{0}b",
    "\u{FFFF}",
    "\u{FFFE}",
    "\u{FEFF}",
    "\u{202E}",
    "\u{10FFFF}",
    "'",
    "''",
    "\"",
    "\\",
    "\\u0000",
    "%00",
    "%",
    "%zz",
    "%C3%28",
    "+",
    "&",
    "=",
    ";",
    ",",
    "(",
    ")",
    "\r\n",
    "\n\n",
    "<",
    "]]>",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "$",
    "@p1",
    "*",
    " ",
    "\t",
    "İ",
    "ß",
];

/// Inputs are cut at this size.
pub const MAX_INPUT: usize = 256 * 1024;

pub struct Mutator {
    pub rng: Rng,
    pub dict: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn new(seed: u64, dict: Vec<Vec<u8>>) -> Mutator {
        Mutator { rng: Rng::new(seed), dict }
    }

    /// One to four mutations of `base`; `other` is another input to splice with.
    pub fn mutate(&mut self, base: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = base.to_vec();
        // Mostly one change: inputs that still parse get further in.
        let n = if self.rng.chance(2) { 1 } else { 2 + self.rng.below(3) };
        for _ in 0..n {
            self.once(&mut out, other);
        }
        out.truncate(MAX_INPUT);
        out
    }

    fn span(&mut self, len: usize) -> (usize, usize) {
        if len == 0 {
            return (0, 0);
        }
        let a = self.rng.below(len);
        // Mostly short spans.
        let max = if self.rng.chance(4) { len - a } else { (len - a).min(16) };
        (a, a + 1 + self.rng.below(max.max(1)).min(len - a - 1))
    }

    fn token(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=4 if !self.dict.is_empty() => self.rng.pick(&self.dict).clone(),
            0..=5 => self.rng.pick(NUMBERS).as_bytes().to_vec(),
            6 | 7 => self.rng.pick(DATES).as_bytes().to_vec(),
            _ => self.rng.pick(STRINGS).as_bytes().to_vec(),
        }
    }

    fn once(&mut self, out: &mut Vec<u8>, other: &[u8]) {
        let len = out.len();
        match self.rng.below(19) {
            // A word (a name, a keyword, a number) becomes a dictionary token
            // or another word of either input: the syntax stays whole.
            15..=18 => {
                let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'$' | b'-' | b':');
                let replacement = if !self.dict.is_empty() && self.rng.chance(2) {
                    self.rng.pick(&self.dict).clone()
                } else {
                    let words = words(if self.rng.chance(2) { other } else { out }, word);
                    if words.is_empty() {
                        self.token()
                    } else {
                        self.rng.pick(&words).to_vec()
                    }
                };
                if !replace_run(out, &mut self.rng, word, &replacement) {
                    out.extend_from_slice(&replacement);
                }
            }
            // Flip a bit.
            0 if len > 0 => {
                let i = self.rng.below(len);
                out[i] ^= 1 << self.rng.below(8);
            }
            // Set a byte to something interesting.
            1 if len > 0 => {
                let i = self.rng.below(len);
                out[i] =
                    *self.rng.pick(&[0u8, 0x7f, 0x80, 0xff, b'\'', b'"', b'(', b')', b',', b'/', b'%', b'&', b' ']);
            }
            // Insert random bytes.
            2 => {
                let at = self.rng.below(len + 1);
                let n = 1 + self.rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
                out.splice(at..at, bytes);
            }
            // Delete a span.
            3 if len > 0 => {
                let (a, b) = self.span(len);
                out.drain(a..b);
            }
            // Duplicate a span.
            4 if len > 0 => {
                let (a, b) = self.span(len);
                let piece = out[a..b].to_vec();
                let at = self.rng.below(len + 1);
                out.splice(at..at, piece);
            }
            // Splice with another input: a prefix of this, a suffix of that.
            5 if !other.is_empty() => {
                let cut = self.rng.below(len + 1);
                let from = self.rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            // Insert a token.
            6 | 7 => {
                let at = self.rng.below(len + 1);
                let t = self.token();
                out.splice(at..at, t);
            }
            // Replace a span with a token.
            8 if len > 0 => {
                let (a, b) = self.span(len);
                let t = self.token();
                out.splice(a..b, t);
            }
            // A number becomes a boundary value.
            9 => {
                let v = self.rng.pick(NUMBERS).as_bytes().to_vec();
                if !replace_run(out, &mut self.rng, |b| b.is_ascii_digit() || b == b'.', &v) {
                    let at = self.rng.below(len + 1);
                    out.splice(at..at, v);
                }
            }
            // A date becomes an impossible one.
            10 => {
                let v = self.rng.pick(DATES).as_bytes().to_vec();
                let date_like = |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'T' | b'Z' | b'.' | b'+');
                if !replace_run(out, &mut self.rng, date_like, &v) {
                    let at = self.rng.below(len + 1);
                    out.splice(at..at, v);
                }
            }
            // Quoted text becomes something else.
            11 => {
                let v = self.rng.pick(STRINGS).as_bytes().to_vec();
                if !replace_quoted(out, &mut self.rng, &v) {
                    let at = self.rng.below(len + 1);
                    out.splice(at..at, v);
                }
            }
            // A very long run: a span repeated, or one character many times.
            12 => {
                let piece = if len > 0 && self.rng.chance(2) {
                    let (a, b) = self.span(len);
                    out[a..b.min(a + 64)].to_vec()
                } else {
                    self.rng.pick(&["a", "Я", "(", "'", "\\", "%", "😀", "0"]).as_bytes().to_vec()
                };
                let times = *self.rng.pick(&[100usize, 1000, 5000, 40000]);
                let mut long = Vec::with_capacity(piece.len() * times);
                for _ in 0..times {
                    if long.len() + piece.len() > MAX_INPUT / 2 {
                        break;
                    }
                    long.extend_from_slice(&piece);
                }
                if !replace_quoted(out, &mut self.rng, &long) {
                    let at = self.rng.below(len + 1);
                    out.splice(at..at, long);
                }
            }
            // Cut.
            13 if len > 0 => {
                let at = self.rng.below(len);
                out.truncate(at);
            }
            // Swap two characters' neighbours: nesting and order mistakes.
            _ if len > 1 => {
                let i = self.rng.below(len - 1);
                out.swap(i, i + 1);
            }
            _ => out.push(self.rng.next_u64() as u8),
        }
    }
}

/// The runs of bytes matching `is`.
fn words(bytes: &[u8], is: impl Fn(u8) -> bool) -> Vec<Vec<u8>> {
    bytes.split(|b| !is(*b)).filter(|w| !w.is_empty()).map(<[u8]>::to_vec).collect()
}

/// Replaces one run of bytes matching `is` (chosen at random) with `v`.
fn replace_run(out: &mut Vec<u8>, rng: &mut Rng, is: impl Fn(u8) -> bool, v: &[u8]) -> bool {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < out.len() {
        if is(out[i]) {
            let start = i;
            while i < out.len() && is(out[i]) {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return false;
    }
    let (a, b) = *rng.pick(&runs);
    out.splice(a..b, v.iter().copied());
    true
}

/// Replaces the inside of one quoted string (`'…'` or `"…"`) with `v`.
fn replace_quoted(out: &mut Vec<u8>, rng: &mut Rng, v: &[u8]) -> bool {
    let quotes: Vec<usize> =
        out.iter().enumerate().filter(|(_, b)| **b == b'\'' || **b == b'"').map(|(i, _)| i).collect();
    let pairs: Vec<(usize, usize)> =
        quotes.windows(2).filter(|w| out[w[0]] == out[w[1]]).map(|w| (w[0] + 1, w[1])).collect();
    if pairs.is_empty() {
        return false;
    }
    let (a, b) = *rng.pick(&pairs);
    out.splice(a..b, v.iter().copied());
    true
}

/// Reads a libFuzzer dictionary: one `"token"` per line (an optional
/// `name=` before it), with `\"`, `\\` and `\xNN` escapes; `#` comments.
pub fn parse_dict(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(open) = line.find('"') else { continue };
        let Some(close) = line.rfind('"') else { continue };
        if close <= open {
            continue;
        }
        let body = &line.as_bytes()[open + 1..close];
        let mut tok = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if body[i] == b'\\' && i + 1 < body.len() {
                match body[i + 1] {
                    b'x' => {
                        let hex = body.get(i + 2..i + 4).and_then(|h| std::str::from_utf8(h).ok());
                        if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            tok.push(b);
                            i += 4;
                        } else {
                            tok.push(b'x');
                            i += 2;
                        }
                    }
                    c => {
                        tok.push(c);
                        i += 2;
                    }
                }
            } else {
                tok.push(body[i]);
                i += 1;
            }
        }
        if !tok.is_empty() {
            out.push(tok);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let base = b"contains(name,'Contoso') and revenue gt 1000".to_vec();
        let other = b"statecode eq 0".to_vec();
        let run = |seed| {
            let mut m = Mutator::new(seed, vec![b"Microsoft.Dynamics.CRM.In".to_vec()]);
            (0..200).map(|_| m.mutate(&base, &other)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|i| i.len() <= MAX_INPUT));
    }

    #[test]
    fn dictionaries_read_as_libfuzzer_writes_them() {
        let d = parse_dict("# comment\n\"eq\"\nkw=\"a\\\"b\"\n\"\\x00\\xff\"\n\"\\\\\"\n");
        assert_eq!(d, vec![b"eq".to_vec(), b"a\"b".to_vec(), vec![0, 255], b"\\".to_vec()]);
    }
}
