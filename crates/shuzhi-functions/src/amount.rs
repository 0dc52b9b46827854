//! Amounts with Chinese units (注册资本 `500万元`, `1,234.50元`, `3亿`): converted exactly (decimal
//! digits are shifted, never rounded through floating point) to one declared unit.

use std::borrow::Cow;

use crate::keyword::Keyword;

/// A unit of renminbi amounts, by its power of ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmountUnit {
    /// 元.
    Yuan,
    /// 千元.
    Thousand,
    /// 万元.
    TenThousand,
    /// 百万元.
    Million,
    /// 亿元.
    HundredMillion,
}

/// Unit suffixes as written, longest first; `元` alone is the yuan.
const SUFFIXES: [(&str, AmountUnit); 9] = [
    ("百万元", AmountUnit::Million),
    ("千元", AmountUnit::Thousand),
    ("万元", AmountUnit::TenThousand),
    ("亿元", AmountUnit::HundredMillion),
    ("百万", AmountUnit::Million),
    ("千", AmountUnit::Thousand),
    ("万", AmountUnit::TenThousand),
    ("亿", AmountUnit::HundredMillion),
    ("元", AmountUnit::Yuan),
];

impl Keyword for AmountUnit {
    const ALL: &'static [(&'static str, AmountUnit)] = &[
        ("元", AmountUnit::Yuan),
        ("千元", AmountUnit::Thousand),
        ("万元", AmountUnit::TenThousand),
        ("百万元", AmountUnit::Million),
        ("亿元", AmountUnit::HundredMillion),
    ];
}

impl AmountUnit {
    fn exponent(self) -> i32 {
        match self {
            AmountUnit::Yuan => 0,
            AmountUnit::Thousand => 3,
            AmountUnit::TenThousand => 4,
            AmountUnit::Million => 6,
            AmountUnit::HundredMillion => 8,
        }
    }
}

/// `value` in `unit`, as a plain decimal without trailing zeros. A bare number is taken to be
/// in `unit` already; currency marks (`人民币`, `RMB`, `¥`, `￥`), thousands separators and
/// spaces are dropped. `None` when the text is not an amount.
pub fn to_unit(value: &str, unit: AmountUnit) -> Option<Cow<'_, str>> {
    let mut s: &str = value.trim();
    for mark in ["人民币", "RMB", "CNY", "¥", "￥"] {
        s = s.strip_prefix(mark).unwrap_or(s).trim_start();
    }
    let (number, from) = SUFFIXES
        .iter()
        .find_map(|(suffix, u)| s.strip_suffix(suffix).map(|n| (n.trim_end(), *u)))
        .unwrap_or((s, unit));
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let plain: String = number.chars().filter(|c| *c != ',' && *c != ' ').collect();
    let (int, frac) = plain.split_once('.').unwrap_or((&plain, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let shifted = shift(int, frac, from.exponent() - unit.exponent());
    let out = if negative && shifted != "0" {
        format!("-{shifted}")
    } else {
        shifted
    };
    Some(if out == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(out)
    })
}

/// `int.frac × 10^shift` as a canonical decimal.
fn shift(int: &str, frac: &str, shift: i32) -> String {
    let digits: String = format!("{int}{frac}");
    let point = int.len() as i64 + i64::from(shift);
    let (mut whole, mut fraction) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        let (w, f) = digits.split_at(point as usize);
        (w.to_owned(), f.to_owned())
    };
    whole = whole.trim_start_matches('0').to_owned();
    if whole.is_empty() {
        whole.push('0');
    }
    while fraction.ends_with('0') {
        fraction.pop();
    }
    if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wan(s: &str) -> Option<String> {
        to_unit(s, AmountUnit::TenThousand).map(Cow::into_owned)
    }

    #[test]
    fn converts_units_exactly() {
        assert_eq!(wan("500万元").as_deref(), Some("500"));
        assert_eq!(wan("1,234.50元").as_deref(), Some("0.12345"));
        assert_eq!(wan("3亿").as_deref(), Some("30000"));
        assert_eq!(wan("人民币 12.5 万元").as_deref(), Some("12.5"));
        assert_eq!(wan("0.1千元").as_deref(), Some("0.01"));
        assert_eq!(
            wan("80").as_deref(),
            Some("80"),
            "a bare number is already in 万元"
        );
        assert_eq!(wan("-2.50万").as_deref(), Some("-2.5"));
        assert_eq!(
            to_unit("12.5万元", AmountUnit::Yuan).as_deref(),
            Some("125000")
        );
        assert_eq!(
            to_unit("0.000001亿元", AmountUnit::Yuan).as_deref(),
            Some("100")
        );
    }

    #[test]
    fn text_that_is_not_an_amount_is_none() {
        assert_eq!(wan("五百万"), None);
        assert_eq!(wan("万元"), None);
        assert_eq!(wan("1.2.3"), None);
        assert_eq!(wan("约500万"), None);
    }

    #[test]
    fn a_canonical_amount_is_borrowed() {
        assert!(matches!(
            to_unit("500", AmountUnit::TenThousand),
            Some(Cow::Borrowed(_))
        ));
    }
}
