//! Pseudonym keys. A rule names a key (`{ pseudonym = "person" }`); its secret comes from the
//! environment — `SHUZHI_KEY_PERSON` (the secret itself) or `SHUZHI_KEY_PERSON_FILE` (a file
//! holding it) — never from a rule or pipeline file, so it cannot be committed with them.

use std::collections::BTreeMap;
use std::sync::Arc;

use shuzhi_functions::pseudonym::PseudonymKey;

/// What happens when a key is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// A run: a missing key is an error.
    Required,
    /// `shuzhi test` / `explain`: a fixed, public test key per key id, whatever the
    /// environment holds, so rule tests give the same pseudonyms everywhere.
    PublicTestKey,
}

/// The keys a rule set uses, resolved once per key id.
#[derive(Debug)]
pub(crate) struct KeyRing {
    policy: KeyPolicy,
    keys: BTreeMap<String, Arc<PseudonymKey>>,
}

/// Environment variable holding key `id`'s secret: `SHUZHI_KEY_` and the id in upper case.
pub fn key_variable(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SHUZHI_KEY_{id}")
}

impl KeyRing {
    pub(crate) fn new(policy: KeyPolicy) -> Self {
        Self {
            policy,
            keys: BTreeMap::new(),
        }
    }

    /// The key `id`, or the reason it is unusable and what to do.
    pub(crate) fn resolve(&mut self, id: &str) -> Result<Arc<PseudonymKey>, (String, String)> {
        if let Some(k) = self.keys.get(id) {
            return Ok(k.clone());
        }
        let var = key_variable(id);
        let file_var = format!("{var}_FILE");
        let secret = if self.policy == KeyPolicy::PublicTestKey {
            format!("shuzhi public test key for {id}").into_bytes()
        } else if let Ok(secret) = std::env::var(&var) {
            secret.into_bytes()
        } else if let Ok(path) = std::env::var(&file_var) {
            let mut bytes = std::fs::read(&path).map_err(|e| {
                (
                    format!("key `{id}`: cannot read {file_var}={path}: {e}"),
                    "point it at a readable file holding the secret".to_owned(),
                )
            })?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            bytes
        } else {
            return Err((
                format!("pseudonym key `{id}` is not set"),
                format!(
                    "export {var}=<secret of at least {} bytes>, or {file_var}=<file holding it>; keys never live in rule files",
                    PseudonymKey::MIN_LEN
                ),
            ));
        };
        let key = PseudonymKey::new(id, secret).ok_or_else(|| {
            (
                format!(
                    "pseudonym key `{id}` is shorter than {} bytes",
                    PseudonymKey::MIN_LEN
                ),
                "use a longer random secret, e.g. `openssl rand -hex 32`".to_owned(),
            )
        })?;
        let key = Arc::new(key);
        self.keys.insert(id.to_owned(), key.clone());
        Ok(key)
    }

    /// Key id → fingerprint, for manifests.
    pub(crate) fn fingerprints(&self) -> BTreeMap<String, String> {
        self.keys
            .iter()
            .map(|(id, k)| (id.clone(), k.fingerprint()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_after_the_key() {
        assert_eq!(key_variable("person"), "SHUZHI_KEY_PERSON");
        assert_eq!(key_variable("credit-2026"), "SHUZHI_KEY_CREDIT_2026");
    }

    #[test]
    fn a_missing_key_is_an_error_for_runs_and_a_test_key_for_tests() {
        let id = "never_set_in_any_environment";
        let err = KeyRing::new(KeyPolicy::Required).resolve(id);
        assert!(
            matches!(&err, Err((msg, help)) if msg.contains("not set") && help.contains("SHUZHI_KEY_NEVER_SET_IN_ANY_ENVIRONMENT")),
            "{err:?}"
        );
        let mut ring = KeyRing::new(KeyPolicy::PublicTestKey);
        let key = ring.resolve(id).expect("test key");
        assert_eq!(key.id(), id);
        assert_eq!(ring.fingerprints().get(id), Some(&key.fingerprint()));
    }
}
