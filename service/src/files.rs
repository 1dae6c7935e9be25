//! The file store: uploaded rate decks (and later invoices and exports), kept by key.
//! The embedded default is a folder (`DIDTRON_FILES_DIR`, default `./data/files`);
//! the `object_store` crate behind it also speaks S3-compatible stores, which a later
//! configuration can select without changing callers.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::{ServiceError, ServiceResult};

/// What is wrong with an upload of `len` bytes when at most `max` are accepted: empty
/// (then "choose `what`") or too big, in words for the form's `file` field.
pub fn upload_size_problem(len: usize, max: usize, what: &str) -> Option<String> {
    if len == 0 {
        Some(format!("The file is empty. Choose {what}."))
    } else if len > max {
        Some(format!(
            "The file is {} MB; the largest accepted is {} MB.",
            len / (1024 * 1024),
            max / (1024 * 1024)
        ))
    } else {
        None
    }
}

/// A file name made safe for a store key: ASCII letters, digits, `.`, `-` and `_` kept,
/// anything else `_`, at most its last 100 characters.
pub fn key_name(file_name: &str) -> String {
    let name: Vec<char> = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name[name.len().saturating_sub(100)..].iter().collect()
}

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
