//! Ingest throughput per format over the same rows: `cargo bench -p shuzhi-ingest --bench formats`.
//!
//! The population register of a generated city (`shuzhi-sample`, 60,000 persons) is written in
//! every delivery format; each is read end to end into Arrow batches. CSV is also read on a
//! one-thread and a two-thread rayon pool to show the parallel chunker's scaling. Criterion
//! reports MB/s of file bytes; rows/s follow from the row count printed at the start.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shuzhi_ingest::{ReadOptions, TextEncoding};
use shuzhi_sample::table::FileFormat;

fn inputs(dir: &Path) -> Vec<(&'static str, PathBuf, ReadOptions)> {
    let rng = shuzhi_sample::rng::Rng::new(7);
    let world = shuzhi_sample::world::World::generate(60_000, &rng);
    let deliveries = shuzhi_sample::departments::deliver(&world, &rng);
    let register = deliveries
        .tables
        .into_iter()
        .find(|t| t.name == "population_register")
        .expect("the generator makes a population register");
    eprintln!("rows per file: {}", register.rows.len());
    let formats = [
        (
            "csv_utf8",
            FileFormat::CsvUtf8Bom,
            b',',
            Some(TextEncoding::Utf8),
        ),
        (
            "csv_gb18030",
            FileFormat::CsvGb18030,
            b',',
            Some(TextEncoding::Gb18030),
        ),
        ("utf16_text", FileFormat::Utf16Tab, b'\t', None),
        ("xlsx", FileFormat::Xlsx, b',', None),
        ("jsonl", FileFormat::Jsonl, b',', None),
        ("parquet", FileFormat::Parquet, b',', None),
    ];
    formats
        .into_iter()
        .map(|(label, format, delimiter, encoding)| {
            let mut table = register.clone();
            table.format = format;
            table.name = label;
            shuzhi_sample::write::write_table(&table, dir).expect("bench input written");
            let options = ReadOptions {
                delimiter,
                encoding,
                batch_size: 65_536,
                ..ReadOptions::default()
            };
            (label, dir.join(table.relative_path()), options)
        })
        .collect()
}

fn read(path: &Path, options: &ReadOptions) -> u64 {
    shuzhi_ingest::read_file(path, options, |_| Ok(()))
        .expect("bench input reads")
        .rows
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("shuzhi-ingest-bench-{}", std::process::id()));
    let inputs = inputs(&dir);
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool")
    };
    let (one, two) = (pool(1), pool(2));
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    for (label, path, options) in &inputs {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format!("{label}/2_threads"), |b| {
            b.iter(|| two.install(|| read(path, options)))
        });
        if *label == "csv_utf8" {
            group.bench_function(format!("{label}/1_thread"), |b| {
                b.iter(|| one.install(|| read(path, options)))
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
