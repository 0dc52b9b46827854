//! Legal-person identifiers: the unified social credit code (GB 32100-2015) and the
//! organisation code it embeds (GB 11714-1997). Domain facts: domain.md §1.2–1.3.

/// The 31 USCC characters in value order (no I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn uscc_value(c: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|a| *a == c).map(|p| p as u32)
}

/// The USCC check character for the first 17 characters.
pub fn uscc_check_char(body: &[u8]) -> Option<u8> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*c)? * w;
    }
    Some(USCC_ALPHABET[((31 - sum % 31) % 31) as usize])
}

/// True when the 18-character code's check character is right. Pilot-region codes that fail
/// this check exist legally (domain.md §1.2): callers whitelist them, this function does not.
pub fn is_valid_uscc(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 18 && uscc_check_char(&b[..17]) == Some(b[17])
}

/// The GB 11714 check character for an 8-character body (`0-9A-Z`, A = 10 … Z = 35).
pub fn org_code_check_char(body: &[u8]) -> Option<u8> {
    if body.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.iter().zip(ORG_WEIGHTS) {
        sum += crate::iso7064::alphanumeric_value(*c)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        n => b'0' + n as u8,
    })
}

/// True for a valid organisation code, with or without the display dash (`60003734-1`).
pub fn is_valid_org_code(code: &str) -> bool {
    let compact: Vec<u8> = code.bytes().filter(|b| *b != b'-').collect();
    compact.len() == 9 && org_code_check_char(&compact[..8]) == Some(compact[8])
}

#[cfg(test)]
mod tests {
    use super::*;

    // domain.md §9 worked examples.
    #[test]
    fn uscc_worked_examples() {
        for code in [
            "91110000600037341L",
            "91350100M000100Y43",
            "91350200MA2YJ1XR9G",
            "11100000000013338W",
        ] {
            assert!(is_valid_uscc(code), "{code}");
        }
        assert!(!is_valid_uscc("91440300MA5EXQEN2Q"), "computed check is Y");
        assert_eq!(uscc_check_char(b"91440300MA5EXQEN2"), Some(b'Y'));
        // A real pilot code whose check fails (computed R): callers whitelist it.
        assert!(!is_valid_uscc("91350211M0000XUF46"));
        assert_eq!(uscc_check_char(b"91350211M0000XUF4"), Some(b'R'));
    }

    #[test]
    fn org_code_worked_examples() {
        for code in ["60003734-1", "07283195-4", "MA2YJ1XR-9", "M000100Y4"] {
            assert!(is_valid_org_code(code), "{code}");
        }
        assert!(!is_valid_org_code("60003734-2"));
        assert!(!is_valid_org_code("6000373"));
    }
}
