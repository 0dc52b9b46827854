//! A source's `scope`: the rows a library takes from a delivery. A row for which the source's
//! condition is false (not null: a row the condition cannot judge stays in scope and meets the
//! checks) is out of scope — no check runs on it, the sink keeps it in quarantine as
//! `<library>.out_of_scope`, and it is not a rejection.

use datafusion::prelude::{DataFrame, Expr, ident, lit, when};
use shuzhi_rules::{LibraryRules, Pipeline};

use super::{parse, project};
use crate::EngineError;
use crate::provenance::{OUT_OF_SCOPE_COLUMN, SOURCE_COLUMN};

/// Rule id recorded as the reason of a library's out-of-scope rows.
pub fn out_of_scope_rule(library: &str) -> String {
    format!("{library}.out_of_scope")
}

/// `df` with [`OUT_OF_SCOPE_COLUMN`]: per row, whether its source's scope is false for it.
pub(super) fn mark(
    pipeline: &Pipeline,
    library: &LibraryRules,
    df: DataFrame,
) -> Result<DataFrame, EngineError> {
    let mut flag: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
    for source in pipeline.sources_of(&library.name) {
        let Some(scope) = &source.scope else { continue };
        let condition = ident(SOURCE_COLUMN).eq(lit(source.id.as_str()));
        let out = parse(&df, scope)?.is_false();
        flag = Some(match flag {
            None => when(condition, out),
            Some(mut case) => case.when(condition, out),
        });
    }
    let flag: Expr = match flag {
        Some(mut case) => case.otherwise(lit(false))?,
        None => lit(false),
    };
    project(df, vec![(OUT_OF_SCOPE_COLUMN.to_owned(), flag)])
}
