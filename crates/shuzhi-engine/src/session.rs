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

/// Spill files one merge pass of a sort reads at a time.
const SPILL_MERGE_FAN_IN: usize = 8;

/// A session with shuzhi's functions registered.
pub fn session(config: &EngineConfig) -> Result<SessionContext, EngineError> {
    let mut runtime = RuntimeEnvBuilder::new()
        // The largest consumers are named when the pool is exhausted.
        .with_memory_pool(Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(config.memory_limit),
            std::num::NonZeroUsize::MIN.saturating_add(4),
        )));
    // A merge of spill files holds one batch of each file it reads, unspillable, and takes as
    // many files as the pool allows: unbounded, the first partition to merge starves the
    // sorts of the others, which then cannot even buffer a batch. Eight files at a time
    // (more merge passes over a large spill) leave them room.
    runtime = runtime.with_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN);
    if let Some(dir) = &config.spill_dir {
        runtime = runtime.with_temp_file_path(dir);
    }
    let runtime = runtime.build_arc().map_err(EngineError::DataFusion)?;
    let mut session_config = SessionConfig::new()
        .with_target_partitions(config.target_partitions.max(1))
        .with_batch_size(config.batch_size.max(1))
        .with_information_schema(true);
    // Each sorting stream reserves memory for its final merge; scale that with the pool so a
    // small limit still leaves room to buffer and spill (DataFusion's default is 10 MB).
    let execution = &mut session_config.options_mut().execution;
    execution.sort_spill_reservation_bytes = (config.memory_limit / 16).min(10 << 20);
    let state = SessionStateBuilder::new()
        .with_config(session_config)
        .with_runtime_env(runtime)
        .with_scalar_functions(crate::udf::named_udfs())
        .with_default_features()
        .build();
    Ok(SessionContext::new_with_state(state))
}
