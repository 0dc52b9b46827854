//! Code tables (GB/T 2260 regions, GB/T 2261.1 gender, ...): membership and mapping of names
//! and aliases to codes.

use std::collections::{BTreeMap, HashMap};

/// One code with its display name and the spellings departments use for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeEntry {
    /// The standard code, e.g. `1` for male in GB/T 2261.1.
    pub code: String,
    /// The standard name, e.g. `男性`.
    pub name: String,
    /// Other spellings that map to this code, e.g. `男`, `M`.
    pub aliases: Vec<String>,
    /// Last year this name was in use (GB/T 2260 codes of abolished divisions); `None`: still.
    pub valid_to: Option<i32>,
}

/// A code table: looks codes up and maps names and aliases to codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTable {
    name: String,
    codes: BTreeMap<String, String>,
    lookup: HashMap<String, String>,
    /// Last year of use per code, over all its names (absent: still in use).
    ends: BTreeMap<String, i32>,
    /// Hash of the content, computed once: plans hash their UDFs (and so this table) often,
    /// and a GB/T 2260 table has thousands of codes.
    digest: u64,
}

impl CodeTable {
    /// Builds a table; later entries never override an earlier code's spelling.
    pub fn new(name: impl Into<String>, entries: impl IntoIterator<Item = CodeEntry>) -> Self {
        let mut codes = BTreeMap::new();
        let mut lookup = HashMap::new();
        let mut ends: BTreeMap<String, Option<i32>> = BTreeMap::new();
        for e in entries {
            let end = ends.entry(e.code.clone()).or_insert(e.valid_to);
            *end = match (*end, e.valid_to) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            lookup
                .entry(e.code.clone())
                .or_insert_with(|| e.code.clone());
            for spelling in std::iter::once(&e.name).chain(&e.aliases) {
                lookup
                    .entry(spelling.to_lowercase())
                    .or_insert_with(|| e.code.clone());
            }
            codes.insert(e.code, e.name);
        }
        let ends: BTreeMap<String, i32> = ends
            .into_iter()
            .filter_map(|(code, end)| end.map(|e| (code, e)))
            .collect();
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            codes.hash(&mut h);
            let mut spellings: Vec<_> = lookup.iter().collect();
            spellings.sort_unstable();
            spellings.hash(&mut h);
            ends.hash(&mut h);
            h.finish()
        };
        Self {
            name: name.into(),
            codes,
            lookup,
            ends,
            digest,
        }
    }

    /// True when `code` is in the table and was still in use in `year` or later: a person born
    /// in `year` can hold it (IDs keep the code valid when they were issued). 110103 崇文区,
    /// abolished in 2010, is valid for a birth in 1980 and not for one in 2015.
    pub fn in_use_since(&self, code: &str, year: i32) -> bool {
        self.contains(code) && self.ends.get(code).is_none_or(|end| *end >= year)
    }

    /// The table's name, e.g. `gb2261_1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when `code` is one of the table's codes.
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains_key(code)
    }

    /// The code for a code, name or alias (names and aliases compared case-insensitively).
    pub fn map(&self, value: &str) -> Option<&str> {
        if let Some(code) = self.lookup.get(value) {
            return Some(code);
        }
        self.lookup.get(&value.to_lowercase()).map(String::as_str)
    }

    /// `(code, name)` of every code still in use (no `valid_to`), in code order.
    pub fn current(&self) -> impl Iterator<Item = (&str, &str)> {
        self.codes
            .iter()
            .filter(|(code, _)| !self.ends.contains_key(*code))
            .map(|(code, name)| (code.as_str(), name.as_str()))
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when the table has no codes.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

impl std::hash::Hash for CodeTable {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.digest.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gender() -> CodeTable {
        let e = |code: &str, name: &str, aliases: &[&str]| CodeEntry {
            code: code.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| (*a).into()).collect(),
            valid_to: None,
        };
        CodeTable::new(
            "gb2261_1",
            [
                e("0", "未知的性别", &["未知", "不详"]),
                e("1", "男性", &["男", "M", "male"]),
                e("2", "女性", &["女", "F", "female"]),
                e("9", "未说明的性别", &["未说明"]),
            ],
        )
    }

    #[test]
    fn abolished_codes_are_in_use_only_for_births_up_to_their_end() {
        let e = |code: &str, name: &str, valid_to: Option<i32>| CodeEntry {
            code: code.into(),
            name: name.into(),
            aliases: Vec::new(),
            valid_to,
        };
        let t = CodeTable::new(
            "gb2260",
            [
                e("110103", "北京市崇文区", Some(2010)),
                e("110105", "北京市朝阳区", None),
                e("120110", "天津市东郊区", Some(1991)),
                e("120110", "天津市东丽区", None),
            ],
        );
        assert!(t.in_use_since("110103", 1980) && t.in_use_since("110103", 2010));
        assert!(!t.in_use_since("110103", 2015));
        assert!(t.in_use_since("110105", 2020) && t.in_use_since("120110", 2020));
        assert!(!t.in_use_since("999999", 1980));
    }

    #[test]
    fn maps_codes_names_and_aliases() {
        let t = gender();
        assert_eq!(t.map("1"), Some("1"));
        assert_eq!(t.map("男"), Some("1"));
        assert_eq!(t.map("女性"), Some("2"));
        assert_eq!(t.map("m"), Some("1"));
        assert_eq!(t.map("FEMALE"), Some("2"));
        assert_eq!(t.map("不详"), Some("0"));
        assert_eq!(t.map("x"), None);
        assert!(t.contains("9") && !t.contains("男"));
        assert_eq!(t.len(), 4);
    }
}
