//! Education: enrolment applications.

use super::*;
use crate::dirt::{self, DateStyle, GenderStyle, Planted};
use crate::rng::Rng;
use crate::table::{Cell, FileFormat, Table};
use crate::world::{Person, REGIONS, World};
use chrono::Datelike;
use chrono::NaiveDate;

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
            "学校区划代码",
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
    // What the review must decide is drawn from its own stream, so the rows' dirt stays as
    // it was before the review was planted.
    let mut review = rng.fork("enrolment_review");
    for child in world
        .persons
        .iter()
        .filter(|p| (2019..=2020).contains(&p.birth.year()))
    {
        let Some(head) = heads
            .get(&child.household)
            .filter(|g| g.entity != child.entity)
        else {
            continue;
        };
        let case = review_case(world, child, head, &mut review);
        let guardian = case.guardian;
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
                REGIONS[case.school_region].1,
                1 + r.below(20)
            )),
            Cell::text(REGIONS[case.school_region].0),
        ];
        if p.reject.is_none() {
            let (decision, reason) = case.decision(world, child);
            d.findings.push(Finding {
                kind: decision,
                entity: child.entity.clone(),
                detail: reason.to_owned(),
                decoy: false,
            });
        }
        enrolment.push(row, truth(&child.entity, p));
    }
    d.tables.push(enrolment);
}

/// What an application is planted to be: its guardian (the household head, or 5 % someone of
/// another household) and the school's district (the child's own, 50 % of guardians with a
/// property elsewhere: that district, 15 % of the rest: another district).
struct ReviewCase<'w> {
    guardian: &'w Person,
    linked: bool,
    school_region: usize,
}

fn review_case<'w>(
    world: &'w World,
    child: &Person,
    head: &'w Person,
    r: &mut Rng,
) -> ReviewCase<'w> {
    let stranger = world
        .persons
        .iter()
        .filter(|p| p.household != child.household && p.relation == "02" && p.death.is_none())
        .nth(r.below(50) as usize);
    let (guardian, linked) = match stranger {
        Some(s) if r.chance(0.05) => (s, false),
        _ => (head, true),
    };
    let elsewhere: Vec<usize> = world
        .properties
        .iter()
        .filter(|p| std::ptr::eq(&world.persons[p.owner], guardian))
        .filter_map(|p| {
            REGIONS
                .iter()
                .position(|(code, _)| p.unit.starts_with(code))
        })
        .filter(|region| *region != child.region)
        .collect();
    let school_region = match elsewhere.first() {
        Some(region) if r.chance(0.5) => *region,
        _ if r.chance(0.15) => {
            (child.region + 1 + r.below(REGIONS.len() as u64 - 1) as usize) % REGIONS.len()
        }
        _ => child.region,
    };
    ReviewCase {
        guardian,
        linked,
        school_region,
    }
}

impl ReviewCase<'_> {
    /// The review's decision and reason, first match: the age window (6 by 31 August 2026),
    /// a deceased guardian or no household link (data to check by hand, never a fail), the
    /// child's registration in the district, the guardian's property there.
    fn decision(&self, world: &World, child: &Person) -> (&'static str, &'static str) {
        let (first, last) = (
            NaiveDate::from_ymd_opt(2019, 9, 1),
            NaiveDate::from_ymd_opt(2020, 8, 31),
        );
        let in_window =
            first.is_some_and(|f| child.birth >= f) && last.is_some_and(|l| child.birth <= l);
        let owns_there = world.properties.iter().any(|p| {
            std::ptr::eq(&world.persons[p.owner], self.guardian)
                && p.unit.starts_with(REGIONS[self.school_region].0)
        });
        match () {
            _ if !in_window => ("enrolment_fail", "age_outside_window"),
            _ if self.guardian.death.is_some() => ("enrolment_manual_review", "guardian_deceased"),
            _ if !self.linked => ("enrolment_manual_review", "no_household_link"),
            _ if child.region == self.school_region => ("enrolment_pass", "household_in_district"),
            _ if owns_there => ("enrolment_pass", "property_in_district"),
            _ => ("enrolment_fail", "not_in_district"),
        }
    }
}
