//! The words of the rule language: clean steps and check rules, for the loader's hints and the
//! JSON Schema.

use shuzhi_functions::chain::TextStep;

/// Names of the clean steps written as plain strings: the argument-free kernels, then
/// `null_tokens` (the pipeline's tokens) and `parse_date` (ends a field's chain).
pub fn clean_steps() -> Vec<String> {
    let mut names = TextStep::plain_names();
    names.extend(["null_tokens".to_owned(), "parse_date".to_owned()]);
    names
}

/// Keys of the clean steps written as tables.
pub const CLEAN_STEP_TABLES: &[&str] = &[
    "map",
    "default",
    "derive",
    "mask",
    "pad",
    "replace",
    "amount",
    "address",
    "coords",
    "pseudonym",
];

/// Built-in check rules.
pub const CHECK_RULES: &[&str] = &[
    "required",
    "gb11643",
    "gb11643_region",
    "phone",
    "uscc",
    "org_code",
    "elicence_id",
    "postal_code",
    "email",
    "person_id",
    "unique",
];
