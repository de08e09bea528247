//! An elder's personal fields, sealed a second time under that elder's own key (decision 0014,
//! `docs/record-format.md` "Personal fields"), so that erasing the elder (PIPL Art. 47) is
//! destroying one key: the record keeps verifying and its facts (kind, time, duration, funding,
//! provider) keep counting, while the name, notes and observations can never be read again.
//!
//! Inside a sealed body, the personal fields of a record about an elder are taken out of the
//! canonical JSON and replaced by one member:
//! ```text
//! "personal": {"elder": hex(elder id), "key": hex(elder key id),
//!              "sealed": base64url(nonce[24] ‖ XChaCha20-Poly1305(elder key, nonce,
//!                                  aad = "carebank/personal/v1" ‖ 0x00 ‖ elder ‖ key id,
//!                                  canonical JSON {"path": value, …}))}
//! ```
//! A path names a field by its members from the body's root, joined with dots
//! (`detail.diet_notes`). Which fields are personal is fixed per record type ([`paths_of`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{Map, Value};

use super::RecordError;
use super::sealed::{EpochKeys, NONCE_LEN};
use crate::ids::Id;

/// Prefixed to the elder and key ids as the personal part's associated data.
pub const PERSONAL_CONTEXT: &[u8] = b"carebank/personal/v1\0";
/// The member of the body that carries the sealed personal fields.
pub const MEMBER: &str = "personal";
/// [`MEMBER`] as it appears in canonical JSON: a body without these bytes has no personal part.
pub const MEMBER_QUOTED: &[u8] = b"\"personal\"";

/// An elder's key: what seals the personal fields of every record about the elder.
#[derive(Clone, PartialEq, Eq)]
pub struct ElderSecret {
    /// The elder.
    pub elder: Id,
    /// The key's id (random; the keyring entry that carries it has the same id).
    pub key_id: Id,
    /// The key.
    pub key: [u8; 32],
}

impl std::fmt::Debug for ElderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ElderSecret({} of {})", self.key_id, self.elder)
    }
}

/// What became of a record's personal fields when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    /// Opened with the elder's key: the body is whole.
    Opened {
        /// The elder.
        elder: Id,
        /// The elder key that sealed them.
        key_id: Id,
    },
    /// The elder was erased: the body lacks its personal fields for good.
    Erased {
        /// The elder.
        elder: Id,
    },
}

/// The personal fields of a body of type `kind`, as paths from the body's root.
pub fn paths_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "elder" => &["name", "birth_year", "consent.given_by"],
        "visit" => &["location", "observations", "risk_flags", "follow_ups"],
        "follow_up_done" => &["note"],
        "service" => &[
            "detail.diet_notes",
            "detail.skin_condition",
            "detail.destination",
            "detail.description",
        ],
        "correction" => &["reason"],
        "consent" => &["by", "reason"],
        _ => &[],
    }
}

/// Every personal path present in `body` (a correction's replacement's too, under
/// `replacement.`).
fn present_paths(body: &Value) -> Vec<String> {
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut paths: Vec<String> = paths_of(kind)
        .iter()
        .filter(|p| lookup(body, p).is_some())
        .map(|p| (*p).to_string())
        .collect();
    if let Some(replacement) = body.get("replacement") {
        paths.extend(
            present_paths(replacement)
                .into_iter()
                .map(|p| format!("replacement.{p}")),
        );
    }
    paths
}

fn lookup<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |v, member| v.get(member))
}

/// The object holding the last member of `path`, and that member's name.
fn parent_mut<'a>(
    body: &'a mut Value,
    path: &'a str,
) -> Option<(&'a mut Map<String, Value>, &'a str)> {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut node = body;
    for member in parents.into_iter().flat_map(|p| p.split('.')) {
        node = node.get_mut(member)?;
    }
    Some((node.as_object_mut()?, last))
}

/// Takes the personal fields out of `body` (a record body's JSON) and puts them back sealed
/// under `secret` as the [`MEMBER`]. A body with no personal field present is left as it is.
pub fn seal(
    body: &mut Value,
    secret: &ElderSecret,
    nonce: [u8; NONCE_LEN],
) -> Result<(), RecordError> {
    let paths = present_paths(body);
    if paths.is_empty() {
        return Ok(());
    }
    let mut fields = Map::new();
    for path in &paths {
        if let Some((parent, last)) = parent_mut(body, path)
            && let Some(value) = parent.remove(last)
        {
            fields.insert(path.clone(), value);
        }
    }
    let plain = crate::canonical::to_canonical(&Value::Object(fields))?;
    let sealed = XChaCha20Poly1305::new((&secret.key).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad(secret.elder, secret.key_id),
            },
        )
        .map_err(|_| RecordError::Seal("the cipher refused the personal fields".into()))?;
    let mut boxed = nonce.to_vec();
    boxed.extend_from_slice(&sealed);
    let object = body
        .as_object_mut()
        .ok_or_else(|| RecordError::Seal("a record body is not an object".into()))?;
    object.insert(
        MEMBER.into(),
        serde_json::json!({
            "elder": secret.elder.to_string(),
            "key": secret.key_id.to_string(),
            "sealed": URL_SAFE_NO_PAD.encode(boxed),
        }),
    );
    Ok(())
}

/// The sealed personal part of a body, as named in its [`MEMBER`].
struct SealedPart {
    elder: Id,
    key_id: Id,
    boxed: Vec<u8>,
}

fn sealed_part(value: &Value) -> Result<SealedPart, RecordError> {
    let bad = |what: &str| RecordError::PersonalMalformed(what.to_string());
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(name))
    };
    if value.as_object().map(Map::len) != Some(3) {
        return Err(bad(
            "the personal member holds other than elder, key and sealed",
        ));
    }
    Ok(SealedPart {
        elder: field("elder")?.parse().map_err(|_| bad("elder"))?,
        key_id: field("key")?.parse().map_err(|_| bad("key"))?,
        boxed: URL_SAFE_NO_PAD
            .decode(field("sealed")?)
            .map_err(|_| bad("sealed"))?,
    })
}

/// Puts a body's personal fields back: opens its [`MEMBER`] with the elder's key, or, for an
/// erased elder, leaves them out for good. A body without the member is returned as it is
/// (`None`). A sealed part whose key is not held (yet) is [`RecordError::PersonalSealed`].
pub fn open(body: &mut Value, keys: &dyn EpochKeys) -> Result<Option<Personal>, RecordError> {
    let Some(member) = body.as_object_mut().and_then(|o| o.remove(MEMBER)) else {
        return Ok(None);
    };
    let part = sealed_part(&member)?;
    let Some(key) = keys.elder_key(part.key_id) else {
        if keys.erased(part.elder) {
            return Ok(Some(Personal::Erased { elder: part.elder }));
        }
        return Err(RecordError::PersonalSealed {
            elder: part.elder,
            key_id: part.key_id,
        });
    };
    if part.boxed.len() < NONCE_LEN + 16 {
        return Err(RecordError::PersonalMalformed("sealed is too short".into()));
    }
    let (nonce, sealed) = part.boxed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| RecordError::PersonalMalformed("nonce".into()))?;
    let plain = XChaCha20Poly1305::new((&key).into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: &aad(part.elder, part.key_id),
            },
        )
        .map_err(|_| RecordError::Unopened(part.key_id))?;
    let fields: Map<String, Value> = crate::canonical::from_canonical(&plain)?;
    for (path, value) in fields {
        let known = may_be_personal(body, &path);
        let Some((parent, last)) = parent_mut(body, &path).filter(|_| known) else {
            return Err(RecordError::PersonalMalformed(format!(
                "{path} is not a personal field of this record"
            )));
        };
        if parent.insert(last.to_string(), value).is_some() {
            return Err(RecordError::PersonalMalformed(format!(
                "{path} is both sealed and in the clear"
            )));
        }
    }
    Ok(Some(Personal::Opened {
        elder: part.elder,
        key_id: part.key_id,
    }))
}

/// Whether `path` may be a personal field of `body` (so that a sealed part cannot put anything
/// else into a record).
fn may_be_personal(body: &Value, path: &str) -> bool {
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if paths_of(kind).contains(&path) {
        return true;
    }
    match (path.strip_prefix("replacement."), body.get("replacement")) {
        (Some(inner), Some(replacement)) => may_be_personal(replacement, inner),
        _ => false,
    }
}

fn aad(elder: Id, key_id: Id) -> Vec<u8> {
    let mut aad = PERSONAL_CONTEXT.to_vec();
    aad.extend_from_slice(elder.as_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[derive(Default)]
    struct Held {
        keys: HashMap<Id, [u8; 32]>,
        erased: HashSet<Id>,
    }

    impl EpochKeys for Held {
        fn epoch_key(&self, _: Id) -> Option<[u8; 32]> {
            None
        }
        fn elder_key(&self, key_id: Id) -> Option<[u8; 32]> {
            self.keys.get(&key_id).copied()
        }
        fn erased(&self, elder: Id) -> bool {
            self.erased.contains(&elder)
        }
    }

    fn secret() -> ElderSecret {
        ElderSecret {
            elder: Id::from_bytes([1; 16]),
            key_id: Id::from_bytes([2; 16]),
            key: [3; 32],
        }
    }

    fn meal() -> Value {
        serde_json::json!({
            "type": "service", "elder_id": Id::from_bytes([1; 16]).to_string(),
            "duration_minutes": 30,
            "detail": {"kind": "meal", "portions": 1, "diet_notes": "少盐"},
        })
    }

    #[test]
    fn personal_fields_leave_the_body_and_come_back_whole() {
        let mut body = meal();
        seal(&mut body, &secret(), [9; NONCE_LEN]).expect("test");
        assert!(lookup(&body, "detail.diet_notes").is_none());
        assert!(!body.to_string().contains("少盐"));
        assert_eq!(lookup(&body, "duration_minutes"), Some(&Value::from(30)));
        let mut held = Held::default();
        held.keys.insert(secret().key_id, secret().key);
        let opened = open(&mut body, &held).expect("test");
        assert_eq!(body, meal());
        assert!(matches!(opened, Some(Personal::Opened { .. })));
    }

    #[test]
    fn without_the_key_a_body_waits_and_after_erasure_it_stays_without_them() {
        let mut body = meal();
        seal(&mut body, &secret(), [9; NONCE_LEN]).expect("test");
        let mut waiting = body.clone();
        assert!(matches!(
            open(&mut waiting, &Held::default()),
            Err(RecordError::PersonalSealed { .. })
        ));
        let mut held = Held::default();
        held.erased.insert(secret().elder);
        assert_eq!(
            open(&mut body, &held).expect("test"),
            Some(Personal::Erased {
                elder: secret().elder
            })
        );
        assert!(lookup(&body, "detail.diet_notes").is_none());
        assert!(lookup(&body, MEMBER).is_none());
    }

    #[test]
    fn a_sealed_part_cannot_set_a_field_that_is_not_personal() {
        let mut body = meal();
        let mut forged = Map::new();
        forged.insert("duration_minutes".into(), Value::from(600));
        let plain = crate::canonical::to_canonical(&Value::Object(forged)).expect("test");
        let s = secret();
        let mut boxed = vec![9; NONCE_LEN];
        boxed.extend(
            XChaCha20Poly1305::new((&s.key).into())
                .encrypt(
                    &XNonce::from([9; NONCE_LEN]),
                    Payload {
                        msg: &plain,
                        aad: &aad(s.elder, s.key_id),
                    },
                )
                .expect("test"),
        );
        body.as_object_mut().expect("test").insert(
            MEMBER.into(),
            serde_json::json!({"elder": s.elder.to_string(), "key": s.key_id.to_string(),
                               "sealed": URL_SAFE_NO_PAD.encode(boxed)}),
        );
        let mut held = Held::default();
        held.keys.insert(s.key_id, s.key);
        assert!(matches!(
            open(&mut body, &held),
            Err(RecordError::PersonalMalformed(_))
        ));
    }

    #[test]
    fn a_correction_seals_its_reason_and_its_replacements_personal_fields() {
        let mut body = serde_json::json!({
            "type": "correction", "action": "amend", "reason": "写错了名字",
            "replacement": {"type": "elder", "name": "王奶奶", "birth_year": 1940,
                            "consent": {"given_by": "王奶奶", "purposes": []}},
        });
        let original = body.clone();
        seal(&mut body, &secret(), [9; NONCE_LEN]).expect("test");
        let text = body.to_string();
        assert!(!text.contains("王奶奶") && !text.contains("写错"));
        assert!(!text.contains("1940"));
        let mut held = Held::default();
        held.keys.insert(secret().key_id, secret().key);
        open(&mut body, &held).expect("test");
        assert_eq!(body, original);
    }
}
