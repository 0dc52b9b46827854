//! Chinese person names: the surname apart from the given name (compound surnames known),
//! traditional characters simplified, and each character's toneless pinyin readings, so that a
//! homophone typed by an input method (王伟 / 王玮) is told apart from another person (王强).

use pinyin::ToPinyinMulti;
use shuzhi_functions::entity::comparison_form;

use super::hash_bytes;

/// Two-character surnames; any other name's surname is its first character.
const COMPOUND_SURNAMES: [&str; 34] = [
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "申屠", "万俟", "闻人", "赫连", "澹台",
    "公冶", "宗政", "濮阳", "太叔", "钟离", "呼延", "百里", "东郭", "第五", "单于",
];

/// Surnames read differently from the character's common reading (曾 zēng, not céng).
const SURNAME_READINGS: [(char, &str); 16] = [
    ('曾', "zeng"),
    ('单', "shan"),
    ('仇', "qiu"),
    ('解', "xie"),
    ('区', "ou"),
    ('查', "zha"),
    ('朴', "piao"),
    ('盖', "ge"),
    ('尉', "yu"),
    ('乐', "yue"),
    ('缪', "miao"),
    ('翟', "zhai"),
    ('覃', "qin"),
    ('召', "shao"),
    ('种', "chong"),
    ('员', "yun"),
];

/// Up to this many readings of a character are kept.
const READINGS: usize = 3;

/// A name prepared for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameValue {
    /// Comparison form: widths folded, simplified, spaces removed.
    text: Box<str>,
    /// Per character: hashes of its toneless readings (0 = none), the first being the common
    /// one (the surname reading for the surname).
    readings: Box<[[u32; READINGS]]>,
    /// The same after folding sounds that southern speakers and input methods confuse
    /// (zh/z, ch/c, sh/s, n/l, -ng/-n).
    fuzzy: Box<[[u32; READINGS]]>,
    /// Characters in the surname (1 or 2).
    surname_len: u8,
}

fn reading_hash(s: &str) -> u32 {
    (hash_bytes(s.as_bytes()) >> 32) as u32 | 1
}

fn fuzzy_reading(s: &str) -> String {
    let mut out = s.to_string();
    for (from, to) in [("zh", "z"), ("ch", "c"), ("sh", "s")] {
        if let Some(rest) = out.strip_prefix(from) {
            out = format!("{to}{rest}");
        }
    }
    if let Some(rest) = out.strip_prefix('l') {
        out = format!("n{rest}");
    }
    if let Some(stem) = out.strip_suffix("ng") {
        out = format!("{stem}n");
    }
    out
}

impl NameValue {
    /// Prepares a name; `None` when nothing is left after normalising.
    pub fn parse(raw: &str) -> Option<(u64, NameValue)> {
        let text: String = comparison_form(raw)
            .chars()
            .filter(|c| !matches!(c, '·' | '•' | '.' | '・'))
            .collect();
        if text.is_empty() {
            return None;
        }
        let surname_len = if COMPOUND_SURNAMES.iter().any(|s| text.starts_with(s)) {
            2
        } else {
            1
        };
        let mut readings = Vec::with_capacity(text.chars().count());
        let mut fuzzy = Vec::with_capacity(readings.capacity());
        for (k, c) in text.chars().enumerate() {
            let mut plain: Vec<String> = Vec::new();
            if k == 0
                && let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c)
            {
                plain.push((*r).to_string());
            }
            match c.to_pinyin_multi() {
                Some(multi) => {
                    for p in multi {
                        let p = p.plain().to_string();
                        if !plain.contains(&p) {
                            plain.push(p);
                        }
                    }
                }
                // Not a Chinese character: it reads as itself.
                None => plain.push(c.to_lowercase().collect()),
            }
            let mut r = [0u32; READINGS];
            let mut f = [0u32; READINGS];
            for (slot, p) in plain.iter().take(READINGS).enumerate() {
                r[slot] = reading_hash(p);
                f[slot] = reading_hash(&fuzzy_reading(p));
            }
            readings.push(r);
            fuzzy.push(f);
        }
        let key = hash_bytes(text.as_bytes());
        let value = NameValue {
            text: text.into(),
            readings: readings.into(),
            fuzzy: fuzzy.into(),
            surname_len,
        };
        Some((key, value))
    }

    /// Blocking key: the surname.
    pub fn surname_key(&self) -> u64 {
        let end = self
            .text
            .char_indices()
            .nth(usize::from(self.surname_len))
            .map_or(self.text.len(), |(at, _)| at);
        hash_bytes(&self.text.as_bytes()[..end])
    }

    /// Blocking key: the common reading of every character, so homophones share it.
    pub fn pinyin_key(&self) -> u64 {
        let bytes: Vec<u8> = self
            .readings
            .iter()
            .flat_map(|r| r[0].to_le_bytes())
            .collect();
        hash_bytes(&bytes)
    }
}

/// True when the characters in `range` share a reading pairwise.
fn sound_alike(
    a: &[[u32; READINGS]],
    b: &[[u32; READINGS]],
    range: std::ops::Range<usize>,
) -> bool {
    range
        .into_iter()
        .all(|k| a[k].iter().any(|x| *x != 0 && b[k].iter().any(|y| y == x)))
}

/// The level of two unequal names: `homophone` (2), `one_char` (3: one character inserted,
/// dropped or changed in a given name of two or more, or every character sounding alike once
/// dialect sounds are folded), `surname_only` (4) or `different` (5).
pub(crate) fn level(a: &NameValue, b: &NameValue) -> u8 {
    let len = a.readings.len();
    if len == b.readings.len() && sound_alike(&a.readings, &b.readings, 0..len) {
        return 2;
    }
    let surname = usize::from(a.surname_len);
    let same_surname = a.surname_len == b.surname_len
        && len >= surname
        && b.readings.len() >= surname
        && sound_alike(&a.fuzzy, &b.fuzzy, 0..surname);
    if !same_surname {
        return 5;
    }
    let longest_given = len.max(b.readings.len()) - surname;
    if longest_given >= 2 && strsim::levenshtein(&a.text, &b.text) == 1 {
        return 3;
    }
    if len == b.readings.len() && sound_alike(&a.fuzzy, &b.fuzzy, 0..len) {
        return 3;
    }
    4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> NameValue {
        NameValue::parse(s).expect("parses").1
    }

    fn lvl(a: &str, b: &str) -> u8 {
        let (ka, na) = NameValue::parse(a).expect("a");
        let (kb, nb) = NameValue::parse(b).expect("b");
        if ka == kb { 1 } else { level(&na, &nb) }
    }

    #[test]
    fn traditional_and_spaced_names_are_exact() {
        assert_eq!(lvl("張 偉", "张伟"), 1);
        assert_eq!(lvl("欧阳娜娜", "歐陽娜娜"), 1);
    }

    #[test]
    fn homophones_are_told_apart_from_other_people() {
        assert_eq!(lvl("王伟", "王玮"), 2);
        assert_eq!(lvl("张梓轩", "张子萱"), 2);
        assert_eq!(lvl("曾敏", "增敏"), 2, "曾 read as a surname");
        // Same surname, another given name: a sibling, a twin or a stranger.
        assert_eq!(lvl("王伟", "王强"), 4);
        // A given name with one character changed or dropped.
        assert_eq!(lvl("刘德华", "刘德化"), 2, "华 and 化 are both hua");
        assert_eq!(lvl("刘德华", "刘德强"), 3);
        assert_eq!(lvl("张三丰", "张三"), 3);
        // Dialect sounds: 陈/程 (chen/cheng), 刘/牛 (liu/niu).
        assert_eq!(lvl("陈立", "程立"), 3);
        assert_eq!(lvl("黄磊", "王磊"), 5);
    }

    #[test]
    fn compound_surnames_and_blocking_keys() {
        let a = name("欧阳锋");
        assert_eq!(a.surname_len, 2);
        assert_eq!(a.surname_key(), name("欧阳克").surname_key());
        assert_ne!(a.surname_key(), name("欧锋").surname_key());
        assert_eq!(name("王伟").pinyin_key(), name("王玮").pinyin_key());
        assert_ne!(name("王伟").pinyin_key(), name("王强").pinyin_key());
    }
}
