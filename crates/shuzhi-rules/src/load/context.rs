//! The diagnostics collected while one file compiles.

use std::sync::Arc;

use shuzhi_functions::text::NullTokens;
use toml::Spanned;

use crate::diagnostic::{Diagnostic, Origin, SourceFile, did_you_mean};
use crate::keys::KeyRing;

/// Collects diagnostics for one file.
pub(super) struct FileCx<'k> {
    /// The file being compiled.
    pub file: Arc<SourceFile>,
    /// Problems found so far.
    pub problems: Vec<Diagnostic>,
    /// Pseudonym keys resolved so far.
    pub keys: &'k mut KeyRing,
    /// The pipeline's null tokens (the `null_tokens` step).
    pub null_tokens: Arc<NullTokens>,
}

impl FileCx<'_> {
    pub fn origin<T>(&self, s: &Spanned<T>) -> Origin {
        Origin {
            file: self.file.clone(),
            span: s.span(),
        }
    }

    pub fn error(&mut self, code: &'static str, at: Origin, msg: String, help: Option<String>) {
        let mut d = Diagnostic::at(code, &at, msg);
        d.help = help;
        self.problems.push(d);
    }

    /// Parses a keyword given as a plain string at `at`, or reports it with the choices.
    pub fn keyword_at<T: Copy>(
        &mut self,
        what: &str,
        value: &str,
        at: Origin,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices.iter().find(|(k, _)| *k == value);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
            let help = did_you_mean(value, names.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("expected one of: {}", names.join(", ")));
            self.error("E0108", at, format!("unknown {what} `{value}`"), Some(help));
        }
        found.map(|(_, v)| *v)
    }

    /// Parses a keyword value, or reports it with the valid choices.
    pub fn keyword<T: Copy>(
        &mut self,
        what: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices.iter().find(|(k, _)| *k == value.get_ref().as_str());
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
            self.error(
                "E0108",
                self.origin(value),
                format!("unknown {what} `{}`", value.get_ref()),
                Some(format!("expected one of: {}", names.join(", "))),
            );
        }
        found.map(|(_, v)| *v)
    }
}
