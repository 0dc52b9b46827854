#!/usr/bin/env python3
"""The population rules of rules/population.toml, written natively for DuckDB and for Polars, plus
a plain CSV → Parquet copy (the I/O floor). Used by w1.sh: baselines.py ENGINE INPUT.csv OUTDIR

Both baselines do what shuzhi does: text normalisation, null tokens, ID canonical form with
15 → 18 upgrade and GB 11643 validation, gender mapping with the ID as authority, birth date
from six formats with the ID as authority, phone normalisation, region default and code-table
check, ethnic group (GB/T 3304) and marital status (GB/T 2261.2) mapped from codes, short codes,
names and aliases with code-table warnings, the registration-before-birth time-order warning,
exact dedup keeping the latest registration, and write the kept rows and the rejected rows (with
a reason) as zstd Parquet. They do not write per-check verdict rows (shuzhi does), nor check the
GB/T 2260 region history of each ID (shuzhi's gb11643_region).
"""
import csv
import os
import sys

NULLS = ["无", "空", "暂无", "没有", "不详", "未知", "未填", "未填写", "待补充", "待定", "略", "/", "／",
         "\\", "-", "--", "—", "——", "－", ".", "。", "null", "none", "nil", "n/a", "na", "#n/a",
         "#value!", "#ref!", "nan", "\\n", "(空)", "（空）", "（空白）", "?", "？", "xxx", "***"]
REGIONS = ["110101", "110102", "110103", "110104", "110105", "110106", "110108", "130503",
           "310112", "310115", "320102", "330106", "440524"]
FULL = "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ（）　"
HALF = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz() "
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
COLS = {"公民身份号码": "id_number", "姓名": "name", "性别": "gender", "出生日期": "birth_date",
        "联系电话": "phone", "户籍地区划": "region_code", "登记日期": "registered_on", "住址": "address",
        "民族": "ethnicity", "婚姻状况": "marital_status"}
CODES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rules", "codes")


def code_map(table):
    """Code, name and alias → code, as rules/codes/<table>.csv lists them (shuzhi's `map`)."""
    out = {}
    with open(os.path.join(CODES, table + ".csv"), encoding="utf-8") as f:
        for row in csv.reader(line for line in f if not line.startswith("#")):
            if row[0] == "code":
                continue
            for spelling in [row[0], row[1]] + [a for a in (row[2] if len(row) > 2 else "").split("|") if a]:
                out.setdefault(spelling, row[0])
    return out


ETHNICITY, MARITAL = code_map("gb3304"), code_map("gb2261_2")


def duckdb_run(src, out):
    import duckdb
    con = duckdb.connect()
    nulls = ", ".join("'" + t.replace("'", "''") + "'" for t in NULLS)
    regions = ", ".join(f"'{r}'" for r in REGIONS)

    def clean(c):
        return (f"CASE WHEN lower(trim(x_{c})) IN ({nulls}) OR trim(x_{c}) = '' THEN NULL ELSE x_{c} END")

    def norm(c):
        # translate() is slow in DuckDB; only rows that hold a full-width character pay for it.
        folded = (f"CASE WHEN regexp_matches(\"{c}\", '[０-９Ａ-Ｚａ-ｚ（）　]') "
                  f"THEN translate(\"{c}\", '{FULL}', '{HALF}') ELSE \"{c}\" END")
        return (f"trim(regexp_replace(regexp_replace({folded}, "
                f"'[\\x{{200B}}-\\x{{200D}}\\x{{FEFF}}]', '', 'g'), '\\s+', ' ', 'g'))")

    def check_digit(body):
        s = " + ".join(f"CAST(substr({body}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(W))
        return f"substr('10X98765432', (({s}) % 11) + 1, 1)"

    def date(c):
        fmts = "['%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y%m%d', '%Y年%m月%d日', '%Y-%m-%d %H:%M:%S']"
        return f"CAST(try_strptime({c}, {fmts}) AS DATE)"

    def mapped(c, table):
        pairs = ", ".join("('" + k.replace("'", "''") + "', '" + v + "')" for k, v in table.items())
        con.execute(f"CREATE TEMP TABLE map_{c} AS SELECT * FROM (VALUES {pairs}) t(spelling, code)")
        padded = f"CASE WHEN regexp_full_match({c}, '[0-9]') THEN '0' || {c} ELSE {c} END"
        return (f"coalesce((SELECT code FROM map_{c} WHERE spelling = {padded}), {padded})")

    eth, mar = mapped("ethnicity", ETHNICITY), mapped("marital_status", MARITAL)
    codes_eth = ", ".join(f"'{v}'" for v in sorted(set(ETHNICITY.values())))
    codes_mar = ", ".join(f"'{v}'" for v in sorted(set(MARITAL.values())))
    select_raw = ", ".join(f'"{k}" AS "{v}"' for k, v in COLS.items())
    normed = ", ".join(f"{norm(v)} AS x_{v}" for v in COLS.values())
    nulled = ", ".join(f"{clean(v)} AS {v}" for v in COLS.values())
    id15 = "regexp_replace(upper(id_number), '[\\x{00D7}''\"= -]', '', 'g')"
    con.execute(f"""
    CREATE TEMP TABLE governed AS
    WITH raw AS (SELECT {select_raw}, row_number() OVER () AS _line
                 FROM read_csv('{src}', all_varchar = true, header = true, null_padding = true,
                               ignore_errors = false, strict_mode = false)),
    n AS (SELECT *, {normed} FROM raw),
    c AS (SELECT _line, {nulled} FROM n),
    i AS (SELECT * REPLACE ({id15} AS id_number) FROM c),
    u AS (SELECT * REPLACE (CASE WHEN regexp_full_match(id_number, '[0-9]{{15}}')
            THEN substr(id_number, 1, 6) || '19' || substr(id_number, 7) ||
                 {check_digit("(substr(id_number, 1, 6) || '19' || substr(id_number, 7))")}
            ELSE id_number END AS id_number) FROM i),
    v AS (SELECT *,
            id_number IS NOT NULL AND regexp_full_match(id_number, '[1-9][0-9]{{16}}[0-9X]')
              AND try_strptime(substr(id_number, 7, 8), '%Y%m%d') IS NOT NULL
              AND {check_digit("id_number")} = substr(id_number, 18, 1) AS id_ok
          FROM u),
    d AS (SELECT * REPLACE (
            CASE gender WHEN '男' THEN '1' WHEN '男性' THEN '1' WHEN 'M' THEN '1'
                        WHEN '女' THEN '2' WHEN '女性' THEN '2' WHEN 'F' THEN '2' ELSE gender END AS gender,
            {date("birth_date")} AS birth_date,
            {date("registered_on")} AS registered_on,
            regexp_replace(regexp_replace(phone, '[ .()-]', '', 'g'), '^(\\+?86|0086)(1[3-9][0-9]{{9}})$', '\\2')
              AS phone,
            {eth} AS ethnicity, {mar} AS marital_status),
          CASE WHEN id_ok THEN CASE WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END END AS id_gender,
          CASE WHEN id_ok THEN CAST(strptime(substr(id_number, 7, 8), '%Y%m%d') AS DATE) END AS id_birth
          FROM v),
    f AS (SELECT * REPLACE (
            coalesce(id_gender, gender) AS gender,
            coalesce(id_birth, birth_date) AS birth_date,
            CASE WHEN phone = '13800138000' THEN NULL ELSE phone END AS phone,
            coalesce(region_code, CASE WHEN id_ok THEN substr(id_number, 1, 6) END) AS region_code),
          CASE WHEN id_number IS NULL THEN 'required' WHEN NOT id_ok THEN 'gb11643'
               WHEN name IS NULL THEN 'name.required' END AS reason
          FROM d)
    SELECT *, (reason IS NULL AND region_code NOT IN ({regions})) AS region_warn,
           (reason IS NULL AND phone IS NOT NULL AND NOT regexp_full_match(phone, '1[3-9][0-9]{{9}}')) AS phone_warn,
           (reason IS NULL AND ethnicity NOT IN ({codes_eth})) AS ethnicity_warn,
           (reason IS NULL AND marital_status NOT IN ({codes_mar})) AS marital_warn,
           (reason IS NULL AND registered_on < birth_date) AS order_warn,
           CASE WHEN reason IS NULL THEN row_number() OVER (PARTITION BY id_number, reason IS NULL
                ORDER BY registered_on DESC NULLS LAST, _line) END AS rank
    FROM f""")
    con.execute(f"COPY (SELECT * EXCLUDE (rank, id_gender, id_birth, id_ok) FROM governed WHERE rank = 1) "
                f"TO '{out}/library.parquet' (FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"COPY (SELECT *, coalesce(reason, 'dedup') AS why FROM governed WHERE rank IS NULL OR rank > 1) "
                f"TO '{out}/quarantine.parquet' (FORMAT parquet, COMPRESSION zstd)")
    kept = con.execute("SELECT count(*) FROM governed WHERE rank = 1").fetchone()[0]
    total = con.execute("SELECT count(*) FROM governed").fetchone()[0]
    print(f"duckdb: {total} rows, {kept} kept", file=sys.stderr)


def polars_run(src, out):
    import polars as pl
    df = pl.scan_csv(src, infer_schema=False, truncate_ragged_lines=True).rename(COLS)
    df = df.with_row_index("_line")
    fw = dict(zip(FULL, HALF))

    def norm(c):
        e = pl.col(c).str.replace_many(list(fw.keys()), list(fw.values()))
        e = e.str.replace_all("[\u200b-\u200d\ufeff]", "").str.replace_all(r"\s+", " ").str.strip_chars()
        return pl.when(e.str.to_lowercase().is_in(NULLS) | (e == "")).then(None).otherwise(e).alias(c)

    df = df.with_columns([norm(c) for c in COLS.values()])
    idn = pl.col("id_number").str.to_uppercase().str.replace_all("[×'\"= -]", "")

    def check_digit(e):
        s = sum(e.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(W))
        return pl.lit("10X98765432").str.slice(s % 11, 1)

    body15 = idn.str.slice(0, 6) + pl.lit("19") + idn.str.slice(6)
    df = df.with_columns(
        pl.when(idn.str.contains(r"^[0-9]{15}$")).then(body15 + check_digit(body15)).otherwise(idn).alias("id_number"))
    ok = (pl.col("id_number").str.contains(r"^[1-9][0-9]{16}[0-9X]$")
          & pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_not_null()
          & (check_digit(pl.col("id_number")) == pl.col("id_number").str.slice(17, 1)))
    df = df.with_columns(ok.fill_null(False).alias("id_ok"))

    def date(c):
        fmts = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"]
        return pl.coalesce([pl.col(c).str.to_date(f, strict=False) for f in fmts[:5]]
                           + [pl.col(c).str.to_datetime(fmts[5], strict=False).dt.date()]).alias(c)

    gender = pl.col("gender").replace({"男": "1", "男性": "1", "M": "1", "女": "2", "女性": "2", "F": "2"})
    phone = pl.col("phone").str.replace_all(r"[ .()\-]", "").str.replace(r"^(\+?86|0086)(1[3-9]\d{9})$", "${2}")
    id_gender = pl.when(pl.col("id_ok")).then(
        pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).then(pl.lit("1")).otherwise(pl.lit("2")))
    id_birth = pl.when(pl.col("id_ok")).then(pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False))
    def mapped(c, table):
        padded = pl.when(pl.col(c).str.contains(r"^[0-9]$")).then(pl.lit("0") + pl.col(c)).otherwise(pl.col(c))
        return padded.replace(table).alias(c)

    df = df.with_columns(date("birth_date"), date("registered_on"), gender.alias("gender"), phone.alias("phone"),
                         mapped("ethnicity", ETHNICITY), mapped("marital_status", MARITAL))
    df = df.with_columns(
        pl.coalesce([id_gender, pl.col("gender")]).alias("gender"),
        pl.coalesce([id_birth, pl.col("birth_date")]).alias("birth_date"),
        pl.when(pl.col("phone") == "13800138000").then(None).otherwise(pl.col("phone")).alias("phone"),
        pl.coalesce([pl.col("region_code"), pl.when(pl.col("id_ok")).then(pl.col("id_number").str.slice(0, 6))]).alias("region_code"),
        pl.when(pl.col("id_number").is_null()).then(pl.lit("required"))
          .when(~pl.col("id_ok")).then(pl.lit("gb11643"))
          .when(pl.col("name").is_null()).then(pl.lit("name.required")).alias("reason"))
    df = df.with_columns(
        (pl.col("reason").is_null() & ~pl.col("region_code").is_in(REGIONS)).alias("region_warn"),
        (pl.col("reason").is_null() & pl.col("phone").is_not_null()
         & ~pl.col("phone").str.contains(r"^1[3-9]\d{9}$")).alias("phone_warn"),
        (pl.col("reason").is_null() & ~pl.col("ethnicity").is_in(list(set(ETHNICITY.values())))).alias("ethnicity_warn"),
        (pl.col("reason").is_null() & ~pl.col("marital_status").is_in(list(set(MARITAL.values())))).alias("marital_warn"),
        (pl.col("reason").is_null() & (pl.col("registered_on") < pl.col("birth_date"))).alias("order_warn"))
    df = df.sort(["registered_on", "_line"], descending=[True, False], nulls_last=True)
    df = df.with_columns(
        pl.when(pl.col("reason").is_null()).then(pl.int_range(pl.len()).over("id_number", "reason") + 1).alias("rank"))
    governed = df.collect()
    kept = governed.filter(pl.col("rank") == 1).drop(["rank", "id_ok"])
    kept.write_parquet(f"{out}/library.parquet", compression="zstd")
    governed.filter(pl.col("rank").is_null() | (pl.col("rank") > 1)).with_columns(
        pl.col("reason").fill_null("dedup").alias("why")).write_parquet(f"{out}/quarantine.parquet", compression="zstd")
    print(f"polars: {governed.height} rows, {kept.height} kept", file=sys.stderr)


def copy_floor(src, out):
    import duckdb
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar = true, header = true, null_padding = true, "
        f"strict_mode = false)) TO '{out}/copy.parquet' (FORMAT parquet, COMPRESSION zstd)")


if __name__ == "__main__":
    engine, src, out = sys.argv[1:4]
    {"duckdb": duckdb_run, "polars": polars_run, "copy": copy_floor}[engine](src, out)
