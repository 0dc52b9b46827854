//! Golden records: the stable id of an entity, and the form in which two departments' values
//! of a `compare = "normalised"` field are compared.

use sm3::{Digest, Sm3};

use crate::pseudonym::hex;
use crate::simplified::to_simplified;
use crate::text::normalize_text;

/// The entity id of `key` in `library`: `E` and 20 hex digits of SM3(library, key). The same key
/// always has the same id, in every run and delivery. It is not a pseudonym: anyone who knows a
/// key can compute its id (use `pseudonym` steps for data that leaves the bureau).
pub fn entity_id(library: &str, key: &str) -> String {
    let mut h = Sm3::new();
    h.update(library.as_bytes());
    h.update([0x1f]);
    h.update(key.as_bytes());
    let digest = hex(&h.finalize());
    format!("E{}", &digest[..20])
}

/// `value` with widths folded, traditional characters simplified and every space removed:
/// `張 三` and `张三` are the same name.
pub fn comparison_form(value: &str) -> String {
    let text = normalize_text(value);
    to_simplified(&text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_keep_libraries_apart() {
        let a = entity_id("population", "11010519491231002X");
        assert_eq!(a, entity_id("population", "11010519491231002X"));
        assert_eq!(a.len(), 21);
        assert!(a.starts_with('E'));
        assert_ne!(a, entity_id("household", "11010519491231002X"));
        assert_ne!(a, entity_id("population", "110105194912310038"));
    }

    #[test]
    fn comparison_folds_width_script_and_spaces() {
        assert_eq!(comparison_form("張 三"), comparison_form("张三"));
        assert_eq!(
            comparison_form("ＡＢＣ（杭州）有限公司"),
            comparison_form("ABC(杭州)有限公司")
        );
        assert_ne!(comparison_form("张三"), comparison_form("张山"));
    }
}
