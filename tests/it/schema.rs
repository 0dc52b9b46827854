//! `shuzhi schema`: the JSON Schemas of rule and pipeline files are generated from the parser's
//! types, committed under `schemas/`, and accept every standard file while rejecting broken
//! ones, so editors validate what shuzhi accepts.

use serde_json::Value;

use crate::common::{repo, shuzhi};

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(name)).expect("committed");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn toml_as_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("TOML");
    serde_json::to_value(value).expect("as JSON")
}

#[test]
fn committed_schemas_are_current() {
    for (of, file) in [
        ("rules", "rules.schema.json"),
        ("pipeline", "pipeline.schema.json"),
        ("topic", "topic.schema.json"),
    ] {
        let (code, stdout, stderr) = shuzhi(&["schema", of], &repo());
        assert_eq!(code, 0, "{stderr}");
        let path = repo().join("schemas").join(file);
        if std::env::var_os("SHUZHI_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &stdout).expect("write schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == stdout,
            "schemas/{file} is stale: run `SHUZHI_UPDATE_DOCS=1 cargo test --test it schema` and commit it"
        );
    }
}

#[test]
fn standard_files_validate_and_broken_ones_do_not() {
    let rules = validator("rules.schema.json");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("rules")).expect("rules") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let doc = toml_as_json(&std::fs::read_to_string(&path).expect("read"));
            let errors: Vec<String> = rules.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked}");
    let topic = validator("topic.schema.json");
    for entry in std::fs::read_dir(repo().join("rules/topics")).expect("topics") {
        let path = entry.expect("entry").path();
        let doc = toml_as_json(&std::fs::read_to_string(&path).expect("read"));
        let errors: Vec<String> = topic.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    assert!(!topic.is_valid(&toml_as_json("[topic]\nname = \"x\"\nreads = []\n")));
    let pipeline = validator("pipeline.schema.json");
    let doc = toml_as_json(&std::fs::read_to_string(repo().join("pipeline.toml")).expect("read"));
    assert!(pipeline.is_valid(&doc));

    let broken = [
        // Unknown severity, unknown step, unknown check key, pad without its fill.
        "[library]\nname = \"x\"\nkey = \"a\"\n[[field]]\nname = \"a\"\ncheck = [{ rule = \"required\", severity = \"warning\" }]\n",
        "[library]\nname = \"x\"\nkey = \"a\"\n[[field]]\nname = \"a\"\nclean = [\"normalise_text\"]\n",
        "[library]\nname = \"x\"\nkey = \"a\"\n[[field]]\nname = \"a\"\ncheck = [{ rule = \"required\", severity = \"warn\", level = 1 }]\n",
        "[library]\nname = \"x\"\nkey = \"a\"\n[[field]]\nname = \"a\"\nclean = [{ pad = [6] }]\n",
        "[library]\nname = \"x\"\n",
    ];
    for text in broken {
        assert!(!rules.is_valid(&toml_as_json(text)), "accepted:\n{text}");
    }
    let fine = "[library]\nname = \"x\"\nkey = \"a\"\n[[field]]\nname = \"a\"\nclean = [\"trim\", { pad = [6, \"0\"] }, { replace = [\"a\", \"b\"] }]\ncheck = [{ rule = \"required\", severity = \"warn\", when = \"a > 1\", dimension = \"element_completeness\" }]\n";
    let errors: Vec<String> = rules
        .iter_errors(&toml_as_json(fine))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
