//! Diagnostics for rule and pipeline files: a stable code, a span, a message and a hint,
//! rendered the way rustc does.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The text of one rule or pipeline file, kept for rendering snippets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceFile {
    /// Path as the user named it.
    pub path: PathBuf,
    /// Full text.
    pub text: String,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where in a file something was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Byte range in the file.
    pub span: Range<usize>,
}

impl Origin {
    /// `path:line:column` of the start of the span.
    pub fn location(&self) -> String {
        let (line, col) = self.file.line_col(self.span.start);
        format!("{}:{line}:{col}", self.file.path.display())
    }
}

/// One problem found in a rule or pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, documented in `docs/errors.md` (e.g. `E0102`).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where; `None` for problems that concern a whole file.
    pub origin: Option<Origin>,
    /// Path of the file when there is no span.
    pub path: Option<PathBuf>,
    /// What would be valid.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic pointing at `origin`.
    pub fn at(code: &'static str, origin: &Origin, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            origin: Some(origin.clone()),
            path: Some(origin.file.path.clone()),
            help: None,
        }
    }

    /// A diagnostic about a whole file.
    pub fn in_file(code: &'static str, path: &Path, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            origin: None,
            path: Some(path.to_path_buf()),
            help: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// rustc-style: header, location arrow, the line with the span underlined, then help.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.code.starts_with('W') {
            "warning"
        } else {
            "error"
        };
        writeln!(f, "{kind}[{}]: {}", self.code, self.message)?;
        match &self.origin {
            Some(origin) => {
                let file = &origin.file;
                let (line, col) = file.line_col(origin.span.start);
                let gutter = line.to_string().len();
                writeln!(f, "{:gutter$}--> {}", "", origin.location())?;
                let text = file.text.lines().nth(line - 1).unwrap_or("");
                let span_chars = file.text[origin.span.clone()]
                    .lines()
                    .next()
                    .map_or(1, |s| s.chars().count().max(1));
                let width = span_chars.min(text.chars().count().saturating_sub(col - 1).max(1));
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{line} | {text}")?;
                writeln!(
                    f,
                    "{:gutter$} | {}{}",
                    "",
                    " ".repeat(col - 1),
                    "^".repeat(width)
                )?;
                if let Some(help) = &self.help {
                    writeln!(f, "{:gutter$} = help: {help}", "")?;
                }
            }
            None => {
                if let Some(path) = &self.path {
                    writeln!(f, " --> {}", path.display())?;
                }
                if let Some(help) = &self.help {
                    writeln!(f, "  = help: {help}")?;
                }
            }
        }
        Ok(())
    }
}

/// The closest candidate by edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let file = Arc::new(SourceFile {
            path: "rules/p.toml".into(),
            text: "[x]\nclean = [\"normalise_text\"]\n".into(),
        });
        let start = file.text.find("\"normalise").expect("present");
        let origin = Origin {
            file,
            span: start..start + 16,
        };
        let d = Diagnostic::at("E0102", &origin, "unknown clean step `normalise_text`")
            .with_help("did you mean `normalize_text`?");
        let expected = "error[E0102]: unknown clean step `normalise_text`\n \
                        --> rules/p.toml:2:10\n  |\n2 | clean = [\"normalise_text\"]\n  |          \
                        ^^^^^^^^^^^^^^^^\n  = help: did you mean `normalize_text`?\n";
        assert_eq!(d.to_string(), expected);
    }

    #[test]
    fn suggests_close_names_only() {
        let c = ["normalize_text", "null_tokens", "parse_date"];
        assert_eq!(did_you_mean("normalise_text", c), Some("normalize_text"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
