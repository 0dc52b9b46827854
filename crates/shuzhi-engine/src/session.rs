//! The one place a DataFusion session is made: configuration, memory pool, spill directory and
//! our UDFs. Local runs, tests and (later) Ballista processes all call [`session`].

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::EngineError;

/// Execution settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Parallel streams per operator.
    pub target_partitions: usize,
    /// Rows per batch.
    pub batch_size: usize,
    /// Memory for sorts, aggregates and windows before they spill.
    pub memory_limit: usize,
    /// Where spill files go; the system temp dir when `None`.
    pub spill_dir: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            target_partitions: std::thread::available_parallelism().map_or(2, |n| n.get()),
            batch_size: 65_536,
            memory_limit: default_memory_limit(),
            spill_dir: None,
        }
    }
}

impl EngineConfig {
    /// Rows per batch: `batch_size`, or fewer under a small memory limit so that each
    /// partition's sort can hold several batches (a sort charges a governed row up to about
    /// 8 KiB; one 65,536-row batch can be charged hundreds of MB).
    pub fn batch_rows(&self) -> usize {
        let per_partition = self.memory_limit / self.target_partitions.max(1);
        let fitting = per_partition / SORT_BATCHES_IN_MEMORY / ROW_BYTES;
        self.batch_size.min(fitting.max(MIN_BATCH_ROWS)).max(1)
    }
}

impl EngineConfig {
    /// Spill files one merge pass of a sort reads at a time. The merge holds one batch of each,
    /// unspillable, and DataFusion's default takes as many as the pool allows: the first
    /// partition to merge then starves the sorts of the others. So that every partition's
    /// merge fits in half its share of the pool: at least 2 (more passes over a large spill
    /// under a small limit), at most 64.
    pub fn spill_merge_fan_in(&self) -> usize {
        let per_partition = self.memory_limit / self.target_partitions.max(1);
        let batch_bytes = self.batch_rows() * ROW_BYTES;
        (per_partition / 2 / batch_bytes.max(1)).clamp(2, 64)
    }
}

/// Batches each partition's sort should be able to hold before it spills.
const SORT_BATCHES_IN_MEMORY: usize = 4;
/// What a governed row is charged in a sort, as a planning figure: about 1 KiB of values
/// with its originals, flags and provenance; batches coalesced after a repartition carry
/// string buffers with spare capacity, and the sort charges a batch's buffers and its rows
/// again for sorting it (measured: 14–30 MB for batches of 2,048–4,096 such rows).
const ROW_BYTES: usize = 8192;
/// Batches are never made smaller than this for memory's sake.
const MIN_BATCH_ROWS: usize = 1024;

/// Memory for sorts before they spill: 60 % of the machine's memory (the rest is for batches in
/// flight, UDF buffers and Parquet writers, which DataFusion does not account), or 4 GiB when
/// the total cannot be read.
pub fn default_memory_limit() -> usize {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
    });
    total_kib.map_or(4 << 30, |kib| kib / 10 * 6 * 1024)
}

/// A session with shuzhi's functions registered.
pub fn session(config: &EngineConfig) -> Result<SessionContext, EngineError> {
    let mut runtime = RuntimeEnvBuilder::new()
        // The largest consumers are named when the pool is exhausted.
        .with_memory_pool(Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(config.memory_limit),
            std::num::NonZeroUsize::MIN.saturating_add(4),
        )));
    runtime = runtime.with_max_spill_merge_fan_in(config.spill_merge_fan_in());
    if let Some(dir) = &config.spill_dir {
        runtime = runtime.with_temp_file_path(dir);
    }
    let runtime = runtime.build_arc().map_err(EngineError::DataFusion)?;
    let mut session_config = SessionConfig::new()
        .with_target_partitions(config.target_partitions.max(1))
        .with_batch_size(config.batch_rows())
        .with_information_schema(true);
    // Each sorting stream reserves memory for its final merge; scale that with the pool so a
    // small limit still leaves room to buffer and spill (DataFusion's default is 10 MB).
    let execution = &mut session_config.options_mut().execution;
    execution.sort_spill_reservation_bytes = (config.memory_limit / 16).min(10 << 20);
    let state = SessionStateBuilder::new()
        .with_config(session_config)
        .with_runtime_env(runtime)
        .with_scalar_functions(
            crate::udf::named_udfs()
                .into_iter()
                .chain(crate::calendar::calendar_udfs())
                .collect(),
        )
        .with_default_features()
        .build();
    Ok(SessionContext::new_with_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two partitions, 65,536-row batches, `memory_limit` bytes.
    fn config(memory_limit: usize) -> EngineConfig {
        EngineConfig {
            target_partitions: 2,
            batch_size: 65_536,
            memory_limit,
            spill_dir: None,
        }
    }

    #[test]
    fn batches_shrink_under_a_small_memory_limit_only() {
        assert_eq!(config(14 << 30).batch_rows(), 65_536);
        assert_eq!(config(64 << 20).batch_rows(), 1_024);
        assert_eq!(config(1 << 30).batch_rows(), 16_384);
        assert_eq!(config(1 << 20).batch_rows(), 1_024);
        let small = EngineConfig {
            batch_size: 100,
            ..config(1 << 20)
        };
        assert_eq!(small.batch_rows(), 100);
    }

    #[test]
    fn merges_of_spill_files_fit_in_half_a_partitions_share() {
        assert_eq!(config(64 << 20).spill_merge_fan_in(), 2);
        assert_eq!(config(1 << 30).spill_merge_fan_in(), 2);
        assert_eq!(config(14 << 30).spill_merge_fan_in(), 7);
        assert_eq!(config(1 << 40).spill_merge_fan_in(), 64);
    }
}
