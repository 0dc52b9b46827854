//! ISO 7064 hybrid systems MOD (M+1),M: MOD 11,10 (GS15 registration numbers) and MOD 37,36
//! (GB/T 36904 e-licence identifiers).

const ALPHANUMERIC: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Value of `0-9A-Z` (upper case) as 0..35.
pub fn alphanumeric_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Check value of the hybrid system with modulus `m` over `values`.
fn hybrid_check(values: impl Iterator<Item = u32>, m: u32) -> u32 {
    let mut p = m;
    for v in values {
        let mut s = (p + v) % m;
        if s == 0 {
            s = m;
        }
        p = (2 * s) % (m + 1);
    }
    (m + 1 - p) % m
}

/// The MOD 11,10 check digit of a digit string, e.g. the 15th digit of a GS15 number.
pub fn mod_11_10(digits: &str) -> Option<u8> {
    let values: Option<Vec<u32>> = digits
        .bytes()
        .map(|b| b.is_ascii_digit().then(|| u32::from(b - b'0')))
        .collect();
    Some(b'0' + hybrid_check(values?.into_iter(), 10) as u8)
}

/// The MOD 37,36 check character of a `0-9A-Z` string.
pub fn mod_37_36(text: &str) -> Option<u8> {
    let values: Option<Vec<u32>> = text.bytes().map(alphanumeric_value).collect();
    Some(ALPHANUMERIC[hybrid_check(values?.into_iter(), 36) as usize])
}

/// True for a valid 15-digit GS15-2006 business registration number.
pub fn is_valid_gs15(s: &str) -> bool {
    s.len() == 15 && s.is_ascii() && mod_11_10(&s[..14]) == Some(s.as_bytes()[14])
}

/// Root OID of every GB/T 36904 e-licence identifier.
const ELICENCE_ROOT: &str = "1.2.156.3005.2.";

/// True for a GB/T 36904 e-licence identifier whose last part is the MOD 37,36 check of the
/// type code, issuer, serial and version (dots removed).
pub fn is_valid_elicence_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(ELICENCE_ROOT) else {
        return false;
    };
    let Some((body, check)) = rest.rsplit_once('.') else {
        return false;
    };
    let parts: Vec<&str> = body.split('.').collect();
    if parts.len() != 4 || check.len() != 1 || parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    mod_37_36(&parts.concat()) == check.bytes().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    // domain.md §9 worked examples.
    #[test]
    fn gs15_worked_examples() {
        assert!(is_valid_gs15("110108000000016"));
        assert!(is_valid_gs15("310230001716146"));
        assert!(!is_valid_gs15("310230001716145"));
    }

    #[test]
    fn elicence_worked_examples() {
        for id in [
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
            "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
        ] {
            assert!(is_valid_elicence_id(id), "{id}");
        }
        assert!(!is_valid_elicence_id(
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.M"
        ));
        assert!(!is_valid_elicence_id("1.2.156.3005.2.x"));
    }
}
