//! Code table files: `rules/codes/<name>.csv` with a `code,name,aliases` header, aliases
//! separated by `|`.

use std::path::Path;

use shuzhi_functions::code_table::{CodeEntry, CodeTable};

use crate::diagnostic::Diagnostic;

/// Parses one code table file's text. Problems are reported with the file and line.
pub fn parse_code_table(name: &str, path: &Path, text: &str) -> Result<CodeTable, Diagnostic> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.trim_start_matches('\u{FEFF}').trim());
    if !matches!(header, Some(h) if h.starts_with("code,name")) {
        return Err(Diagnostic::in_file(
            "E0301",
            path,
            "code table has no `code,name[,aliases]` header",
        )
        .with_help("the first line must be `code,name,aliases`"));
    }
    let mut entries = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split(',');
        let code = cols.next().unwrap_or("").trim();
        let Some(display) = cols.next().map(str::trim) else {
            return Err(Diagnostic::in_file(
                "E0302",
                path,
                format!(
                    "line {}: expected `code,name[,aliases]`, found `{line}`",
                    i + 1
                ),
            ));
        };
        if code.is_empty() {
            return Err(Diagnostic::in_file(
                "E0302",
                path,
                format!("line {}: empty code", i + 1),
            ));
        }
        let aliases: Vec<String> = cols
            .next()
            .map(|a| {
                a.split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        // Optional validity years (GB/T 2260): `valid_from,valid_to`; only the end matters for
        // checks, the start documents the name's history.
        let _valid_from = cols.next();
        let valid_to = match cols.next().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(y) => Some(y.parse::<i32>().map_err(|_| {
                Diagnostic::in_file(
                    "E0302",
                    path,
                    format!("line {}: `{y}` is not a year (valid_to)", i + 1),
                )
            })?),
        };
        entries.push(CodeEntry {
            code: code.to_owned(),
            name: display.to_owned(),
            aliases,
            valid_to,
        });
    }
    Ok(CodeTable::new(name, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_and_skips_comments() {
        let t = parse_code_table(
            "g",
            Path::new("g.csv"),
            "code,name,aliases\n# comment\n1,男性,男|M\n2,女性\n",
        )
        .expect("valid");
        assert_eq!(t.map("M"), Some("1"));
        assert_eq!(t.map("女性"), Some("2"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn missing_header_is_a_diagnostic() {
        let e = parse_code_table("g", Path::new("g.csv"), "1,男\n").expect_err("no header");
        assert_eq!(e.code, "E0301");
    }
}
