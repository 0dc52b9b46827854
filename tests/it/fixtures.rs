//! Hand-built deliveries from `tests/fixtures/` (see make_fixtures.py): each test states what
//! must happen — which rows are kept or quarantined with which reason, or which error names
//! the file — and that no row is lost.

use crate::common::{query, rows, run_fixture, shuzhi};

/// `read = kept + quarantined` for the one source, and what was read.
fn accounted(report: &shuzhi_job::RunReport) -> (u64, u64, u64) {
    let c = &report.manifest.sources["fx"];
    assert_eq!(c.read, c.kept + c.quarantined, "row accounting");
    (c.read, c.kept, c.quarantined)
}

const LIBRARY_ROWS: &str = "SELECT _sheet, _line, id_number, name, gender, birth_date, phone, \
                            region_code, registered_on, address FROM population_source ORDER BY _line";
const QUARANTINE_ROWS: &str =
    "SELECT _sheet, _line, _reasons, _raw FROM quarantine_population ORDER BY _line";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbook_with_title_rows_hidden_and_empty_sheets() {
    let (out, run) = run_fixture("fx-title", "population_title_rows.xlsx", "").await;
    let run = run.expect("workbook governs");
    assert_eq!(accounted(&run), (6, 4, 2));
    let input = &run.manifest.inputs[0];
    assert_eq!(input.format, "excel");
    let sheets: Vec<(String, Option<u32>, u64, Option<String>)> = input
        .sheets
        .iter()
        .map(|s| (s.name.clone(), s.header_row, s.rows, s.skipped.clone()))
        .collect();
    assert_eq!(
        sheets,
        vec![
            ("人口信息".into(), Some(3), 6, None),
            ("代码表".into(), None, 0, Some("hidden".into())),
            ("Sheet3".into(), None, 0, Some("empty".into())),
        ]
    );
    assert_eq!(
        rows(&query(&out, LIBRARY_ROWS).await),
        vec![
            // date cells read as dates, a phone typed as a number read without ".0"
            "人口信息|4|11010519491231002X|张三丽|2|1949-12-31|13912345678|110105|2020-01-05|北京市朝阳区建国路1号",
            // a 15-digit ID typed as a number is exact and is upgraded to 18 digits (the
            // delivered gender disagrees with the ID's sequence digit and is fixed)
            "人口信息|7|310112198504095227|李四|2|1985-04-09|∅|310112|2022-01-10|上海市闵行区",
            // formula-looking text is data: kept verbatim, never evaluated
            "人口信息|9|130503196704010016|=cmd|' /C calc'!A0|1|1967-04-01|∅|@x|2022-06-01|-2+3",
            // serial 60 (Excel's 1900-02-29) is no date: the ID's birth date fixes it
            "人口信息|10|110105198001010024|闰日|2|1980-01-01|∅|110105|2023-01-01|∅",
        ]
    );
    assert_eq!(
        rows(&query(&out, QUARANTINE_ROWS).await),
        vec![
            "人口信息|5|ingest.excel_precision_loss|公民身份号码=110105194912310000\t姓名=数字证号\t性别=男\t出生日期=1949-12-31\t登记日期=2021-01-01",
            "人口信息|6|ingest.excel_precision_loss|公民身份号码=1.10105E+17\t姓名=科学计数\t性别=男\t登记日期=2021-01-02",
        ]
    );
    let fixes = rows(
        &query(
            &out,
            "SELECT original, fixed FROM verdicts WHERE field = 'birth_date' AND _line = 10",
        )
        .await,
    );
    assert_eq!(fixes, vec!["1900-02-29|1980-01-01"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wps_style_workbook_reads_like_the_excel_one() {
    let (excel, run) = run_fixture("fx-excel", "population_title_rows.xlsx", "").await;
    run.expect("excel workbook");
    let (wps, run) = run_fixture("fx-wps", "population_wps.xlsx", "").await;
    assert_eq!(accounted(&run.expect("wps workbook")), (6, 4, 2));
    assert_eq!(
        rows(&query(&wps, LIBRARY_ROWS).await),
        rows(&query(&excel, LIBRARY_ROWS).await)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_by_name_or_position_and_hidden_sheets_on_request() {
    let (out, run) = run_fixture("fx-sheet", "population_title_rows.xlsx", "sheet = 1").await;
    assert_eq!(accounted(&run.expect("by position")), (6, 4, 2));
    assert_eq!(
        rows(&query(&out, "SELECT 1 FROM population_source").await).len(),
        4
    );
    let (_, run) = run_fixture(
        "fx-hidden",
        "population_title_rows.xlsx",
        "hidden_sheets = true",
    )
    .await;
    // The hidden code sheet is read too: its one row has no ID and is quarantined, not lost.
    assert_eq!(accounted(&run.expect("with hidden")), (7, 4, 3));
    let (_, run) = run_fixture(
        "fx-nosheet",
        "population_title_rows.xlsx",
        "sheet = \"户籍\"",
    )
    .await;
    let err = run.expect_err("no such sheet");
    assert!(
        err.contains(
            "has no worksheet \"户籍\"; its sheets are: 1 \"人口信息\", 2 \"代码表\", 3 \"Sheet3\""
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_systems_and_legacy_xls() {
    for fixture in ["population_1904.xlsx", "population_legacy.xls"] {
        let (out, run) = run_fixture("fx-dates", fixture, "").await;
        assert_eq!(accounted(&run.expect(fixture)), (1, 1, 0), "{fixture}");
        assert_eq!(
            rows(
                &query(
                    &out,
                    "SELECT birth_date, registered_on, _line FROM population_source"
                )
                .await
            ),
            vec!["1949-12-31|2020-01-05|2"],
            "{fixture}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_workbooks_are_clear_errors_and_publish_nothing() {
    let (out, run) = run_fixture("fx-trunc", "truncated.xlsx", "").await;
    let err = run.expect_err("truncated");
    assert!(
        err.contains("truncated.xlsx: cannot read the spreadsheet file")
            && err.contains("re-export it from the source system"),
        "{err}"
    );
    assert!(!out.join("_published.json").exists());
    let (_, run) = run_fixture("fx-renamed", "csv_renamed.xlsx", "").await;
    let err = run.expect_err("csv renamed");
    assert!(
        err.contains("csv_renamed.xlsx is not a spreadsheet: it looks like text (CSV?)")
            && err.contains("rename it to .csv or declare format = \"csv\""),
        "{err}"
    );
    // Declaring the real format reads it.
    let (_, run) = run_fixture("fx-renamed-ok", "csv_renamed.xlsx", "format = \"csv\"").await;
    assert_eq!(accounted(&run.expect("declared csv")), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_exports_utf16_mixed_endings_nul_and_rare_characters() {
    let (out, run) = run_fixture("fx-utf16", "unicode_text_utf16.txt", "delimiter = \"\\t\"").await;
    let run = run.expect("utf-16");
    assert_eq!(accounted(&run), (2, 2, 0));
    assert_eq!(run.manifest.inputs[0].encoding.as_deref(), Some("utf-16le"));
    assert_eq!(
        rows(
            &query(
                &out,
                "SELECT name, _line FROM population_source ORDER BY _line"
            )
            .await
        ),
        // normalize_text folds the quoted line break inside the name to a space
        vec!["张三丽|2", "李 四|3"]
    );

    let (out, run) = run_fixture("fx-mixed", "mixed_endings_nul.csv", "").await;
    assert_eq!(accounted(&run.expect("mixed endings")), (2, 2, 0));
    assert_eq!(
        rows(
            &query(
                &out,
                "SELECT address, _line FROM population_source ORDER BY _line"
            )
            .await
        ),
        vec!["北京市 朝阳区|2", "上海市|4"]
    );
    let names = rows(&query(&out, "SELECT name FROM population_source ORDER BY _line").await);
    assert_eq!(names[1], "李四");
    assert!(
        names[0].starts_with('张') && names[0].ends_with("三丽"),
        "{names:?}"
    );

    let (out, run) = run_fixture("fx-rare", "rare_chars_gb18030.csv", "").await;
    let run = run.expect("rare characters");
    assert_eq!(run.manifest.inputs[0].encoding.as_deref(), Some("gb18030"));
    assert_eq!(
        rows(&query(&out, "SELECT name, address FROM population_source").await),
        vec!["刘䶮|\u{E000}村"]
    );

    let (out, run) = run_fixture(
        "fx-misdeclared",
        "gbk_declared_utf8.csv",
        "encoding = \"utf-8\"",
    )
    .await;
    let err = run.expect_err("not utf-8");
    assert!(
        err.contains("is not valid utf-8 at byte") && err.contains("(line 1)"),
        "{err}"
    );
    assert!(!out.join("_published.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_saved_as_number_in_csv_is_quarantined_not_repaired() {
    let (out, run) = run_fixture("fx-idnum", "id_as_number.csv", "").await;
    assert_eq!(accounted(&run.expect("id as number")), (1, 0, 1));
    assert_eq!(
        rows(
            &query(
                &out,
                "SELECT id_number, _reasons FROM quarantine_population"
            )
            .await
        ),
        vec!["1.10105E+17|population.id_number.gb11643"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formula_cells_are_data_and_csv_output_defuses_them() {
    let (out, run) = run_fixture("fx-formula", "formula_cells.csv", "").await;
    assert_eq!(accounted(&run.expect("formulas")), (2, 2, 0));
    assert_eq!(
        rows(
            &query(
                &out,
                "SELECT name, address FROM population_source ORDER BY _line"
            )
            .await
        ),
        vec!["=cmd|' /C calc'!A0|+SUM(1)", "@x|-2+3"]
    );
    let dir = out.parent().expect("run dir");
    let (code, stdout, stderr) = shuzhi(
        &[
            "query",
            "SELECT name, address FROM population_source ORDER BY _line",
            "--format",
            "csv",
            "--out",
            "out",
        ],
        dir,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "name,address\n'=cmd|' /C calc'!A0,'+SUM(1)\n'@x,'-2+3\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_from_an_api() {
    let (out, run) = run_fixture("fx-jsonl", "population_api.jsonl", "").await;
    let run = run.expect("jsonl");
    assert_eq!(accounted(&run), (3, 2, 1));
    let input = &run.manifest.inputs[0];
    assert_eq!(input.format, "jsonl");
    assert_eq!(input.columns["id_number"], "sfzh");
    assert_eq!(input.unused_columns, vec!["bz"]);
    assert_eq!(
        rows(
            &query(
                &out,
                "SELECT id_number, name, birth_date, _line FROM population_source ORDER BY _line"
            )
            .await
        ),
        vec![
            "11010519491231002X|张三丽|1949-12-31|1",
            // a JSON number ID is read exactly
            "310112198504095227|李四|1985-04-09|2",
        ]
    );
    assert_eq!(
        rows(&query(&out, QUARANTINE_ROWS).await),
        vec!["∅|4|ingest.bad_json|{\"sfzh\": \"130503196704010016\", \"xm\": "]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_with_schema_drift() {
    let (out, run) = run_fixture("fx-parquet", "population_platform.parquet", "").await;
    let run = run.expect("parquet");
    assert_eq!(accounted(&run), (2, 2, 0));
    let input = &run.manifest.inputs[0];
    assert_eq!(input.format, "parquet");
    assert_eq!(input.missing_fields, vec!["address", "gender", "phone"]);
    assert_eq!(input.unused_columns, vec!["备注"]);
    assert_eq!(
        rows(&query(&out, "SELECT id_number, gender, birth_date, region_code, registered_on, _line FROM population_source ORDER BY _line").await),
        vec![
            // gender was not delivered: the ID's sequence digit fills it (a fix verdict)
            "11010519491231002X|2|1949-12-31|110105|2020-01-05|1",
            "310112198504095227|2|1985-04-09|310112|2022-01-10|2",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_of_deliveries_are_walked_and_symlink_loops_are_errors() {
    let fixtures = crate::common::repo().join("tests/fixtures");
    let folder = crate::common::temp_dir("fx-folder-deliveries");
    for (from, to) in [
        ("formula_cells.csv", "day1/a.csv"),
        ("population_api.jsonl", "day2/b.jsonl"),
    ] {
        let to = folder.join(to);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(fixtures.join(from), to).expect("copy");
    }
    // Excel's lock file, a hidden file and a non-delivery file are passed over.
    std::fs::write(folder.join("day1/~$a.xlsx"), b"lock").expect("write");
    std::fs::write(folder.join(".hidden.csv"), b"x").expect("write");
    std::fs::write(folder.join("README.md"), b"notes").expect("write");
    let path = folder.display().to_string();
    let (_, run) = run_fixture("fx-folder", &path, "").await;
    let run = run.expect("folder of deliveries");
    let inputs: Vec<(String, String)> = run
        .manifest
        .inputs
        .iter()
        .map(|i| {
            (
                i.path.rsplit('/').next().unwrap_or("").to_owned(),
                i.format.clone(),
            )
        })
        .collect();
    assert_eq!(
        inputs,
        vec![
            ("a.csv".into(), "csv".into()),
            ("b.jsonl".into(), "jsonl".into())
        ]
    );
    // Both days deliver the same two persons: one copy each survives the dedup, plus the
    // cut-off JSON line.
    assert_eq!(accounted(&run), (5, 2, 3));

    std::os::unix::fs::symlink(&folder, folder.join("day2/back")).expect("symlink");
    let (_, run) = run_fixture("fx-folder-loop", &path, "").await;
    let err = run.expect_err("loop");
    assert!(
        err.contains("E0116") && err.contains("symlink loop"),
        "{err}"
    );
    std::fs::remove_file(folder.join("day2/back")).expect("unlink");
    std::os::unix::fs::symlink("self.csv", folder.join("self.csv")).expect("symlink");
    let (_, run) = run_fixture("fx-folder-self", &path, "").await;
    let err = run.expect_err("self link");
    assert!(err.contains("E0116") && err.contains("self.csv"), "{err}");
}
