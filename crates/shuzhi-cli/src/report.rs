//! What the CLI prints: progress, the run summary, query results.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use indicatif::{ProgressBar, ProgressStyle};
use shuzhi_engine::RunReport;

use crate::Format;

/// A spinner counting governed rows, only on a terminal.
pub fn progress_bar(tty: bool, rows: Arc<AtomicU64>) -> Progress {
    if !tty {
        return Progress {
            bar: None,
            ticker: None,
        };
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} governing: {msg} rows, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let b = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            b.set_message(rows.load(Ordering::Relaxed).to_string());
            b.tick();
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
    });
    Progress {
        bar: Some(bar),
        ticker: Some(ticker),
    }
}

/// Handle of the progress display.
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Removes the spinner.
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// The human summary of a run.
pub fn summary(run: &RunReport, root: &Path) -> String {
    let m = &run.manifest;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "run {} published ({} s)",
        m.run_id,
        m.stage_seconds.values().sum::<f64>().round()
    );
    let _ = writeln!(
        s,
        "\n{:<28} {:>10} {:>10} {:>12}",
        "source", "read", "kept", "quarantined"
    );
    for (source, c) in &m.sources {
        let _ = writeln!(
            s,
            "{source:<28} {:>10} {:>10} {:>12}",
            c.read, c.kept, c.quarantined
        );
    }
    let mut failing: Vec<(&String, &u64)> =
        m.rule_failures.iter().filter(|(_, n)| **n > 0).collect();
    failing.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if !failing.is_empty() {
        let _ = writeln!(s, "\ntop failing rules");
        for (rule, n) in failing.iter().take(8) {
            let _ = writeln!(s, "  {n:>8}  {rule}");
        }
    }
    let _ = writeln!(s, "\noutputs in {}", root.display());
    for (name, t) in &run.published.tables {
        let _ = writeln!(s, "  {name:<24} {}/ (Delta version {})", t.path, t.version);
    }
    let _ = writeln!(
        s,
        "  manifest                 _runs/{}/manifest.json",
        m.run_id
    );
    let _ = writeln!(
        s,
        "\nnext: shuzhi query \"SELECT * FROM quarantine_population LIMIT 5\" --out {}",
        root.display()
    );
    s
}

/// Prints query results.
pub fn print_batches(
    batches: &[RecordBatch],
    format: Format,
) -> Result<(), arrow::error::ArrowError> {
    let stdout = std::io::stdout();
    match format {
        Format::Table => {
            println!("{}", arrow::util::pretty::pretty_format_batches(batches)?);
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(stdout.lock());
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(stdout.lock());
            w.write_batches(&batches.iter().collect::<Vec<_>>())?;
            w.finish()?;
        }
    }
    Ok(())
}
