//! Traditional → simplified characters (domain.md §4.2), character by character, from OpenCC's
//! `TSCharacters` table (`data/ts_characters.txt`, Apache-2.0). A character OpenCC maps to
//! several candidates including itself (乾 → 干 / 乾) is left unchanged: only phrase context
//! could decide it, and names (乾隆) must not be rewritten by a guess.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/ts_characters.txt");

fn table() -> &'static HashMap<char, char> {
    static MAP: OnceLock<HashMap<char, char>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let Some((from, to)) = line.split_once('\t') else {
                continue;
            };
            let mut from_chars = from.chars();
            let (Some(t), None) = (from_chars.next(), from_chars.next()) else {
                continue;
            };
            let candidates: Vec<char> = to
                .split_whitespace()
                .filter_map(|c| {
                    let mut cs = c.chars();
                    cs.next().filter(|_| cs.next().is_none())
                })
                .collect();
            if let Some(first) = candidates.first()
                && !candidates.contains(&t)
            {
                map.insert(t, *first);
            }
        }
        // A few simplified forms are themselves listed as traditional (薴 → 苧 → 苎): follow
        // them to the end, so converting twice changes nothing.
        let resolved: HashMap<char, char> = map
            .iter()
            .map(|(&t, &s)| {
                let mut s = s;
                for _ in 0..4 {
                    match map.get(&s) {
                        Some(&next) if next != s => s = next,
                        _ => break,
                    }
                }
                (t, s)
            })
            .collect();
        resolved
    })
}

/// The text with traditional characters replaced by their simplified forms; borrowed when it
/// has none.
pub fn to_simplified(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let map = table();
    if !s.chars().any(|c| map.contains_key(&c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| *map.get(&c).unwrap_or(&c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_traditional_characters() {
        assert_eq!(to_simplified("臺灣省臺北市"), "台湾省台北市");
        assert_eq!(
            to_simplified("廣東華為技術有限公司"),
            "广东华为技术有限公司"
        );
        assert_eq!(to_simplified("發展與改革委員會"), "发展与改革委员会");
    }

    #[test]
    fn ambiguous_characters_and_simplified_text_stay() {
        assert_eq!(to_simplified("乾隆"), "乾隆");
        assert_eq!(to_simplified("薴"), "苎", "chains are followed to the end");
        assert!(matches!(to_simplified("北京市朝阳区"), Cow::Borrowed(_)));
        assert!(matches!(to_simplified("ABC 123"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_table_is_loaded() {
        assert!(table().len() > 3000, "{}", table().len());
    }
}
