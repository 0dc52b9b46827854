#!/usr/bin/env python3
"""Rebuilds ts_characters.txt from the OpenCC dictionaries in opencc-python-reimplemented 0.1.7."""
import pathlib, subprocess, sys, tempfile, zipfile

HERE = pathlib.Path(__file__).resolve().parent
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp,
                    "opencc-python-reimplemented==0.1.7"], check=True)
    wheel = next(pathlib.Path(tmp).glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        text = z.read("opencc/dictionary/TSCharacters.txt").decode("utf-8")
header = "# OpenCC TSCharacters.txt (traditional → simplified characters), Apache-2.0; see SOURCES.md.\n"
(HERE / "ts_characters.txt").write_text(header + text, encoding="utf-8")
print("wrote", HERE / "ts_characters.txt", len(text.splitlines()), "characters")
