//! Keyed pseudonyms (假名化): HMAC-SM3 (GB/T 32905 hash, RFC 2104 construction) of a value under
//! a secret key, written as 64 lower-case hex digits. The same value and key always give the
//! same pseudonym, so libraries stay joinable; without the key it cannot be reversed by
//! enumerating the (small) space of ID numbers or phones, which a plain hash can.

use hmac::{KeyInit, Mac};

type HmacSm3 = hmac::Hmac<sm3::Sm3>;

/// A pseudonym key: its declared id and the secret bytes (never printed).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PseudonymKey {
    id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl PseudonymKey {
    /// A key; `None` when the secret is shorter than 16 bytes (too weak to hide an ID number).
    pub fn new(id: impl Into<String>, secret: Vec<u8>) -> Option<Self> {
        (secret.len() >= Self::MIN_LEN).then(|| Self {
            id: id.into(),
            secret,
        })
    }

    /// Shortest accepted secret, in bytes.
    pub const MIN_LEN: usize = 16;

    /// The declared key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Identifies the key without revealing it: the first 16 hex digits of HMAC-SM3 of the
    /// empty string under the key (recorded in manifests, so a library says which key made
    /// its pseudonyms).
    pub fn fingerprint(&self) -> String {
        self.pseudonym("")[..16].to_owned()
    }

    /// The pseudonym of a value.
    pub fn pseudonym(&self, value: &str) -> String {
        // `new_from_slice` accepts keys of any length for HMAC.
        let mut mac = match HmacSm3::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// Lower-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> PseudonymKey {
        PseudonymKey {
            id: "test".into(),
            secret: secret.to_vec(),
        }
    }

    // Reference values from Python's `hmac.new(key, msg, "sm3").hexdigest()` (OpenSSL SM3).
    #[test]
    fn matches_the_openssl_hmac_sm3() {
        assert_eq!(
            key(b"key").pseudonym("110105194912310021"),
            "6af2a2eef72ac880345cfb739d7ef24e42202d684f10a12bf05d308050cd4fb5"
        );
    }

    #[test]
    fn short_secrets_are_refused_and_the_debug_form_hides_the_secret() {
        assert!(PseudonymKey::new("k", b"too short".to_vec()).is_none());
        let k = PseudonymKey::new("k", b"0123456789abcdef-secret".to_vec());
        let shown = format!("{k:?}");
        assert!(!shown.contains("secret\""), "{shown}");
        assert!(!shown.contains("0123456789abcdef-secret"), "{shown}");
        assert_eq!(k.map(|k| k.fingerprint().len()), Some(16));
    }

    #[test]
    fn different_keys_give_different_pseudonyms() {
        assert_ne!(key(b"a").pseudonym("x"), key(b"b").pseudonym("x"));
        assert_eq!(key(b"a").pseudonym("x"), key(b"a").pseudonym("x"));
    }
}
