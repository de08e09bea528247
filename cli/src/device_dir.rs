//! A device's folder on disk: `circle.json` (which circle), `store.db` (the store, encrypted
//! with SQLCipher) and `keys/` (the device key and the store key, readable by the owner only;
//! see docs/security.md for what that protects and what it does not).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use carebank_core::identity::{DeviceKey, FileSecretStore};
use carebank_core::ids::Id;
use carebank_core::store::{STORE_KEY_NAME, StoreKey};
use carebank_core::{CareStore, Circle};
use serde::{Deserialize, Serialize};

/// The name the device key is kept under.
const KEY_NAME: &str = "device";

/// What `circle.json` holds.
#[derive(Serialize, Deserialize)]
struct CircleFile {
    circle_id: String,
    centre_key: String,
}

/// A device folder.
pub struct DeviceDir {
    dir: PathBuf,
    passphrase: Option<String>,
}

/// Reads a passphrase: the first line of `file`, which must not be empty.
pub fn read_passphrase(file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the passphrase file {}", file.display()))?;
    let line = text.lines().next().unwrap_or_default();
    if line.trim().is_empty() {
        bail!("the passphrase file {} is empty", file.display());
    }
    Ok(line.to_string())
}

impl DeviceDir {
    /// The folder at `dir` (not touched until used), its store encrypted under a random key kept
    /// in `keys/`.
    pub fn new(dir: &Path) -> DeviceDir {
        DeviceDir {
            dir: dir.to_path_buf(),
            passphrase: None,
        }
    }

    /// The same folder, its store encrypted under `passphrase` instead.
    pub fn with_passphrase(self, passphrase: String) -> DeviceDir {
        DeviceDir {
            passphrase: Some(passphrase),
            ..self
        }
    }

    fn secrets(&self) -> Result<FileSecretStore> {
        Ok(FileSecretStore::new(self.dir.join("keys"))?)
    }

    fn circle_path(&self) -> PathBuf {
        self.dir.join("circle.json")
    }

    /// Whether `init` has been run here.
    pub fn is_initialised(&self) -> bool {
        self.circle_path().exists()
    }

    /// Makes a device folder for `circle` that keeps `key` (the demo's devices), and opens it.
    pub fn create_with_key(&self, circle: Circle, key: DeviceKey) -> Result<CareStore> {
        self.write_circle(circle)?;
        key.keep_in(&self.secrets()?, KEY_NAME)?;
        self.open()
    }

    /// Loads the device key, creating it on first use.
    pub fn key(&self) -> Result<DeviceKey> {
        self.named_key(KEY_NAME)
    }

    /// Loads the key kept under `name` in `keys/` (an authority's), creating it on first use.
    pub fn named_key(&self, name: &str) -> Result<DeviceKey> {
        Ok(DeviceKey::load_or_create(&self.secrets()?, name)?)
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Records which circle this folder's store belongs to (once).
    pub fn write_circle(&self, circle: Circle) -> Result<()> {
        if self.is_initialised() {
            bail!("{} already holds a carebank store", self.dir.display());
        }
        std::fs::create_dir_all(&self.dir)?;
        let file = CircleFile {
            circle_id: circle.circle_id.to_string(),
            centre_key: circle.centre_key.to_string(),
        };
        std::fs::write(self.circle_path(), serde_json::to_string_pretty(&file)?)?;
        Ok(())
    }

    /// The circle recorded by `init`.
    pub fn circle(&self) -> Result<Circle> {
        if !self.is_initialised() {
            bail!(
                "no carebank store in {}: run `carebank init --store {}` first",
                self.dir.display(),
                self.dir.display()
            );
        }
        let text = std::fs::read_to_string(self.circle_path())?;
        let file: CircleFile = serde_json::from_str(&text).context("circle.json is damaged")?;
        let circle_id: Id = file.circle_id.parse().context("circle.json: circle_id")?;
        let centre_key = file.centre_key.parse().context("circle.json: centre_key")?;
        Ok(Circle {
            circle_id,
            centre_key,
        })
    }

    /// Opens the store with the device key: encrypted under the passphrase, or else under the
    /// key file (made on first use). A plain store from an earlier version is encrypted now.
    pub fn open(&self) -> Result<CareStore> {
        let circle = self.circle()?;
        let key = self.key()?;
        let path = self.dir.join("store.db");
        let opened = match &self.passphrase {
            Some(phrase) => Ok(StoreKey::Passphrase(phrase.clone())),
            None => StoreKey::from_key_store(&self.secrets()?, STORE_KEY_NAME, &path),
        }
        .and_then(|store_key| CareStore::open(&path, &store_key, circle, key));
        let hint = match self.passphrase {
            Some(_) => "",
            None => " (a store made with --passphrase-file needs it on every command)",
        };
        let mut store =
            opened.with_context(|| format!("opening the store in {}{hint}", self.dir.display()))?;
        store.set_wall_clock(Box::new(crate::clock::now_ms));
        Ok(store)
    }
}
