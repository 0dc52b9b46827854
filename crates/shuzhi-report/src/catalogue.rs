//! Catalogue attributes of fields (政务数据资源目录).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shuzhi_rules::{Authority, FieldClass, Pipeline};

/// Catalogue attributes of a field (政务数据资源目录).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldCatalogue {
    /// `public`, `internal` or `sensitive`.
    pub class: String,
    /// 无条件共享 / 有条件共享 / 不予共享.
    pub share: String,
    /// The authoritative department, when declared, with its periods (`public_security until
    /// 2025-12-31; hrss from 2026-01-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// Catalogue attributes of every field, keyed `library.field`.
pub fn field_catalogue(pipeline: &Pipeline) -> BTreeMap<String, FieldCatalogue> {
    let mut out = BTreeMap::new();
    for library in &pipeline.libraries {
        for f in &library.fields {
            let class = match f.class {
                FieldClass::Public => "public",
                FieldClass::Internal => "internal",
                FieldClass::Sensitive => "sensitive",
            };
            out.insert(
                format!("{}.{}", library.name, f.name),
                FieldCatalogue {
                    class: class.into(),
                    share: f.share.chinese().into(),
                    authority: authority_text(&f.authority),
                },
            );
        }
    }
    out
}

/// The authority registry of a field as one line.
fn authority_text(entries: &[Authority]) -> Option<String> {
    let text: Vec<String> = entries
        .iter()
        .map(|a| {
            let mut s = a.department.clone();
            if let Some(from) = &a.from {
                s.push_str(&format!(" from {from}"));
            }
            if let Some(until) = &a.until {
                s.push_str(&format!(" until {until}"));
            }
            s
        })
        .collect();
    (!text.is_empty()).then(|| text.join("; "))
}
