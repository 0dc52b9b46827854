//! Citizen IDs (GB 11643): equal after 15 → 18 upgrading, a typo, or two different people.

use shuzhi_functions::id_card::{is_valid, normalize_id};

use super::hash_bytes;

/// An 18-character ID and whether its check character holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdValue {
    /// The 17 digits and the check character (`X` upper case).
    pub digits: [u8; 18],
    /// The check character matches the 17 digits.
    pub valid: bool,
}

impl IdValue {
    /// Width-folded, cleaned and 15-digit numbers upgraded; `None` unless 17 digits and a
    /// check character remain (a number with a digit missing compares as null).
    pub fn parse(raw: &str) -> Option<(u64, IdValue)> {
        let id = normalize_id(raw);
        let bytes = id.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !matches!(bytes[17], b'0'..=b'9' | b'X')
        {
            return None;
        }
        let mut digits = [0u8; 18];
        digits.copy_from_slice(bytes);
        let value = IdValue {
            digits,
            valid: is_valid(&id),
        };
        Some((hash_bytes(&digits), value))
    }
}

/// Positions where `a` and `b` differ, counted in `range`.
fn differences(a: &[u8; 18], b: &[u8; 18], range: std::ops::Range<usize>) -> usize {
    range.filter(|&k| a[k] != b[k]).count()
}

/// True when the two differ by one adjacent swap (`…12…` / `…21…`) and nothing else.
pub(crate) fn one_adjacent_swap(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // The first difference, then the rest must be exactly the swapped neighbour.
    let Some(x) = (0..a.len()).find(|&k| a[k] != b[k]) else {
        return false;
    };
    let y = x + 1;
    y < a.len() && a[x] == b[y] && a[y] == b[x] && a[y + 1..] == b[y + 1..]
}

/// The level of two unequal IDs: `typo` (2) when one side fails its check and they are one
/// digit or one adjacent swap apart (the check character alone included); otherwise
/// `different` (3) — two valid IDs are two people, even one digit apart (twins).
pub(crate) fn level(a: &IdValue, b: &IdValue) -> u8 {
    if a.valid && b.valid {
        return 3;
    }
    let apart = differences(&a.digits, &b.digits, 0..18);
    if apart == 1 || one_adjacent_swap(&a.digits, &b.digits) {
        2
    } else {
        3
    }
}

/// Two valid IDs that differ in two or more of their first 17 digits: never one person.
pub fn ids_veto(a: &IdValue, b: &IdValue) -> bool {
    a.valid && b.valid && differences(&a.digits, &b.digits, 0..17) >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> IdValue {
        IdValue::parse(s).expect("parses").1
    }

    #[test]
    fn fifteen_digit_ids_equal_their_upgrade_and_widths_fold() {
        let (k18, _) = IdValue::parse("110105491231002").expect("15 digits");
        let (k, _) = IdValue::parse("11010519491231002X").expect("18 digits");
        assert_eq!(k18, k);
        let (kw, _) = IdValue::parse("１１０１０５１９４９１２３１００２ｘ").expect("full width");
        assert_eq!(kw, k);
        assert!(IdValue::parse("1101051949123100").is_none());
    }

    #[test]
    fn typos_are_close_and_two_valid_ids_are_different_people() {
        let valid = id("11010519491231002X");
        // One digit changed: the check fails.
        let typo = id("11010519491231003X");
        assert!(!typo.valid);
        assert_eq!(level(&valid, &typo), 2);
        // Adjacent swap.
        let swap = id("11010519492131002X");
        assert_eq!(level(&valid, &swap), 2);
        // Check character only.
        let check = id("110105194912310021");
        assert_eq!(level(&valid, &check), 2);
        // Twins: same birth, sequence 002 / 004, both valid: different, but not vetoed.
        let twin = id("110105194912310046");
        assert!(twin.valid, "test twin must be valid");
        assert_eq!(level(&valid, &twin), 3);
        assert!(!ids_veto(&valid, &twin));
        // Two valid IDs two digits apart are vetoed.
        let other = id("110105195012310029");
        assert!(other.valid, "test id must be valid");
        assert!(ids_veto(&valid, &other));
        assert!(!ids_veto(&valid, &typo), "an invalid ID never vetoes");
    }
}
