//! A linking workload with known truth: each person of the clean world as four departments
//! deliver them, with what makes exact keys fail — IDs missing, 15 digits, one digit wrong or
//! in full width; homophone, traditional-character and spaced names; dates in five layouts,
//! day and month swapped or one digit off; phones with two digits swapped; addresses written
//! differently — and what makes fuzzy matching over-link: twins (same birth, surname, address
//! and phone, IDs one sequence apart) and households sharing an address and a phone.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Datelike, NaiveDate};

use crate::ident;
use crate::rng::Rng;
use crate::world::{Person, World};

/// A department that delivers person records, with how often each kind of dirt appears in
/// its copy.
struct Department {
    name: &'static str,
    /// Share of persons it holds.
    coverage: f64,
    /// ID given as a null token or left empty.
    missing_id: f64,
    /// Pre-2000 births delivered with the 15-digit number (old systems).
    id15: f64,
    /// Traditional characters in the name.
    traditional: f64,
    /// Phone left empty.
    missing_phone: f64,
    /// Address left empty.
    missing_address: f64,
}

const DEPARTMENTS: [Department; 4] = [
    Department {
        name: "public_security",
        coverage: 1.0,
        missing_id: 0.015,
        id15: 0.0,
        traditional: 0.005,
        missing_phone: 0.05,
        missing_address: 0.0,
    },
    Department {
        name: "hrss",
        coverage: 0.6,
        missing_id: 0.07,
        id15: 0.2,
        traditional: 0.01,
        missing_phone: 0.1,
        missing_address: 0.15,
    },
    Department {
        name: "health",
        coverage: 0.35,
        missing_id: 0.12,
        id15: 0.05,
        traditional: 0.05,
        missing_phone: 0.1,
        missing_address: 0.1,
    },
    Department {
        name: "civil_affairs",
        coverage: 0.15,
        missing_id: 0.1,
        id15: 0.1,
        traditional: 0.01,
        missing_phone: 0.2,
        missing_address: 0.05,
    },
];

/// Rates shared by every department.
const ID_TYPO: f64 = 0.01;
const ID_FULLWIDTH: f64 = 0.01;
const HOMOPHONE: f64 = 0.03;
const NAME_SPACE: f64 = 0.01;
const DATE_SWAP: f64 = 0.005;
const DATE_TYPO: f64 = 0.005;
const MISSING_DATE: f64 = 0.02;
const PHONE_SWAP: f64 = 0.015;
const ADDRESS_VARIANT: f64 = 0.3;
const DUPLICATE: f64 = 0.03;
const TWINS: f64 = 0.01;
const SHARED_PHONE: f64 = 0.5;

/// Homophones an input method offers for the world's name characters (same toneless
/// reading).
const HOMOPHONES: [(char, &str); 64] = [
    ('伟', "玮纬炜"),
    ('芳', "方坊"),
    ('娜', "纳钠"),
    ('秀', "绣锈"),
    ('英', "鹰莺瑛"),
    ('敏', "民闽"),
    ('静', "晶婧靖"),
    ('丽', "莉俐"),
    ('强', "蔷"),
    ('磊', "蕾垒"),
    ('军', "君钧"),
    ('洋', "阳扬"),
    ('勇', "永咏"),
    ('艳', "燕雁"),
    ('杰', "洁婕"),
    ('娟', "鹃"),
    ('涛', "韬滔"),
    ('明', "鸣铭"),
    ('超', "钞"),
    ('兰', "岚澜"),
    ('霞', "侠"),
    ('平', "萍苹"),
    ('刚', "钢纲"),
    ('桂', "贵"),
    ('建', "健剑"),
    ('华', "桦骅"),
    ('文', "雯纹"),
    ('辉', "晖徽"),
    ('玉', "钰"),
    ('萍', "苹平"),
    ('红', "宏虹鸿"),
    ('鹏', "朋彭"),
    ('飞', "菲妃"),
    ('志', "智致"),
    ('丹', "聃"),
    ('颖', "影"),
    ('慧', "惠蕙"),
    ('婷', "庭亭"),
    ('雪', "鳕"),
    ('梅', "玫媒"),
    ('宇', "雨语"),
    ('浩', "昊皓"),
    ('然', "燃冉"),
    ('子', "紫梓"),
    ('涵', "晗含"),
    ('欣', "鑫新馨"),
    ('怡', "宜仪"),
    ('梓', "紫子"),
    ('轩', "萱宣"),
    ('一', "依伊"),
    ('思', "丝斯"),
    ('远', "源元"),
    ('佳', "嘉家"),
    ('琪', "琦棋"),
    ('俊', "骏峻"),
    ('晨', "辰臣"),
    ('曦', "熙希"),
    ('诺', "懦"),
    ('张', "章彰"),
    ('李', "理礼"),
    ('刘', "留"),
    ('陈', "臣晨"),
    ('杨', "阳洋"),
    ('林', "琳霖"),
];

/// Traditional forms of the world's name characters.
const TRADITIONAL: [(char, char); 36] = [
    ('伟', '偉'),
    ('张', '張'),
    ('刘', '劉'),
    ('陈', '陳'),
    ('杨', '楊'),
    ('黄', '黃'),
    ('赵', '趙'),
    ('吴', '吳'),
    ('孙', '孫'),
    ('马', '馬'),
    ('郑', '鄭'),
    ('谢', '謝'),
    ('许', '許'),
    ('韩', '韓'),
    ('冯', '馮'),
    ('邓', '鄧'),
    ('丽', '麗'),
    ('强', '強'),
    ('军', '軍'),
    ('艳', '艷'),
    ('涛', '濤'),
    ('兰', '蘭'),
    ('华', '華'),
    ('辉', '輝'),
    ('红', '紅'),
    ('鹏', '鵬'),
    ('飞', '飛'),
    ('颖', '穎'),
    ('轩', '軒'),
    ('诺', '諾'),
    ('远', '遠'),
    ('杰', '傑'),
    ('静', '靜'),
    ('刚', '剛'),
    ('梦', '夢'),
    ('东', '東'),
];

const GIVEN_FOR_TWINS: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂建华文辉玉萍";

/// One delivered person record and its truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRecord {
    /// The true person (`P0000001`; twins `T…`).
    pub entity: String,
    /// Delivering department.
    pub source: &'static str,
    /// ID number as delivered.
    pub id_number: Option<String>,
    /// Name as delivered.
    pub name: String,
    /// Birth date as delivered.
    pub birth_date: Option<String>,
    /// Phone as delivered.
    pub phone: Option<String>,
    /// Address as delivered.
    pub address: Option<String>,
    /// The dirt planted in this record, `;`-separated.
    pub dirt: String,
}

/// Every department's records of `persons` persons.
pub struct MatchSet {
    /// The records, in delivery order.
    pub records: Vec<MatchRecord>,
}

/// A clean person as the departments describe them (twins added to the world's persons).
struct Truth {
    entity: String,
    id: String,
    name: String,
    birth: NaiveDate,
    phone: String,
    address: String,
}

impl MatchSet {
    /// Draws the world of `persons` persons from `seed` and every department's copy.
    pub fn generate(persons: usize, seed: u64) -> MatchSet {
        let rng = Rng::new(seed);
        let world = World::generate(persons, &rng);
        let truths = households_and_twins(&world.persons, &mut rng.fork("twins"));
        let mut r = rng.fork("match-records");
        let mut records = Vec::with_capacity(truths.len() * 2);
        for dept in &DEPARTMENTS {
            for t in &truths {
                if !r.chance(dept.coverage) {
                    continue;
                }
                let record = deliver(&mut r, dept, t);
                if r.chance(DUPLICATE) {
                    records.push(record.clone());
                }
                records.push(record);
            }
        }
        MatchSet { records }
    }

    /// The records as one Arrow batch: `source`, `entity` (the truth; not for linking),
    /// `id_number`, `name`, `birth_date`, `phone`, `address`, `dirt`.
    pub fn to_batch(&self) -> RecordBatch {
        let text = |f: &dyn Fn(&MatchRecord) -> Option<&str>| -> ArrayRef {
            Arc::new(self.records.iter().map(f).collect::<StringArray>())
        };
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("source", text(&|r| Some(r.source))),
            ("entity", text(&|r| Some(r.entity.as_str()))),
            ("id_number", text(&|r| r.id_number.as_deref())),
            ("name", text(&|r| Some(r.name.as_str()))),
            ("birth_date", text(&|r| r.birth_date.as_deref())),
            ("phone", text(&|r| r.phone.as_deref())),
            ("address", text(&|r| r.address.as_deref())),
            ("dirt", text(&|r| Some(r.dirt.as_str()))),
        ];
        let schema = Schema::new(
            columns
                .iter()
                .map(|(name, _)| Field::new(*name, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(
            Arc::new(schema),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap_or_else(|e| unreachable!("columns match their schema: {e}"))
    }
}

/// The world's persons with household members sharing the head's address (and half of them
/// the head's phone), plus a twin for about one person in a hundred.
fn households_and_twins(persons: &[Person], r: &mut Rng) -> Vec<Truth> {
    let mut out: Vec<Truth> = Vec::with_capacity(persons.len() + persons.len() / 50);
    let mut head: Option<(usize, String, String)> = None;
    for p in persons {
        let (address, phone) = match &head {
            Some((h, address, phone)) if *h == p.household => (
                address.clone(),
                if r.chance(SHARED_PHONE) {
                    phone.clone()
                } else {
                    p.phone.clone()
                },
            ),
            _ => {
                head = Some((p.household, p.address.clone(), p.phone.clone()));
                (p.address.clone(), p.phone.clone())
            }
        };
        let truth = Truth {
            entity: p.entity.clone(),
            id: p.id.clone(),
            name: p.name.clone(),
            birth: p.birth,
            phone,
            address,
        };
        if r.chance(TWINS)
            && let Some(twin) = twin_of(&truth, r)
        {
            out.push(twin);
        }
        out.push(truth);
    }
    out
}

/// A twin: same birth, surname, address and phone; another given name; the ID's sequence two
/// apart (same gender) with its own check digit.
fn twin_of(t: &Truth, r: &mut Rng) -> Option<Truth> {
    let seq: u32 = t.id.get(14..17)?.parse().ok()?;
    let seq = if seq >= 997 { seq - 2 } else { seq + 2 };
    let id = ident::id18(t.id.get(..6)?, t.id.get(6..14)?, seq);
    let given: Vec<char> = GIVEN_FOR_TWINS.chars().collect();
    let surname = t.name.chars().next()?;
    let name = loop {
        let candidate: String = std::iter::once(surname)
            .chain((0..1 + r.below(2)).map(|_| *r.pick(&given)))
            .collect();
        if candidate != t.name {
            break candidate;
        }
    };
    Some(Truth {
        entity: format!("T{}", &t.entity[1..]),
        id,
        name,
        birth: t.birth,
        phone: t.phone.clone(),
        address: t.address.clone(),
    })
}

fn deliver(r: &mut Rng, dept: &Department, t: &Truth) -> MatchRecord {
    let mut dirt: Vec<&str> = Vec::new();
    let id_number = delivered_id(r, dept, t, &mut dirt);
    let name = delivered_name(r, dept, &t.name, &mut dirt);
    let birth_date = delivered_date(r, t.birth, &mut dirt);
    let phone = if r.chance(dept.missing_phone) {
        dirt.push("missing_phone");
        None
    } else if r.chance(PHONE_SWAP) {
        dirt.push("phone_swap");
        let mut b = t.phone.clone().into_bytes();
        let k = 3 + r.below(7) as usize;
        b.swap(k, k + 1);
        Some(String::from_utf8_lossy(&b).into_owned())
    } else {
        Some(match r.below(4) {
            0 => format!("+86 {}", t.phone),
            1 => format!("{}-{}-{}", &t.phone[..3], &t.phone[3..7], &t.phone[7..]),
            _ => t.phone.clone(),
        })
    };
    let address = if r.chance(dept.missing_address) {
        dirt.push("missing_address");
        None
    } else if r.chance(ADDRESS_VARIANT) {
        dirt.push("address_variant");
        Some(address_variant(r, &t.address))
    } else {
        Some(t.address.clone())
    };
    MatchRecord {
        entity: t.entity.clone(),
        source: dept.name,
        id_number,
        name,
        birth_date,
        phone,
        address,
        dirt: dirt.join(";"),
    }
}

fn delivered_id(r: &mut Rng, dept: &Department, t: &Truth, dirt: &mut Vec<&str>) -> Option<String> {
    if r.chance(dept.missing_id) {
        dirt.push("missing_id");
        return r.chance(0.5).then(|| "无".to_string());
    }
    if t.birth.year() < 2000 && r.chance(dept.id15) {
        dirt.push("id15");
        return Some(ident::id15(&t.id));
    }
    if r.chance(ID_TYPO) {
        dirt.push("id_typo");
        let mut b = t.id.clone().into_bytes();
        if r.chance(0.5) {
            let k = r.below(16) as usize;
            b.swap(k, k + 1);
        } else {
            let k = r.below(17) as usize;
            b[k] = b'0' + ((b[k] - b'0' + 1 + r.below(9) as u8) % 10);
        }
        let typo = String::from_utf8_lossy(&b).into_owned();
        // A typo that keeps the check digit valid is another person's number: draw again.
        let body = &typo[..17];
        if ident::id_check(body) != typo.chars().last().unwrap_or('?') && typo != t.id {
            return Some(typo);
        }
        dirt.pop();
    }
    if r.chance(ID_FULLWIDTH) {
        dirt.push("id_fullwidth");
        return Some(
            t.id.chars()
                .map(|c| match c {
                    '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                    'X' => 'Ｘ',
                    c => c,
                })
                .collect(),
        );
    }
    Some(t.id.clone())
}

fn delivered_name(r: &mut Rng, dept: &Department, name: &str, dirt: &mut Vec<&str>) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if r.chance(HOMOPHONE) {
        let candidates: Vec<usize> = (0..chars.len())
            .filter(|&k| HOMOPHONES.iter().any(|(c, _)| *c == chars[k]))
            .collect();
        if !candidates.is_empty() {
            let k = *r.pick(&candidates);
            if let Some((_, alts)) = HOMOPHONES.iter().find(|(c, _)| *c == chars[k]) {
                let alts: Vec<char> = alts.chars().collect();
                chars[k] = *r.pick(&alts);
                dirt.push("homophone");
            }
        }
    }
    if r.chance(dept.traditional) {
        let mut changed = false;
        for c in chars.iter_mut() {
            if let Some((_, t)) = TRADITIONAL.iter().find(|(s, _)| s == c) {
                *c = *t;
                changed = true;
            }
        }
        if changed {
            dirt.push("traditional");
        }
    }
    let mut out: String = chars.iter().collect();
    if r.chance(NAME_SPACE) && chars.len() >= 2 {
        dirt.push("name_space");
        let mut spaced = String::new();
        spaced.push(chars[0]);
        spaced.push(' ');
        spaced.extend(&chars[1..]);
        out = spaced;
    }
    out
}

fn delivered_date(r: &mut Rng, birth: NaiveDate, dirt: &mut Vec<&str>) -> Option<String> {
    if r.chance(MISSING_DATE) {
        dirt.push("missing_date");
        return None;
    }
    let (y, m, d) = (birth.year(), birth.month(), birth.day());
    let (m, d) = if r.chance(DATE_SWAP) && d <= 12 && d != m {
        dirt.push("date_swap");
        (d, m)
    } else {
        (m, d)
    };
    let mut text = match r.below(5) {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{y}{m:02}{d:02}"),
        2 => format!("{y}年{m}月{d}日"),
        3 => format!("{y}/{m}/{d}"),
        _ => format!("{y}.{m:02}.{d:02}"),
    };
    if r.chance(DATE_TYPO) {
        // The last digit of the day changed, written compactly so it stays eight digits.
        let day = (d / 10) * 10 + (d % 10 + 1 + r.below(8) as u32) % 10;
        if (1..=28).contains(&day) {
            dirt.push("date_typo");
            text = format!("{y}{m:02}{day:02}");
        }
    }
    Some(text)
}

fn address_variant(r: &mut Rng, address: &str) -> String {
    match r.below(3) {
        // Without the province or municipality prefix.
        0 => address
            .split_once('市')
            .map_or(address.to_string(), |(_, rest)| rest.to_string()),
        // 6单元1103室 as 6-1103.
        1 => address.replace("单元", "-").replace('室', ""),
        // Full-width digits.
        _ => address
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                c => c,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_department_dirt_kind_and_the_hard_cases_appear() {
        let set = MatchSet::generate(5_000, 7);
        let n = set.records.len();
        assert!(n > 10_000, "{n} records");
        let share = |kind: &str| {
            set.records
                .iter()
                .filter(|r| r.dirt.split(';').any(|d| d == kind))
                .count() as f64
                / n as f64
        };
        assert!(
            share("missing_id") >= 0.05,
            "missing IDs {}",
            share("missing_id")
        );
        for kind in [
            "id15",
            "id_typo",
            "homophone",
            "traditional",
            "date_swap",
            "phone_swap",
            "address_variant",
        ] {
            assert!(share(kind) > 0.0, "{kind} missing");
        }
        assert!(
            set.records.iter().any(|r| r.entity.starts_with('T')),
            "twins"
        );
        assert_eq!(set.to_batch().num_rows(), n);
        // Deterministic.
        assert_eq!(
            MatchSet::generate(300, 7).records,
            MatchSet::generate(300, 7).records
        );
    }
}
