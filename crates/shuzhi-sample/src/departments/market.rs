//! Market regulation, licences and credit: legal persons, representatives, e-licences and
//! disclosures.

use super::*;
use crate::dirt::{self, DateStyle};
use crate::ident;
use crate::rng::Rng;
use crate::table::{Cell, Expected, FileFormat, Table};
use crate::world::{REGIONS, World, as_of};
use chrono::{Datelike, NaiveDate};

pub(super) fn market_and_credit(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("market_regulation");
    let [mut legal, mut reps, mut licences, mut credit] = empty_tables();
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

/// The four tables, empty: legal persons (xlsx with a title row), representatives, e-licences
/// (JSON Lines with pinyin keys) and credit disclosures (GBK).
fn empty_tables() -> [Table; 4] {
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
    let reps = Table::new(
        "market_regulation",
        "legal_representatives",
        FileFormat::CsvUtf8Bom,
        vec!["统一社会信用代码", "法定代表人姓名", "证件类型", "证件号码"],
    );
    let licences = Table::new(
        "licences",
        "licences",
        FileFormat::Jsonl,
        vec!["zzbs", "zzmc", "chrdm", "chrmc", "yxqq", "yxqz"],
    );
    let credit = Table::new(
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
    [legal, reps, licences, credit]
}
