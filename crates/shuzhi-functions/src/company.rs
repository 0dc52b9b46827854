//! Company names (domain.md §4.6): the registered display form, and a matching key for
//! blocking and dedup.

use std::borrow::Cow;

use crate::simplified::to_simplified;
use crate::text::{fold_width, is_invisible, is_spacelike};

/// Annotations departments append to a name that are not part of it.
const STATUS_NOTES: [&str; 6] = ["已注销", "注销", "已吊销", "吊销", "已迁出", "迁出"];

fn is_open(c: char) -> bool {
    matches!(c, '(' | '（' | '[' | '【' | '〔')
}

fn is_close(c: char) -> bool {
    matches!(c, ')' | '）' | ']' | '】' | '〕')
}

/// The registered display form: full-width ASCII folded, spaces removed except between two
/// Latin letters or digits, every bracket pair written `（）` (the registered form), `*` and
/// invisible characters removed, and a trailing status note such as `（已注销）` or `(吊销)`
/// dropped. Borrowed when nothing changes.
pub fn company_name(s: &str) -> Cow<'_, str> {
    let chars: Vec<char> = s
        .chars()
        .filter(|c| !is_invisible(*c) && *c != '*')
        .map(fold_width)
        .collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if is_spacelike(c) {
            let before = out.chars().last();
            let after = chars[i + 1..].iter().find(|c| !is_spacelike(**c));
            let latin = |c: Option<&char>| c.is_some_and(char::is_ascii_alphanumeric);
            if latin(before.as_ref()) && latin(after) && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if is_open(c) {
            out.push('（');
        } else if is_close(c) {
            out.push('）');
        } else {
            out.push(c);
        }
    }
    // Every trailing note, so a second pass changes nothing: `（注销）（已注销）`.
    while let Some(len) = STATUS_NOTES
        .iter()
        .find_map(|note| out.strip_suffix(&format!("（{note}）")).map(str::len))
    {
        out.truncate(len);
    }
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// The matching key (not for display): the display form, simplified characters, brackets as
/// `()`, punctuation other than brackets removed, and `有限责任公司` written `有限公司` (one
/// company registers one of the two forms; for matching they are the same).
pub fn company_key(s: &str) -> String {
    let display = company_name(s);
    let simplified = to_simplified(&display);
    let key: String = simplified
        .chars()
        .filter_map(|c| match c {
            '（' => Some('('),
            '）' => Some(')'),
            ' ' => None,
            c if c.is_ascii_punctuation() || ('\u{3000}'..='\u{303F}').contains(&c) => None,
            '·' | '•' | '，' | '、' | '；' | '：' => None,
            c => Some(c.to_ascii_uppercase()),
        })
        .collect();
    key.replace("有限责任公司", "有限公司")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_form() {
        assert_eq!(
            company_name("华为技术(北京)有限公司"),
            "华为技术（北京）有限公司"
        );
        assert_eq!(
            company_name(" 北京 某某 科技有限公司 "),
            "北京某某科技有限公司"
        );
        assert_eq!(company_name("ABC  Trading 有限公司"), "ABC Trading有限公司");
        assert_eq!(company_name("某某商贸有限公司(已注销)"), "某某商贸有限公司");
        assert_eq!(
            company_name("某某商贸有限公司（注销）(已注销)"),
            "某某商贸有限公司"
        );
        assert_eq!(
            company_name("某某*有限公司【普通合伙】"),
            "某某有限公司（普通合伙）"
        );
        assert_eq!(company_name("ＡＢＣ有限公司"), "ABC有限公司");
        assert!(matches!(
            company_name("某某（北京）有限公司"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn matching_key() {
        let a = company_key("華為技術(北京)有限責任公司");
        let b = company_key("华为技术（北京）有限公司 ");
        assert_eq!(a, b);
        assert_eq!(a, "华为技术(北京)有限公司");
        assert_eq!(company_key("abc·贸易有限公司"), "ABC贸易有限公司");
        assert_ne!(
            company_key("某某有限公司"),
            company_key("某某有限公司分公司")
        );
    }
}
