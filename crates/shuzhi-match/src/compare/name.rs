//! Chinese person names: the surname apart from the given name (compound surnames known),
//! traditional characters simplified, and each character's toneless pinyin readings, so that a
//! homophone typed by an input method (王伟 / 王玮) is told apart from another person (王强).
//!
//! A name is stored as its comparison form only; readings come from a table built once for the
//! CJK Unified Ideographs block (other characters are looked up directly), so comparing costs
//! no allocation and storing costs no more than the text.

use std::sync::OnceLock;

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

/// How a character sounds: hashes of its toneless readings (0 = none), the common one first,
/// and the same after folding sounds that southern speakers and input methods confuse
/// (zh/z, ch/c, sh/s, n/l, -ng/-n).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sound {
    readings: [u32; READINGS],
    fuzzy: [u32; READINGS],
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

fn sound_of_readings<'a>(readings: impl Iterator<Item = &'a str>) -> Sound {
    let mut sound = Sound::default();
    let mut kept = 0;
    for r in readings {
        let h = reading_hash(r);
        if kept == READINGS || sound.readings[..kept].contains(&h) {
            continue;
        }
        sound.readings[kept] = h;
        sound.fuzzy[kept] = reading_hash(&fuzzy_reading(r));
        kept += 1;
    }
    sound
}

fn lookup(c: char) -> Sound {
    match c.to_pinyin_multi() {
        Some(multi) => sound_of_readings(multi.into_iter().map(|p| p.plain())),
        // Not a Chinese character: it reads as itself.
        None => {
            let own: String = c.to_lowercase().collect();
            sound_of_readings(std::iter::once(own.as_str()))
        }
    }
}

const CJK: std::ops::RangeInclusive<u32> = 0x4E00..=0x9FFF;

/// The sound of `c`; the surname reading first when `c` starts the name.
fn sound(c: char, first: bool) -> Sound {
    if first && let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c) {
        let common = sound(c, false);
        let names = common.readings;
        let mut out = sound_of_readings(std::iter::once(*r));
        // Keep the character's other readings after the surname one.
        let mut kept = 1;
        for (k, h) in names.iter().enumerate() {
            if *h != 0 && !out.readings.contains(h) && kept < READINGS {
                out.readings[kept] = *h;
                out.fuzzy[kept] = common.fuzzy[k];
                kept += 1;
            }
        }
        return out;
    }
    static TABLE: OnceLock<Vec<Sound>> = OnceLock::new();
    let code = u32::from(c);
    if CJK.contains(&code) {
        let table = TABLE.get_or_init(|| {
            CJK.map(|code| char::from_u32(code).map(lookup).unwrap_or_default())
                .collect()
        });
        table[(code - CJK.start()) as usize]
    } else {
        lookup(c)
    }
}

fn sounds(text: &str) -> impl Iterator<Item = Sound> + '_ {
    text.chars().enumerate().map(|(k, c)| sound(c, k == 0))
}

/// A name's comparison form: widths folded, simplified, spaces and middle dots removed.
pub(crate) fn parse(raw: &str) -> Option<(u64, String)> {
    let text: String = comparison_form(raw)
        .chars()
        .filter(|c| !matches!(c, '·' | '•' | '.' | '・'))
        .collect();
    if text.is_empty() {
        return None;
    }
    Some((hash_bytes(text.as_bytes()), text))
}

/// Characters in the surname of `text` (1 or 2).
pub(crate) fn surname_len(text: &str) -> usize {
    if COMPOUND_SURNAMES.iter().any(|s| text.starts_with(s)) {
        2
    } else {
        1
    }
}

/// Blocking key: the surname.
pub(crate) fn surname_key(text: &str) -> u64 {
    let end = text
        .char_indices()
        .nth(surname_len(text))
        .map_or(text.len(), |(at, _)| at);
    hash_bytes(&text.as_bytes()[..end])
}

/// Blocking key: the common reading of every character, so homophones share it.
pub(crate) fn pinyin_key(text: &str) -> u64 {
    let bytes: Vec<u8> = sounds(text)
        .flat_map(|s| s.readings[0].to_le_bytes())
        .collect();
    hash_bytes(&bytes)
}

fn share(a: &[u32; READINGS], b: &[u32; READINGS]) -> bool {
    a.iter().any(|x| *x != 0 && b.contains(x))
}

/// True when the first `take` characters of both share a reading pairwise (exact readings,
/// or folded ones with `fuzzy`).
fn sound_alike(a: &str, b: &str, take: usize, fuzzy: bool) -> bool {
    sounds(a).zip(sounds(b)).take(take).all(|(x, y)| {
        if fuzzy {
            share(&x.fuzzy, &y.fuzzy)
        } else {
            share(&x.readings, &y.readings)
        }
    })
}

/// The level of two unequal names (comparison forms): `homophone` (2), `one_char` (3: one
/// character inserted, dropped or changed in a given name of two or more, or every character
/// sounding alike once dialect sounds are folded), `surname_only` (4) or `different` (5).
pub(crate) fn level(a: &str, b: &str) -> u8 {
    let (len_a, len_b) = (a.chars().count(), b.chars().count());
    if len_a == len_b && sound_alike(a, b, len_a, false) {
        return 2;
    }
    let surname = surname_len(a);
    let same_surname = surname == surname_len(b)
        && len_a >= surname
        && len_b >= surname
        && sound_alike(a, b, surname, true);
    if !same_surname {
        return 5;
    }
    let longest_given = len_a.max(len_b) - surname;
    if longest_given >= 2 && strsim::levenshtein(a, b) == 1 {
        return 3;
    }
    if len_a == len_b && sound_alike(a, b, len_a, true) {
        return 3;
    }
    4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> String {
        parse(s).expect("parses").1
    }

    fn lvl(a: &str, b: &str) -> u8 {
        let (ka, na) = parse(a).expect("a");
        let (kb, nb) = parse(b).expect("b");
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
        // Dialect sounds: 陈/程 (chen/cheng).
        assert_eq!(lvl("陈立", "程立"), 3);
        assert_eq!(lvl("黄磊", "王磊"), 5);
        // Beyond the CJK table: extension A reads as itself.
        assert_eq!(lvl("王䶮", "王䶮䶮"), 3);
    }

    #[test]
    fn compound_surnames_and_blocking_keys() {
        assert_eq!(surname_len(&form("欧阳锋")), 2);
        assert_eq!(surname_key(&form("欧阳锋")), surname_key(&form("欧阳克")));
        assert_ne!(surname_key(&form("欧阳锋")), surname_key(&form("欧锋")));
        assert_eq!(pinyin_key(&form("王伟")), pinyin_key(&form("王玮")));
        assert_ne!(pinyin_key(&form("王伟")), pinyin_key(&form("王强")));
    }
}
