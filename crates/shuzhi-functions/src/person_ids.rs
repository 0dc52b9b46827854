//! Identifiers of Hong Kong and Taiwan residents, and the Luhn check of bank cards
//! (domain.md §1.9–1.10).

/// True for a Hong Kong identity card number such as `A123456(3)` (brackets optional).
pub fn is_valid_hkid(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| !matches!(b, b'(' | b')')).collect();
    let letters = compact
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if !(1..=2).contains(&letters) || compact.len() != letters + 7 {
        return false;
    }
    let (head, tail) = compact.split_at(letters);
    let (digits, check) = tail.split_at(6);
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut values: Vec<u32> = Vec::with_capacity(8);
    if letters == 1 {
        values.push(36); // a space pads one-letter prefixes
    }
    values.extend(head.iter().map(|c| u32::from(c - b'A') + 10));
    values.extend(digits.iter().map(|d| u32::from(d - b'0')));
    let sum: u32 = values
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2])
        .map(|(v, w)| v * w)
        .sum();
    let expected = match (11 - sum % 11) % 11 {
        10 => b'A',
        n => b'0' + n as u8,
    };
    check == [expected]
}

/// Two-digit values of the leading letter of a Taiwan ID (not alphabetical).
const TAIWAN_LETTERS: [u32; 26] = [
    10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30,
    31, 33,
];

/// True for a Taiwan national ID such as `A123456789`.
pub fn is_valid_taiwan_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || !b[0].is_ascii_uppercase() || !matches!(b[1], b'1' | b'2') {
        return false;
    }
    if !b[1..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let letter = TAIWAN_LETTERS[usize::from(b[0] - b'A')];
    let mut sum = letter / 10 + (letter % 10) * 9;
    for (d, w) in b[1..9].iter().zip([8, 7, 6, 5, 4, 3, 2, 1]) {
        sum += u32::from(d - b'0') * w;
    }
    sum += u32::from(b[9] - b'0');
    sum.is_multiple_of(10)
}

/// What kind of personal identifier a value is (domain.md §1.9): people who are not mainland
/// citizens hold valid numbers too, and are classified rather than rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonIdKind {
    /// GB 11643 citizen identity number.
    Resident,
    /// 港澳台居民居住证: GB 11643 layout with address code 81 / 82 / 83.
    HmtResidencePermit,
    /// 外国人永久居留身份证, 2023 edition: 18 characters starting with 9, MOD 11-2 check.
    ForeignPermanent,
    /// 外国人永久居留身份证, 2017 edition: three letters (ISO 3166 alpha-3) and 12 digits.
    ForeignPermanent2017,
    /// Hong Kong Identity Card (check digit verified).
    Hkid,
    /// Taiwan national ID (check digit verified).
    TaiwanId,
    /// 港澳居民来往内地通行证: `H` / `M` and 8 or 10 digits (format only; no public check).
    HkMacauPermit,
}

impl PersonIdKind {
    /// Name used in data and rule files.
    pub fn name(self) -> &'static str {
        match self {
            PersonIdKind::Resident => "resident",
            PersonIdKind::HmtResidencePermit => "hmt_residence_permit",
            PersonIdKind::ForeignPermanent => "foreign_permanent",
            PersonIdKind::ForeignPermanent2017 => "foreign_permanent_2017",
            PersonIdKind::Hkid => "hkid",
            PersonIdKind::TaiwanId => "taiwan_id",
            PersonIdKind::HkMacauPermit => "hk_macau_permit",
        }
    }
}

/// Classifies a cleaned identifier; `None` when it is none of the known kinds.
pub fn classify(s: &str) -> Option<PersonIdKind> {
    let b = s.as_bytes();
    if b.len() == 18 && crate::id_card::is_valid(s) {
        return Some(match &s[..2] {
            "81" | "82" | "83" => PersonIdKind::HmtResidencePermit,
            // 9 + the accepting authority's province (domain.md §1.9; layout unverified, so
            // only a plausible province code, 11–65, counts).
            _ if s.starts_with('9') && (b"11"[..] <= b[1..3] && b[1..3] <= b"65"[..]) => {
                PersonIdKind::ForeignPermanent
            }
            _ => PersonIdKind::Resident,
        });
    }
    if b.len() == 15
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
    {
        return Some(PersonIdKind::ForeignPermanent2017);
    }
    if is_valid_hkid(s) {
        return Some(PersonIdKind::Hkid);
    }
    if is_valid_taiwan_id(s) {
        return Some(PersonIdKind::TaiwanId);
    }
    if matches!(b.first(), Some(b'H' | b'M'))
        && matches!(b.len(), 9 | 11)
        && b[1..].iter().all(u8::is_ascii_digit)
    {
        return Some(PersonIdKind::HkMacauPermit);
    }
    None
}

/// True when a digit string passes the Luhn check (ISO/IEC 7812).
pub fn passes_luhn(digits: &str) -> bool {
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    // domain.md §9 worked examples.
    #[test]
    fn hkid_worked_examples() {
        assert!(is_valid_hkid("A123456(3)"));
        assert!(is_valid_hkid("G123456(A)"));
        assert!(is_valid_hkid("AB987654(3)"));
        assert!(!is_valid_hkid("A123456(4)"));
        assert!(!is_valid_hkid("1234567"));
    }

    #[test]
    fn taiwan_worked_examples() {
        assert!(is_valid_taiwan_id("A123456789"));
        assert!(is_valid_taiwan_id("F131104093"));
        assert!(!is_valid_taiwan_id("A123456788"));
        assert!(!is_valid_taiwan_id("A323456789"));
    }

    #[test]
    fn classifies_identifiers() {
        let kind = |s| classify(s).map(PersonIdKind::name);
        assert_eq!(kind("11010519491231002X"), Some("resident"));
        assert_eq!(kind("810000199408230021"), Some("hmt_residence_permit"));
        assert_eq!(kind("830000199201300022"), Some("hmt_residence_permit"));
        assert_eq!(kind("932682198501010017"), Some("foreign_permanent"));
        assert_eq!(kind("USA310195012345"), Some("foreign_permanent_2017"));
        assert_eq!(kind("A123456(3)"), Some("hkid"));
        assert_eq!(kind("A123456789"), Some("taiwan_id"));
        assert_eq!(kind("H1234567801"), Some("hk_macau_permit"));
        assert_eq!(kind("110105194912310021"), None, "wrong check digit");
        assert_eq!(kind("hello"), None);
        assert_eq!(
            kind("999999198001010011"),
            Some("resident"),
            "99 is no province"
        );
    }

    #[test]
    fn luhn_worked_examples() {
        assert!(passes_luhn("6222021234567890128"));
        assert!(passes_luhn("4012888888881881"));
        assert!(!passes_luhn("6222021234567890127"));
    }
}
