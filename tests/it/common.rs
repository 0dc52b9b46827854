//! Helpers: run the bundled pipeline into a temp directory, query published tables.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use shuzhi_engine::EngineConfig;
use shuzhi_job::{RunOptions, RunReport};

/// Repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh temporary directory under the target dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shuzhi-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the bundled sample pipeline with the given batch size and partitions.
pub async fn run_sample(out: &Path, batch_size: usize, partitions: usize) -> RunReport {
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("tests/handworked/pipeline.toml"))
        .expect("sample pipeline loads");
    let options = RunOptions {
        engine: EngineConfig {
            batch_size,
            target_partitions: partitions,
            ..EngineConfig::default()
        },
        chunk_bytes: 64,
        ..RunOptions::new("test-run")
    };
    shuzhi_job::run_pipeline(&pipeline, out, &options)
        .await
        .expect("sample run succeeds")
}

/// Runs SQL over the published tables of `out`.
pub async fn query(out: &Path, sql: &str) -> Vec<RecordBatch> {
    let published = shuzhi_library::read_published(out)
        .expect("pointer readable")
        .expect("something published");
    let ctx = shuzhi_engine::session(&EngineConfig::default()).expect("session");
    shuzhi_library::register_published(&ctx, out, &published)
        .await
        .expect("tables register");
    ctx.sql(sql)
        .await
        .expect("plans")
        .collect()
        .await
        .expect("runs")
}

/// Rows as `|`-joined display strings, nulls as `∅`.
pub fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("∅");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("displayable"))
            .collect();
        for i in 0..b.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| f.value(i).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    out
}

/// Runs the `shuzhi` binary; returns exit code, stdout and stderr.
pub fn shuzhi(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shuzhi"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a one-source population pipeline over `tests/fixtures/<fixture>` (or an absolute
/// path) into a fresh directory; a pipeline that does not load is an `Err` with its
/// diagnostics; `source_extra` adds TOML lines to the source (format, encoding, sheet ...).
/// Columns are mapped with the aliases departments use.
pub async fn run_fixture(
    name: &str,
    fixture: &str,
    source_extra: &str,
) -> (PathBuf, Result<RunReport, String>) {
    let dir = temp_dir(name);
    let repo = repo();
    let text = format!(
        r#"[pipeline]
name = "fixture"
output = "out"
rules = ["{rules}"]
codes = "{codes}"

[[source]]
id = "fx"
department = "public_security"
path = "{path}"
library = "population"
{source_extra}
[source.columns]
id_number = ["公民身份号码", "sfzh"]
name = ["姓名", "xm"]
gender = ["性别", "xb"]
birth_date = ["出生日期", "csrq"]
phone = "联系电话"
region_code = "户籍地区划"
registered_on = ["登记日期", "djrq"]
address = "住址"
"#,
        rules = repo.join("rules/population.toml").display(),
        codes = repo.join("rules/codes").display(),
        path = repo.join("tests/fixtures").join(fixture).display(),
    );
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, text).expect("pipeline written");
    let out = dir.join("out");
    let pipeline = match shuzhi_rules::load_pipeline(&file) {
        Ok(p) => p,
        Err(shuzhi_rules::RulesError::Invalid(problems)) => {
            let text: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
            return (out, Err(text.join("\n")));
        }
        Err(e) => return (out, Err(e.to_string())),
    };
    let options = RunOptions {
        chunk_bytes: 64,
        ..RunOptions::new("fixture-run")
    };
    let result = shuzhi_job::run_pipeline(&pipeline, &out, &options)
        .await
        .map_err(|e| e.to_string());
    (out, result)
}

/// Writes a copy of the hand-worked pipeline as `dir/name` with absolute paths, after `edit`.
pub fn handworked_copy(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let repo = repo().canonicalize().expect("repo path");
    let text = std::fs::read_to_string(repo.join("tests/handworked/pipeline.toml"))
        .expect("hand-worked pipeline")
        .replace(
            "\"public_security/",
            &format!("\"{}/tests/handworked/public_security/", repo.display()),
        )
        .replace("\"../../rules/", &format!("\"{}/rules/", repo.display()));
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).expect("write pipeline");
    path
}
