//! A device's folder on disk: `circle.json` (which circle), `store.db` (the SQLite store) and
//! `keys/` (the device key, readable by the owner only).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use carebank_core::identity::{DeviceKey, FileSecretStore};
use carebank_core::ids::Id;
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
}

impl DeviceDir {
    /// The folder at `dir` (not touched until used).
    pub fn new(dir: &Path) -> DeviceDir {
        DeviceDir {
            dir: dir.to_path_buf(),
        }
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
        key.keep_in(&FileSecretStore::new(self.dir.join("keys"))?, KEY_NAME)?;
        self.open()
    }

    /// Loads the device key, creating it on first use.
    pub fn key(&self) -> Result<DeviceKey> {
        let secrets = FileSecretStore::new(self.dir.join("keys"))?;
        Ok(DeviceKey::load_or_create(&secrets, KEY_NAME)?)
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

    /// Opens the store with the device key.
    pub fn open(&self) -> Result<CareStore> {
        let circle = self.circle()?;
        let key = self.key()?;
        let mut store = CareStore::open(&self.dir.join("store.db"), circle, key)
            .with_context(|| format!("opening the store in {}", self.dir.display()))?;
        store.set_wall_clock(Box::new(crate::clock::now_ms));
        Ok(store)
    }
}
