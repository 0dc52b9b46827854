//! Identifier construction, written independently of shuzhi's validators so that the truth
//! does not come from the engine under test (worked examples: shared/reference/domain.md).

/// GB 11643 check character of a 17-digit body.
pub fn id_check(body17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// The 18-digit citizen ID for a region, birth date (`yyyymmdd`) and 3-digit sequence.
pub fn id18(region: &str, yyyymmdd: &str, seq: u32) -> String {
    let body = format!("{region}{yyyymmdd}{seq:03}");
    let check = id_check(&body);
    format!("{body}{check}")
}

/// The 15-digit ID issued before 1999 for the same person (2-digit year, no check digit).
pub fn id15(id18: &str) -> String {
    format!("{}{}", &id18[..6], &id18[8..17])
}

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 11714 check character of an 8-character organisation code body.
pub fn org_check(body8: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let value = |b: u8| match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        _ => u32::from(b - b'A') + 10,
    };
    let sum: u32 = body8.bytes().zip(W).map(|(b, w)| value(b) * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    }
}

/// GB 32100 check character of a 17-character USCC body.
pub fn uscc_check(body17: &str) -> char {
    let mut weight = 1u32;
    let mut sum = 0u32;
    for b in body17.bytes() {
        let v = USCC_ALPHABET.iter().position(|a| *a == b).unwrap_or(0) as u32;
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

/// A USCC for an enterprise (`91`) registered in `region`, from an 8-character org body.
pub fn uscc(region: &str, org_body8: &str) -> String {
    let org = format!("{org_body8}{}", org_check(org_body8));
    let body = format!("91{region}{org}");
    let check = uscc_check(&body);
    format!("{body}{check}")
}

/// ISO 7064 MOD 37,36 check character over `0-9A-Z` (GB/T 36904 e-licence identifiers).
pub fn mod37_36(text: &str) -> char {
    const M: u32 = 36;
    let mut p = M;
    for b in text.bytes() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => continue,
        };
        let mut s = (p + v) % M;
        if s == 0 {
            s = M;
        }
        p = (2 * s) % (M + 1);
    }
    let c = (M + 1 - p) % M;
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[c as usize] as char
}

/// A GB/T 36904 e-licence identifier.
pub fn e_licence(type_code: &str, issuer_uscc: &str, serial: &str) -> String {
    let version = "001";
    let check = mod37_36(&format!("{type_code}{issuer_uscc}{serial}{version}"));
    format!("1.2.156.3005.2.{type_code}.{issuer_uscc}.{serial}.{version}.{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        assert_eq!(id_check("11010519491231002"), 'X');
        assert_eq!(id15("11010519491231002X"), "110105491231002");
        assert_eq!(org_check("60003734"), '1');
        assert_eq!(org_check("07283195"), '4');
        assert_eq!(uscc_check("91110000600037341"), 'L');
        assert_eq!(uscc_check("91350200MA2YJ1XR9"), 'G');
        assert_eq!(uscc("110000", "60003734"), "91110000600037341L");
    }

    #[test]
    fn mod37_36_detects_single_changes() {
        let base = "11100000000013338W03291110000600037341L2026000001001";
        let c = mod37_36(base);
        let changed = base.replacen('2', "3", 1);
        assert_ne!(mod37_36(&changed), c);
    }
}
