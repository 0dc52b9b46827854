"""The three bundled topics (deceased, benefit_fraud, enrolment_review) written by hand in Polars
over the same delivered files shuzhi reads: the baseline of benches/topics.sh.

It applies what the topics need of shuzhi's rules to the columns they use: identity numbers
trimmed, full-width digits folded, `x` upper-cased, 15 digits made 18, check digit verified
(an application whose child ID fails is dropped, as shuzhi quarantines it); Chinese and ISO
dates; `202607` months; a cancellation counts as a death only for 死亡. Decisions follow the
topic files in rules/topics/ branch by branch.

    python3 benches/topics_polars.py CITY OUT      CITY: a `shuzhi sample` folder

Writes OUT/{deceased,benefit_fraud,enrolment_review}.parquet and prints CPU seconds and peak
RSS of this process as JSON.
"""

import io
import json
import resource
import sys
import time

import polars as pl
from python_calamine import CalamineWorkbook

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
FULL_WIDTH = [chr(0xFF10 + i) for i in range(10)] + ["ｘ", "Ｘ"]
HALF_WIDTH = [str(i) for i in range(10)] + ["X", "X"]
# shuzhi's default null tokens (shuzhi_functions::text::DEFAULT_NULL_TOKENS), compared in lower case.
NULL_TOKENS = [
    "无", "空", "暂无", "没有", "不详", "未知", "未填", "未填写", "待补充", "待定", "略", "/", "／", "\\",
    "-", "--", "—", "——", "－", ".", "。", "null", "none", "nil", "n/a", "na", "#n/a", "#value!",
    "#ref!", "nan", "\\n", "(空)", "（空）", "（空白）",
]


def present(column: str) -> pl.Expr:
    """A required value: not null, not empty, not a null token."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return text.is_not_null() & (text != "") & ~text.str.to_lowercase().is_in(NULL_TOKENS)


def check_char(body17: pl.Expr) -> pl.Expr:
    """GB 11643 check character of 17 digits (null when they are not digits)."""
    total = sum(body17.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(WEIGHTS))
    return (total % 11).replace_strict(list(range(11)), list(CHECK), default=None, return_dtype=pl.String)


def identity(column: str) -> pl.Expr:
    """A delivered identity number as 18 valid characters, else null."""
    raw = (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.replace_many(FULL_WIDTH, HALF_WIDTH)
        .str.to_uppercase()
    )
    old = raw.str.len_chars() == 15
    body = pl.when(old).then(raw.str.slice(0, 6) + "19" + raw.str.slice(6, 9)).otherwise(raw.str.slice(0, 17))
    check = check_char(body)
    id18 = pl.when(old).then(body + check).otherwise(raw)
    valid = (id18.str.len_chars() == 18) & (id18.str.slice(17, 1) == check)
    return pl.when(valid).then(id18).alias(column)


def text_file(path: str, encoding: str, separator: str = ",") -> pl.DataFrame:
    with open(path, "rb") as f:
        text = f.read().decode(encoding)
    return pl.read_csv(io.StringIO(text.lstrip("\ufeff")), separator=separator, infer_schema=False)


def chinese_date(column: str) -> pl.Expr:
    parts = pl.col(column).str.extract_groups(r"(\d{4})\D+(\d{1,2})\D+(\d{1,2})")
    return pl.date(
        parts.struct.field("1").cast(pl.Int32),
        parts.struct.field("2").cast(pl.Int32),
        parts.struct.field("3").cast(pl.Int32),
    )


def month(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y%m", strict=False)


def evidence(library: str, key: pl.Expr, file: str, line: pl.Expr) -> pl.Expr:
    return pl.struct(
        pl.lit(library).alias("library"), key.alias("key"), pl.lit(file).alias("file"), line.alias("line")
    )


def with_lines(df: pl.DataFrame, first: int) -> pl.DataFrame:
    """The delivered line of each row (header on line 1, or a title row before it)."""
    return df.with_row_index("_line", offset=first).with_columns(pl.col("_line").cast(pl.Int64))


def deceased(city: str) -> pl.DataFrame:
    ca = with_lines(text_file(f"{city}/civil_affairs/deaths.csv", "gb18030"), 2).select(
        identity("身份证号").alias("id_number"), chinese_date("死亡日期").alias("death_date"),
        pl.lit("death_registration").alias("library"), pl.lit("civil_affairs/deaths.csv").alias("_file"), "_line",
    )
    hc = with_lines(text_file(f"{city}/health/death_certificates.txt", "utf-16", "\t"), 2).select(
        identity("死者身份证号").alias("id_number"), chinese_date("死亡日期").alias("death_date"),
        pl.lit("death_certificate").alias("library"), pl.lit("health/death_certificates.txt").alias("_file"), "_line",
    )
    ps = (
        with_lines(pl.read_ndjson(f"{city}/public_security/cancellations.jsonl", infer_schema_length=None).cast(pl.String), 1)
        .filter(pl.col("zxyy") == "死亡")
        .select(
            identity("sfzh").alias("id_number"), chinese_date("zxrq").alias("death_date"),
            pl.lit("household_cancellation").alias("library"),
            pl.lit("public_security/cancellations.jsonl").alias("_file"), "_line",
        )
    )
    reports = pl.concat([ca, hc, ps]).filter(pl.col("id_number").is_not_null() & pl.col("death_date").is_not_null())
    ev = pl.struct(
        pl.col("library"), pl.col("id_number").alias("key"), pl.col("_file").alias("file"), pl.col("_line").alias("line")
    )
    out = reports.group_by("id_number").agg(
        pl.col("death_date").min().alias("death_date"),
        pl.col("death_date").max().alias("latest_date"),
        pl.len().alias("sources"),
        pl.col("library").sort().alias("reported_by"),
        ev.alias("evidence"),
    )
    return out.with_columns(
        pl.when(pl.col("sources") >= 2).then(pl.lit("confirmed")).otherwise(pl.lit("single_source")).alias("decision"),
        pl.when(pl.col("death_date") != pl.col("latest_date")).then(pl.lit("dates_disagree"))
        .when(pl.col("sources") >= 2).then(pl.lit("sources_agree"))
        .otherwise(pl.lit("one_source")).alias("reason"),
    )


def benefit_fraud(city: str, dead: pl.DataFrame) -> pl.DataFrame:
    def monthly(name: str, id_col: str, month_col: str) -> pl.DataFrame:
        df = with_lines(text_file(f"{city}/hrss/{name}.csv", "utf-8"), 2)
        return df.select(identity(id_col).alias("id_number"), month(month_col).alias("month"), "_line")

    pension = monthly("pension", "身份证号", "发放月份")
    benefit = monthly("unemployment_benefit", "身份证号", "发放月份")
    work = monthly("contributions", "身份证号", "缴费月份")
    medical = with_lines(text_file(f"{city}/hrss/medical_settlements.csv", "utf-8"), 2).select(
        pl.col("结算单号").alias("settlement_no"), identity("身份证号").alias("id_number"),
        chinese_date("结算日期").alias("settled_on"), "_line",
    )
    death = dead.select("id_number", "death_date", pl.col("death_date").dt.month_start().alias("death_month"))
    hits = pl.concat([
        benefit.join(pension, on=["id_number", "month"], suffix="_p").select(
            "id_number", pl.lit("unemployment_while_pension").alias("kind"), "month",
            evidence("unemployment_benefit", pl.col("id_number"), "hrss/unemployment_benefit.csv", pl.col("_line")).alias("paid"),
            evidence("pension", pl.col("id_number"), "hrss/pension.csv", pl.col("_line_p")).alias("against"),
        ),
        benefit.join(work, on=["id_number", "month"], suffix="_w").select(
            "id_number", pl.lit("unemployment_while_employed").alias("kind"), "month",
            evidence("unemployment_benefit", pl.col("id_number"), "hrss/unemployment_benefit.csv", pl.col("_line")).alias("paid"),
            evidence("contribution", pl.col("id_number"), "hrss/contributions.csv", pl.col("_line_w")).alias("against"),
        ),
        pension.join(death, on="id_number").filter(pl.col("month") > pl.col("death_month")).select(
            "id_number", pl.lit("pension_after_death").alias("kind"), "month",
            evidence("pension", pl.col("id_number"), "hrss/pension.csv", pl.col("_line")).alias("paid"),
            evidence("deceased", pl.col("id_number"), None, pl.lit(None, pl.Int64)).alias("against"),
        ),
        benefit.join(death, on="id_number").filter(pl.col("month") > pl.col("death_month")).select(
            "id_number", pl.lit("unemployment_after_death").alias("kind"), "month",
            evidence("unemployment_benefit", pl.col("id_number"), "hrss/unemployment_benefit.csv", pl.col("_line")).alias("paid"),
            evidence("deceased", pl.col("id_number"), None, pl.lit(None, pl.Int64)).alias("against"),
        ),
        medical.join(death, on="id_number").filter(pl.col("settled_on") > pl.col("death_date")).select(
            "id_number", pl.lit("medical_after_death").alias("kind"), pl.col("settled_on").dt.month_start().alias("month"),
            evidence("medical_settlement", pl.col("settlement_no"), "hrss/medical_settlements.csv", pl.col("_line")).alias("paid"),
            evidence("deceased", pl.col("id_number"), None, pl.lit(None, pl.Int64)).alias("against"),
        ),
    ])
    return hits.group_by("id_number", "kind").agg(
        pl.col("month").min().alias("first_month"),
        pl.col("month").n_unique().alias("months"),
        pl.concat_list(pl.col("paid").unique(), pl.col("against").unique()).first().alias("evidence"),
    ).with_columns(pl.lit("suspected").alias("decision"), pl.col("kind").alias("reason"))


def enrolment_review(city: str, dead: pl.DataFrame) -> pl.DataFrame:
    # The application library's reject checks: child and guardian IDs valid (an ID Excel
    # stored as a number lost its last digits: python-calamine tells which cells are numbers),
    # name, school and district present.
    workbook = f"{city}/education/enrolment_applications.xlsx"
    cells = CalamineWorkbook.from_path(workbook).get_sheet_by_name("入学申请").to_python()
    numeric_ids = [isinstance(row[0], float) for row in cells[2:]]
    apps = with_lines(
        pl.read_excel(workbook, sheet_name="入学申请", read_options={"header_row": 1}, infer_schema_length=0),
        3,
    ).with_columns(pl.Series("numeric_id", numeric_ids)).filter(
        ~pl.col("numeric_id") & present("学生姓名") & present("申请学校") & present("学校区划代码")
    ).select(
        identity("学生身份证号").alias("child_id"), identity("监护人身份证号").alias("guardian_id"),
        pl.col("申请学校").alias("school"), pl.col("学校区划代码").str.zfill(6).alias("school_region"), "_line",
    ).filter(pl.col("child_id").is_not_null() & pl.col("guardian_id").is_not_null())
    register = text_file(f"{city}/public_security/population_register.csv", "utf-8").select(
        identity("公民身份号码").alias("id_number"), pl.col("户籍地区划").str.strip_chars().alias("region")
    ).filter(pl.col("id_number").is_not_null() & pl.col("region").str.contains(r"^\d{6}$")).unique("id_number")
    members = with_lines(text_file(f"{city}/public_security/household_relations.csv", "gb18030"), 2).select(
        identity("公民身份号码").alias("id_number"), pl.col("户号").str.to_uppercase().alias("household_no"), "_line"
    ).group_by("id_number").agg(pl.col("household_no").min(), pl.col("_line").min())
    properties = pl.read_parquet(f"{city}/natural_resources/properties.parquet").with_row_index("_line", offset=1).select(
        identity("权利人证件号").alias("owner_id"), pl.col("不动产单元号").str.to_uppercase().alias("unit_no"),
        pl.col("_line").cast(pl.Int64),
    ).with_columns(pl.col("unit_no").str.slice(0, 6).alias("region_code")).group_by("owner_id", "region_code").agg(
        pl.col("unit_no").min(), pl.col("_line").min()
    )
    review = (
        apps.join(register, left_on="child_id", right_on="id_number", how="left")
        .join(dead.select(pl.col("id_number").alias("guardian_id"), pl.lit(True).alias("guardian_deceased")), on="guardian_id", how="left")
        .join(members.rename({"household_no": "child_household", "_line": "child_line"}), left_on="child_id", right_on="id_number", how="left")
        .join(members.rename({"household_no": "guardian_household", "_line": "guardian_line"}), left_on="guardian_id", right_on="id_number", how="left")
        .join(properties, left_on=["guardian_id", "school_region"], right_on=["owner_id", "region_code"], how="left")
        .with_columns(
            pl.col("child_id").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False).alias("birth_date"),
            pl.coalesce("region", pl.col("child_id").str.slice(0, 6)).alias("region_code"),
        )
    )
    in_window = pl.col("birth_date").is_between(pl.date(2019, 9, 1), pl.date(2020, 8, 31))
    linked = pl.col("child_household").is_not_null() & (pl.col("child_household") == pl.col("guardian_household"))
    branches = [
        (pl.col("birth_date").is_null(), "manual_review", "birth_date_unknown"),
        (~in_window, "fail", "age_outside_window"),
        (pl.col("guardian_deceased").fill_null(False), "manual_review", "guardian_deceased"),
        (~linked, "manual_review", "no_household_link"),
        (pl.col("region_code") == pl.col("school_region"), "pass", "household_in_district"),
        (pl.col("unit_no").is_not_null(), "pass", "property_in_district"),
    ]

    def decide(i: int):
        decision = pl.when(branches[0][0]).then(pl.lit(branches[0][i]))
        for cond, *what in branches[1:]:
            decision = decision.when(cond).then(pl.lit(what[i - 1]))
        return decision.otherwise(pl.lit(["fail", "not_in_district"][i - 1]))

    return review.select(
        "child_id", "guardian_id", "school", "school_region", "birth_date", "region_code",
        decide(1).alias("decision"), decide(2).alias("reason"),
        pl.concat_list(
            evidence("enrolment_application", pl.col("child_id"), "education/enrolment_applications.xlsx", pl.col("_line")),
        ).alias("evidence"),
    )


def main() -> None:
    city, out = sys.argv[1], sys.argv[2]
    started = time.time()
    dead = deceased(city)
    topics = {
        "deceased": dead,
        "benefit_fraud": benefit_fraud(city, dead),
        "enrolment_review": enrolment_review(city, dead),
    }
    for name, df in topics.items():
        df.write_parquet(f"{out}/{name}.parquet")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "wall_s": round(time.time() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "rows": {k: v.height for k, v in topics.items()},
    }))


if __name__ == "__main__":
    main()
