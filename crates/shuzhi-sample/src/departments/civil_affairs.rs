//! Civil affairs (marriages, deaths) and health (death certificates): the death sources a
//! deceased-persons topic reconciles.

use super::*;
use crate::dirt::{self, DateStyle};
use crate::rng::Rng;
use crate::table::{Cell, FileFormat, Table};
use crate::world::{REGIONS, World, as_of};
use chrono::Datelike;

pub(super) fn civil_affairs_and_health(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("civil_affairs");
    let mut marriages = Table::new(
        "civil_affairs",
        "marriages",
        FileFormat::Xlsx,
        vec![
            "男方身份证号",
            "男方姓名",
            "女方身份证号",
            "女方姓名",
            "登记日期",
        ],
    );
    marriages.title = Some("婚姻登记信息表（民政局）".into());
    marriages.sheet = "婚姻登记";
    let adult = |p: &&crate::world::Person| as_of().year() - p.birth.year() >= 22;
    let men: Vec<&crate::world::Person> = world
        .persons
        .iter()
        .filter(adult)
        .filter(|p| p.gender == 1)
        .collect();
    let women: Vec<&crate::world::Person> = world
        .persons
        .iter()
        .filter(adult)
        .filter(|p| p.gender == 2)
        .collect();
    for (m, w) in men.iter().zip(&women) {
        if !r.chance(0.3) {
            continue;
        }
        let married = m.birth.max(w.birth) + chrono::Days::new(22 * 366 + r.below(3000));
        let married = married.min(as_of());
        marriages.push(
            vec![
                Cell::text(&m.id),
                Cell::text(&m.name),
                Cell::text(&w.id),
                Cell::text(&w.name),
                Cell::Date(married),
            ],
            clean(&m.entity),
        );
    }
    let mut deaths = Table::new(
        "civil_affairs",
        "deaths",
        FileFormat::CsvGb18030,
        vec!["身份证号", "姓名", "死亡日期", "火化地"],
    );
    let mut certificates = Table::new(
        "health",
        "death_certificates",
        FileFormat::Utf16Tab,
        vec!["死者身份证号", "姓名", "死亡日期", "根本死因"],
    );
    let mut h = rng.fork("health");
    for person in &world.persons {
        let Some(death) = person.death else { continue };
        if r.chance(0.85) {
            deaths.push(
                vec![
                    Cell::text(&person.id),
                    Cell::text(&person.name),
                    dirt::date(death, DateStyle::Chinese),
                    Cell::text(REGIONS[person.region].1),
                ],
                clean(&person.entity),
            );
        }
        if h.chance(0.95) {
            let mut t = clean(&person.entity);
            let recorded = if h.chance(0.1) {
                t.dirt.push("death_date_disagrees");
                let off = death + chrono::Days::new(1);
                d.disagreements.push(Disagreement {
                    entity: person.entity.clone(),
                    field: "death_date",
                    table: "health/death_certificates".into(),
                    delivered: off.to_string(),
                    truth: death.to_string(),
                });
                off
            } else {
                death
            };
            certificates.push(
                vec![
                    Cell::text(&person.id),
                    Cell::text(&person.name),
                    dirt::date(recorded, DateStyle::Iso),
                    Cell::text(*h.pick(&["I21.9", "C34.9", "J44.9", "I63.9"])),
                ],
                t,
            );
        }
    }
    d.tables.extend([marriages, deaths, certificates]);
}
