//! Where a run's tables live under the output root.

use std::path::{Path, PathBuf};

use shuzhi_rules::Pipeline;

use crate::plan::golden::GoldenTable;

/// Where a run's tables live under the output root.
#[derive(Debug, Clone)]
pub struct OutputDirs {
    root: PathBuf,
    libraries: Vec<String>,
}

impl OutputDirs {
    /// Layout for `root` and the pipeline's libraries.
    pub fn new(root: &Path, pipeline: &Pipeline) -> Self {
        Self {
            root: root.to_path_buf(),
            libraries: pipeline.libraries.iter().map(|l| l.name.clone()).collect(),
        }
    }
    /// `root/<library>`: the library (the golden records of a golden library).
    pub fn library(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// Where a golden library's table `table` lives (`root/_sources/<library>`, ...).
    pub fn golden(&self, name: &str, table: GoldenTable) -> PathBuf {
        self.root.join(table.dir(name))
    }
    /// `root/_quarantine/<library>`.
    pub fn quarantine(&self, name: &str) -> PathBuf {
        self.root.join("_quarantine").join(name)
    }
    /// `root/_verdicts`.
    pub fn verdicts(&self) -> PathBuf {
        self.root.join("_verdicts")
    }
    /// Position of a library in the pipeline (keeps verdict file names apart).
    pub fn library_index(&self, name: &str) -> usize {
        self.libraries.iter().position(|l| l == name).unwrap_or(0)
    }
}
