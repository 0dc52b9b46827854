//! The comparators over short strings: dates, digit strings and phones, addresses, company
//! names, credit codes, free text and exact values. Each parser returns the hash of the
//! value's comparison form (the `exact` level) and what the other levels compare.

use shuzhi_functions::company::company_key;
use shuzhi_functions::date::parse_date;
use shuzhi_functions::entity::comparison_form;
use shuzhi_functions::phone::normalize_phone;
use shuzhi_functions::text::normalize_text;

use super::hash_bytes;
use super::id::one_adjacent_swap;

fn keyed<T>(form: &[u8], value: T) -> Option<(u64, T)> {
    Some((hash_bytes(form), value))
}

/// `YYYYMMDD` of a date in any layout; eight digits that are not a date (a typo such as month
/// 13) are kept as written, so the typo level can still see them.
pub(crate) fn date(raw: &str) -> Option<(u64, [u8; 8])> {
    let mut out = [0u8; 8];
    if let Some(d) = parse_date(raw) {
        out.copy_from_slice(d.format("%Y%m%d").to_string().as_bytes());
    } else {
        let folded = normalize_text(raw);
        let bytes = folded.as_bytes();
        if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        out.copy_from_slice(bytes);
    }
    keyed(&out, out)
}

/// Day and month swapped, one digit changed, or two adjacent digits swapped: `swap_or_typo`
/// (2); else `different` (3).
pub(crate) fn date_level(a: &[u8; 8], b: &[u8; 8]) -> u8 {
    let swapped = a[..4] == b[..4] && a[4..6] == b[6..8] && a[6..8] == b[4..6];
    let one_digit = a.iter().zip(b).filter(|(x, y)| x != y).count() == 1;
    if swapped || one_digit || one_adjacent_swap(a, b) {
        2
    } else {
        3
    }
}

/// A phone number's digits, normalised (`+86`, spaces and dashes removed).
pub(crate) fn phone(raw: &str) -> Option<(u64, String)> {
    let normal = normalize_phone(raw)?;
    let digits: String = normal.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(())?;
    Some((hash_bytes(digits.as_bytes()), digits))
}

/// The digits of a value, widths folded; `None` when it has none.
pub(crate) fn digits(raw: &str) -> Option<(u64, String)> {
    let digits: String = normalize_text(raw)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(())?;
    Some((hash_bytes(digits.as_bytes()), digits))
}

/// One digit changed, inserted or dropped, or two adjacent digits swapped: `typo` (2); else
/// `different` (3).
pub(crate) fn digits_level(a: &str, b: &str) -> u8 {
    if strsim::osa_distance(a, b) <= 1 {
        2
    } else {
        3
    }
}

/// The sorted, distinct hashes of an address's consecutive character pairs, after folding
/// widths, simplifying and dropping spaces and punctuation.
pub(crate) fn address_bigrams(raw: &str) -> Option<(u64, Vec<u32>)> {
    let chars: Vec<char> = comparison_form(raw)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    if chars.is_empty() {
        return None;
    }
    let form: String = chars.iter().collect();
    let mut grams: Vec<u32> = if chars.len() == 1 {
        vec![chars[0] as u32]
    } else {
        chars
            .windows(2)
            .map(|w| {
                (hash_bytes(&[w[0] as u32, w[1] as u32].map(u32::to_le_bytes).concat()) >> 32)
                    as u32
            })
            .collect()
    };
    grams.sort_unstable();
    grams.dedup();
    keyed(form.as_bytes(), grams)
}

/// Dice overlap of the character pairs: ≥ 0.8 `similar` (2), ≥ 0.5 `overlapping` (3), else
/// `different` (4).
pub(crate) fn address_level(a: &[u32], b: &[u32]) -> u8 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let dice = 2.0 * common as f64 / (a.len() + b.len()) as f64;
    if dice >= 0.8 {
        2
    } else if dice >= 0.5 {
        3
    } else {
        4
    }
}

/// Legal forms and group markers, longest first: two registrations of one company differ in
/// these more than in their names.
const LEGAL_FORMS: [&str; 9] = [
    "股份有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "合作社",
];

/// A company name's core: the matching key (brackets unified, simplified, `有限责任公司` as
/// `有限公司`) with brackets and legal-form suffixes removed. The exact level is the full key.
pub(crate) fn company_core(raw: &str) -> Option<(u64, String)> {
    let key = company_key(raw);
    if key.is_empty() {
        return None;
    }
    let mut core: String = key.chars().filter(|c| !matches!(c, '(' | ')')).collect();
    while let Some(stripped) = LEGAL_FORMS
        .iter()
        .find_map(|f| core.strip_suffix(f).filter(|s| !s.is_empty()))
    {
        core = stripped.to_string();
    }
    keyed(key.as_bytes(), core)
}

/// Cores equal or Jaro-Winkler ≥ 0.9: `similar` (2); else `different` (3).
pub(crate) fn company_level(a: &str, b: &str) -> u8 {
    if a == b || strsim::jaro_winkler(a, b) >= 0.9 {
        2
    } else {
        3
    }
}

/// A unified social credit code (18 characters) or an organisation code (9, with or without
/// its dash), with the organisation code it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeValue {
    /// GB 11714 organisation code: 8 characters and the check character.
    pub org: [u8; 9],
}

impl CodeValue {
    pub(crate) fn parse(raw: &str) -> Option<(u64, CodeValue)> {
        let code: Vec<u8> = normalize_text(raw)
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let org = match code.len() {
            18 => &code[8..17],
            9 => &code[..],
            _ => return None,
        };
        let mut value = CodeValue { org: [0; 9] };
        value.org.copy_from_slice(org);
        keyed(&code, value)
    }
}

/// Same organisation code inside (a USCC and the old code it replaced): `same_org_code` (2);
/// else `different` (3).
pub(crate) fn code_level(a: &CodeValue, b: &CodeValue) -> u8 {
    if a.org == b.org { 2 } else { 3 }
}

/// Free text, normalised and lower-cased.
pub(crate) fn text(raw: &str) -> Option<(u64, String)> {
    let t = normalize_text(raw).trim().to_lowercase();
    if t.is_empty() {
        return None;
    }
    Some((hash_bytes(t.as_bytes()), t))
}

/// Jaro-Winkler on characters: ≥ 0.92 `similar` (2), ≥ 0.8 `close` (3), else `different` (4).
pub(crate) fn text_level(a: &str, b: &str) -> u8 {
    let jw = strsim::jaro_winkler(a, b);
    if jw >= 0.92 {
        2
    } else if jw >= 0.8 {
        3
    } else {
        4
    }
}

/// A value compared only for equality, after normalising.
pub(crate) fn exact(raw: &str) -> Option<(u64, ())> {
    let t = normalize_text(raw);
    let t = t.trim();
    (!t.is_empty()).then_some(())?;
    keyed(t.as_bytes(), ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> [u8; 8] {
        date(s).expect("date").1
    }

    #[test]
    fn dates_in_any_layout_are_exact_and_swaps_and_typos_are_close() {
        assert_eq!(
            date("1990年3月5日").map(|x| x.0),
            date("19900305").map(|x| x.0)
        );
        assert_eq!(
            date("1990/3/5").map(|x| x.0),
            date("1990-03-05").map(|x| x.0)
        );
        assert_eq!(
            date_level(&d("1990-03-05"), &d("1990-05-03")),
            2,
            "day/month swap"
        );
        assert_eq!(
            date_level(&d("1990-03-05"), &d("1990-03-06")),
            2,
            "one digit"
        );
        assert_eq!(
            date_level(&d("1990-03-15"), &d("19900351")),
            2,
            "typo kept as digits"
        );
        assert_eq!(date_level(&d("1990-03-05"), &d("1991-04-05")), 3);
    }

    #[test]
    fn phones_and_digits() {
        assert_eq!(
            phone("+86 139-1234-5678").map(|x| x.0),
            phone("13912345678").map(|x| x.0)
        );
        assert_eq!(
            digits_level("13912345678", "13912345687"),
            2,
            "adjacent swap"
        );
        assert_eq!(digits_level("13912345678", "13912345670"), 2, "one digit");
        assert_eq!(digits_level("13912345678", "13912340000"), 3);
        assert!(digits("无").is_none());
    }

    #[test]
    fn addresses_by_character_pairs() {
        let a = address_bigrams("北京市朝阳区解放路28号6单元1103室")
            .expect("a")
            .1;
        let b = address_bigrams("北京朝阳区解放路28号6单元1103")
            .expect("b")
            .1;
        let c = address_bigrams("上海市闵行区人民路213号").expect("c").1;
        assert_eq!(address_level(&a, &b), 2);
        assert_eq!(address_level(&a, &c), 4);
        assert_eq!(
            address_bigrams("北京市朝阳区 解放路２８号").map(|x| x.0),
            address_bigrams("北京市朝阳区解放路28号").map(|x| x.0)
        );
    }

    #[test]
    fn company_names_without_brackets_and_legal_forms() {
        let (ka, a) = company_core("北京（朝阳）星辰科技有限责任公司").expect("a");
        let (kb, b) = company_core("北京(朝阳)星辰科技有限公司").expect("b");
        assert_eq!(ka, kb, "bracket styles and 有限责任公司 are one key");
        let (_, c) = company_core("北京朝阳星辰科技股份有限公司").expect("c");
        assert_eq!(company_level(&a, &c), 2);
        let (_, d) = company_core("上海浦江物流有限公司").expect("d");
        assert_eq!(company_level(&a, &d), 3);
        assert_eq!(&*b, "北京朝阳星辰科技");
    }

    #[test]
    fn a_credit_code_holds_its_organisation_code() {
        let (ku, uscc) = CodeValue::parse("91110105MA01ABCD2X").expect("uscc");
        let (ko, org) = CodeValue::parse("MA01ABCD-2").expect("org code");
        assert_ne!(ku, ko);
        assert_eq!(code_level(&uscc, &org), 2);
        assert!(CodeValue::parse("123").is_none());
    }

    #[test]
    fn text_levels_by_jaro_winkler() {
        assert_eq!(text_level("katherine", "catherine"), 2);
        assert_eq!(text_level("jones", "johnson"), 3);
        assert_eq!(text_level("smith", "brown"), 4);
    }
}
