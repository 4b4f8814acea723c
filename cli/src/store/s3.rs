//! The store on S3, or any S3-compatible server: `s3://bucket/prefix`, keys under the
//! prefix.
//!
//! The endpoint, region and credentials come from the usual `AWS_*` variables
//! (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, ...).
//! Plain http is allowed only for an endpoint on loopback (or with `AWS_ALLOW_HTTP=true`).
//! The conditional write of a manifest uses the standard precondition headers: `If-Match`
//! with the ETag that was pulled, or `If-None-Match: *` for a first push.

use super::{Store, StoreError, Tag};
use crate::failure::Failure;
use futures::stream::{self, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How many requests run at once when uploading or downloading a generation.
const CONCURRENT_REQUESTS: usize = 16;

/// A store in an S3 bucket, under a prefix.
pub struct S3Store {
    url: String,
    prefix: String,
    client: AmazonS3,
    runtime: Runtime,
}

impl S3Store {
    /// Opens `s3://bucket/prefix` with the endpoint and credentials of the environment.
    pub fn open(url: &str) -> Result<S3Store, Failure> {
        let rest = url.trim_start_matches("s3://");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Failure::Core(grove_core::Error::new(
                grove_core::Cause::setting("grove.yml", "ENV_STORE"),
                format!("grove.yml: ENV_STORE \"{url}\" names no bucket (s3://bucket/prefix)"),
            )));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            });
        if endpoint_is_loopback_http() {
            builder = builder.with_allow_http(true);
        }
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        let client = builder
            .build()
            .map_err(|e| Failure::External(format!("cannot set up the S3 store {url}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::External(format!("cannot start the S3 client: {e}")))?;
        Ok(S3Store {
            url: url.trim_end_matches('/').to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            client,
            runtime,
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Whether `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) is plain http to this machine.
fn endpoint_is_loopback_http() -> bool {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .unwrap_or_default();
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

fn failed(error: object_store::Error) -> StoreError {
    StoreError::Failed(error.to_string())
}

impl Store for S3Store {
    fn describe(&self) -> String {
        format!("the store {}", self.url)
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Tag)>, StoreError> {
        let path = self.path(key);
        self.block_on(async {
            let result = match self.client.get(&path).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(failed(e)),
            };
            let tag = Tag(result.meta.e_tag.clone().unwrap_or_default());
            let bytes = result.bytes().await.map_err(failed)?;
            Ok(Some((bytes.to_vec(), tag)))
        })
    }

    fn get_many(&self, keys: Vec<String>) -> Result<Vec<Vec<u8>>, StoreError> {
        let paths: Vec<ObjectPath> = keys.iter().map(|k| self.path(k)).collect();
        self.block_on(
            stream::iter(paths)
                .map(|path| async move {
                    let result = self.client.get(&path).await.map_err(failed)?;
                    Ok::<_, StoreError>(result.bytes().await.map_err(failed)?.to_vec())
                })
                .buffered(CONCURRENT_REQUESTS)
                .try_collect(),
        )
    }

    fn put_many(&self, objects: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        self.block_on(
            stream::iter(objects)
                .map(|(key, bytes)| async move {
                    self.client
                        .put(&self.path(&key), PutPayload::from(bytes))
                        .await
                        .map(|_| ())
                        .map_err(failed)
                })
                .buffer_unordered(CONCURRENT_REQUESTS)
                .try_collect::<Vec<()>>(),
        )
        .map(|_| ())
    }

    fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&Tag>) -> Result<(), StoreError> {
        let mode = match expected {
            None => PutMode::Create,
            Some(tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(tag.0.clone()),
                version: None,
            }),
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let path = self.path(key);
        match self.block_on(
            self.client
                .put_opts(&path, PutPayload::from(bytes), options),
        ) {
            Ok(_) => Ok(()),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(StoreError::Conflict),
            Err(e) => Err(failed(e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let path = self.path(prefix.trim_end_matches('/'));
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let metas: Vec<object_store::ObjectMeta> = self
            .block_on(self.client.list(Some(&path)).try_collect())
            .map_err(failed)?;
        Ok(metas
            .into_iter()
            .map(|meta| meta.location.as_ref()[strip..].to_string())
            .collect())
    }

    fn delete_many(&self, keys: Vec<String>) -> Result<(), StoreError> {
        self.block_on(
            stream::iter(keys)
                .map(|key| async move {
                    match self.client.delete(&self.path(&key)).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                        Err(e) => Err(failed(e)),
                    }
                })
                .buffer_unordered(CONCURRENT_REQUESTS)
                .try_collect::<Vec<()>>(),
        )
        .map(|_| ())
    }
}
