#!/usr/bin/env python3
"""Generates a dirty population register for benchmarks: gen_population.py ROWS OUT.csv [SEED].

Clean persons are made first; then each delivered row gets dirt at fixed rates (see RATES):
lower-case x, full-width digits, 15-digit IDs, bad check digits, null tokens, mixed date
formats, phone formats and placeholders, gender words, missing regions, ethnic groups and marital
status as codes, short codes, names and old names, and 10 % duplicates (same person, other
registration date). Deterministic for a given seed.
"""
import random
import sys

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
REGIONS = ["110101", "110102", "110105", "110106", "110108", "130503", "310112", "310115",
           "320102", "330106", "440524"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
FW = str.maketrans("0123456789", "０１２３４５６７８９")
# GB/T 3304 and GB/T 2261.2 as departments write them (穿青人 is no GB/T 3304 group).
ETHNICITY = ["汉族", "汉族", "汉", "01", "1", "HA", "回族", "03", "满", "壮族", "毛难族", "穿青人", ""]
MARITAL = ["已婚", "20", "未婚", "10", "初婚", "离婚", "40", "丧偶", "不详", ""]
RATES = {"dup": 0.10, "lower_x": 0.05, "fullwidth": 0.03, "id15": 0.03, "bad_check": 0.01,
         "null_id": 0.005, "gender_word": 0.5, "gender_conflict": 0.01, "birth_conflict": 0.01,
         "no_region": 0.2, "phone_fmt": 0.3, "phone_placeholder": 0.02, "ragged": 0.001}


def check(body):
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, W)) % 11]


def date_text(rng, y, m, d):
    k = rng.randrange(6)
    if k == 0:
        return f"{y:04d}-{m:02d}-{d:02d}"
    if k == 1:
        return f"{y}/{m}/{d}"
    if k == 2:
        return f"{y}.{m}.{d}"
    if k == 3:
        return f"{y}年{m}月{d}日"
    if k == 4:
        return f"{y:04d}{m:02d}{d:02d}"
    return f"{y:04d}-{m:02d}-{d:02d} 00:00:00"


def main():
    rows, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("公民身份号码,姓名,性别,出生日期,联系电话,户籍地区划,登记日期,住址,民族,婚姻状况\n")
        persons = []
        for _ in range(rows):
            if persons and rng.random() < RATES["dup"]:
                region, y, m, d, seq, name = rng.choice(persons)
            else:
                region = rng.choice(REGIONS)
                y, m, d = rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28)
                seq = rng.randrange(1000)
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
                persons.append((region, y, m, d, seq, name))
                if len(persons) > 100_000:
                    persons.pop(0)
            body = f"{region}{y:04d}{m:02d}{d:02d}{seq:03d}"
            idn = body + check(body)
            r = rng.random()
            if r < RATES["null_id"]:
                idn = "无"
            elif r < RATES["null_id"] + RATES["bad_check"]:
                idn = body + ("0" if idn[-1] != "0" else "1")
            elif r < 0.04 + RATES["id15"] and y >= 1900 and y < 2000:
                idn = f"{region}{y % 100:02d}{m:02d}{d:02d}{seq:03d}"
            elif r < 0.1:
                idn = idn.lower()
            elif r < 0.13:
                idn = idn.translate(FW)
            male = seq % 2 == 1
            if rng.random() < RATES["gender_conflict"]:
                male = not male
            gender = (("男" if male else "女") if rng.random() < RATES["gender_word"]
                      else ("1" if male else "2"))
            bd = (y, m, d) if rng.random() >= RATES["birth_conflict"] else (y, m, min(d + 1, 28))
            phone_digits = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            p = rng.random()
            if p < RATES["phone_placeholder"]:
                phone = "13800138000"
            elif p < RATES["phone_fmt"]:
                phone = rng.choice([f"+86 {phone_digits[:3]} {phone_digits[3:7]} {phone_digits[7:]}",
                                    f"{phone_digits[:3]}-{phone_digits[3:7]}-{phone_digits[7:]}",
                                    f"0086{phone_digits}"])
            else:
                phone = phone_digits
            reg_region = "" if rng.random() < RATES["no_region"] else region
            ry, rm, rd = rng.randint(2000, 2025), rng.randint(1, 12), rng.randint(1, 28)
            row = [idn, name, gender, date_text(rng, *bd), phone, reg_region,
                   date_text(rng, ry, rm, rd), f"某市某区某路{rng.randrange(1, 999)}号",
                   rng.choice(ETHNICITY), rng.choice(MARITAL)]
            if rng.random() < RATES["ragged"]:
                row.append("多余")
            f.write(",".join(row) + "\n")


main()
