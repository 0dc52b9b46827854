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
    d
}

fn entity_person<'a>(world: &'a World, entity: &str) -> Option<&'a crate::world::Person> {
    let i: usize = entity.strip_prefix('P')?.parse().ok()?;
    world.persons.get(i.checked_sub(1)?)
}
