//! The clean world: persons, households, enterprises and properties, drawn before any
//! department sees them. Every department table is derived from these.

use chrono::{Datelike, NaiveDate};

use crate::ident;
use crate::rng::Rng;

/// County-level regions used for births, registrations and addresses (all in the bundled
/// GB/T 2260 table; 110103 and 110104 were abolished in 2010 and appear only in old IDs).
pub const REGIONS: [(&str, &str); 13] = [
    ("110101", "北京市东城区"),
    ("110102", "北京市西城区"),
    ("110103", "北京市崇文区"),
    ("110104", "北京市宣武区"),
    ("110105", "北京市朝阳区"),
    ("110106", "北京市丰台区"),
    ("110108", "北京市海淀区"),
    ("130503", "河北省邢台市桥西区"),
    ("310112", "上海市闵行区"),
    ("310115", "上海市浦东新区"),
    ("320102", "江苏省南京市玄武区"),
    ("330106", "浙江省杭州市西湖区"),
    ("440524", "广东省汕头市潮阳县"),
];

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳";
const GIVEN: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉玉兰萍红鹏飞志强丹华颖慧婷雪梅宇浩然子涵欣怡梓轩一诺思远佳琪俊杰晨曦";
/// Rare characters real registers hold (GB18030 4-byte or extension-A).
const RARE: [&str; 3] = ["䶮", "㛃", "堃"];

/// The business date of the generated deliveries.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
}

/// A person as the truth knows them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Entity id across departments, e.g. `P0000001`.
    pub entity: String,
    /// 18-digit citizen ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// 1 male, 2 female (GB/T 2261.1), from the ID's sequence digit.
    pub gender: u8,
    /// Birth date.
    pub birth: NaiveDate,
    /// Household registration region.
    pub region: usize,
    /// Mobile phone.
    pub phone: String,
    /// Address.
    pub address: String,
    /// Date of death, for the deceased.
    pub death: Option<NaiveDate>,
    /// Registration date in the population register.
    pub registered: NaiveDate,
    /// Employer (index into enterprises) for the employed.
    pub employer: Option<usize>,
    /// Receives a pension.
    pub pensioner: bool,
    /// Household index.
    pub household: usize,
    /// Relation to the household head (GB/T 4761: 02 head, 10 spouse, 20 child ...).
    pub relation: &'static str,
}

/// An enterprise.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// Entity id, e.g. `E000001`.
    pub entity: String,
    /// GB 32100 unified social credit code.
    pub uscc: String,
    /// Registered name.
    pub name: String,
    /// Legal representative (index into persons).
    pub representative: usize,
    /// Registration date.
    pub registered: NaiveDate,
    /// Region of the registering authority.
    pub region: usize,
    /// Deregistered (注销) on.
    pub cancelled: Option<NaiveDate>,
}

/// A property (不动产) with its standard address.
#[derive(Debug, Clone)]
pub struct Property {
    /// Unit number (不动产单元号), 28 characters.
    pub unit: String,
    /// Owner (index into persons).
    pub owner: usize,
    /// Standard address.
    pub address: String,
    /// WGS84 longitude, latitude.
    pub wgs84: (f64, f64),
}

/// Everything the departments describe.
pub struct World {
    /// Persons.
    pub persons: Vec<Person>,
    /// Enterprises.
    pub enterprises: Vec<Enterprise>,
    /// Properties.
    pub properties: Vec<Property>,
}

fn date_between(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let days = (to - from).num_days().max(0);
    from + chrono::Days::new(rng.below(days as u64 + 1))
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn name(rng: &mut Rng) -> String {
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let given: Vec<char> = GIVEN.chars().collect();
    let mut n = String::new();
    n.push(*rng.pick(&surnames));
    if rng.chance(0.002) {
        let rare = *rng.pick(&RARE);
        n.push_str(rare);
    } else {
        for _ in 0..(1 + rng.below(2)) {
            n.push(*rng.pick(&given));
        }
    }
    n
}

fn street_address(rng: &mut Rng, region: usize) -> String {
    const STREETS: [&str; 8] = [
        "建国路",
        "人民路",
        "解放路",
        "中山路",
        "和平街",
        "文化路",
        "长安街",
        "新华路",
    ];
    format!(
        "{}{}{}号{}单元{}室",
        REGIONS[region].1,
        rng.pick(&STREETS),
        1 + rng.below(300),
        1 + rng.below(6),
        101 + rng.below(20) * 100 + rng.below(4)
    )
}

impl World {
    /// Draws `persons` persons (and about one enterprise per 20 persons) from `seed`.
    pub fn generate(persons: usize, rng: &Rng) -> World {
        let mut r = rng.fork("persons");
        let enterprise_count = (persons / 20).max(1);
        let mut out = Vec::with_capacity(persons);
        let mut seen = std::collections::HashSet::with_capacity(persons);
        let mut household = 0usize;
        let mut members_left = 0u64;
        while out.len() < persons {
            let birth = date_between(&mut r, ymd(1935, 1, 1), ymd(2020, 12, 31));
            // Abolished 崇文/宣武 codes only for births before 2010.
            let region = loop {
                let i = r.below(REGIONS.len() as u64) as usize;
                if !(matches!(i, 2 | 3) && birth.year() >= 2010) {
                    break i;
                }
            };
            let gender = 1 + r.below(2) as u8;
            let seq = r.below(500) as u32 * 2 + u32::from(gender % 2 == 1);
            let id = ident::id18(REGIONS[region].0, &birth.format("%Y%m%d").to_string(), seq);
            if !seen.insert(id.clone()) {
                continue;
            }
            let age = as_of().year() - birth.year();
            let death = (r.chance(0.015) && age > 30)
                .then(|| date_between(&mut r, ymd(2023, 1, 1), ymd(2026, 10, 31)));
            let relation = if members_left == 0 {
                household += 1;
                members_left = r.range(0, 3) as u64;
                "02"
            } else {
                members_left -= 1;
                if age < 18 { "20" } else { "10" }
            };
            let employer = ((18..60).contains(&age) && r.chance(0.5))
                .then(|| r.below(enterprise_count as u64) as usize);
            let pensioner = age >= 60 && r.chance(0.8);
            let registered = date_between(&mut r, birth.max(ymd(1990, 1, 1)), ymd(2025, 12, 31));
            let entity = format!("P{:07}", out.len() + 1);
            out.push(Person {
                entity,
                name: name(&mut r),
                gender,
                birth,
                region,
                phone: format!(
                    "1{}{:09}",
                    r.pick(&['3', '5', '7', '8', '9']),
                    r.below(1_000_000_000)
                ),
                address: street_address(&mut r, region),
                death,
                registered,
                employer,
                pensioner,
                household,
                relation,
                id,
            });
        }
        let enterprises = enterprises(&out, enterprise_count, rng);
        let properties = properties(&out, rng);
        World {
            persons: out,
            enterprises,
            properties,
        }
    }
}

/// About one enterprise per 20 persons, each represented by an adult.
fn enterprises(persons: &[Person], enterprise_count: usize, rng: &Rng) -> Vec<Enterprise> {
    let mut r = rng.fork("enterprises");
    const TRADES: [&str; 8] = [
        "科技",
        "商贸",
        "建设",
        "餐饮",
        "物流",
        "医药",
        "文化传媒",
        "农业",
    ];
    let adults: Vec<usize> = persons
        .iter()
        .enumerate()
        .filter(|(_, p)| as_of().year() - p.birth.year() >= 22)
        .map(|(i, _)| i)
        .collect();
    (0..enterprise_count)
        .map(|i| {
            let region = r.below(REGIONS.len() as u64) as usize;
            let org: String = (0..8)
                .map(|_| *r.pick(b"0123456789ABCDEFGHJKLMNPQRTUWXY") as char)
                .collect();
            let city = &REGIONS[region].1[..REGIONS[region].1.find('市').map_or(0, |p| p + 3)];
            let registered = date_between(&mut r, ymd(1995, 1, 1), ymd(2025, 12, 31));
            Enterprise {
                entity: format!("E{:06}", i + 1),
                uscc: ident::uscc(REGIONS[region].0, &org),
                name: format!("{city}{}{}有限公司", name(&mut r), r.pick(&TRADES)),
                representative: adults
                    .get(r.below(adults.len().max(1) as u64) as usize)
                    .copied()
                    .unwrap_or(0),
                registered,
                region,
                cancelled: r
                    .chance(0.05)
                    .then(|| date_between(&mut r, registered, ymd(2026, 10, 31))),
            }
        })
        .collect()
}

/// Properties of about 30 % of the persons, at their address.
fn properties(persons: &[Person], rng: &Rng) -> Vec<Property> {
    let mut r = rng.fork("properties");
    let mut properties = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        if !r.chance(0.3) {
            continue;
        }
        properties.push(Property {
            unit: format!(
                "{}{:06}GB{:05}F{:08}",
                REGIONS[p.region].0,
                r.below(1_000_000),
                r.below(100_000),
                r.below(100_000_000)
            ),
            owner: i,
            address: p.address.clone(),
            wgs84: (
                116.0 + r.below(1_000_000) as f64 / 1e6,
                39.5 + r.below(1_000_000) as f64 / 1e6,
            ),
        });
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_valid_and_agree_with_gender_and_birth() {
        let w = World::generate(2000, &Rng::new(1));
        assert_eq!(w.persons.len(), 2000);
        for p in &w.persons {
            assert_eq!(ident::id_check(&p.id[..17]), p.id.as_bytes()[17] as char);
            assert_eq!(&p.id[6..14], p.birth.format("%Y%m%d").to_string());
            assert_eq!((p.id.as_bytes()[16] - b'0') % 2 == 1, p.gender == 1);
            if let Some(d) = p.death {
                assert!(d > p.birth);
            }
        }
        assert!(w.enterprises.iter().all(|e| e.uscc.len() == 18));
    }
}
