//! Dirt as departments make it, at documented rates. Each function returns the dirty text and
//! records what it planted; the rates are listed in `truth/README.md` by [`RATES`].

use chrono::{Datelike, NaiveDate};

use crate::ident;
use crate::rng::Rng;
use crate::table::{Cell, Expected};

/// Rates of planted dirt (per row of a table that carries the field).
pub const RATES: [(&str, f64, &str); 13] = [
    ("invalid_id", 0.004, "ID with a wrong check digit: reject"),
    (
        "missing_id",
        0.002,
        "ID given as a null token (无, /, 不详): reject",
    ),
    (
        "id15",
        0.05,
        "15-digit pre-1999 ID, births before 2000, old systems only: upgrade to 18",
    ),
    ("fullwidth", 0.02, "ID in full-width digits: normalise"),
    (
        "lower_x",
        0.5,
        "check character x in lower case (of IDs ending in X): normalise",
    ),
    ("spaces", 0.01, "ID with surrounding spaces: trim"),
    ("missing_name", 0.002, "name missing: reject"),
    ("name_space", 0.01, "space inside a name (张 三): normalise"),
    (
        "gender_disagrees",
        0.005,
        "gender contradicts the ID: fix from the ID",
    ),
    (
        "birth_disagrees",
        0.005,
        "birth date contradicts the ID: fix from the ID",
    ),
    (
        "null_token",
        0.01,
        "optional field given as a null token: read as null",
    ),
    ("bad_phone", 0.01, "phone number with digits missing: warn"),
    (
        "duplicate",
        0.03,
        "row delivered twice in the same table: one copy survives",
    ),
];

/// The rate of a dirt kind.
pub fn rate(kind: &str) -> f64 {
    RATES
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or(0.0, |(_, r, _)| *r)
}

const NULL_TOKENS: [&str; 3] = ["无", "/", "不详"];

/// Records planted dirt and the strongest expectation.
#[derive(Debug, Default)]
pub struct Planted {
    /// Kinds planted.
    pub dirt: Vec<&'static str>,
    /// First reject reason, if any.
    pub reject: Option<&'static str>,
}

impl Planted {
    fn add(&mut self, kind: &'static str) {
        self.dirt.push(kind);
    }

    fn reject(&mut self, kind: &'static str) {
        self.dirt.push(kind);
        self.reject.get_or_insert(kind);
    }

    /// The expected outcome.
    pub fn expected(&self) -> Expected {
        self.reject.map_or(Expected::Valid, Expected::Reject)
    }
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'X' | 'x' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A delivered ID number. `old_system` allows 15-digit IDs for births before 2000.
pub fn id(rng: &mut Rng, id18: &str, birth: NaiveDate, old_system: bool, p: &mut Planted) -> Cell {
    if rng.chance(rate("missing_id")) {
        p.reject("missing_id");
        return Cell::text(*rng.pick(&NULL_TOKENS));
    }
    if rng.chance(rate("invalid_id")) {
        p.reject("invalid_id");
        let wrong = b"0123456789X"
            .iter()
            .map(|b| *b as char)
            .find(|c| *c != id18.as_bytes()[17] as char)
            .unwrap_or('0');
        return Cell::text(format!("{}{}", &id18[..17], wrong));
    }
    let mut s = if old_system && birth.year() < 2000 && rng.chance(rate("id15")) {
        p.add("id15");
        ident::id15(id18)
    } else {
        id18.to_owned()
    };
    if s.ends_with('X') && rng.chance(rate("lower_x")) {
        p.add("lower_x");
        s = s.to_lowercase();
    }
    if rng.chance(rate("fullwidth")) {
        p.add("fullwidth");
        s = fullwidth(&s);
    }
    if rng.chance(rate("spaces")) {
        p.add("spaces");
        s = format!(" {s} ");
    }
    Cell::Text(s)
}

/// A delivered name.
pub fn name(rng: &mut Rng, name: &str, p: &mut Planted) -> Cell {
    if rng.chance(rate("missing_name")) {
        p.reject("missing_name");
        return Cell::Null;
    }
    if rng.chance(rate("name_space")) && name.chars().count() >= 2 {
        p.add("name_space");
        let mut chars = name.chars();
        let first = chars.next().unwrap_or_default();
        return Cell::text(format!("{first} {}", chars.as_str()));
    }
    Cell::text(name)
}

/// How a department writes gender.
#[derive(Debug, Clone, Copy)]
pub enum GenderStyle {
    /// 男 / 女.
    Chinese,
    /// GB/T 2261.1 codes 1 / 2.
    Code,
    /// 男性 / 女性.
    ChineseLong,
}

/// A delivered gender.
pub fn gender(rng: &mut Rng, gender: u8, style: GenderStyle, p: &mut Planted) -> Cell {
    let g = if rng.chance(rate("gender_disagrees")) {
        p.add("gender_disagrees");
        3 - gender
    } else {
        gender
    };
    let text = match (style, g) {
        (GenderStyle::Chinese, 1) => "男",
        (GenderStyle::Chinese, _) => "女",
        (GenderStyle::Code, 1) => "1",
        (GenderStyle::Code, _) => "2",
        (GenderStyle::ChineseLong, 1) => "男性",
        (GenderStyle::ChineseLong, _) => "女性",
    };
    Cell::text(text)
}

/// How a department writes dates in text files.
#[derive(Debug, Clone, Copy)]
pub enum DateStyle {
    /// 2020-01-05
    Iso,
    /// 2020/1/5
    Slash,
    /// 2020年1月5日
    Chinese,
    /// 20200105
    Compact,
    /// Typed date cells (xlsx, Parquet).
    Typed,
}

/// A date as a department writes it.
pub fn date(d: NaiveDate, style: DateStyle) -> Cell {
    match style {
        DateStyle::Iso => Cell::text(d.format("%Y-%m-%d").to_string()),
        DateStyle::Slash => Cell::text(format!("{}/{}/{}", d.year(), d.month(), d.day())),
        DateStyle::Chinese => Cell::text(format!("{}年{}月{}日", d.year(), d.month(), d.day())),
        DateStyle::Compact => Cell::text(d.format("%Y%m%d").to_string()),
        DateStyle::Typed => Cell::Date(d),
    }
}

/// A date written in any [`DateStyle`] but `Typed`, as `YYYY-MM-DD` (for the truth files).
pub fn iso_date(text: &str) -> String {
    let parts: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [y, m, d] => format!("{y:04}-{m:02}-{d:02}"),
        [_] if text.len() == 8 => format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]),
        _ => text.to_owned(),
    }
}

/// A delivered birth date (sometimes contradicting the ID).
pub fn birth(rng: &mut Rng, birth: NaiveDate, style: DateStyle, p: &mut Planted) -> Cell {
    let d = if rng.chance(rate("birth_disagrees")) {
        p.add("birth_disagrees");
        birth + chrono::Days::new(1 + rng.below(30))
    } else {
        birth
    };
    date(d, style)
}

/// A delivered optional text (null token sometimes).
pub fn optional(rng: &mut Rng, value: &str, p: &mut Planted) -> Cell {
    if rng.chance(rate("null_token")) {
        p.add("null_token");
        return Cell::text(*rng.pick(&NULL_TOKENS));
    }
    Cell::text(value)
}

/// A delivered mobile number in one of the usual layouts.
pub fn phone(rng: &mut Rng, phone: &str, p: &mut Planted) -> Cell {
    if rng.chance(rate("bad_phone")) {
        p.add("bad_phone");
        return Cell::text(&phone[..8]);
    }
    match rng.below(4) {
        0 => Cell::text(phone),
        1 => Cell::text(format!("+86 {phone}")),
        2 => Cell::text(format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..])),
        _ => Cell::text(format!("{}-{}-{}", &phone[..3], &phone[3..7], &phone[7..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_dirt_is_recorded() {
        let mut rng = Rng::new(3);
        let birth = NaiveDate::from_ymd_opt(1949, 12, 31).unwrap_or_default();
        let mut rejects = 0;
        for _ in 0..20_000 {
            let mut p = Planted::default();
            let cell = id(&mut rng, "11010519491231002X", birth, true, &mut p);
            let Cell::Text(t) = cell else { continue };
            if p.dirt.is_empty() {
                assert_eq!(t, "11010519491231002X");
            }
            if p.dirt.contains(&"id15") {
                assert!(t.trim().chars().count() == 15, "{t}");
            }
            rejects += usize::from(p.reject.is_some());
        }
        // 0.6 % expected: 120 of 20 000, loosely bounded.
        assert!((60..200).contains(&rejects), "{rejects}");
        assert_eq!(fullwidth("12X"), "１２Ｘ");
    }
}
