//! Human resources and social security: the person copy, benefits, pensions, contributions
//! and medical settlements.

use super::*;
use crate::dirt::{self, DateStyle, GenderStyle, Planted};
use crate::rng::Rng;
use crate::table::{Cell, FileFormat, Table};
use crate::world::{Enterprise, Person, World, as_of};
use chrono::{Datelike, NaiveDate};

pub(super) fn hrss(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("hrss");
    let mut copy = Table::new(
        "hrss",
        "person_copy",
        FileFormat::Parquet,
        vec!["公民身份号码", "姓名", "性别", "出生日期", "联系电话"],
    );
    let monthly = |name| {
        Table::new(
            "hrss",
            name,
            FileFormat::CsvUtf8Bom,
            vec!["身份证号", "姓名", "发放月份", "金额"],
        )
    };
    let mut unemployment = monthly("unemployment_benefit");
    let mut pension = monthly("pension");
    let mut contributions = Table::new(
        "hrss",
        "contributions",
        FileFormat::CsvUtf8Bom,
        vec![
            "统一社会信用代码",
            "单位名称",
            "身份证号",
            "缴费月份",
            "缴费基数",
        ],
    );
    let mut medical = Table::new(
        "hrss",
        "medical_settlements",
        FileFormat::CsvUtf8Bom,
        vec!["结算单号", "身份证号", "结算日期", "医疗费用总额"],
    );
    let months = months();
    let mut unemployed_persons = std::collections::HashSet::new();
    for person in &world.persons {
        let age = as_of().year() - person.birth.year();
        let unemployed = person.employer.is_none() && (18..60).contains(&age) && r.chance(0.06);
        if person.employer.is_some() || person.pensioner || unemployed {
            let mut p = Planted::default();
            let row = vec![
                dirt::id(&mut r, &person.id, person.birth, false, &mut p),
                dirt::name(&mut r, &person.name, &mut p),
                dirt::gender(&mut r, person.gender, GenderStyle::Code, &mut p),
                dirt::birth(&mut r, person.birth, DateStyle::Typed, &mut p),
                dirt::phone(&mut r, &person.phone, &mut p),
            ];
            note_disagreements(
                &mut d.disagreements,
                "hrss/person_copy",
                &person.entity,
                &p,
                &row,
                &[
                    ("gender", 2, person.gender.to_string()),
                    ("birth_date", 3, person.birth.to_string()),
                ],
            );
            copy.push(row, truth(&person.entity, p));
        }
        if person.pensioner {
            pension_payments(&mut r, person, &months, &mut pension, d);
        }
        if let Some(e) = person.employer {
            employer_contributions(
                &mut r,
                person,
                &world.enterprises[e],
                &months,
                &mut contributions,
            );
        }
        if unemployed {
            unemployed_persons.insert(person.entity.clone());
            unemployment_benefit(
                &mut r,
                world,
                person,
                &months,
                &mut unemployment,
                &mut contributions,
                d,
            );
        }
        if r.chance(0.4) {
            medical_settlement(&mut r, person, &mut medical, d);
        }
    }
    let benefits = Benefits {
        months: &months,
        unemployed: &unemployed_persons,
    };
    benefits.overlaps(
        world,
        &mut rng.fork("benefit_overlaps"),
        &mut unemployment,
        &mut pension,
        d,
    );
    benefits.namesakes(world, &mut rng.fork("benefit_namesakes"), &mut pension, d);
    d.tables
        .extend([copy, unemployment, pension, contributions, medical]);
}

/// The benefit-fraud cases planted after the monthly tables, from their own random streams.
struct Benefits<'a> {
    months: &'a [NaiveDate],
    unemployed: &'a std::collections::HashSet<String>,
}

impl Benefits<'_> {
    /// Adults on no other benefit, alive: 1 % are paid unemployment benefit and then a pension,
    /// half with one month of both (finding), half starting the pension the month after the
    /// benefit ends (decoy).
    fn overlaps(
        &self,
        world: &World,
        r: &mut Rng,
        unemployment: &mut Table,
        pension: &mut Table,
        d: &mut Deliveries,
    ) {
        let m = self.months;
        for person in &world.persons {
            let age = as_of().year() - person.birth.year();
            let eligible = (18..60).contains(&age)
                && person.employer.is_none()
                && !person.pensioner
                && person.death.is_none()
                && !self.unemployed.contains(&person.entity);
            if !eligible || !r.chance(0.01) {
                continue;
            }
            let decoy = r.chance(0.5);
            let last_benefit = if decoy { 2 } else { 3 };
            for &month in &m[..=last_benefit] {
                pay(unemployment, person, month, 1800);
            }
            for &month in &m[3..] {
                pay(pension, person, month, 2500);
            }
            d.findings.push(Finding {
                kind: "unemployment_while_pension",
                entity: person.entity.clone(),
                detail: format!(
                    "benefit until {}, pension from {}",
                    month_text(m[last_benefit]),
                    month_text(m[3])
                ),
                decoy,
            });
        }
    }

    /// 20 % of the deceased on no benefit, dead before the window: a namesake (same name,
    /// same birth date, another ID) is paid a pension in every month (decoy: not the dead
    /// person).
    fn namesakes(&self, world: &World, r: &mut Rng, pension: &mut Table, d: &mut Deliveries) {
        let ids: std::collections::HashSet<&str> =
            world.persons.iter().map(|p| p.id.as_str()).collect();
        for person in &world.persons {
            let before_window = person.death.is_some_and(|dd| dd < self.months[0]);
            let on_benefit = person.pensioner || self.unemployed.contains(&person.entity);
            if !before_window || on_benefit || !r.chance(0.2) {
                continue;
            }
            let birth = person.birth.format("%Y%m%d").to_string();
            let namesake = (0..1000)
                .map(|seq| crate::ident::id18(&person.id[..6], &birth, seq))
                .find(|id| !ids.contains(id.as_str()));
            let Some(id) = namesake else { continue };
            let twin = Person {
                id,
                entity: format!("namesake of {}", person.entity),
                ..person.clone()
            };
            for &month in self.months {
                pay(pension, &twin, month, 3100);
            }
            d.findings.push(Finding {
                kind: "pension_after_death",
                entity: person.entity.clone(),
                detail: format!(
                    "died {}; a namesake with the same birth date is paid under another ID",
                    person.death.map(|x| x.to_string()).unwrap_or_default()
                ),
                decoy: true,
            });
        }
    }
}

/// One monthly payment row.
fn pay(t: &mut Table, p: &Person, m: NaiveDate, amount: i64) {
    t.push(
        vec![
            Cell::text(&p.id),
            Cell::text(&p.name),
            Cell::text(month_text(m)),
            Cell::Int(amount),
        ],
        clean(&p.entity),
    );
}

/// A pensioner's monthly pension; deceased pensioners are paid up to their death month (a
/// decoy when that month is in the window), 20 % after it (the finding).
fn pension_payments(
    r: &mut Rng,
    person: &Person,
    months: &[NaiveDate],
    pension: &mut Table,
    d: &mut Deliveries,
) {
    let death_month = person.death.map(month_start);
    // Deceased pensioners are normally paid up to their death month (a decoy when that
    // month is in the window); 20 % keep being paid after it (the finding).
    let keeps_paying = death_month.is_some() && r.chance(0.2);
    let mut after_death = false;
    for &m in months {
        let past = death_month.is_some_and(|dm| m > dm);
        if past && !keeps_paying {
            continue;
        }
        after_death |= past;
        pay(pension, person, m, 3000 + r.range(0, 2000));
    }
    if let Some(dm) = death_month
        && (after_death || months.contains(&dm))
    {
        d.findings.push(Finding {
            kind: "pension_after_death",
            entity: person.entity.clone(),
            detail: format!(
                "died {}, pension paid for {}",
                person.death.map(|x| x.to_string()).unwrap_or_default(),
                if after_death {
                    "months after death"
                } else {
                    "the death month only"
                }
            ),
            decoy: !after_death,
        });
    }
}

/// An employee's monthly contributions until death.
fn employer_contributions(
    r: &mut Rng,
    person: &Person,
    enterprise: &Enterprise,
    months: &[NaiveDate],
    contributions: &mut Table,
) {
    let death_month = person.death.map(month_start);
    for &m in months {
        if death_month.is_some_and(|dm| m > dm) {
            continue;
        }
        contributions.push(
            vec![
                Cell::text(&enterprise.uscc),
                Cell::text(&enterprise.name),
                Cell::text(&person.id),
                Cell::text(month_text(m)),
                Cell::Int(5000 + r.range(0, 15000)),
            ],
            clean(&person.entity),
        );
    }
}

/// Unemployment benefit from 2026-07; 10 % also have contributions in benefit months
/// (finding), 10 % only in the month before the benefit started (decoy).
fn unemployment_benefit(
    r: &mut Rng,
    world: &World,
    person: &Person,
    months: &[NaiveDate],
    unemployment: &mut Table,
    contributions: &mut Table,
    d: &mut Deliveries,
) {
    // Benefit from 2026-07; 10 % also have contributions in benefit months (finding),
    // 10 % only in the month before the benefit started (decoy).
    let start = months[2];
    for &m in months.iter().filter(|m| **m >= start) {
        pay(unemployment, person, m, 1800);
    }
    // Benefit is paid whatever happens: after the death month it is a finding, in the death
    // month only a decoy.
    if let Some(death) = person.death.map(month_start).filter(|dm| *dm >= start) {
        let after = months.iter().any(|m| *m > death);
        d.findings.push(Finding {
            kind: "unemployment_after_death",
            entity: person.entity.clone(),
            detail: format!(
                "died in {}, benefit paid from {}",
                month_text(death),
                month_text(start)
            ),
            decoy: !after,
        });
    } else if person.death.is_some() {
        d.findings.push(Finding {
            kind: "unemployment_after_death",
            entity: person.entity.clone(),
            detail: format!("died before {}, benefit paid from it", month_text(start)),
            decoy: false,
        });
    }
    let overlap = r.below(10);
    if overlap < 2 {
        let decoy = overlap == 1;
        let enterprise = &world.enterprises[r.below(world.enterprises.len() as u64) as usize];
        let worked: Vec<NaiveDate> = if decoy {
            vec![months[1]]
        } else {
            vec![months[3], months[4]]
        };
        for m in &worked {
            contributions.push(
                vec![
                    Cell::text(&enterprise.uscc),
                    Cell::text(&enterprise.name),
                    Cell::text(&person.id),
                    Cell::text(month_text(*m)),
                    Cell::Int(4000),
                ],
                clean(&person.entity),
            );
        }
        d.findings.push(Finding {
            kind: "unemployment_while_employed",
            entity: person.entity.clone(),
            detail: format!(
                "benefit from {}, contributions in {}",
                month_text(start),
                worked
                    .iter()
                    .map(|m| month_text(*m))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            decoy,
        });
    }
}

/// A medical settlement: 5 % of the deceased have one after death (finding); on the day of
/// death is a decoy.
fn medical_settlement(r: &mut Rng, person: &Person, medical: &mut Table, d: &mut Deliveries) {
    let when = match person.death {
        // 5 % of the deceased have a settlement after death (finding); on the day of
        // death is a decoy.
        Some(death) if r.chance(0.1) => {
            let after = r.chance(0.5);
            let date = if after {
                death + chrono::Days::new(20)
            } else {
                death
            };
            d.findings.push(Finding {
                kind: "medical_after_death",
                entity: person.entity.clone(),
                detail: format!("died {death}, settlement {date}"),
                decoy: !after,
            });
            Some(date)
        }
        Some(death) => Some(death - chrono::Days::new(1 + r.below(300))),
        None => Some(
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
                + chrono::Days::new(r.below(330)),
        ),
    };
    if let Some(date) = when {
        medical.push(
            vec![
                Cell::text(format!("JS{:012}", r.below(1_000_000_000_000))),
                Cell::text(&person.id),
                dirt::date(date, DateStyle::Iso),
                Cell::text(format!("{}.{:02}", r.range(50, 20000), r.below(100))),
            ],
            clean(&person.entity),
        );
    }
}
