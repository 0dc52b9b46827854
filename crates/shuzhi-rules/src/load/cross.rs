//! Checks across files: libraries that references name, fields no source delivers.

use crate::diagnostic::{Diagnostic, Origin, did_you_mean};
use crate::model::*;

/// `expected = { library = "..." }` or `references = "..."` naming a library no rule file of the
/// pipeline defines.
pub(super) fn unknown_referenced_libraries(libraries: &[LibraryRules]) -> Vec<Diagnostic> {
    let names: Vec<&str> = libraries.iter().map(|l| l.name.as_str()).collect();
    let expected = libraries
        .iter()
        .filter_map(|l| l.expected.as_ref())
        .filter_map(|e| match &e.reference {
            Reference::Library(name) => Some((name, &e.origin, "an expected population")),
            Reference::CodeTable(_) => None,
        });
    let references = libraries
        .iter()
        .flat_map(|l| &l.fields)
        .filter_map(|f| f.references.as_ref())
        .map(|r| (&r.library, &r.origin, "`references`"));
    expected
        .chain(references)
        .filter(|(name, _, _)| !names.contains(&name.as_str()))
        .map(|(name, origin, what)| {
            let mut d = Diagnostic::at(
                "E0106",
                origin,
                format!("{what} names library `{name}`, which no rule file defines"),
            );
            d.help =
                did_you_mean(name, names.iter().copied()).map(|n| format!("did you mean `{n}`?"));
            d
        })
        .collect()
}

/// Fields no source of their library maps and no `default` / `derive` fills: always null, so
/// their checks never see a value (W0201); an `authority` that delivers none of the library's
/// sources (E0124).
pub(super) fn never_delivered_fields(
    libraries: &[LibraryRules],
    sources: &[Source],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for library in libraries {
        for field in &library.fields {
            let mapped = sources
                .iter()
                .filter(|s| s.library == library.name)
                .any(|s| s.columns.iter().any(|(f, _)| *f == field.name));
            let filled = field
                .clean
                .iter()
                .any(|s| matches!(s, CleanStep::Default { .. } | CleanStep::Derive { .. }));
            let departments: Vec<&str> = sources
                .iter()
                .filter(|s| s.library == library.name)
                .map(|s| s.department.as_str())
                .collect();
            for authority in &field.authority {
                let department = authority.department.as_str();
                if !departments.contains(&department) {
                    let mut d = Diagnostic::at(
                        "E0124",
                        &authority.origin,
                        format!(
                            "`{}.{}` names authority `{department}`, which delivers no source of `{}`: its copy can never win",
                            library.name, field.name, library.name
                        ),
                    );
                    d.help = Some(
                        did_you_mean(department, departments.iter().copied())
                            .map(|d| format!("did you mean `{d}`?"))
                            .unwrap_or_else(|| {
                                format!("its sources come from: {}", departments.join(", "))
                            }),
                    );
                    out.push(d);
                }
            }
            if !mapped && !filled {
                out.push(
                    Diagnostic::in_file(
                        "W0201",
                        &library.file,
                        format!(
                            "field `{}.{}` is mapped by no source and has no `default` or `derive`: it stays null",
                            library.name, field.name
                        ),
                    )
                    .with_help("map it in a source's [source.columns] when a department delivers it"),
                );
            }
        }
    }
    out
}

/// Libraries that no source feeds (E0123), each at its listing in the pipeline. A source aimed
/// at a misspelled library is already E0106: no second error for it.
pub(super) fn unfed_libraries(
    listings: &[(String, Origin)],
    sources: &[Source],
    problems: &[Diagnostic],
) -> Vec<Diagnostic> {
    if problems.iter().any(|p| p.code == "E0106") {
        return Vec::new();
    }
    listings
        .iter()
        .filter(|(name, _)| !sources.iter().any(|s| s.library == *name))
        .map(|(name, listed)| {
            Diagnostic::at("E0123", listed, format!("no source feeds library `{name}`")).with_help(
                format!(
                    "add a [[source]] with library = \"{name}\", or remove its rule file from `rules`"
                ),
            )
        })
        .collect()
}
