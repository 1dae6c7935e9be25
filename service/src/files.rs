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
    /// Where the files are, for people (`folder ./data/files`).
    location: Arc<str>,
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
            location: Arc::from(format!("folder {}", dir.as_ref().display()).as_str()),
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

    /// Where the files are, in words (never credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Writes, reads back and removes a small object (the health check).
    ///
    /// Errors: the store's, or `Internal` when what came back differs.
    pub async fn probe(&self) -> ServiceResult<()> {
        let key = format!("status/probe-{}", uuid::Uuid::now_v7().simple());
        let bytes = b"didtron status probe".to_vec();
        self.put(&key, bytes.clone()).await?;
        let back = self.get(&key).await;
        self.delete(&key).await?;
        if back? != bytes {
            return Err(internal("the probe object came back different"));
        }
        Ok(())
    }

    /// Objects and bytes stored, counting at most `cap` objects; `true` when it stopped
    /// at the cap.
    ///
    /// Errors: the store's.
    pub async fn usage(&self, cap: usize) -> ServiceResult<(i64, i64, bool)> {
        use futures::StreamExt;
        let mut list = self.store.list(None);
        let (mut objects, mut bytes) = (0i64, 0i64);
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(internal)?;
            objects += 1;
            bytes += meta.size as i64;
            if objects as usize >= cap {
                return Ok((objects, bytes, true));
            }
        }
        Ok((objects, bytes, false))
    }
}
