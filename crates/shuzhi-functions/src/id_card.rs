//! Citizen identity numbers, GB 11643-1999 (domain.md §1.1).

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};

use crate::text::{fold_width, is_invisible, is_spacelike};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The MOD 11-2 check character for the first 17 digits, or `None` if they are not digits.
pub fn check_char(body: &[u8]) -> Option<u8> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in body.iter().zip(WEIGHTS) {
        if !b.is_ascii_digit() {
            return None;
        }
        sum += u32::from(b - b'0') * w;
    }
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Canonical text form: width-folded, spaces and Excel "force text" prefixes (`'`, `="..."`)
/// removed, `x`/`×`/Cyrillic `Х` as `X`, and a 15-digit first-generation number upgraded to
/// 18 digits. Anything else is returned as cleaned but otherwise unchanged, for the check to judge.
pub fn normalize_id(raw: &str) -> Cow<'_, str> {
    let is_canonical = raw.len() == 18
        && raw.as_bytes()[..17].iter().all(u8::is_ascii_digit)
        && matches!(raw.as_bytes()[17], b'0'..=b'9' | b'X');
    if is_canonical {
        return Cow::Borrowed(raw);
    }
    // One pass, one allocation: what `normalize_text` would do, minus every space, then the
    // Excel "force text" characters dropped and the look-alikes of X mapped.
    let mut s = String::with_capacity(raw.len().min(64));
    for c in raw.chars() {
        if is_invisible(c) || is_spacelike(c) {
            continue;
        }
        match fold_width(c) {
            '\'' | '"' | '=' | '-' => {}
            'x' | '×' | 'Х' | 'х' => s.push('X'),
            other => s.push(other),
        }
    }
    if s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        s = upgrade_15_to_18(&s).unwrap_or(s);
    }
    Cow::Owned(s)
}

/// Upgrades a 15-digit number (`AAAAAAYYMMDDSSS`) by inserting `19` and appending the check char.
pub fn upgrade_15_to_18(id15: &str) -> Option<String> {
    let b = id15.as_bytes();
    if b.len() != 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut body = Vec::with_capacity(18);
    body.extend_from_slice(&b[..6]);
    body.extend_from_slice(b"19");
    body.extend_from_slice(&b[6..]);
    let check = check_char(&body)?;
    body.push(check);
    String::from_utf8(body).ok()
}

/// The birth date encoded in an 18-character number, if it is a real calendar date in 1880..=2100.
pub fn birth_date(id: &str) -> Option<NaiveDate> {
    let b = id.as_bytes();
    if b.len() != 18 || !b[6..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let year = num(6..10) as i32;
    if !(1880..=2100).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, num(10..12), num(12..14))
}

/// True for a valid 18-character number: digits, a real birth date, a plausible province and
/// the right check character. Placeholder numbers (all one digit) are not valid.
pub fn is_valid(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || b[0] == b'0' {
        return false;
    }
    if b[..17].iter().all(|d| *d == b[0]) {
        return false;
    }
    check_char(&b[..17]) == Some(b[17]) && birth_date(id).is_some()
}

/// GB/T 2261.1 gender code from the sequence digit: odd `1` (male), even `2` (female).
pub fn gender_code(id: &str) -> Option<&'static str> {
    if !is_valid(id) {
        return None;
    }
    Some(if (id.as_bytes()[16] - b'0') % 2 == 1 {
        "1"
    } else {
        "2"
    })
}

/// The six-digit address code (GB/T 2260 county at the time of issue).
pub fn region_code(id: &str) -> Option<&str> {
    if is_valid(id) { id.get(..6) } else { None }
}

/// Days since 1970-01-01 of the encoded birth date, for Arrow `Date32`.
pub fn birth_date_days(id: &str) -> Option<i32> {
    if !is_valid(id) {
        return None;
    }
    birth_date(id).map(|d| d.num_days_from_ce() - crate::date::UNIX_EPOCH_DAYS_FROM_CE)
}

#[cfg(test)]
mod tests {
    use super::*;

    // domain.md §9 worked examples.
    #[test]
    fn worked_examples_validate() {
        assert!(is_valid("11010519491231002X"));
        assert!(is_valid("440524188001010014"));
        assert!(is_valid("310112198504095227"));
        assert!(!is_valid("11010120000101001X"), "computed check is 0");
        assert_eq!(check_char(b"11010120000101001"), Some(b'0'));
    }

    #[test]
    fn worked_examples_derive_fields() {
        assert_eq!(gender_code("11010519491231002X"), Some("2"));
        assert_eq!(
            birth_date("11010519491231002X"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(region_code("11010519491231002X"), Some("110105"));
        assert_eq!(gender_code("440524188001010014"), Some("1"));
        assert_eq!(
            birth_date("440524188001010014"),
            NaiveDate::from_ymd_opt(1880, 1, 1)
        );
    }

    #[test]
    fn upgrades_15_digit_numbers() {
        assert_eq!(
            upgrade_15_to_18("310112850409522").as_deref(),
            Some("310112198504095227")
        );
        assert_eq!(
            upgrade_15_to_18("130503670401001").as_deref(),
            Some("130503196704010016")
        );
        assert_eq!(normalize_id("310112850409522"), "310112198504095227");
    }

    #[test]
    fn normalises_dirty_forms() {
        assert_eq!(normalize_id("11010519491231002x"), "11010519491231002X");
        assert_eq!(
            normalize_id("１１０１０５１９４９１２３１００２Ｘ"),
            "11010519491231002X"
        );
        assert_eq!(normalize_id("11010519491231002×"), "11010519491231002X");
        assert_eq!(normalize_id("'11010519491231002X"), "11010519491231002X");
        assert_eq!(
            normalize_id("=\"11010519491231002X\""),
            "11010519491231002X"
        );
        assert_eq!(normalize_id("\t110105 19491231 002X"), "11010519491231002X");
    }

    #[test]
    fn rejects_placeholders_and_bad_dates() {
        assert!(!is_valid("111111111111111111"));
        assert!(!is_valid("000000000000000000"));
        // 1990-02-30 with a matching check character is still invalid.
        let body = b"11010519900230001";
        let mut id = body.to_vec();
        id.push(check_char(body).expect("digits"));
        assert!(!is_valid(std::str::from_utf8(&id).expect("ascii")));
        assert!(!is_valid("1.10105E+17"));
    }

    proptest::proptest! {
        #[test]
        fn one_pass_equals_normalising_then_filtering(raw in "[ 0-9xX×Х\u{3000}\u{FF10}-\u{FF19}\u{FF58}'\"=\u{200B}\t-]{0,24}") {
            let reference: String = crate::text::normalize_text(&raw)
                .chars()
                .filter(|c| !matches!(c, ' ' | '\'' | '"' | '=' | '-'))
                .map(|c| match c { 'x' | '×' | 'Х' | 'х' => 'X', other => other })
                .collect();
            let reference = if reference.len() == 15 && reference.bytes().all(|b| b.is_ascii_digit()) {
                upgrade_15_to_18(&reference).unwrap_or(reference)
            } else {
                reference
            };
            proptest::prop_assert_eq!(normalize_id(&raw).into_owned(), reference);
        }

        #[test]
        fn every_upgraded_15_digit_number_validates(
            region in 110000u32..660000,
            yy in 0u32..100, month in 1u32..=12, day in 1u32..=28, seq in 0u32..1000,
        ) {
            let id15 = format!("{region:06}{yy:02}{month:02}{day:02}{seq:03}");
            let id18 = upgrade_15_to_18(&id15).expect("15 digits");
            proptest::prop_assert!(is_valid(&id18), "{} -> {}", id15, id18);
            proptest::prop_assert_eq!(&id18[..6], &id15[..6]);
        }
    }
}
