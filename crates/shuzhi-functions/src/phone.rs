//! Mainland mobile and fixed-line numbers (domain.md §1.6, §4.8).

use crate::text::normalize_text;

/// Placeholder numbers that mean "no value".
const PLACEHOLDERS: [&str; 4] = ["13800138000", "11111111111", "12345678901", "00000000000"];

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

fn has_long_run(d: &str) -> bool {
    let b = d.as_bytes();
    let mut run = 1;
    for w in b.windows(2) {
        run = if w[0] == w[1] { run + 1 } else { 1 };
        if run >= 8 {
            return true;
        }
    }
    false
}

/// Canonical form: an 11-digit mobile (`13912345678`) or a landline `0AA(A)-NNNNNNN(N)` with an
/// optional `-ext`. Country prefixes (`+86`, `0086`, `86`), spaces, dots, dashes and brackets
/// are removed; placeholders and anything else that is not a number become `None`.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let text = normalize_text(raw);
    let mut digits = String::with_capacity(text.len());
    let mut groups: Vec<usize> = Vec::new(); // lengths of digit groups, for landline splitting
    let mut current = 0usize;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                digits.push(c);
                current += 1;
            }
            ' ' | '-' | '.' | '(' | ')' | '+' => {
                if current > 0 {
                    groups.push(current);
                    current = 0;
                }
            }
            _ => return None,
        }
    }
    if current > 0 {
        groups.push(current);
    }
    let mut d = digits.as_str();
    for prefix in ["0086", "86"] {
        if d.len() == 11 + prefix.len() && d.starts_with(prefix) && is_mobile(&d[prefix.len()..]) {
            d = &d[prefix.len()..];
        }
    }
    if d.len() == 12 && d.starts_with('0') && is_mobile(&d[1..]) {
        d = &d[1..];
    }
    if is_mobile(d) {
        return (!PLACEHOLDERS.contains(&d) && !has_long_run(d)).then(|| d.to_owned());
    }
    landline(d, &groups)
}

fn landline(d: &str, groups: &[usize]) -> Option<String> {
    if !d.starts_with('0') || has_long_run(d) {
        return None;
    }
    // Area code: 010 and 02x are three digits, others four; trust an explicit first group.
    let area_len = match groups.first() {
        Some(&n) if (3..=4).contains(&n) && groups.len() > 1 => n,
        _ if d.starts_with("01") || d.starts_with("02") => 3,
        _ => 4,
    };
    let rest = d.get(area_len..)?;
    let explicit_ext = groups.len() == 3 && groups[0] == area_len;
    let (local, ext) = if explicit_ext {
        rest.split_at_checked(groups[1])?
    } else {
        (rest, "")
    };
    if !(7..=8).contains(&local.len()) || ext.len() > 6 {
        return None;
    }
    let mut out = format!("{}-{}", &d[..area_len], local);
    if !ext.is_empty() {
        out.push('-');
        out.push_str(ext);
    }
    Some(out)
}

/// The clean step: the canonical form when there is one, null for placeholders and Excel
/// scientific notation (unrecoverable), and the text unchanged otherwise (so a check can flag it).
pub fn clean_phone(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(canonical) = normalize_phone(raw) {
        return Some(if canonical == raw {
            std::borrow::Cow::Borrowed(raw)
        } else {
            std::borrow::Cow::Owned(canonical)
        });
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let placeholder =
        PLACEHOLDERS.contains(&digits.as_str()) || (digits.len() >= 8 && has_long_run(&digits));
    if placeholder || raw.contains("E+") || raw.contains("e+") {
        None
    } else {
        Some(std::borrow::Cow::Borrowed(raw))
    }
}

/// True for a canonical mobile or landline as produced by [`normalize_phone`].
pub fn is_valid_phone(s: &str) -> bool {
    normalize_phone(s).as_deref() == Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_forms() {
        for s in [
            "+86 139 1234 5678",
            "0086-13912345678",
            "86-13912345678",
            "139-1234-5678",
            "１３９１２３４５６７８",
            "013912345678",
        ] {
            assert_eq!(normalize_phone(s).as_deref(), Some("13912345678"), "{s}");
        }
    }

    #[test]
    fn landline_forms() {
        assert_eq!(
            normalize_phone("(010)12345678").as_deref(),
            Some("010-12345678")
        );
        assert_eq!(
            normalize_phone("010-12345678-801").as_deref(),
            Some("010-12345678-801")
        );
        assert_eq!(
            normalize_phone("0571 8765432").as_deref(),
            Some("0571-8765432")
        );
        assert_eq!(
            normalize_phone("057187654321").as_deref(),
            Some("0571-87654321")
        );
    }

    #[test]
    fn placeholders_and_garbage_are_none() {
        for s in [
            "13800138000",
            "11111111111",
            "1.38001E+10",
            "abc",
            "12345",
            "138001380001234",
        ] {
            assert_eq!(normalize_phone(s), None, "{s}");
        }
    }

    #[test]
    fn clean_step_keeps_unknown_text_for_the_check() {
        assert_eq!(clean_phone("139 1234 5678").as_deref(), Some("13912345678"));
        assert_eq!(clean_phone("13800138000"), None);
        assert_eq!(clean_phone("1.38001E+10"), None);
        assert_eq!(clean_phone("call me").as_deref(), Some("call me"));
    }

    #[test]
    fn canonical_forms_are_valid() {
        assert!(is_valid_phone("13912345678"));
        assert!(is_valid_phone("010-12345678"));
        assert!(!is_valid_phone("+86 139 1234 5678"));
    }
}
