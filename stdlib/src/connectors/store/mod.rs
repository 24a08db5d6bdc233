//! Object stores behind the `files` sink and the `object` source: `s3://`, `gs://` and `az://` URLs
//! opened with credentials and endpoints from the node's options or the usual environment, and a
//! bridge that lets the sink's synchronous writer wait for the store's requests.

pub(crate) mod upload;

use flowc_runtime::exec::{blocking, NodeSpec, RunError};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// An object-store location: `s3://bucket/some/prefix/` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreUrl {
    pub(crate) scheme: Scheme,
    pub(crate) bucket: String,
    /// The rest of the URL, without its leading `/` (may be empty, may contain path escapes).
    pub(crate) key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    S3,
    Gcs,
    Azure,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
        }
    }
}

impl StoreUrl {
    /// `Ok(None)` for a local path; an error for a URL of a scheme no store answers to.
    pub(crate) fn parse(text: &str) -> Result<Option<StoreUrl>, RunError> {
        let Some((scheme, rest)) = text.split_once("://") else { return Ok(None) };
        let scheme = match scheme {
            "s3" | "s3a" => Scheme::S3,
            "gs" | "gcs" => Scheme::Gcs,
            "az" | "azure" | "abfs" => Scheme::Azure,
            other => {
                return Err(RunError::config(format!(
                    "`{other}://` is not an object store flowc knows (s3://, gs://, az://, or a local path)"
                )))
            }
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains('%') || bucket.contains('$') {
            return Err(RunError::config(format!(
                "`{text}`: the bucket name must be written out (no escapes) right after `{}://`",
                scheme.as_str()
            )));
        }
        Ok(Some(StoreUrl { scheme, bucket: bucket.to_string(), key: key.to_string() }))
    }

    /// `s3://bucket`, as messages name the store.
    pub(crate) fn root(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.bucket)
    }
}

/// An opened object store with its multipart interface, and the runtime its requests run on.
#[derive(Clone)]
pub(crate) struct Store {
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) multipart: Arc<dyn MultipartStore>,
    /// `s3://bucket`, for messages.
    pub(crate) root: String,
    bridge: Arc<Bridge>,
}

/// A small runtime of the store's own: its HTTP connections live there, so the synchronous writer
/// can wait for a request from inside or outside the executor's runtime alike.
struct Bridge(Option<tokio::runtime::Runtime>);

impl Drop for Bridge {
    fn drop(&mut self) {
        // Dropping a runtime blocks; the sink may be dropped inside the executor's runtime.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// How long one request may take, and how often the client itself retries one before the error goes
/// up (the executor then retries the write with its own backoff).
const REQUEST_TIMEOUT: &str = "60s";
const CONNECT_TIMEOUT: &str = "5s";
const CLIENT_RETRIES: usize = 2;

impl Store {
    /// Opens the store of `url` with the connection options of `spec` (`endpoint`, `region`,
    /// `access_key_id`, `secret_access_key`, `allow_http`), the environment filling what is unset.
    pub(crate) fn open(spec: &NodeSpec<'_>, url: &StoreUrl) -> Result<Store, RunError> {
        let o = &spec.options;
        let written = |name: &str| spec.options.values.contains_key(name);
        let allow_http = if written("allow_http") {
            o.bool_or_default("allow_http")?
        } else {
            std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
        };
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: CLIENT_RETRIES,
            retry_timeout: Duration::from_secs(30),
        };
        let bad = |e: object_store::Error| RunError::config(format!("{}: {e}", url.root()));
        let (objects, multipart): (Arc<dyn ObjectStore>, Arc<dyn MultipartStore>) = match url.scheme {
            Scheme::S3 => {
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(&url.bucket)
                    .with_retry(retry)
                    .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), REQUEST_TIMEOUT)
                    .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), CONNECT_TIMEOUT)
                    .with_allow_http(allow_http);
                if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                    b = b.with_region("us-east-1");
                }
                if let Some(v) = o.string("endpoint")? {
                    b = b.with_endpoint(v);
                }
                if let Some(v) = o.string("region")? {
                    b = b.with_region(v);
                }
                if let Some(v) = o.string("access_key_id")? {
                    b = b.with_access_key_id(v);
                }
                if let Some(v) = o.string("secret_access_key")? {
                    b = b.with_secret_access_key(v);
                }
                let s3 = Arc::new(b.build().map_err(bad)?);
                (s3.clone(), s3)
            }
            Scheme::Gcs => {
                for name in ["access_key_id", "secret_access_key", "region"] {
                    if written(name) {
                        return Err(RunError::config(format!(
                            "`{name}` is for S3; Google Cloud Storage takes its credentials from GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT"
                        )));
                    }
                }
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(&url.bucket)
                    .with_retry(retry);
                if allow_http {
                    b = b.with_client_options(object_store::ClientOptions::new().with_allow_http(true));
                }
                let gcs = Arc::new(b.build().map_err(bad)?);
                (gcs.clone(), gcs)
            }
            Scheme::Azure => {
                for name in ["access_key_id", "secret_access_key", "region"] {
                    if written(name) {
                        return Err(RunError::config(format!(
                            "`{name}` is for S3; Azure takes its credentials from AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_CLIENT_ID, …)"
                        )));
                    }
                }
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(&url.bucket)
                    .with_retry(retry)
                    .with_allow_http(allow_http);
                if let Some(v) = o.string("endpoint")? {
                    b = b.with_endpoint(v);
                }
                let azure = Arc::new(b.build().map_err(bad)?);
                (azure.clone(), azure)
            }
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flowc-store")
            .enable_all()
            .build()
            .map_err(|e| RunError::io(format!("cannot start the object-store client: {e}")))?;
        Ok(Store { objects, multipart, root: url.root(), bridge: Arc::new(Bridge(Some(rt))) })
    }

    /// Runs a request of this store to its end, from synchronous code (inside the executor's runtime,
    /// the worker hands its other tasks on while it waits).
    pub(crate) fn wait<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let rt = self.bridge.0.as_ref().expect("the runtime lives as long as the store");
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        blocking(|| rx.recv()).expect("a store request panicked")
    }

    /// A message for a failed request: the store, what was tried, and why, in a few words first.
    /// Refused credentials are [`RunError::denied`]: trying again with the same ones cannot work.
    pub(crate) fn error(&self, what: &str, key: &ObjectPath, err: &object_store::Error) -> RunError {
        let message = format!("{}/{key}: {what}: {}", self.root, describe(err));
        match access_denied(err) {
            true => RunError::denied(message),
            false => RunError::io(message),
        }
    }
}

/// The cause of a store error in words a user can act on, then the client's own text.
pub(crate) fn describe(err: &object_store::Error) -> String {
    let text = err.to_string();
    let lower = text.to_ascii_lowercase();
    let cause = if matches!(err, object_store::Error::NotFound { .. }) || lower.contains("nosuchbucket") {
        "not found (does the bucket exist?)"
    } else if access_denied(err) {
        "access denied (check the credentials: access_key_id / secret_access_key or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    } else if lower.contains("connect") || lower.contains("error sending request") || lower.contains("timed out") {
        "the endpoint does not answer (check `endpoint` / AWS_ENDPOINT_URL)"
    } else {
        "request failed"
    };
    format!("{cause}: {text}")
}

/// Whether the store refused the credentials (or their rights).
fn access_denied(err: &object_store::Error) -> bool {
    let lower = err.to_string().to_ascii_lowercase();
    lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("accessdenied")
        || lower.contains("403 forbidden")
        || matches!(err, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_bucket_and_key() {
        let url = StoreUrl::parse("s3://logs/access/%Y/%m/").unwrap().unwrap();
        assert_eq!((url.scheme, url.bucket.as_str(), url.key.as_str()), (Scheme::S3, "logs", "access/%Y/%m/"));
        assert_eq!(url.root(), "s3://logs");
        assert_eq!(StoreUrl::parse("gs://b").unwrap().unwrap().key, "");
        assert_eq!(StoreUrl::parse("az://c/x").unwrap().unwrap().scheme, Scheme::Azure);
        assert_eq!(StoreUrl::parse("out/%Y/").unwrap(), None);
        assert!(StoreUrl::parse("ftp://host/x").is_err());
        assert!(StoreUrl::parse("s3://%{bucket}/x").is_err());
        assert!(StoreUrl::parse("s3:///x").is_err());
    }
}
