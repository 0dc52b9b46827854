//! Public security: the population register, an old system's export, household relations
//! and cancellations.

use super::*;
use crate::dirt::{self, DateStyle, GenderStyle, Planted};
use crate::rng::Rng;
use crate::table::{Cell, Expected, FileFormat, Table};
use crate::world::{REGIONS, World};
use chrono::{Datelike, NaiveDate};

pub(super) fn public_security(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("public_security");
    let header = vec![
        "公民身份号码",
        "姓名",
        "性别",
        "出生日期",
        "联系电话",
        "户籍地区划",
        "登记日期",
        "住址",
    ];
    let mut register = Table::new(
        "public_security",
        "population_register",
        FileFormat::CsvUtf8Bom,
        header,
    );
    let legacy_header = vec![
        "身份证号",
        "姓名",
        "性别",
        "出生日期",
        "电话",
        "区划代码",
        "登记时间",
        "地址",
    ];
    let mut legacy = Table::new(
        "public_security",
        "population_legacy_gbk",
        FileFormat::CsvGb18030,
        legacy_header,
    );
    let styles = [
        DateStyle::Iso,
        DateStyle::Slash,
        DateStyle::Chinese,
        DateStyle::Compact,
    ];
    for person in &world.persons {
        let old = person.registered.year() < 2005 && r.chance(0.3);
        let copies = if r.chance(dirt::rate("duplicate")) {
            2
        } else {
            1
        };
        for copy in 0..copies {
            let mut p = Planted::default();
            let style = *r.pick(&styles);
            let registered = if copy == 0 {
                person.registered
            } else {
                person.registered + chrono::Days::new(1 + r.below(400))
            };
            let row = vec![
                dirt::id(&mut r, &person.id, person.birth, false, &mut p),
                dirt::name(&mut r, &person.name, &mut p),
                dirt::gender(&mut r, person.gender, GenderStyle::Chinese, &mut p),
                dirt::birth(&mut r, person.birth, style, &mut p),
                dirt::phone(&mut r, &person.phone, &mut p),
                dirt::optional(&mut r, REGIONS[person.region].0, &mut p),
                dirt::date(registered, style),
                dirt::optional(&mut r, &person.address, &mut p),
            ];
            let mut t = truth(&person.entity, p);
            if copy == 1 && t.expected == Expected::Valid {
                t.dirt.push("duplicate");
                t.expected = Expected::Duplicate;
            }
            register.push(row, t);
        }
        if old {
            let mut p = Planted::default();
            let row = vec![
                dirt::id(&mut r, &person.id, person.birth, true, &mut p),
                dirt::name(&mut r, &person.name, &mut p),
                dirt::gender(&mut r, person.gender, GenderStyle::Code, &mut p),
                dirt::birth(&mut r, person.birth, DateStyle::Compact, &mut p),
                Cell::Null,
                Cell::text(REGIONS[person.region].0),
                dirt::date(person.registered, DateStyle::Compact),
                dirt::optional(&mut r, &person.address, &mut p),
            ];
            legacy.push(row, truth(&person.entity, p));
        }
    }
    let households = households(world);
    let cancellations = cancellations(world, &mut r);
    note_register_disagreements(world, &register, d);
    d.tables
        .extend([register, legacy, households, cancellations]);
}

/// Household relations (户成员), clean.
fn households(world: &World) -> Table {
    let mut households = Table::new(
        "public_security",
        "household_relations",
        FileFormat::CsvGb18030,
        vec!["户号", "公民身份号码", "姓名", "与户主关系"],
    );
    for person in &world.persons {
        households.push(
            vec![
                Cell::text(format!("H{:08}", person.household)),
                Cell::text(&person.id),
                Cell::text(&person.name),
                Cell::text(person.relation),
            ],
            clean(&person.entity),
        );
    }
    households
}

/// Cancellations (户籍注销) as JSON Lines: most deaths, some moves away.
fn cancellations(world: &World, r: &mut Rng) -> Table {
    let mut cancellations = Table::new(
        "public_security",
        "cancellations",
        FileFormat::Jsonl,
        vec!["sfzh", "xm", "zxyy", "zxrq"],
    );
    for person in &world.persons {
        let reason = match person.death {
            Some(death) if r.chance(0.9) => Some(("死亡", death)),
            None if r.chance(0.005) => Some((
                "迁出",
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
            )),
            _ => None,
        };
        if let Some((why, date)) = reason {
            cancellations.push(
                vec![
                    Cell::text(&person.id),
                    Cell::text(&person.name),
                    Cell::text(why),
                    dirt::date(date, DateStyle::Iso),
                ],
                clean(&person.entity),
            );
        }
    }
    cancellations
}

/// The register's gender and birth date where the generator made them disagree with the truth.
fn note_register_disagreements(world: &World, register: &Table, d: &mut Deliveries) {
    for (row, t) in register.rows.iter().zip(&register.truth) {
        if let Some(person) = entity_person(world, &t.entity) {
            let p = Planted {
                dirt: t.dirt.clone(),
                reject: None,
            };
            note_disagreements(
                &mut d.disagreements,
                "public_security/population_register",
                &t.entity,
                &p,
                row,
                &[
                    ("gender", 2, person.gender.to_string()),
                    ("birth_date", 3, person.birth.to_string()),
                ],
            );
        }
    }
}
