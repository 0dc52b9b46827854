//! Canonical forms of rule, pipeline and code-table files for the rule-set fingerprint:
//! comments, layout and key order do not change it.

/// A TOML document in a canonical form for the rule-set fingerprint: comments, whitespace,
/// key order and quoting do not change it; values and array order do.
pub(super) fn canonical_toml(text: &str) -> String {
    canonical_toml_without(text, |_| {})
}

/// The pipeline file in canonical form without its locations (output folder, rule and code
/// table paths, source paths), its topic files (each topic has its own fingerprint) and what
/// belongs to one delivery (its mode and batch id): none changes how rows are governed (rule
/// files and code tables are hashed by content).
pub(super) fn canonical_pipeline_toml(text: &str) -> String {
    canonical_toml_without(text, |doc| {
        if let Some(toml::Value::Table(p)) = doc.get_mut("pipeline") {
            for key in ["output", "rules", "codes", "topics"] {
                p.remove(key);
            }
        }
        if let Some(toml::Value::Array(sources)) = doc.get_mut("source") {
            for s in sources {
                if let toml::Value::Table(s) = s {
                    for key in ["path", "delivery", "batch"] {
                        s.remove(key);
                    }
                }
            }
        }
    })
}

fn canonical_toml_without(text: &str, strip: impl Fn(&mut toml::Table)) -> String {
    fn write(v: &toml::Value, out: &mut String) {
        match v {
            toml::Value::Table(t) => {
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&format!("{k:?}="));
                    write(&t[k.as_str()], out);
                    out.push(',');
                }
                out.push('}');
            }
            toml::Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            toml::Value::String(s) => out.push_str(&format!("{s:?}")),
            other => out.push_str(&other.to_string()),
        }
    }
    match text.parse::<toml::Table>() {
        Ok(mut table) => {
            strip(&mut table);
            let mut out = String::new();
            write(&toml::Value::Table(table), &mut out);
            out
        }
        // Files that do not parse are reported as diagnostics; hash them as they are.
        Err(_) => text.to_owned(),
    }
}

/// A code table in a canonical form for the fingerprint: trimmed lines without comments or
/// blanks, sorted (row order carries no meaning).
pub(super) fn canonical_csv(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::{canonical_csv, canonical_pipeline_toml, canonical_toml};

    #[test]
    fn where_the_files_live_does_not_change_the_fingerprint() {
        let a = "[pipeline]\nname = \"p\"\noutput = \"out\"\nrules = [\"r.toml\"]\n\
                 [[source]]\nid = \"s\"\npath = \"day1.csv\"\n[source.columns]\nid = \"证号\"\n";
        let moved = a
            .replace("day1.csv", "/data/day2.csv")
            .replace("\"out\"", "\"/lake\"")
            .replace("r.toml", "../rules/r.toml")
            .replace(
                "id = \"s\"\n",
                "id = \"s\"\ndelivery = \"increment\"\nbatch = \"2\"\n",
            );
        assert_eq!(canonical_pipeline_toml(a), canonical_pipeline_toml(&moved));
        let remapped = a.replace("证号", "身份证号");
        assert_ne!(
            canonical_pipeline_toml(a),
            canonical_pipeline_toml(&remapped)
        );
    }

    #[test]
    fn comments_layout_and_order_do_not_change_the_fingerprint() {
        let a = "[library]\nname = \"p\"\nkey = \"id\" # the key\n";
        let b = "# header\n[library]\nkey='id'\nname   = \"p\"\n";
        assert_eq!(canonical_toml(a), canonical_toml(b));
        let changed = "[library]\nname = \"p\"\nkey = \"idx\"\n";
        assert_ne!(canonical_toml(a), canonical_toml(changed));
        assert_eq!(
            canonical_csv("code,name\n# comment\n1,男\n2,女\n"),
            canonical_csv("code,name\n2,女\n 1,男 \n\n")
        );
    }
}
