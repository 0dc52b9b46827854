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
    fn luhn_worked_examples() {
        assert!(passes_luhn("6222021234567890128"));
        assert!(passes_luhn("4012888888881881"));
        assert!(!passes_luhn("6222021234567890127"));
    }
}
