//! Request signatures: how a device proves to the relay which enrolled key sends a request.
//!
//! One header, `authorization: Carebank <key>.<time>.<nonce>.<signature>` (each part base64url
//! without padding, the time in decimal Unix ms). The signature is ed25519 by the device key over
//! `"carebank/request/v1\0" ‖ method ‖ "\n" ‖ path ‖ "\n" ‖ hex(SHA-256(body)) ‖ "\n" ‖ time ‖
//! "\n" ‖ hex(nonce)`. The relay refuses a time too far from its own and a nonce seen before.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::identity::{DeviceKey, PublicKey, SignatureBytes};
use crate::ids::Id;

/// The header that carries the signature.
pub const AUTH_HEADER: &str = "authorization";
/// Prefixed to the signed text, so a request signature means nothing elsewhere.
pub const REQUEST_CONTEXT: &[u8] = b"carebank/request/v1\0";
const SCHEME: &str = "Carebank ";

/// A request's signature and what it covers besides the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// The signing device key.
    pub key: PublicKey,
    /// When the request was made (device wall clock, Unix ms).
    pub time_ms: u64,
    /// 16 random bytes, never used twice.
    pub nonce: [u8; 16],
    /// The signature.
    pub signature: SignatureBytes,
}

fn signed_text(method: &str, path: &str, body: &[u8], time_ms: u64, nonce: &[u8; 16]) -> Vec<u8> {
    let mut text = REQUEST_CONTEXT.to_vec();
    text.extend_from_slice(
        format!(
            "{method}\n{path}\n{}\n{time_ms}\n{}",
            hex::encode(Sha256::digest(body)),
            hex::encode(nonce)
        )
        .as_bytes(),
    );
    text
}

impl RequestAuth {
    /// Signs a request with `key` at `time_ms`, with a fresh random nonce.
    pub fn sign(
        key: &DeviceKey,
        method: &str,
        path: &str,
        body: &[u8],
        time_ms: u64,
    ) -> RequestAuth {
        let nonce = *Id::random().as_bytes();
        let signature = key.sign(&signed_text(method, path, body, time_ms, &nonce));
        RequestAuth {
            key: key.public_key(),
            time_ms,
            nonce,
            signature,
        }
    }

    /// Whether the signature covers this request.
    pub fn verify(&self, method: &str, path: &str, body: &[u8]) -> bool {
        self.key.verify(
            &signed_text(method, path, body, self.time_ms, &self.nonce),
            &self.signature,
        )
    }

    /// The header's value.
    pub fn header_value(&self) -> String {
        format!(
            "{SCHEME}{}.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(self.key.as_bytes()),
            self.time_ms,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// Reads the header's value; the error says what is wrong with it.
    pub fn parse_header(value: &str) -> Result<RequestAuth, String> {
        let rest = value
            .strip_prefix(SCHEME)
            .ok_or("the authorization header must start with \"Carebank \"")?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [key, time, nonce, signature] = parts.as_slice() else {
            return Err("the authorization header must have four parts".into());
        };
        let decode = |part: &str, what: &str, len: usize| -> Result<Vec<u8>, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("{what} is not base64url"))?;
            if bytes.len() != len {
                return Err(format!("{what} must be {len} bytes"));
            }
            Ok(bytes)
        };
        let mut key_bytes = [0u8; 32];
        key_bytes.copy_from_slice(&decode(key, "the key", 32)?);
        let mut nonce_bytes = [0u8; 16];
        nonce_bytes.copy_from_slice(&decode(nonce, "the nonce", 16)?);
        let mut signature_bytes = [0u8; 64];
        signature_bytes.copy_from_slice(&decode(signature, "the signature", 64)?);
        Ok(RequestAuth {
            key: PublicKey::from_bytes(key_bytes),
            time_ms: time.parse().map_err(|_| "the time is not a number")?,
            nonce: nonce_bytes,
            signature: signature_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_method_path_body_time_and_nonce() {
        let key = DeviceKey::from_seed([7; 32]);
        let auth = RequestAuth::sign(&key, "POST", "/v1/x", b"body", 1_000);
        let parsed = RequestAuth::parse_header(&auth.header_value()).expect("parse");
        assert_eq!(parsed, auth);
        assert!(parsed.verify("POST", "/v1/x", b"body"));
        assert!(!parsed.verify("POST", "/v1/x", b"bodY"));
        assert!(!parsed.verify("POST", "/v1/y", b"body"));
        let mut later = parsed.clone();
        later.time_ms += 1;
        assert!(!later.verify("POST", "/v1/x", b"body"));
        assert!(RequestAuth::parse_header("Bearer x").is_err());
        assert!(RequestAuth::parse_header("Carebank a.b.c").is_err());
    }

    /// The vector in `docs/sync-protocol.md` ("Over HTTP"): the RFC 8032 test-1 key signs the
    /// documented `Hello` message to the relay, with the nonce 16 × `0x22`.
    #[test]
    fn the_header_matches_the_documented_vector() {
        let key = DeviceKey::from_seed(
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        );
        let path = "/v1/circles/11111111111111111111111111111111/sync";
        let body = hex::decode(VECTOR_BODY).expect("hex");
        let (time_ms, nonce) = (1_793_577_600_000, [0x22; 16]);
        let text = signed_text("POST", path, &body, time_ms, &nonce);
        let auth = RequestAuth {
            key: key.public_key(),
            time_ms,
            nonce,
            signature: key.sign(&text),
        };
        assert_eq!(text, VECTOR_SIGNED_TEXT.as_bytes());
        assert_eq!(hex::encode(auth.signature), VECTOR_SIGNATURE);
        assert_eq!(
            format!("{AUTH_HEADER}: {}", auth.header_value()),
            VECTOR_HEADER
        );
        let parsed = RequestAuth::parse_header(&auth.header_value()).expect("parse");
        assert_eq!(parsed, auth);
        assert!(parsed.verify("POST", path, &body));
        // The nonce's last character with a non-zero unused bit is not base64url as written.
        let loose = auth
            .header_value()
            .replace(".IiIiIiIiIiIiIiIiIiIiIg.", ".IiIiIiIiIiIiIiIiIiIiIh.");
        assert!(RequestAuth::parse_header(&loose).is_err());
    }

    /// The `Hello` vector of `sync::message` (circle 16 × `0x11`).
    const VECTOR_BODY: &str =
        "434253010128b52ffd0400c5000090011125c933cb8aad28dd8b8339b799793a7701001dc002e2457cd5";
    const VECTOR_SIGNED_TEXT: &str = "carebank/request/v1\0POST\n\
        /v1/circles/11111111111111111111111111111111/sync\n\
        d6a2b413f5b34e033999946551d91819994c795cdcee73785b9d289cb209a2e1\n\
        1793577600000\n\
        22222222222222222222222222222222";
    const VECTOR_SIGNATURE: &str = "aaa3d316f30e2d7509f3a4ba203cb73435401e4c9a91b86be63b988feecb4d4a84414ee472e96d5e1d816fcece5156fd952fd8e47d0c9c2d91f9f23fa425a00e";
    const VECTOR_HEADER: &str = "authorization: Carebank 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo.1793577600000.IiIiIiIiIiIiIiIiIiIiIg.qqPTFvMOLXUJ86S6IDy3NDVAHkyakbhr5juYj-7LTUqEQU7kcultXh2Bb87OUVb9lS_Y5H0MnC2R-fI_pCWgDg";
}
