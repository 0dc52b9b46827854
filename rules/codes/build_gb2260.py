#!/usr/bin/env python3
"""Builds rules/codes/gb2260.csv (GB/T 2260 division codes with the years each name was valid)
from the `cn/loc.dat` file of the python-stdnum package on PyPI (see SOURCES.md).

    python3 rules/codes/build_gb2260.py            # downloads python-stdnum with pip
    python3 rules/codes/build_gb2260.py loc.dat    # or reads a given loc.dat

loc.dat lists each province (`11 province="北京市"`) followed by its prefecture and county codes
(`  0103 county="[-2010]崇文区"`); a name may carry the years it was in use, `[1983-1993]`,
`[-2010]` (until 2010) or `[1986-]` (from 1986), and a code may have had several names.
"""
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).with_name("gb2260.csv")
PERIOD = re.compile(r"^\[(\d{4})?-(\d{4})?\](.*)$")


def loc_dat():
    if len(sys.argv) > 1:
        return Path(sys.argv[1]).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "python-stdnum==2.2", "--no-deps", "-q", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("python_stdnum-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return z.read("stdnum/cn/loc.dat").decode("utf-8")


def periods(names):
    """`[-1991]东郊区,[1992-]东丽区` → [(name, from, to), ...]"""
    out = []
    for part in names.split(","):
        m = PERIOD.match(part.strip())
        if m:
            out.append((m.group(3).strip(), m.group(1) or "", m.group(2) or ""))
        elif part.strip():
            out.append((part.strip(), "", ""))
    return out


def main():
    rows = []
    province, province_code = "", ""
    for line in loc_dat().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r'^(\d{2}) province="([^"]*)"', line)
        if m:
            province_code, province = m.group(1), m.group(2)
            continue
        m = re.match(r'^\s+(\d{4}) county="([^"]*)"', line)
        if not m or not province_code:
            continue
        code = province_code + m.group(1)
        for name, start, end in periods(m.group(2)):
            full = name if code.endswith("0000") or name.startswith(province) else province + name
            rows.append((code, full, start, end))
    lines = ["code,name,aliases,valid_from,valid_to",
             "# GB/T 2260 division codes with the years each name was valid (empty: open).",
             "# Built by build_gb2260.py from python-stdnum 2.2 cn/loc.dat; sources and licences: SOURCES.md."]
    lines += [f"{c},{n},,{s},{e}" for c, n, s, e in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows ({len({r[0] for r in rows})} codes) to {OUT}")


if __name__ == "__main__":
    main()
