//! Masking (脱敏) of personal data for display, following the usual patterns of the masking norms
//! (GB/T 35273 practice, hutool's defaults): names keep the surname, ID numbers the first 6 and
//! last 4 characters, mobile numbers 3 + 4, addresses stop at the county, anything else keeps
//! its first and last character. Masked characters become `*`, one per character, so the
//! length stays visible.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef};

use crate::arrays::{Result, map_strings};
use crate::keyword::Keyword;

/// How a value is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaskKind {
    /// 姓名: the surname stays (two characters for compound surnames), `段正淳` → `段**`.
    Name,
    /// 身份证号 and other identifiers: the first 6 and last 4, `110105********002X`.
    Id,
    /// 手机 / 固话: a mobile keeps 3 + 4 (`139****5678`), other numbers the first 4 and last 2.
    Phone,
    /// 地址: kept down to the county (区 / 县 / 旗, else 市), `北京市朝阳区*******`.
    Address,
    /// Anything else: the first and last character.
    Partial,
}

impl Keyword for MaskKind {
    const ALL: &'static [(&'static str, MaskKind)] = &[
        ("name", MaskKind::Name),
        ("id", MaskKind::Id),
        ("phone", MaskKind::Phone),
        ("address", MaskKind::Address),
        ("partial", MaskKind::Partial),
    ];
}

impl MaskKind {
    /// The masked form of `value`.
    pub fn apply(self, value: &str) -> String {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let (head, tail) = match self {
            MaskKind::Name => (surname_len(&chars), 0),
            MaskKind::Id if n >= 12 => (6, 4),
            MaskKind::Phone => {
                let mobile = n == 11 && chars[0] == '1' && chars.iter().all(char::is_ascii_digit);
                if mobile { (3, 4) } else { (4, 2) }
            }
            MaskKind::Address => (county_end(&chars), 0),
            MaskKind::Id | MaskKind::Partial => (1, 1),
        };
        keep(&chars, head, tail)
    }
}

/// Compound surnames (复姓) that keep two characters.
const COMPOUND_SURNAMES: [&str; 20] = [
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "独孤", "南宫", "西门", "端木",
];

fn surname_len(chars: &[char]) -> usize {
    let first_two: String = chars.iter().take(2).collect();
    if chars.len() > 2 && COMPOUND_SURNAMES.contains(&first_two.as_str()) {
        2
    } else {
        1
    }
}

/// Characters up to and including the county-level unit of an address.
fn county_end(chars: &[char]) -> usize {
    let find = |units: &[char]| chars.iter().position(|c| units.contains(c)).map(|i| i + 1);
    find(&['区', '县', '旗'])
        .or_else(|| find(&['市']))
        .unwrap_or(3)
}

/// Keeps `head` leading and `tail` trailing characters and masks the rest; a value too short
/// to keep both keeps at most half of itself, so something is always masked.
fn keep(chars: &[char], head: usize, tail: usize) -> String {
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    let (head, tail) = if head + tail >= n {
        ((n / 2).min(head).max(usize::from(n > 1)), 0)
    } else {
        (head, tail)
    };
    let head = head.min(n.saturating_sub(1));
    let mut out = String::with_capacity(n * 3);
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// Masks a text column (nulls stay null); the output is `Utf8`.
pub fn mask_array(kind: MaskKind, values: &dyn Array) -> Result<ArrayRef> {
    map_strings(values, |v| Some(Cow::Owned(kind.apply(v))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray};
    use std::sync::Arc;

    #[test]
    fn masks_each_kind_as_the_norms_show() {
        assert_eq!(MaskKind::Name.apply("段正淳"), "段**");
        assert_eq!(MaskKind::Name.apply("欧阳娜娜"), "欧阳**");
        assert_eq!(MaskKind::Name.apply("王五"), "王*");
        assert_eq!(
            MaskKind::Id.apply("11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(MaskKind::Phone.apply("13912345678"), "139****5678");
        assert_eq!(MaskKind::Phone.apply("0311-87654321"), "0311*******21");
        assert_eq!(
            MaskKind::Address.apply("北京市朝阳区建国路1号"),
            "北京市朝阳区*****"
        );
        assert_eq!(MaskKind::Address.apply("杭州市西湖区"), "杭州市***");
        assert_eq!(MaskKind::Partial.apply("abcdef"), "a****f");
    }

    #[test]
    fn something_is_always_masked() {
        for kind in MaskKind::ALL.iter().map(|(_, k)| *k) {
            for v in ["x", "ab", "abc", "123456789"] {
                let masked = kind.apply(v);
                assert_eq!(masked.chars().count(), v.chars().count(), "{kind:?} {v}");
                assert!(masked.contains('*'), "{kind:?} {v} → {masked}");
                assert_ne!(masked, v);
            }
        }
        assert_eq!(MaskKind::Id.apply(""), "");
    }

    #[test]
    fn masks_arrays_and_keeps_nulls() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("13912345678"), None]));
        let m = mask_array(MaskKind::Phone, a.as_ref()).expect("masks");
        let m = m.as_string::<i32>();
        assert_eq!(m.value(0), "139****5678");
        assert!(m.is_null(1));
        assert_eq!(MaskKind::from_name("address"), Some(MaskKind::Address));
        assert_eq!(MaskKind::Address.name(), "address");
    }
}
