//! Synthetic department deliveries whose truth does not come from the engine.
//!
//! [`generate`] draws a clean world first (persons, households, enterprises, properties),
//! writes it as truth, then derives each department's table from it in that department's
//! format and habits, adding dirt at documented rates ([`dirt::RATES`]). The truth names every
//! row by file, sheet and line — as ingest's provenance will — with its entity, the dirt
//! planted and the expected outcome, plus the planted cross-department disagreements and
//! findings (deaths, benefit overlaps) with their near-miss decoys.
//!
//! This crate depends on no other shuzhi crate (a test asserts it): identifier check digits,
//! date handling and coordinate offsets are written here independently.

pub mod departments;
pub mod dirt;
pub mod ident;
pub mod matching;
pub mod rng;
pub mod table;
pub mod world;
pub mod write;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::departments::Deliveries;
use crate::rng::Rng;
use crate::world::World;

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A format writer failed.
    #[error("cannot write sample data: {0}")]
    Write(String),
}

impl SampleError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SampleError {
        SampleError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of persons in the world (tables total about ten rows per person).
    pub persons: usize,
    /// Seed: the same seed gives the same files.
    pub seed: u64,
    /// Output folder (department folders and `truth/` are created in it).
    pub out: PathBuf,
}

/// One written table.
#[derive(Debug, Clone)]
pub struct WrittenTable {
    /// Path relative to the output folder.
    pub path: String,
    /// Data rows.
    pub rows: usize,
    /// File size.
    pub bytes: u64,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Tables written, in generation order.
    pub tables: Vec<WrittenTable>,
    /// Planted findings (including decoys).
    pub findings: usize,
    /// Planted disagreements.
    pub disagreements: usize,
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), SampleError> {
    std::fs::write(path, text).map_err(|e| SampleError::io(path, e))
}

/// Generates the world, the department deliveries and the truth into `config.out`.
pub fn generate(config: &Config) -> Result<Summary, SampleError> {
    let rng = Rng::new(config.seed);
    let world = World::generate(config.persons, &rng);
    let deliveries = departments::deliver(&world, &rng);
    let truth_dir = config.out.join("truth");
    std::fs::create_dir_all(&truth_dir).map_err(|e| SampleError::io(&truth_dir, e))?;
    write_world(&world, &truth_dir)?;

    let mut rows_csv = String::from("file,sheet,line,entity,dirt,expected\n");
    let mut tables = Vec::new();
    for table in &deliveries.tables {
        let locations = write::write_table(table, &config.out)?;
        let path = table.relative_path();
        for ((sheet, line), t) in locations.iter().zip(&table.truth) {
            let _ = writeln!(
                rows_csv,
                "{path},{},{line},{},{},{}",
                csv_field(sheet.as_deref().unwrap_or("")),
                t.entity,
                t.dirt.join(";"),
                t.expected.label()
            );
        }
        let bytes = std::fs::metadata(config.out.join(&path)).map_or(0, |m| m.len());
        tables.push(WrittenTable {
            path,
            rows: table.rows.len(),
            bytes,
        });
    }
    write_file(&truth_dir.join("rows.csv"), &rows_csv)?;
    write_cross_truth(&deliveries, &truth_dir)?;
    write_file(&truth_dir.join("README.md"), &readme(config, &tables))?;
    Ok(Summary {
        tables,
        findings: deliveries.findings.len(),
        disagreements: deliveries.disagreements.len(),
    })
}

fn write_world(world: &World, dir: &Path) -> Result<(), SampleError> {
    let mut persons = String::from(
        "entity,id_number,name,gender,birth_date,region_code,phone,address,death_date,household,relation\n",
    );
    for p in &world.persons {
        let _ = writeln!(
            persons,
            "{},{},{},{},{},{},{},{},{},H{:08},{}",
            p.entity,
            p.id,
            csv_field(&p.name),
            p.gender,
            p.birth,
            world::REGIONS[p.region].0,
            p.phone,
            csv_field(&p.address),
            p.death.map(|d| d.to_string()).unwrap_or_default(),
            p.household,
            p.relation
        );
    }
    write_file(&dir.join("persons.csv"), &persons)?;
    let mut enterprises = String::from("entity,uscc,name,representative,registered,cancelled\n");
    for e in &world.enterprises {
        let _ = writeln!(
            enterprises,
            "{},{},{},{},{},{}",
            e.entity,
            e.uscc,
            csv_field(&e.name),
            world.persons[e.representative].entity,
            e.registered,
            e.cancelled.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    write_file(&dir.join("enterprises.csv"), &enterprises)?;
    let mut properties = String::from("unit,owner,address,wgs84_lon,wgs84_lat\n");
    for p in &world.properties {
        let _ = writeln!(
            properties,
            "{},{},{},{:.6},{:.6}",
            p.unit,
            world.persons[p.owner].entity,
            csv_field(&p.address),
            p.wgs84.0,
            p.wgs84.1
        );
    }
    write_file(&dir.join("properties.csv"), &properties)
}

fn write_cross_truth(d: &Deliveries, dir: &Path) -> Result<(), SampleError> {
    let mut findings = String::from("kind,entity,decoy,detail\n");
    for f in &d.findings {
        let _ = writeln!(
            findings,
            "{},{},{},{}",
            f.kind,
            f.entity,
            f.decoy,
            csv_field(&f.detail)
        );
    }
    write_file(&dir.join("findings.csv"), &findings)?;
    let mut disagreements = String::from("entity,field,table,delivered,truth\n");
    for x in &d.disagreements {
        let _ = writeln!(
            disagreements,
            "{},{},{},{},{}",
            x.entity,
            x.field,
            x.table,
            csv_field(&x.delivered),
            x.truth
        );
    }
    write_file(&dir.join("disagreements.csv"), &disagreements)
}

fn readme(config: &Config, tables: &[WrittenTable]) -> String {
    let mut s = format!(
        "# Truth of this sample\n\nGenerated by `shuzhi sample --persons {} --seed {}`. The clean world is in\n\
         `persons.csv`, `enterprises.csv` and `properties.csv`; every delivered row is in `rows.csv`\n\
         (file, sheet, line as ingest reports them, entity, planted dirt, expected outcome):\n\n\
         - `valid`: valid after cleaning (it may still lose a dedup to another copy of its entity);\n\
         - `reject:<why>`: must be quarantined for that reason;\n\
         - `duplicate`: an exact re-delivery in the same table; one copy of the entity survives.\n\n\
         `disagreements.csv` lists values a department delivered that contradict the truth;\n\
         `findings.csv` lists planted cross-department findings and their near-miss decoys\n\
         (`decoy = true` must not be reported).\n\n## Dirt rates\n\n| kind | rate | meaning |\n|---|---:|---|\n",
        config.persons, config.seed
    );
    for (kind, rate, meaning) in dirt::RATES {
        let _ = writeln!(s, "| {kind} | {:.1} % | {meaning} |", rate * 100.0);
    }
    s.push_str("\n## Tables\n\n| file | rows | bytes |\n|---|---:|---:|\n");
    for t in tables {
        let _ = writeln!(s, "| {} | {} | {} |", t.path, t.rows, t.bytes);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_files_and_every_row_has_truth() {
        let base = std::env::temp_dir().join(format!("shuzhi-sample-{}", std::process::id()));
        let run = |name: &str| {
            let out = base.join(name);
            let _ = std::fs::remove_dir_all(&out);
            let summary = generate(&Config {
                persons: 300,
                seed: 9,
                out: out.clone(),
            })
            .expect("generates");
            (out, summary)
        };
        let (a, sa) = run("a");
        let (b, _) = run("b");
        let read = |dir: &Path, f: &str| std::fs::read(dir.join(f)).expect("file");
        for t in &sa.tables {
            // xlsx embeds a creation time; compare the rest byte for byte.
            if !t.path.ends_with(".xlsx") {
                assert_eq!(read(&a, &t.path), read(&b, &t.path), "{}", t.path);
            }
        }
        let rows = String::from_utf8(read(&a, "truth/rows.csv")).expect("utf-8");
        let total: usize = sa.tables.iter().map(|t| t.rows).sum();
        assert_eq!(rows.lines().count() - 1, total);
        assert!(sa.tables.len() >= 18);
    }
}
