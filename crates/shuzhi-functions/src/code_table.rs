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
}

/// A code table: looks codes up and maps names and aliases to codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTable {
    name: String,
    codes: BTreeMap<String, String>,
    lookup: HashMap<String, String>,
}

impl CodeTable {
    /// Builds a table; later entries never override an earlier code's spelling.
    pub fn new(name: impl Into<String>, entries: impl IntoIterator<Item = CodeEntry>) -> Self {
        let mut codes = BTreeMap::new();
        let mut lookup = HashMap::new();
        for e in entries {
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
        Self {
            name: name.into(),
            codes,
            lookup,
        }
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
        self.codes.hash(state);
        let mut spellings: Vec<_> = self.lookup.iter().collect();
        spellings.sort_unstable();
        spellings.hash(state);
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
