//! Services the app provides, as foreign traits: secure key storage (Android Keystore, iOS
//! Keychain), progress listeners and cancellation for long operations. Every method returns a
//! `Result`, so an exception thrown by app code comes back as an error, never as a panic.

use std::sync::Arc;

use carebank_core::identity::{SecretStore, SecretStoreError};
use carebank_core::sync::{SyncError, Transport};

use crate::error::CareError;

/// An error raised by app code behind one of the foreign traits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PlatformError {
    /// The platform service failed (Keystore locked, Keychain unavailable, …).
    #[error("{reason}")]
    Failed {
        /// What failed.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PlatformError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PlatformError::Failed {
            reason: format!("the app's callback threw: {}", e.reason),
        }
    }
}

/// Keeps the device's signing key. Implement over Android Keystore or the iOS Keychain; the
/// secret is 32 bytes and must survive app restarts (not backups to other phones).
#[uniffi::export(with_foreign)]
pub trait SecureKeyStore: Send + Sync {
    /// The secret kept under `name`, or none if there is none yet.
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, PlatformError>;
    /// Keeps `secret` under `name`, durably, replacing any earlier one.
    fn save(&self, name: String, secret: Vec<u8>) -> Result<(), PlatformError>;
}

/// The app's key store seen as the core's [`SecretStore`].
pub(crate) struct KeyStoreAdapter(pub Arc<dyn SecureKeyStore>);

impl SecretStore for KeyStoreAdapter {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, SecretStoreError> {
        self.0.load(name.to_string()).map_err(backend)
    }

    fn save(&self, name: &str, secret: &[u8]) -> Result<(), SecretStoreError> {
        self.0
            .save(name.to_string(), secret.to_vec())
            .map_err(backend)
    }
}

fn backend(e: PlatformError) -> SecretStoreError {
    SecretStoreError::Backend(e.to_string())
}

/// How far a long operation has come.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProgressUpdate {
    /// What is being done: `read` (collecting the other side's documents) or `merge`.
    pub stage: String,
    /// Steps done so far.
    pub done: u64,
    /// Steps in all (known before the first report).
    pub total: u64,
}

/// Hears how far a long operation (merge, sync, import) has come. Called on the thread that
/// called carebank, between steps, never while the store is locked, so it may read the store.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// One step is done.
    fn on_progress(&self, progress: ProgressUpdate) -> Result<(), PlatformError>;
}

/// Asked between the steps of a long operation whether the user gave up. Work done before
/// cancellation is kept (merging is idempotent, so a later call picks up the rest).
#[uniffi::export(with_foreign)]
pub trait CancellationToken: Send + Sync {
    /// Whether to stop.
    fn is_cancelled(&self) -> Result<bool, PlatformError>;
}

/// The app's bytes link to another phone: Nearby Connections, Bluetooth, Wi-Fi Direct or a
/// LAN socket (on Android the platform encrypts the first three).
#[uniffi::export(with_foreign)]
pub trait PhoneChannel: Send + Sync {
    /// Sends one frame to the other phone, whose app hands it to `CareStore.answerSync`, and
    /// returns that phone's answer. A lost link is an error; the next sync resumes.
    fn exchange(&self, frame: Vec<u8>) -> Result<Vec<u8>, PlatformError>;
}

/// The app's channel seen as the core's [`Transport`].
pub(crate) struct ChannelTransport(pub Arc<dyn PhoneChannel>);

impl Transport for ChannelTransport {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.0
            .exchange(frame.to_vec())
            .map_err(|e| SyncError::Transport(format!("the phone link: {e}")))
    }
}

/// The progress listener and cancellation token of one long operation, both optional.
pub(crate) struct Task {
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: Option<Arc<dyn CancellationToken>>,
}

impl Task {
    /// A task reporting to `listener` and stopping when `cancel` says so.
    pub(crate) fn new(
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<dyn CancellationToken>>,
    ) -> Task {
        Task { listener, cancel }
    }

    /// Fails with [`CareError::Cancelled`] if the app cancelled.
    pub(crate) fn check(&self) -> Result<(), CareError> {
        match &self.cancel {
            Some(c) if c.is_cancelled().map_err(callback)? => Err(CareError::Cancelled),
            _ => Ok(()),
        }
    }

    /// Reports progress, then checks for cancellation.
    pub(crate) fn step(&self, stage: &str, done: usize, total: usize) -> Result<(), CareError> {
        if let Some(l) = &self.listener {
            l.on_progress(ProgressUpdate {
                stage: stage.to_string(),
                done: done as u64,
                total: total as u64,
            })
            .map_err(callback)?;
        }
        self.check()
    }
}

fn callback(e: PlatformError) -> CareError {
    CareError::Internal {
        reason: format!("progress or cancellation callback failed: {e}"),
    }
}
