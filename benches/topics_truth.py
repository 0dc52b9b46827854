"""Checks topic outputs against the generator's planted findings (the same judgement as
tests/it/topics.rs): every deceased person with decision, reason and earliest date; exactly the
planted benefit-fraud hits and no decoy; every enrolment decision and reason.

    python3 benches/topics_truth.py TRUTH_DIR NAME DECEASED BENEFIT_FRAUD ENROLMENT_REVIEW

Each table argument is a Parquet file or a folder of them. Prints one line; exits 1 on a
mismatch.
"""

import csv
import sys

import polars as pl


def table(path: str) -> pl.DataFrame:
    return pl.read_parquet(path if path.endswith(".parquet") else f"{path}/**/*.parquet")


def main() -> int:
    truth, name, dead_path, fraud_path, review_path = sys.argv[1:6]
    ids = {r["entity"]: r["id_number"] for r in csv.DictReader(open(f"{truth}/persons.csv", encoding="utf-8"))}
    findings = list(csv.DictReader(open(f"{truth}/findings.csv", encoding="utf-8")))
    problems = []

    dead = table(dead_path)
    got = {r["id_number"]: (r["decision"], r["reason"], str(r["death_date"])) for r in dead.iter_rows(named=True)}
    want = {}
    for f in findings:
        if f["kind"] != "deceased":
            continue
        if f["decoy"] == "true":
            if ids[f["entity"]] in got:
                problems.append(f"deceased decoy hit {f['entity']}")
            continue
        sources = int(f["detail"].split(" ")[0])
        earliest = f["detail"].split("earliest ")[1][:10]
        reason = "dates_disagree" if f["detail"].endswith("disagree") else ("sources_agree" if sources >= 2 else "one_source")
        want[ids[f["entity"]]] = ("confirmed" if sources >= 2 else "single_source", reason, earliest)
    problems += [f"deceased {k}: got {got.get(k)}, planted {v}" for k, v in want.items() if got.get(k) != v]
    problems += [f"deceased {k}: not planted" for k in got.keys() - want.keys()]

    kinds = {"unemployment_while_pension", "unemployment_while_employed", "pension_after_death",
             "unemployment_after_death", "medical_after_death"}
    hits = {(r["id_number"], r["kind"]) for r in table(fraud_path).iter_rows(named=True)}
    planted = {(ids[f["entity"]], f["kind"]) for f in findings if f["kind"] in kinds and f["decoy"] == "false"}
    decoys = {(ids[f["entity"]], f["kind"]) for f in findings if f["kind"] in kinds and f["decoy"] == "true"}
    problems += [f"benefit_fraud missed {h}" for h in planted - hits]
    problems += [f"benefit_fraud decoy hit {h}" for h in hits & decoys]
    problems += [f"benefit_fraud not planted {h}" for h in hits - planted - decoys]

    reviews = {(r["child_id"], r["decision"], r["reason"]) for r in table(review_path).iter_rows(named=True)}
    planted_reviews = {(ids[f["entity"]], f["kind"].removeprefix("enrolment_"), f["detail"])
                       for f in findings if f["kind"].startswith("enrolment_")}
    problems += [f"enrolment missed {r}" for r in planted_reviews - reviews]
    problems += [f"enrolment not planted {r}" for r in reviews - planted_reviews]

    print(f"{name}: deceased {len(got)}/{len(want)}, benefit_fraud {len(hits & planted)}/{len(planted)} "
          f"(decoys hit {len(hits & decoys)}), enrolment {len(reviews & planted_reviews)}/{len(planted_reviews)}; "
          f"{len(problems)} problem(s)")
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
