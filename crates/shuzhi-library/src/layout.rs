//! Where the lakehouse keeps its own files under the output root, and how they are written
//! durably. Every other module names files through here, so none needs another's constants.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Result, io_err};

/// Name of the publish pointer in the output root.
pub const POINTER_FILE: &str = "_published.json";
/// Ledger file name in the output root.
pub const LEDGER_FILE: &str = "_ledger";
/// Manifest file name inside `_runs/<run_id>/`.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The pointer a run published, kept beside its manifest for the ledger.
pub const RUN_POINTER_FILE: &str = "published.json";

/// `root/_runs/<run_id>`: a run's manifest, pointer copy and lineage events.
pub fn run_dir(root: &Path, run_id: &str) -> PathBuf {
    root.join("_runs").join(run_id)
}

/// Writes `bytes` to `path` and syncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(io_err("creating", path))?;
    f.write_all(bytes).map_err(io_err("writing", path))?;
    f.sync_all().map_err(io_err("syncing", path))
}
