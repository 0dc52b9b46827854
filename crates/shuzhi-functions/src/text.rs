//! Text normalisation (domain.md §4.1, §4.9) and placeholder null tokens (§4.4).

use std::borrow::Cow;
use std::collections::HashSet;

/// Removes leading and trailing whitespace, including U+3000 and NBSP; borrowed.
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_spacelike)
}

/// Pads a number on the left with `fill` to `width` characters (`{ pad = [6, "0"] }`:
/// `1234` → `001234`, a code that lost its leading zeros in Excel); text that is not all
/// ASCII digits, and longer values, are unchanged (`汉` stays `汉`).
pub fn pad_left(s: &str, width: usize, fill: char) -> Cow<'_, str> {
    let n = s.len();
    if n >= width || n == 0 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(s);
    }
    let mut out: String = std::iter::repeat_n(fill, width - n).collect();
    out.push_str(s);
    Cow::Owned(out)
}

/// A regular-expression replacement (`{ replace = ["pattern", "with"] }`); `$1` refers to
/// groups. Compared and hashed by its pattern and replacement.
#[derive(Debug, Clone)]
pub struct Replace {
    regex: regex::Regex,
    with: String,
}

impl Replace {
    /// Compiles the pattern.
    pub fn new(pattern: &str, with: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            regex: regex::Regex::new(pattern)?,
            with: with.to_owned(),
        })
    }

    /// Every match replaced; borrowed when nothing matches.
    pub fn apply<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.regex.replace_all(s, self.with.as_str())
    }
}

impl PartialEq for Replace {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str() && self.with == other.with
    }
}

impl Eq for Replace {}

impl std::hash::Hash for Replace {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.regex.as_str().hash(state);
        self.with.hash(state);
    }
}

/// Characters removed outright: zero-width, BOM, soft hyphen, bidi controls.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters treated as a space: ASCII whitespace and controls, NBSP, U+3000.
pub(crate) fn is_spacelike(c: char) -> bool {
    c.is_whitespace() || c.is_control() || c == '\u{00A0}' || c == '\u{3000}'
}

/// Full-width ASCII (U+FF01–U+FF5E) folded to half-width; everything else unchanged.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn needs_normalising(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return true;
    }
    if s.is_ascii() {
        return bytes.windows(2).any(|w| w[0] == b' ' && w[1] == b' ')
            || bytes.iter().any(|b| *b < 0x20 || *b == 0x7F);
    }
    let mut prev_space = false;
    for c in s.chars() {
        if is_invisible(c) || fold_width(c) != c {
            return true;
        }
        let space = is_spacelike(c);
        if space && (c != ' ' || prev_space) {
            return true;
        }
        prev_space = space;
    }
    false
}

/// Folds full-width ASCII and U+3000 to half-width, removes zero-width and bidi characters,
/// turns control characters and other spaces into spaces, collapses space runs and trims.
/// Idempotent; returns the input unchanged (borrowed) when nothing applies.
pub fn normalize_text(s: &str) -> Cow<'_, str> {
    if !needs_normalising(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if is_invisible(c) {
            continue;
        }
        if is_spacelike(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(fold_width(c));
    }
    Cow::Owned(out)
}

/// Signatures of text already destroyed by a wrong decode (domain.md §4.5): `锟斤拷` is U+FFFD
/// replacement characters re-read as GBK, `烫烫` / `屯屯` uninitialised memory read as GBK.
const MOJIBAKE: [&str; 3] = ["锟斤拷", "烫烫", "屯屯"];

/// True when the text carries a signature of unrecoverable mojibake or a replacement character.
pub fn has_mojibake(s: &str) -> bool {
    !s.is_ascii() && (s.contains('\u{FFFD}') || MOJIBAKE.iter().any(|m| s.contains(m)))
}

/// The default placeholder tokens of domain.md §4.4 (compared after trimming, case-insensitively).
pub const DEFAULT_NULL_TOKENS: &[&str] = &[
    "无",
    "空",
    "暂无",
    "没有",
    "不详",
    "未知",
    "未填",
    "未填写",
    "待补充",
    "待定",
    "略",
    "/",
    "／",
    "\\",
    "-",
    "--",
    "—",
    "——",
    "－",
    ".",
    "。",
    "null",
    "none",
    "nil",
    "n/a",
    "na",
    "#n/a",
    "#value!",
    "#ref!",
    "nan",
    "\\n",
    "(空)",
    "（空）",
    "（空白）",
    "?",
    "？",
    "xxx",
    "***",
];

/// A set of placeholder tokens that mean "no value".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullTokens {
    tokens: HashSet<String>,
}

impl NullTokens {
    /// Builds the set; tokens are matched trimmed and case-insensitively.
    pub fn new<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            tokens: tokens
                .into_iter()
                .map(|t| t.as_ref().trim().to_lowercase())
                .collect(),
        }
    }

    /// True when `s` (trimmed) is empty or one of the tokens.
    pub fn is_null(&self, s: &str) -> bool {
        let t = s.trim();
        if t.is_empty() {
            return true;
        }
        if t.len() > 16 {
            return false;
        }
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            self.tokens.contains(&t.to_ascii_lowercase())
        } else {
            self.tokens.contains(t)
        }
    }

    /// The tokens, sorted, for fingerprints and messages.
    pub fn sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

impl std::hash::Hash for NullTokens {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.sorted().hash(state);
    }
}

impl Default for NullTokens {
    fn default() -> Self {
        Self::new(DEFAULT_NULL_TOKENS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_full_width_and_ideographic_space() {
        assert_eq!(normalize_text("１２３ＡＢＣ"), "123ABC");
        assert_eq!(normalize_text("张\u{3000}三"), "张 三");
        assert_eq!(normalize_text("（有限公司）"), "(有限公司)");
    }

    #[test]
    fn strips_invisible_and_collapses_space() {
        assert_eq!(normalize_text("\u{FEFF}  a\u{200B}b \t\r\n c  "), "ab c");
        assert_eq!(normalize_text("\t110105"), "110105");
        assert_eq!(normalize_text("a\u{00A0}\u{00A0}b"), "a b");
    }

    #[test]
    fn clean_input_is_borrowed() {
        assert!(matches!(normalize_text("张三 abc"), Cow::Borrowed(_)));
        assert!(matches!(normalize_text("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn trim_pad_and_replace() {
        assert_eq!(trim("\u{3000} 张三 \u{00A0}"), "张三");
        assert_eq!(pad_left("1234", 6, '0'), "001234");
        assert!(matches!(pad_left("123456", 6, '0'), Cow::Borrowed(_)));
        assert_eq!(pad_left("汉", 2, '0'), "汉");
        assert_eq!(pad_left("1A", 4, '0'), "1A");
        let r = Replace::new("^(\\d{4})年$", "${1}").expect("pattern");
        assert_eq!(r.apply("2023年"), "2023");
        assert!(matches!(r.apply("2023"), Cow::Borrowed(_)));
        assert_eq!(r, Replace::new("^(\\d{4})年$", "${1}").expect("pattern"));
    }

    #[test]
    fn detects_lost_text() {
        assert!(has_mojibake("张锟斤拷"));
        assert!(has_mojibake("a\u{FFFD}b"));
        assert!(!has_mojibake("张三"));
        assert!(!has_mojibake("plain"));
    }

    #[test]
    fn null_tokens_match_trimmed_and_case_insensitive() {
        let t = NullTokens::default();
        for v in ["无", " / ", "NULL", "N/A", "", "  ", "#N/A", "--"] {
            assert!(t.is_null(v), "{v:?} should be null");
        }
        for v in ["张三", "0", "110105", "无锡"] {
            assert!(!t.is_null(v), "{v:?} should not be null");
        }
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(s in "\\PC*|[ \u{3000}\u{FF01}-\u{FF5E}\u{200B}\t a-z张]*") {
            let once = normalize_text(&s).into_owned();
            let twice = normalize_text(&once).into_owned();
            prop_assert_eq!(&once, &twice);
            prop_assert!(matches!(normalize_text(&once), Cow::Borrowed(_)));
        }
    }
}
