#!/usr/bin/env python3
"""Splink (DuckDB backend) on the records `shuzhi evaluate-match --save-input` wrote: the same
fields, the same blocking rules and the same thresholds as rules/match/person.toml, scored
the same way (clusters against the `entity` column: pairwise and cluster precision, recall,
F1). Prints one JSON object.

    python3 benches/splink_persons.py RECORDS.csv [--settings FILE]

Splink gets the normalisation it cannot do itself, written here in pandas and timed with it:
IDs width-folded, upper-cased and 15-digit numbers upgraded; names width-folded with spaces
removed (Splink has no traditional/simplified fold nor pinyin); dates in the five delivered
layouts parsed to ISO; phones reduced to their digits without +86; addresses width-folded.
`--settings FILE` writes the trained model (Splink's settings JSON) there;
benches/splink_persons_settings.json is the one committed from the last benchmark run.
"""
import json
import re
import sys
import time
import unicodedata

import pandas as pd
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def fold(value):
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    return text or None


def id18(value):
    text = fold(value)
    if text is None:
        return None
    text = text.replace(" ", "").upper()
    if re.fullmatch(r"\d{15}", text):
        body = text[:6] + "19" + text[6:]
        text = body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]
    return text if re.fullmatch(r"\d{17}[\dX]", text) else None


def iso_date(value):
    text = fold(value)
    if text is None:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text
    )
    if not m:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"


def phone(value):
    text = fold(value)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def name(value):
    text = fold(value)
    return None if text is None else re.sub(r"\s+", "", text)


def main():
    args = sys.argv[1:]
    path = args[0]
    settings_out = args[args.index("--settings") + 1] if "--settings" in args else None
    started = time.time()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = pd.DataFrame(
        {
            "unique_id": range(len(raw)),
            "entity": raw["entity"],
            "id_number": raw["id_number"].map(id18),
            "name": raw["name"].map(name),
            "birth_date": raw["birth_date"].map(iso_date),
            "phone": raw["phone"].map(phone),
            "address": raw["address"].map(fold),
        }
    )
    df["surname"] = df["name"].str[:1]
    prepared = time.time()

    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.JaroWinklerAtThresholds("name", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.LevenshteinAtThresholds("phone", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.8]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("birth_date", "surname"),
            block_on("phone"),
            block_on("birth_date", "name"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("id_number")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "birth_date")
    )
    trained = time.time()
    pairs = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pairs, threshold_match_probability=0.99
    )
    result = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    linked = time.time()

    if settings_out:
        with open(settings_out, "w", encoding="utf-8") as f:
            json.dump(linker.misc.save_model_to_json(), f, indent=2)
    merged = df[["unique_id", "entity"]].merge(result, on="unique_id", how="left")
    merged["cluster_id"] = merged["cluster_id"].fillna(merged["unique_id"].astype(str))
    print(
        json.dumps(
            {
                "records": len(df),
                "evaluation": evaluate(merged["entity"], merged["cluster_id"].astype(str)),
                "seconds": {
                    "prepare": prepared - started,
                    "train": trained - prepared,
                    "link": linked - trained,
                },
            }
        )
    )


def evaluate(truth, predicted):
    """Pairwise and exact-cluster precision, recall and F1, as shuzhi_match::evaluate."""
    cells = pd.DataFrame({"t": truth.values, "p": predicted.values})
    pairs = lambda n: n * (n - 1) // 2  # noqa: E731
    cell = cells.groupby(["p", "t"]).size()
    t_sizes = cells.groupby("t").size()
    p_sizes = cells.groupby("p").size()

    def scores(tp, predicted_units, actual):
        precision = tp / predicted_units if predicted_units else 1.0
        recall = tp / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}

    exact = sum(
        1
        for (p, t), c in cell.items()
        if p_sizes[p] == c and t_sizes[t] == c
    )
    return {
        "pairwise": scores(
            int(pairs(cell).sum()), int(pairs(p_sizes).sum()), int(pairs(t_sizes).sum())
        ),
        "clusters": scores(exact, len(p_sizes), len(t_sizes)),
    }


if __name__ == "__main__":
    main()
