//! Dedup under a small memory limit: the window's sort spills to disk and the result is the same
//! as with plenty of memory.

use std::fmt::Write as _;
use std::path::Path;

use shuzhi_engine::EngineConfig;
use shuzhi_functions::id_card::check_char;
use shuzhi_job::RunOptions;

use crate::common::*;

/// 40,000 rows over 12,000 persons: many duplicates spread across the whole file.
fn write_register(path: &Path) {
    let mut text =
        String::from("公民身份号码,姓名,性别,出生日期,联系电话,户籍地区划,登记日期,住址\n");
    for i in 0..40_000u32 {
        let person = (i * 7919) % 12_000;
        let body = format!(
            "110105{}{:02}{:02}{:03}",
            1950 + person % 50,
            1 + person % 12,
            1 + person % 28,
            person % 1000
        );
        let id = format!(
            "{body}{}",
            char::from(check_char(body.as_bytes()).expect("digits"))
        );
        let _ = writeln!(
            text,
            "{id},人{person},{},{}-{:02}-{:02},139{:08},,20{:02}-01-{:02},某路{i}号",
            if person % 2 == 1 { "男" } else { "女" },
            1950 + person % 50,
            1 + person % 12,
            1 + person % 28,
            i,
            10 + i % 15,
            1 + i % 28
        );
    }
    std::fs::write(path, text).expect("write register");
}

async fn govern(dir: &Path, memory_limit: usize) -> (Vec<String>, u64) {
    let repo = repo().canonicalize().expect("repo");
    let input = dir.join("register.csv");
    // The dedup alone: the population rules without golden records.
    let rules: String = std::fs::read_to_string(repo.join("rules/population.toml"))
        .expect("rules")
        .lines()
        .filter(|l| {
            !["golden =", "authority =", "compare ="]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let pipeline = format!(
        "[pipeline]\nname = \"spill\"\nrules = [\"population.toml\"]\ncodes = \"{r}/rules/codes\"\n\n\
         [[source]]\nid = \"big\"\ndepartment = \"public_security\"\npath = \"{input}\"\nlibrary = \"population\"\n\
         [source.columns]\nid_number = \"公民身份号码\"\nname = \"姓名\"\ngender = \"性别\"\nbirth_date = \"出生日期\"\n\
         phone = \"联系电话\"\nregion_code = \"户籍地区划\"\nregistered_on = \"登记日期\"\naddress = \"住址\"\n",
        r = repo.display(),
        input = input.display()
    );
    let pipeline_path = dir.join(format!("pipeline-{memory_limit}.toml"));
    std::fs::write(&pipeline_path, pipeline).expect("write pipeline");
    let pipeline = shuzhi_rules::load_pipeline(&pipeline_path).expect("pipeline loads");
    let out = dir.join(format!("out-{memory_limit}"));
    let options = RunOptions {
        engine: EngineConfig {
            batch_size: 1024,
            target_partitions: 2,
            memory_limit,
            spill_dir: Some(dir.to_path_buf()),
        },
        chunk_bytes: 1 << 16,
        ..RunOptions::new("spill")
    };
    let run = shuzhi_job::run_pipeline(&pipeline, &out, &options)
        .await
        .expect("run succeeds");
    assert_eq!(run.manifest.sources["big"].read, 40_000);
    assert_eq!(
        run.manifest.sources["big"].kept, 12_000,
        "one row per person"
    );
    let kept = rows(
        &query(
            &out,
            "SELECT id_number, registered_on, _line FROM population ORDER BY id_number",
        )
        .await,
    );
    (kept, run.manifest.spilled_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_spills_under_a_small_memory_limit_and_agrees() {
    let dir = temp_dir("spill");
    write_register(&dir.join("register.csv"));
    let (roomy, roomy_spilled) = govern(&dir, 1 << 30).await;
    let (tight, tight_spilled) = govern(&dir, 20 << 20).await;
    assert_eq!(roomy_spilled, 0, "1 GiB holds everything");
    assert!(tight_spilled > 0, "20 MiB must spill");
    assert_eq!(tight, roomy);
}

/// A population source layer of 1,040,000 copies of 480,000 persons from three departments,
/// some of whose copies disagree (names, birth dates), as one in-memory table.
fn source_layer(library: &shuzhi_rules::LibraryRules) -> datafusion::datasource::MemTable {
    use arrow::array::{ArrayRef, Date32Builder, Int64Builder, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    use shuzhi_rules::FieldType;

    let departments = ["public_security", "hrss", "civil_affairs"];
    let copies: Vec<(u32, usize)> = (0..480_000u32)
        .flat_map(|p| {
            departments
                .iter()
                .enumerate()
                .filter(move |(d, _)| match d {
                    0 => true,
                    1 => p % 2 == 0,
                    _ => p % 3 != 0,
                })
                .map(move |(d, _)| (p, d))
        })
        .collect();
    assert!(copies.len() >= 1_000_000, "{} copies", copies.len());
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for f in &library.fields {
        match f.ty {
            FieldType::Date => {
                let mut b = Date32Builder::new();
                for &(p, d) in &copies {
                    let shift = i32::from(d == 2 && p % 11 == 0);
                    b.append_value(-5_000 + (p % 20_000) as i32 + shift);
                }
                fields.push(Field::new(&f.name, DataType::Date32, true));
                columns.push(std::sync::Arc::new(b.finish()));
            }
            FieldType::String => {
                let mut b = StringBuilder::new();
                for &(p, d) in &copies {
                    match f.name.as_str() {
                        k if k == library.key => b.append_value(format!("{p:018}")),
                        "name" if d == 1 && p % 7 == 0 => b.append_value(format!("人{p}乙")),
                        "name" => b.append_value(format!("人{p}")),
                        "phone" if d == 0 => b.append_null(),
                        other => {
                            b.append_value(format!("{other}-{p}-某市某区某街道某路{}号", p % 977))
                        }
                    }
                }
                fields.push(Field::new(&f.name, DataType::Utf8, true));
                columns.push(std::sync::Arc::new(b.finish()));
            }
        }
    }
    let text = |name: &str, value: &dyn Fn(u32, usize) -> Option<String>| {
        let mut b = StringBuilder::new();
        for &(p, d) in &copies {
            b.append_option(value(p, d));
        }
        (
            Field::new(name, DataType::Utf8, true),
            std::sync::Arc::new(b.finish()) as ArrayRef,
        )
    };
    for (field, column) in [
        text("_flags", &|_, _| None),
        text("_department", &|_, d| Some(departments[d].to_owned())),
        text("_source", &|_, d| {
            Some(format!("{}_register", departments[d]))
        }),
        text("_batch", &|_, d| Some(format!("b{}", 1 + d % 2))),
        text("_file", &|_, d| Some(format!("{}.csv", departments[d]))),
        text("_sheet", &|_, _| None),
    ] {
        fields.push(field);
        columns.push(column);
    }
    let mut lines = Int64Builder::new();
    copies
        .iter()
        .for_each(|&(p, _)| lines.append_value(i64::from(p) + 2));
    fields.push(Field::new("_line", DataType::Int64, true));
    columns.push(std::sync::Arc::new(lines.finish()));
    let schema = std::sync::Arc::new(Schema::new(fields));
    let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns).expect("batch");
    let batches = (0..batch.num_rows())
        .step_by(8192)
        .map(|s| batch.slice(s, 8192.min(batch.num_rows() - s)))
        .collect();
    datafusion::datasource::MemTable::try_new(schema, vec![batches]).expect("table")
}

/// Counts rows and adds up a hash of each: equal tables give equal sums in any row order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Fingerprint([(u64, u64); 4]);

impl shuzhi_engine::execute::GoldenSink for Fingerprint {
    type Output = Fingerprint;

    fn write(
        &mut self,
        rows: shuzhi_engine::survivorship::GoldenBatches,
    ) -> Result<(), shuzhi_engine::EngineError> {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let tables = [rows.golden, rows.attributes, rows.conflicts, rows.link];
        for (sum, batch) in self.0.iter_mut().zip(&tables) {
            let fields = batch
                .schema()
                .fields()
                .iter()
                .map(|f| arrow::row::SortField::new(f.data_type().clone()))
                .collect();
            let converter = arrow::row::RowConverter::new(fields)?;
            let converted = converter.convert_columns(batch.columns())?;
            for row in converted.iter() {
                let mut h = DefaultHasher::new();
                row.as_ref().hash(&mut h);
                sum.0 += 1;
                sum.1 = sum.1.wrapping_add(h.finish());
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Fingerprint, shuzhi_engine::EngineError> {
        Ok(self)
    }
}

/// The golden tables of `table` in a session limited to `memory_limit` bytes.
async fn golden_under(
    library: &shuzhi_rules::LibraryRules,
    table: std::sync::Arc<datafusion::datasource::MemTable>,
    memory_limit: usize,
    dir: &Path,
) -> (Fingerprint, u64) {
    use shuzhi_engine::plan::golden::{BatchDelivery, SOURCE_INPUT, plan_golden};
    let ctx = shuzhi_engine::session(&EngineConfig {
        batch_size: 8192,
        target_partitions: 2,
        memory_limit,
        spill_dir: Some(dir.to_path_buf()),
    })
    .expect("session");
    let schema = datafusion::catalog::TableProvider::schema(table.as_ref());
    ctx.register_table(SOURCE_INPUT, table).expect("registered");
    let batches =
        [("b1", 1, "2026-01-01"), ("b2", 2, "2026-02-01")].map(|(b, seq, on)| BatchDelivery {
            batch: b.into(),
            seq,
            delivered_on: Some(on.into()),
        });
    let (plan, spec) = plan_golden(&ctx, library, &schema, &batches, false)
        .await
        .expect("plans");
    let parts = shuzhi_engine::execute::execute_golden(&ctx, plan.clone(), &spec, |_, _| {
        Fingerprint::default()
    })
    .await
    .expect("runs");
    let mut total = Fingerprint::default();
    for part in parts {
        for (t, p) in total.0.iter_mut().zip(part.0) {
            t.0 += p.0;
            t.1 = t.1.wrapping_add(p.1);
        }
    }
    (total, shuzhi_engine::execute::spilled_bytes(plan.as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_records_over_a_million_copies_spill_under_64_mib_and_agree() {
    let dir = temp_dir("golden-spill");
    let pipeline =
        shuzhi_rules::load_pipeline(&repo().join("pipeline.toml")).expect("pipeline loads");
    let library = pipeline
        .libraries
        .iter()
        .find(|l| l.name == "population")
        .expect("population");
    let table = std::sync::Arc::new(source_layer(library));
    let (roomy, roomy_spilled) = golden_under(library, table.clone(), 8 << 30, &dir).await;
    let (tight, tight_spilled) = golden_under(library, table, 64 << 20, &dir).await;
    assert_eq!(roomy_spilled, 0, "8 GiB holds everything");
    assert!(tight_spilled > 0, "64 MiB must spill");
    let [golden, attributes, conflicts, link] = roomy.0;
    assert_eq!(golden.0, 480_000, "one golden record per person");
    assert_eq!(link.0, 1_040_000, "one link per copy");
    // Phones come from hrss (even persons) and civil affairs (persons not divisible by 3) only.
    let phones = (0..480_000).filter(|p| p % 2 == 0 || p % 3 != 0).count() as u64;
    assert_eq!(attributes.0, 480_000 * 9 + phones);
    // hrss names of every 7th even person; civil-affairs dates of every 11th person it has.
    let names = (0..480_000).filter(|p| p % 14 == 0).count() as u64;
    let dates = (0..480_000).filter(|p| p % 11 == 0 && p % 3 != 0).count() as u64;
    assert_eq!(conflicts.0, names + 2 * dates);
    assert_eq!(tight, roomy, "the same tables with and without spilling");
}
