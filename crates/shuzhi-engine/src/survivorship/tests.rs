use super::*;
use arrow::array::{BooleanArray, Date32Array, Int64Array, StringArray};

/// A department's copy of a person: key and name (the field under test), the name as stated,
/// department, delivery order, whether the name takes part and whether the department is its
/// authority.
#[derive(Debug, Clone, Copy)]
struct Held {
    key: Option<&'static str>,
    name: Option<&'static str>,
    stated: &'static str,
    department: &'static str,
    seq: i64,
    candidate: bool,
    authority: bool,
}

/// `name` as `department` holds it for `key`, delivered `seq`-th: stated as it is, taking part,
/// without authority.
fn held(key: &'static str, name: &'static str, department: &'static str, seq: i64) -> Held {
    Held {
        key: Some(key),
        name: Some(name),
        stated: name,
        department,
        seq,
        candidate: true,
        authority: false,
    }
}

impl Held {
    fn authority(self) -> Self {
        Held {
            authority: true,
            ..self
        }
    }

    fn flagged(self) -> Self {
        Held {
            candidate: false,
            ..self
        }
    }

    fn stated(self, stated: &'static str) -> Self {
        Held { stated, ..self }
    }

    fn without_name(self) -> Self {
        Held {
            name: None,
            stated: "",
            ..self
        }
    }

    fn without_key(self) -> Self {
        Held { key: None, ..self }
    }
}

fn spec(compare: Compare) -> SurvivorshipSpec {
    let attribute = |name: &str, stated: &str, i: usize, compare: Compare| Attribute {
        name: name.into(),
        stated: stated.into(),
        candidate: format!("_candidate_{i}"),
        authority: format!("_authority_{i}"),
        compare,
        mask: None,
    };
    SurvivorshipSpec {
        library: "population".into(),
        key: "id".into(),
        key_mask: Some(MaskKind::Id),
        attributes: vec![
            attribute("id", "id", 0, Compare::Exact),
            attribute("name", "_stated_name", 1, compare),
        ],
    }
}

fn input(copies: &[Held]) -> RecordBatch {
    let texts = |f: &dyn Fn(&Held) -> Option<&'static str>| -> ArrayRef {
        Arc::new(StringArray::from(copies.iter().map(f).collect::<Vec<_>>()))
    };
    let flags = |f: &dyn Fn(&Held) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(copies.iter().map(f).collect::<Vec<_>>()))
    };
    let lines = Int64Array::from_iter_values(0..copies.len() as i64);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", texts(&|c| c.key)),
        ("name", texts(&|c| c.name)),
        ("_stated_name", texts(&|c| Some(c.stated))),
        ("_department", texts(&|c| Some(c.department))),
        ("_source", texts(&|c| Some(c.department))),
        ("_batch", texts(&|_| Some("b"))),
        ("_file", texts(&|_| Some("f.csv"))),
        ("_sheet", texts(&|_| None)),
        ("_line", Arc::new(lines)),
        (
            "_seq",
            Arc::new(Int64Array::from_iter_values(copies.iter().map(|c| c.seq))),
        ),
        (
            "_delivered_on",
            Arc::new(Date32Array::from(vec![20_000; copies.len()])),
        ),
        ("_candidate_0", flags(&|c| c.key.is_some())),
        ("_authority_0", flags(&|_| false)),
        (
            "_candidate_1",
            flags(&|c| c.key.is_some() && c.name.is_some() && c.candidate),
        ),
        ("_authority_1", flags(&|c| c.authority)),
    ];
    RecordBatch::try_from_iter(columns).expect("batch")
}

/// Every table's rows as text lines, sorted.
fn lines(outs: &[GoldenBatches]) -> [Vec<String>; 4] {
    let show = |b: &RecordBatch| -> Vec<String> {
        (0..b.num_rows())
            .map(|r| {
                b.columns()
                    .iter()
                    .map(|c| arrow::util::display::array_value_to_string(c, r).expect("shown"))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    let mut tables = [vec![], vec![], vec![], vec![]];
    for o in outs {
        for (t, b) in tables
            .iter_mut()
            .zip([&o.golden, &o.attributes, &o.conflicts, &o.link])
        {
            t.extend(show(b));
        }
    }
    tables.iter_mut().for_each(|t| t.sort());
    tables
}

/// The tables of `copies` fed in batches of `size` rows.
fn run(compare: Compare, copies: &[Held], size: usize) -> [Vec<String>; 4] {
    let batch = input(copies);
    let mut op = Survivorship::new(spec(compare), &batch.schema()).expect("operator");
    let mut outs = Vec::new();
    let mut start = 0;
    while start < batch.num_rows() {
        let n = size.min(batch.num_rows() - start);
        outs.extend(op.push(batch.slice(start, n)).expect("pushed"));
        start += n;
    }
    outs.extend(op.finish().expect("finished"));
    lines(&outs)
}

const A: &str = "110105194912310021";
const B: &str = "110105195001010013";

fn id(key: &str) -> String {
    entity_id("population", key)
}

#[test]
fn authority_beats_recency_and_recency_beats_length() {
    let copies = [
        held(A, "张三", "public_security", 1).authority(),
        held(A, "张三丰", "hrss", 2),
        held(B, "李四", "public_security", 1),
        held(B, "李四光", "hrss", 1),
        held(B, "李", "civil_affairs", 2),
    ];
    let [golden, attributes, conflicts, link] = run(Compare::Exact, &copies, 100);
    let (a, b) = (id(A), id(B));
    assert_eq!(golden, {
        let mut g = vec![format!("{a}|{A}|张三|2"), format!("{b}|{B}|李|3")];
        g.sort();
        g
    });
    assert!(attributes.contains(&format!(
        "{a}|name|public_security|public_security|b|2024-10-04|2|authority"
    )));
    assert!(attributes.contains(&format!(
        "{b}|name|civil_affairs|civil_affairs|b|2024-10-04|3|recency"
    )));
    assert!(attributes.contains(&format!("{a}|id|hrss|hrss|b|2024-10-04|2|recency")));
    // Each losing copy is a conflict, with who wins and why.
    assert_eq!(conflicts.len(), 3);
    assert!(conflicts.contains(&format!(
        "{a}|110105********0021|name|张三丰|张三|public_security|authority|hrss|b|f.csv|1|hrss"
    )));
    assert!(conflicts.contains(&format!(
        "{b}|110105********0013|name|李四光|李|civil_affairs|recency|hrss|b|f.csv|3|hrss"
    )));
    assert_eq!(link.len(), 5);
}

#[test]
fn the_longest_value_wins_a_tie_of_delivery_and_department_order_breaks_the_rest() {
    let copies = [
        held(A, "张三", "b_dept", 1),
        held(A, "张三丰", "c_dept", 1),
        held(B, "李四", "b_dept", 1),
        held(B, "李五", "a_dept", 1),
    ];
    let [_, attributes, conflicts, _] = run(Compare::Exact, &copies, 100);
    assert!(attributes.contains(&format!(
        "{}|name|c_dept|c_dept|b|2024-10-04|2|completeness",
        id(A)
    )));
    assert!(attributes.contains(&format!("{}|name|a_dept|a_dept|b|2024-10-04|2|tie", id(B))));
    assert!(
        conflicts
            .iter()
            .any(|c| c.contains("|name|张三|张三丰|c_dept|completeness|"))
    );
}

#[test]
fn flagged_and_missing_copies_take_no_part_and_normalised_text_is_the_same() {
    let copies = [
        held(A, "張 三", "hrss", 2),
        held(A, "张三", "public_security", 1).authority(),
        held(A, "王五", "civil_affairs", 3).flagged(),
        held(A, "", "health", 4).without_name(),
    ];
    let [golden, attributes, conflicts, _] = run(Compare::Normalised, &copies, 100);
    assert_eq!(golden, vec![format!("{}|{A}|张三|4", id(A))]);
    assert!(attributes.contains(&format!(
        "{}|name|public_security|public_security|b|2024-10-04|2|authority",
        id(A)
    )));
    assert_eq!(conflicts, Vec::<String>::new());
    let [_, _, exact, _] = run(Compare::Exact, &copies, 100);
    assert_eq!(exact.len(), 1, "{exact:?}");
}

#[test]
fn a_fixed_winner_is_a_conflict_with_itself() {
    let copies = [held(A, "张三", "public_security", 1)
        .stated("张 三")
        .authority()];
    let [_, _, conflicts, _] = run(Compare::Exact, &copies, 100);
    assert_eq!(conflicts.len(), 1);
    assert!(conflicts[0].contains("|name|张 三|张三|public_security|fixed|"));
}

#[test]
fn rows_without_a_key_link_to_no_entity() {
    let copies = [
        held(A, "张三", "hrss", 1).without_key(),
        held(A, "张三", "hrss", 1),
    ];
    let [golden, _, _, link] = run(Compare::Exact, &copies, 100);
    assert_eq!(golden.len(), 1);
    assert_eq!(link.len(), 2);
    assert!(link.iter().any(|l| l.starts_with("|hrss")), "{link:?}");
}

#[test]
fn entities_split_across_batches_give_the_same_tables() {
    let copies: Vec<Held> = [A, B]
        .into_iter()
        .flat_map(|key| {
            [
                held(key, "张三", "public_security", 1).authority(),
                held(key, "张三丰", "hrss", 2),
                held(key, "张山", "civil_affairs", 3),
            ]
        })
        .collect();
    let whole = run(Compare::Exact, &copies, copies.len());
    for size in 1..copies.len() {
        assert_eq!(
            run(Compare::Exact, &copies, size),
            whole,
            "batches of {size}"
        );
    }
}

#[test]
fn numbers_within_the_tolerance_are_the_same() {
    let within = |tolerance: f64| Compare::Number(shuzhi_rules::Number(tolerance));
    assert!(same(&within(0.5), "10.2", "10"));
    assert!(!same(&within(0.1), "10.2", "10"));
    assert!(!same(&within(1.0), "ten", "10"));
    assert!(same(&Compare::Date, "2020-01-02", "2020-01-02"));
}
