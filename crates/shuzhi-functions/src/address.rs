//! Address prefixes (domain.md §4.7): the province / city / county names at the start of an
//! address, resolved against the GB/T 2260 table and rewritten in full
//! (`浙江杭州西湖区文三路` → `浙江省杭州市西湖区文三路`). Short province and city names,
//! repeated levels (`北京市北京市`) and the literal `市辖区` are handled; a county name shared
//! by several cities (朝阳区, 鼓楼区) without a city before it is left as written. The rest of
//! the address is not parsed.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::code_table::CodeTable;
use crate::text::{fold_width, is_spacelike};

/// Suffixes dropped to form the short name of a province or city (`浙江省` → `浙江`).
const SHORT_SUFFIXES: [&str; 7] = [
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
];

/// The current divisions of a GB/T 2260 table, indexed by the names an address may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divisions {
    names: HashMap<String, String>,
    by_name: HashMap<String, Vec<String>>,
    longest: usize,
    table: String,
}

impl std::hash::Hash for Divisions {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.table.hash(state);
        self.names.len().hash(state);
    }
}

fn parent_prefix(code: &str) -> &str {
    if code.ends_with("0000") {
        ""
    } else if code.ends_with("00") {
        &code[..2]
    } else {
        &code[..4]
    }
}

/// Placeholder city levels of the table (`市辖区`, `县`, `省直辖县级行政区划`): never written.
fn is_placeholder(name: &str) -> bool {
    name.ends_with("市辖区") || name == "县" || name.contains("直辖")
}

impl Divisions {
    /// Name of the code table the divisions come from.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Indexes the divisions still in use of a `code,name` table with six-digit codes.
    pub fn new(table: &CodeTable) -> Self {
        let mut names = HashMap::new();
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        let current: Vec<(&str, &str)> = table
            .current()
            .filter(|(code, _)| code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let provinces: HashMap<&str, &str> = current
            .iter()
            .filter(|(code, _)| code.ends_with("0000"))
            .map(|(code, name)| (&code[..2], *name))
            .collect();
        for &(code, name) in &current {
            // Some tables (ours, built from python-stdnum) prefix lower levels with the
            // province: `浙江省西湖区`.
            let name = match provinces.get(&code[..2]) {
                Some(province) if !code.ends_with("0000") => name
                    .strip_prefix(province)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(name),
                _ => name,
            };
            names.insert(code.to_owned(), name.to_owned());
            if is_placeholder(name) {
                continue;
            }
            let mut spellings = vec![name.to_owned()];
            let county = !code.ends_with("00");
            if !county
                && let Some(short) = SHORT_SUFFIXES
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|s| s.chars().count() >= 2)
            {
                spellings.push(short.to_owned());
            }
            for s in spellings {
                by_name.entry(s).or_default().push(code.to_owned());
            }
        }
        let longest = by_name.keys().map(String::len).max().unwrap_or(0);
        Self {
            names,
            by_name,
            longest,
            table: table.name().to_owned(),
        }
    }

    /// Codes a name at the start of `s` may stand for, under `parent` (a code prefix), with
    /// the name's byte length; the longest name wins.
    fn match_at(&self, s: &str, parent: &str) -> Option<(usize, Vec<&String>)> {
        let mut ends: Vec<usize> = s
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|e| *e <= self.longest)
            .collect();
        ends.reverse();
        for end in ends {
            if let Some(codes) = self.by_name.get(&s[..end]) {
                let under: Vec<&String> = codes.iter().filter(|c| c.starts_with(parent)).collect();
                if !under.is_empty() {
                    return Some((end, under));
                }
            }
        }
        None
    }

    /// The full division names of a code, from the province down.
    fn full_prefix(&self, code: &str) -> String {
        let mut levels = vec![format!("{}0000", &code[..2])];
        if !code.ends_with("0000") {
            levels.push(format!("{}00", &code[..4]));
        }
        if !code.ends_with("00") {
            levels.push(code.to_owned());
        }
        levels.dedup();
        levels
            .iter()
            .filter_map(|c| self.names.get(c))
            .filter(|n| !is_placeholder(n))
            .fold(String::new(), |acc, n| acc + n)
    }

    /// The address with its division prefix written in full and spaces removed; unchanged
    /// (apart from width and spaces) when no division, or an ambiguous one, starts it.
    pub fn normalize<'a>(&self, address: &'a str) -> Cow<'a, str> {
        let compact: String = address
            .chars()
            .filter(|c| !is_spacelike(*c))
            .map(fold_width)
            .collect();
        let mut rest = compact.as_str();
        let mut resolved: Option<String> = None;
        loop {
            rest = rest.strip_prefix("市辖区").unwrap_or(rest);
            let parent = resolved.as_deref().map_or("", |c| {
                if c.ends_with("0000") {
                    &c[..2]
                } else {
                    &c[..4]
                }
            });
            let Some((len, codes)) = self.match_at(rest, parent) else {
                break;
            };
            if codes.len() > 1 {
                // 朝阳区 of which city? Keep the address as written.
                if resolved.is_none() {
                    return owned_if_changed(address, compact);
                }
                break;
            }
            let code = codes[0].clone();
            let deeper = resolved.as_ref().is_none_or(|r| {
                *r != code && code.starts_with(parent) && parent_prefix(&code).len() >= parent.len()
            });
            rest = &rest[len..];
            if deeper {
                resolved = Some(code);
            }
            if resolved.as_ref().is_some_and(|c| !c.ends_with("00")) {
                break;
            }
        }
        let Some(code) = resolved else {
            return owned_if_changed(address, compact);
        };
        let out = format!("{}{rest}", self.full_prefix(&code));
        owned_if_changed(address, out)
    }
}

fn owned_if_changed(original: &str, new: String) -> Cow<'_, str> {
    if new == original {
        Cow::Borrowed(original)
    } else {
        Cow::Owned(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_table::CodeEntry;

    fn divisions() -> Divisions {
        let rows = [
            ("110000", "北京市", None),
            ("110100", "北京市市辖区", None),
            ("110105", "朝阳区", None),
            ("110103", "崇文区", Some(2010)),
            ("220000", "吉林省", None),
            ("220100", "长春市", None),
            ("220104", "朝阳区", None),
            ("330000", "浙江省", None),
            ("330100", "浙江省杭州市", None),
            ("330106", "浙江省西湖区", None),
            ("330110", "余杭区", None),
            ("450000", "广西壮族自治区", None),
            ("450100", "南宁市", None),
            ("450102", "兴宁区", None),
        ];
        let table = CodeTable::new(
            "gb2260",
            rows.iter().map(|(code, name, end)| CodeEntry {
                code: (*code).into(),
                name: (*name).into(),
                aliases: vec![],
                valid_to: *end,
            }),
        );
        Divisions::new(&table)
    }

    #[test]
    fn fills_and_expands_prefixes() {
        let d = divisions();
        assert_eq!(
            d.normalize("浙江杭州西湖区文三路90号"),
            "浙江省杭州市西湖区文三路90号"
        );
        assert_eq!(
            d.normalize("杭州市西湖区文三路90号"),
            "浙江省杭州市西湖区文三路90号"
        );
        assert_eq!(
            d.normalize("余杭区 文一西路 969号"),
            "浙江省杭州市余杭区文一西路969号"
        );
        assert_eq!(
            d.normalize("北京市北京市朝阳区建国路1号"),
            "北京市朝阳区建国路1号"
        );
        assert_eq!(
            d.normalize("北京市市辖区朝阳区建国路1号"),
            "北京市朝阳区建国路1号"
        );
        assert_eq!(
            d.normalize("广西南宁兴宁区民生路"),
            "广西壮族自治区南宁市兴宁区民生路"
        );
        assert_eq!(
            d.normalize("长春朝阳区人民大街"),
            "吉林省长春市朝阳区人民大街"
        );
        assert_eq!(d.normalize("浙江省杭州市"), "浙江省杭州市");
    }

    #[test]
    fn ambiguous_unknown_and_abolished_prefixes_stay() {
        let d = divisions();
        assert_eq!(d.normalize("朝阳区建国路1号"), "朝阳区建国路1号");
        assert_eq!(d.normalize("崇文区前门大街"), "崇文区前门大街");
        assert_eq!(d.normalize("西湖路 ３号"), "西湖路3号");
        assert!(matches!(d.normalize("某某村"), Cow::Borrowed(_)));
    }
}
