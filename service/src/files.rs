//! The file store: uploaded rate decks (and later invoices and exports), kept by key.
//! The embedded default is a folder (`DIDTRON_FILES_DIR`, default `./data/files`);
//! the `object_store` crate behind it also speaks S3-compatible stores, which a later
//! configuration can select without changing callers.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::{ServiceError, ServiceResult};

/// A handle to the file store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("file store: {e}"))
}

impl Files {
    /// Files under `dir` (created when missing).
    pub fn local(dir: impl AsRef<std::path::Path>) -> ServiceResult<Files> {
        std::fs::create_dir_all(dir.as_ref()).map_err(internal)?;
        let store = LocalFileSystem::new_with_prefix(dir.as_ref()).map_err(internal)?;
        Ok(Files {
            store: Arc::new(store),
        })
    }

    /// Stores `bytes` under `key` (`a/b/c`), replacing what was there.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> ServiceResult<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// The bytes stored under `key`. Errors: `NotFound("file")`.
    pub async fn get(&self, key: &str) -> ServiceResult<Vec<u8>> {
        match self.store.get(&Path::from(key)).await {
            Ok(result) => Ok(result.bytes().await.map_err(internal)?.to_vec()),
            Err(object_store::Error::NotFound { .. }) => Err(ServiceError::NotFound("file")),
            Err(e) => Err(internal(e)),
        }
    }

    /// Removes `key`; a missing key is not an error.
    pub async fn delete(&self, key: &str) -> ServiceResult<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }
}
