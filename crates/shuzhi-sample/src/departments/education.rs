//! Education: enrolment applications.

use super::*;
use crate::dirt::{self, DateStyle, GenderStyle, Planted};
use crate::rng::Rng;
use crate::table::{Cell, FileFormat, Table};
use crate::world::{REGIONS, World};
use chrono::Datelike;

pub(super) fn education(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("education");
    let mut enrolment = Table::new(
        "education",
        "enrolment_applications",
        FileFormat::Xlsx,
        vec![
            "学生身份证号",
            "学生姓名",
            "性别",
            "出生日期",
            "监护人身份证号",
            "监护人姓名",
            "户籍地址",
            "申请学校",
        ],
    );
    enrolment.title = Some("2026年秋季小学一年级入学申请（教育局）".into());
    enrolment.sheet = "入学申请";
    let heads: std::collections::HashMap<usize, &crate::world::Person> = world
        .persons
        .iter()
        .filter(|p| p.relation == "02")
        .map(|p| (p.household, p))
        .collect();
    for child in world
        .persons
        .iter()
        .filter(|p| (2019..=2020).contains(&p.birth.year()))
    {
        let Some(guardian) = heads
            .get(&child.household)
            .filter(|g| g.entity != child.entity)
        else {
            continue;
        };
        let mut p = Planted::default();
        let id = if r.chance(0.01) {
            // Typed into Excel as a number: only 15 significant digits survive.
            p.dirt.push("excel_precision_loss");
            p.reject = Some("excel_precision_loss");
            child.id[..17]
                .parse::<f64>()
                .map_or(Cell::Null, |v| Cell::Float(v * 10.0))
        } else {
            dirt::id(&mut r, &child.id, child.birth, false, &mut p)
        };
        let row = vec![
            id,
            dirt::name(&mut r, &child.name, &mut p),
            dirt::gender(&mut r, child.gender, GenderStyle::ChineseLong, &mut p),
            dirt::birth(&mut r, child.birth, DateStyle::Typed, &mut p),
            Cell::text(&guardian.id),
            Cell::text(&guardian.name),
            Cell::text(&child.address),
            Cell::text(format!(
                "{}第{}小学",
                REGIONS[child.region].1,
                1 + r.below(20)
            )),
        ];
        if guardian.death.is_some() {
            d.findings.push(Finding {
                kind: "enrolment_guardian_deceased",
                entity: child.entity.clone(),
                detail: format!("guardian {} died", guardian.entity),
                decoy: false,
            });
        }
        enrolment.push(row, truth(&child.entity, p));
    }
    d.tables.push(enrolment);
}
