//! No input file makes ingest panic: random bytes and damaged copies of the hand-built fixtures
//! (truncated, bytes flipped) in every format end in batches or a typed error.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use shuzhi_ingest::{Format, ReadOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shuzhi-nopanic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// Reads `bytes` as every format; panics only if ingest panics.
fn read_all_formats(bytes: &[u8], tag: &str) {
    for (format, ext) in [
        (Format::Csv, "csv"),
        (Format::Excel, "xlsx"),
        (Format::Excel, "xls"),
        (Format::Jsonl, "jsonl"),
        (Format::Parquet, "parquet"),
    ] {
        let path = scratch(&format!("{tag}.{ext}"));
        std::fs::write(&path, bytes).expect("write");
        let options = ReadOptions {
            format: Some(format),
            chunk_bytes: 7,
            batch_size: 3,
            ..ReadOptions::default()
        };
        let outcome = std::panic::catch_unwind(|| {
            let _ = shuzhi_ingest::read_file(&path, &options, |_| Ok(()));
        });
        assert!(
            outcome.is_ok(),
            "ingest panicked on {} as {format:?}",
            path.display()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_all_formats(&bytes, "random");
    }

    #[test]
    fn damaged_fixtures_never_panic(pick in 0usize..100, cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..8)) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
            .expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e != "py"))
            .collect();
        files.sort();
        let file = &files[pick % files.len()];
        let mut bytes = std::fs::read(file).expect("fixture");
        for (at, b) in flips {
            if !bytes.is_empty() {
                let i = ((bytes.len() - 1) as f64 * at) as usize;
                bytes[i] = b;
            }
        }
        bytes.truncate((bytes.len() as f64 * cut) as usize + 1);
        read_all_formats(&bytes, "damaged");
    }
}

#[test]
fn every_fixture_reads_or_fails_cleanly_in_every_format() {
    for entry in std::fs::read_dir(fixtures()).expect("fixtures").flatten() {
        let bytes = std::fs::read(entry.path()).expect("fixture");
        read_all_formats(&bytes, "whole");
    }
}
