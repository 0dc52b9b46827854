//! Each department's copy of the world: which entities it holds, its columns, formats and
//! habits, and the dirt it adds. Planted findings (deaths, benefit overlaps) and their
//! near-miss decoys are recorded as they are made.

use chrono::{Datelike, NaiveDate};

mod civil_affairs;
mod education;
mod hrss;
mod market;
mod natural_resources;
mod public_security;

use crate::dirt::Planted;
use crate::rng::Rng;
use crate::table::{Cell, Expected, RowTruth, Table};
use crate::world::World;

/// A planted cross-department fact that a governance job should find (or, for a decoy, not).
#[derive(Debug, Clone)]
pub struct Finding {
    /// e.g. `pension_after_death`.
    pub kind: &'static str,
    /// Entity id.
    pub entity: String,
    /// What makes it a finding.
    pub detail: String,
    /// A near miss that must not be reported.
    pub decoy: bool,
}

/// A value a department delivers that disagrees with the truth.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Entity id.
    pub entity: String,
    /// Field, e.g. `birth_date`.
    pub field: &'static str,
    /// Department and table.
    pub table: String,
    /// Value delivered.
    pub delivered: String,
    /// True value.
    pub truth: String,
}

/// All generated tables plus the cross-table truth.
pub struct Deliveries {
    /// Department tables.
    pub tables: Vec<Table>,
    /// Planted findings and decoys.
    pub findings: Vec<Finding>,
    /// Planted disagreements.
    pub disagreements: Vec<Disagreement>,
}

/// The six benefit months every monthly table covers (2026-05 … 2026-10).
fn months() -> Vec<NaiveDate> {
    (5..=10)
        .filter_map(|m| NaiveDate::from_ymd_opt(2026, m, 1))
        .collect()
}

fn month_text(d: NaiveDate) -> String {
    d.format("%Y%m").to_string()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn truth(entity: &str, p: Planted) -> RowTruth {
    RowTruth {
        expected: p.expected(),
        entity: entity.to_owned(),
        dirt: p.dirt,
    }
}

fn clean(entity: &str) -> RowTruth {
    RowTruth {
        entity: entity.to_owned(),
        dirt: Vec::new(),
        expected: Expected::Valid,
    }
}

fn note_disagreements(
    out: &mut Vec<Disagreement>,
    table: &str,
    entity: &str,
    p: &Planted,
    row: &[Cell],
    fields: &[(&'static str, usize, String)],
) {
    for (field, col, truth) in fields {
        let kind = match *field {
            "gender" => "gender_disagrees",
            _ => "birth_disagrees",
        };
        if p.dirt.contains(&kind) {
            out.push(Disagreement {
                entity: entity.to_owned(),
                field,
                table: table.to_owned(),
                delivered: row[*col].render().unwrap_or_default(),
                truth: truth.clone(),
            });
        }
    }
}

/// Derives every department's tables from the world.
pub fn deliver(world: &World, rng: &Rng) -> Deliveries {
    let mut d = Deliveries {
        tables: Vec::new(),
        findings: Vec::new(),
        disagreements: Vec::new(),
    };
    public_security::public_security(world, rng, &mut d);
    civil_affairs::civil_affairs_and_health(world, rng, &mut d);
    hrss::hrss(world, rng, &mut d);
    market::market_and_credit(world, rng, &mut d);
    natural_resources::natural_resources(world, rng, &mut d);
    education::education(world, rng, &mut d);
    deceased_findings(world, &mut d);
    d
}

/// Who a deceased-persons topic must find: every dead person some department reports (civil
/// affairs, health, or public security cancelling for death), with how many report it and
/// whether their dates differ; decoys: persons cancelled for moving away (迁出). A death no
/// department reports cannot be found: findings after such a death become decoys.
fn deceased_findings(world: &World, d: &mut Deliveries) {
    use std::collections::BTreeMap;
    let mut reported: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut moved = Vec::new();
    for t in &d.tables {
        let date_column = match t.name {
            "deaths" | "death_certificates" => 2,
            "cancellations" => 3,
            _ => continue,
        };
        for (row, truth) in t.rows.iter().zip(&t.truth) {
            let reason = row.get(2).and_then(Cell::render).unwrap_or_default();
            if t.name == "cancellations" && reason != "死亡" {
                moved.push(truth.entity.clone());
                continue;
            }
            let date = row
                .get(date_column)
                .and_then(Cell::render)
                .unwrap_or_default();
            let date = crate::dirt::iso_date(&date);
            if let Some(p) = entity_person(world, &truth.entity) {
                reported.entry(p.entity.as_str()).or_default().push(date);
            }
        }
    }
    for f in &mut d.findings {
        let after_death = f.kind.ends_with("_after_death");
        if after_death && !f.decoy && !reported.contains_key(f.entity.as_str()) {
            f.decoy = true;
            f.detail.push_str(" (no department reported the death)");
        }
    }
    for (entity, dates) in reported {
        let mut distinct = dates.clone();
        distinct.sort();
        distinct.dedup();
        d.findings.push(Finding {
            kind: "deceased",
            entity: entity.to_owned(),
            detail: format!(
                "{} source(s), earliest {}, dates {}",
                dates.len(),
                distinct.first().cloned().unwrap_or_default(),
                if distinct.len() > 1 {
                    "disagree"
                } else {
                    "agree"
                }
            ),
            decoy: false,
        });
    }
    for entity in moved {
        d.findings.push(Finding {
            kind: "deceased",
            entity,
            detail: "cancelled for moving away (迁出), alive".into(),
            decoy: true,
        });
    }
}

fn entity_person<'a>(world: &'a World, entity: &str) -> Option<&'a crate::world::Person> {
    let i: usize = entity.strip_prefix('P')?.parse().ok()?;
    world.persons.get(i.checked_sub(1)?)
}
