//! Each department's copy of the world: which entities it holds, its columns, formats and
//! habits, and the dirt it adds. Planted findings (deaths, benefit overlaps) and their
//! near-miss decoys are recorded as they are made.

use chrono::{Datelike, NaiveDate};

use crate::dirt::{self, DateStyle, GenderStyle, Planted};
use crate::ident;
use crate::rng::Rng;
use crate::table::{Cell, Expected, FileFormat, RowTruth, Table};
use crate::world::{REGIONS, World, as_of};

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
    public_security(world, rng, &mut d);
    civil_affairs_and_health(world, rng, &mut d);
    hrss(world, rng, &mut d);
    market_and_credit(world, rng, &mut d);
    natural_resources(world, rng, &mut d);
    education(world, rng, &mut d);
    d
}

fn public_security(world: &World, rng: &Rng, d: &mut Deliveries) {
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
    d.tables
        .extend([register, legacy, households, cancellations]);
}

fn entity_person<'a>(world: &'a World, entity: &str) -> Option<&'a crate::world::Person> {
    let i: usize = entity.strip_prefix('P')?.parse().ok()?;
    world.persons.get(i.checked_sub(1)?)
}

fn civil_affairs_and_health(world: &World, rng: &Rng, d: &mut Deliveries) {
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

fn hrss(world: &World, rng: &Rng, d: &mut Deliveries) {
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
    let pay = |t: &mut Table, p: &crate::world::Person, m: NaiveDate, amount: i64| {
        t.push(
            vec![
                Cell::text(&p.id),
                Cell::text(&p.name),
                Cell::text(month_text(m)),
                Cell::Int(amount),
            ],
            clean(&p.entity),
        );
    };
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
        let death_month = person.death.map(month_start);
        if person.pensioner {
            // Deceased pensioners are normally paid up to their death month (a decoy when that
            // month is in the window); 20 % keep being paid after it (the finding).
            let keeps_paying = death_month.is_some() && r.chance(0.2);
            let mut after_death = false;
            for &m in &months {
                let past = death_month.is_some_and(|dm| m > dm);
                if past && !keeps_paying {
                    continue;
                }
                after_death |= past;
                pay(&mut pension, person, m, 3000 + r.range(0, 2000));
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
        if let Some(e) = person.employer {
            let enterprise = &world.enterprises[e];
            for &m in &months {
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
        if unemployed {
            // Benefit from 2026-07; 10 % also have contributions in benefit months (finding),
            // 10 % only in the month before the benefit started (decoy).
            let start = months[2];
            for &m in months.iter().filter(|m| **m >= start) {
                pay(&mut unemployment, person, m, 1800);
            }
            let overlap = r.below(10);
            if overlap < 2 {
                let decoy = overlap == 1;
                let enterprise =
                    &world.enterprises[r.below(world.enterprises.len() as u64) as usize];
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
        if r.chance(0.4) {
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
    }
    d.tables
        .extend([copy, unemployment, pension, contributions, medical]);
}

fn market_and_credit(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("market_regulation");
    let mut legal = Table::new(
        "market_regulation",
        "legal_persons",
        FileFormat::Xlsx,
        vec![
            "统一社会信用代码",
            "企业名称",
            "法定代表人",
            "法定代表人身份证号",
            "成立日期",
            "登记状态",
        ],
    );
    legal.title = Some("市场主体登记信息（市场监管局）".into());
    legal.sheet = "市场主体";
    let mut reps = Table::new(
        "market_regulation",
        "legal_representatives",
        FileFormat::CsvUtf8Bom,
        vec!["统一社会信用代码", "法定代表人姓名", "证件类型", "证件号码"],
    );
    let mut licences = Table::new(
        "licences",
        "licences",
        FileFormat::Jsonl,
        vec!["zzbs", "zzmc", "chrdm", "chrmc", "yxqq", "yxqz"],
    );
    let mut credit = Table::new(
        "credit",
        "permits_penalties",
        FileFormat::CsvGb18030,
        vec![
            "行政相对人名称",
            "统一社会信用代码",
            "决定类别",
            "决定文书号",
            "决定日期",
        ],
    );
    // 住建部's USCC defines the licence type (domain.md §1.5).
    let type_code = "11100000000013338W032";
    for e in &world.enterprises {
        let rep = &world.persons[e.representative];
        let mut t = clean(&e.entity);
        let uscc = if r.chance(0.005) {
            t.dirt.push("invalid_uscc");
            t.expected = Expected::Reject("invalid_uscc");
            let last = if e.uscc.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &e.uscc[..17])
        } else {
            e.uscc.clone()
        };
        legal.push(
            vec![
                Cell::text(&uscc),
                Cell::text(&e.name),
                Cell::text(&rep.name),
                Cell::text(&rep.id),
                Cell::Date(e.registered),
                Cell::text(if e.cancelled.is_some() {
                    "注销"
                } else {
                    "存续"
                }),
            ],
            t,
        );
        reps.push(
            vec![
                Cell::text(&e.uscc),
                Cell::text(&rep.name),
                Cell::text("居民身份证"),
                Cell::text(&rep.id),
            ],
            clean(&rep.entity),
        );
        for n in 0..2 {
            let from = e
                .registered
                .max(NaiveDate::from_ymd_opt(2018, 1, 1).unwrap_or_default());
            let to = from + chrono::Days::new(365 * 5);
            let serial = format!("{}{:06}", from.year(), r.below(1_000_000));
            let mut id = ident::e_licence(type_code, &e.uscc, &serial);
            let mut t = clean(&e.entity);
            if to < as_of() {
                t.dirt.push("expired");
            }
            if r.chance(0.005) {
                t.dirt.push("invalid_licence_id");
                t.expected = Expected::Reject("invalid_licence_id");
                let bad = if id.ends_with('0') { '1' } else { '0' };
                id.pop();
                id.push(bad);
            }
            licences.push(
                vec![
                    Cell::text(id),
                    Cell::text(if n == 0 {
                        "建筑施工特种作业人员操作资格证书"
                    } else {
                        "营业执照"
                    }),
                    Cell::text(&e.uscc),
                    Cell::text(&e.name),
                    dirt::date(from, DateStyle::Iso),
                    dirt::date(to, DateStyle::Iso),
                ],
                t,
            );
        }
        for _ in 0..r.below(3) {
            let penalty = r.chance(0.4);
            credit.push(
                vec![
                    Cell::text(&e.name),
                    Cell::text(&e.uscc),
                    Cell::text(if penalty {
                        "行政处罚"
                    } else {
                        "行政许可"
                    }),
                    Cell::text(format!(
                        "{}〔2026〕{}号",
                        REGIONS[e.region].1,
                        r.range(1, 9999)
                    )),
                    dirt::date(
                        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
                            + chrono::Days::new(r.below(330)),
                        DateStyle::Chinese,
                    ),
                ],
                clean(&e.entity),
            );
        }
    }
    d.tables.extend([legal, reps, licences, credit]);
}

/// WGS84 → GCJ-02 (the offset Chinese web maps apply), written from the published formula.
fn gcj02(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

fn natural_resources(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("natural_resources");
    let mut properties = Table::new(
        "natural_resources",
        "properties",
        FileFormat::Parquet,
        vec!["不动产单元号", "权利人", "权利人证件号", "坐落"],
    );
    let mut addresses = Table::new(
        "natural_resources",
        "standard_addresses",
        FileFormat::CsvUtf8Bom,
        vec!["地址编码", "标准地址", "经度_GCJ02", "纬度_GCJ02"],
    );
    for (i, p) in world.properties.iter().enumerate() {
        let owner = &world.persons[p.owner];
        properties.push(
            vec![
                Cell::text(&p.unit),
                Cell::text(&owner.name),
                Cell::text(&owner.id),
                dirt::optional(&mut r, &p.address, &mut Planted::default()),
            ],
            clean(&p.unit),
        );
        let (lon, lat) = gcj02(p.wgs84.0, p.wgs84.1);
        addresses.push(
            vec![
                Cell::text(format!("DZ{:010}", i + 1)),
                Cell::text(&p.address),
                Cell::text(format!("{lon:.6}")),
                Cell::text(format!("{lat:.6}")),
            ],
            clean(&p.unit),
        );
    }
    d.tables.extend([properties, addresses]);
}

fn education(world: &World, rng: &Rng, d: &mut Deliveries) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_offset_is_a_few_hundred_metres() {
        let (lon, lat) = gcj02(116.397_128, 39.916_527);
        assert!(
            (lon - 116.403_4).abs() < 0.001 && (lat - 39.917_9).abs() < 0.001,
            "{lon} {lat}"
        );
    }
}
