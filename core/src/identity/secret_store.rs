//! Where device secrets live. Phones implement [`SecretStore`] over Android Keystore or the iOS
//! Keychain; the command line and tests use [`FileSecretStore`] or [`MemorySecretStore`].

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Why a secret could not be loaded or kept.
#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    /// The platform's key storage failed.
    #[error("secret storage failed: {0}")]
    Backend(String),
    /// A stored secret is not what it should be.
    #[error("stored secret is corrupt: {0}")]
    Corrupt(String),
    /// A file-backed store could not read or write.
    #[error("secret file: {0}")]
    Io(#[from] std::io::Error),
}

/// Keeps small secrets (device keys) by name.
pub trait SecretStore: Send + Sync {
    /// The secret kept under `name`, if any.
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, SecretStoreError>;
    /// Keeps `secret` under `name`, durably, replacing any earlier one.
    fn save(&self, name: &str, secret: &[u8]) -> Result<(), SecretStoreError>;
}

/// The 32-byte secret kept under `name`, or 32 fresh random bytes kept there on first use.
pub fn load_or_create_secret(
    store: &dyn SecretStore,
    name: &str,
) -> Result<[u8; 32], SecretStoreError> {
    match store.load(name)? {
        Some(secret) => secret.as_slice().try_into().map_err(|_| {
            SecretStoreError::Corrupt(format!(
                "secret {name:?} is {} bytes, expected 32",
                secret.len()
            ))
        }),
        None => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| SecretStoreError::Backend(format!("no randomness: {e}")))?;
            store.save(name, &secret)?;
            Ok(secret)
        }
    }
}

/// Secrets in memory only (tests).
#[derive(Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<String, Vec<u8>>>,
}

impl SecretStore for MemorySecretStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, SecretStoreError> {
        let map = self
            .secrets
            .lock()
            .map_err(|_| SecretStoreError::Backend("poisoned".into()))?;
        Ok(map.get(name).cloned())
    }

    fn save(&self, name: &str, secret: &[u8]) -> Result<(), SecretStoreError> {
        let mut map = self
            .secrets
            .lock()
            .map_err(|_| SecretStoreError::Backend("poisoned".into()))?;
        map.insert(name.to_string(), secret.to_vec());
        Ok(())
    }
}

/// Secrets as files in a folder, readable by the owner only (the command line and tests).
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    /// A store keeping its files in `dir` (created if missing, and made the owner's only).
    pub fn new(dir: impl Into<PathBuf>) -> Result<FileSecretStore, SecretStoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(FileSecretStore { dir })
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretStoreError> {
        let safe = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !safe {
            return Err(SecretStoreError::Backend(format!(
                "bad secret name {name:?}"
            )));
        }
        Ok(self.dir.join(format!("{name}.key")))
    }
}

impl SecretStore for FileSecretStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, SecretStoreError> {
        match std::fs::read(self.path(name)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, name: &str, secret: &[u8]) -> Result<(), SecretStoreError> {
        let path = self.path(name)?;
        let tmp = path.with_extension("key.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(secret)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_keeps_secrets_across_instances() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = FileSecretStore::new(dir.path()).expect("store");
        assert_eq!(a.load("device").expect("load"), None);
        a.save("device", &[9; 32]).expect("save");
        let b = FileSecretStore::new(dir.path()).expect("store");
        assert_eq!(b.load("device").expect("load"), Some(vec![9; 32]));
        assert!(b.save("../escape", &[1]).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join("device.key")).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            let folder = std::fs::metadata(dir.path()).expect("meta");
            assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        }
    }
}
