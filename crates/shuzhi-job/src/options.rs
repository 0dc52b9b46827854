//! What a run is asked to do and what it reports.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use shuzhi_engine::EngineConfig;
use shuzhi_library::{Manifest, Published};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Engine settings.
    pub engine: EngineConfig,
    /// Run id (file names, metadata, manifest folder).
    pub run_id: String,
    /// Maximum rows per Parquet row group.
    pub row_group_rows: usize,
    /// Bytes per ingest chunk.
    pub chunk_bytes: usize,
    /// Incremented as rows pass the sink, for progress display.
    pub progress: Arc<AtomicU64>,
    /// How long to wait for another run's lakehouse lock before failing.
    pub lock_wait: Duration,
    /// Business date of the deliveries (`YYYY-MM-DD`), recorded in the manifest.
    pub as_of: Option<String>,
    /// Govern every live batch even when the run only adds batches (see `incremental`).
    pub full_rebuild: bool,
    /// Sources whose deliveries publish even when a delivery guard holds them back.
    pub accept_deliveries: Vec<String>,
    /// Set to the signal's name (`SIGTERM`, `SIGINT`) to stop the run: it ends as failed,
    /// publishes nothing, writes its FAIL event and releases the lock.
    pub stop: Option<tokio::sync::watch::Receiver<Option<&'static str>>>,
}

impl RunOptions {
    /// Defaults for a run id: engine defaults, 1 Mi-row row groups, 4 MiB chunks, no lock wait.
    pub fn new(run_id: impl Into<String>) -> Self {
        Self {
            engine: EngineConfig::default(),
            run_id: run_id.into(),
            row_group_rows: 1 << 20,
            chunk_bytes: 4 << 20,
            progress: Arc::new(AtomicU64::new(0)),
            lock_wait: Duration::ZERO,
            as_of: None,
            full_rebuild: false,
            accept_deliveries: Vec::new(),
            stop: None,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The manifest written to `_runs/<id>/manifest.json`.
    pub manifest: Manifest,
    /// The pointer that was published.
    pub published: Published,
}
