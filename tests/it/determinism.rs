//! Same inputs and rules ⇒ same outputs, whatever the batch size or partition count.

use crate::common::*;

async fn snapshot_of(batch_size: usize, partitions: usize) -> Vec<Vec<String>> {
    let out = temp_dir(&format!("det-{batch_size}-{partitions}"));
    run_sample(&out, batch_size, partitions).await;
    let mut tables = Vec::new();
    for sql in [
        "SELECT * FROM population_source ORDER BY _source, _line",
        "SELECT * FROM quarantine_population ORDER BY _source, _line",
        "SELECT * FROM verdicts ORDER BY _source, _line, rule",
    ] {
        tables.push(rows(&query(&out, sql).await));
    }
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_do_not_depend_on_batch_size_or_partitions() {
    let reference = snapshot_of(8192, 1).await;
    assert_eq!(reference[0].len(), 12, "library rows");
    assert_eq!(reference[1].len(), 8, "quarantine rows");
    assert_eq!(reference[2].len(), 16, "verdict rows");
    for (batch_size, partitions) in [(64, 8), (64, 1), (8192, 8), (1, 3)] {
        let other = snapshot_of(batch_size, partitions).await;
        assert_eq!(
            other, reference,
            "batch size {batch_size}, {partitions} partitions"
        );
    }
}
