//! Conformance suite for [`Storage`] adapters, run by the
//! [`storage_conformance!`](crate::storage_conformance) macro on each one:
//!
//! ```ignore
//! mod files { miping::storage_conformance!(|clock| miping::testkit::storage::served_file_storage(clock)); }
//! ```
//!
//! Each case gets a fresh [`StorageUnderTest`]: the store, the [`ManualClock`] it signs with
//! (starting at the real time; presigned URLs are checked by the backend against the real time,
//! so moving this clock back makes a URL that is already expired, with no waiting), and whether
//! the backend checks presigned signatures and expiry (the embedded store does, real S3 does,
//! moto does not; where it does not, the case checks what the URL promises instead).
//! Tenant ids are unique per case, so cases can share one bucket or folder.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;

use super::unique;
use crate::adapters::embedded::file_storage::FileStorage;
use crate::adapters::embedded::media_urls::MediaUrls;
use crate::ports::clock::{Clock, ManualClock};
use crate::ports::storage::{
    Direction, MAX_GET_URL_TTL, MediaKey, MediaPrefix, Metadata, PresignedRequest, Storage, StorageError, sha256_hex,
};

pub struct StorageUnderTest {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<ManualClock>,
    /// The backend refuses expired and tampered presigned requests.
    pub enforces_presigned: bool,
    /// Whatever must live as long as the test (a server, a temporary folder).
    pub guard: Box<dyn std::any::Any + Send + Sync>,
}

/// A manual clock starting at the real time.
pub fn clock_at_now() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

fn key(tenant: &str, direction: Direction, name: &str) -> MediaKey {
    MediaKey::new(tenant, direction, name).expect("test key")
}

fn tenant() -> String {
    unique("ten").replace('-', "_")
}

/// Every byte value, and more than one network read's worth.
fn binary() -> Bytes {
    (0..70_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client")
}

/// Sends a presigned request with its headers, except `content-length`, which reqwest sets from
/// the body (so a test can send a body of another size than the URL was made for).
async fn send(request: &PresignedRequest, body: Option<Vec<u8>>) -> reqwest::Response {
    let mut builder = http().request(request.method.clone(), &request.url);
    for (name, value) in request.headers.iter().filter(|(n, _)| n != "content-length") {
        builder = builder.header(name, value);
    }
    if let Some(body) = body {
        builder = builder.body(body);
    }
    builder.send().await.unwrap_or_else(|e| panic!("{} {}: {e}", request.method, request.url))
}

fn header<'a>(request: &'a PresignedRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Bytes, content type, metadata and the SHA-256 come back as they were put.
pub async fn round_trip_keeps_bytes_type_metadata_and_sha256(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Inbound, "med_1/photo.png");
    let body = binary();
    let metadata: Metadata = [("filename".to_string(), "photo 1.png".to_string())].into();
    let put = t.storage.put(&key, body.clone(), "image/png", &metadata).await.expect("put");
    assert_eq!(put.sha256.as_deref(), Some(sha256_hex(&body).as_str()));
    assert_eq!((put.size, put.content_type.as_str()), (body.len() as u64, "image/png"));

    let head = t.storage.head(&key).await.expect("head");
    assert_eq!((&head.key, head.size, head.content_type.as_str()), (&key, body.len() as u64, "image/png"));
    assert_eq!(head.sha256, put.sha256, "sha256 preserved");
    assert_eq!(head.metadata, metadata);

    let object = t.storage.get(&key).await.expect("get");
    assert_eq!(object.body, body);
    assert_eq!(object.info.sha256, put.sha256);
    assert_eq!(object.info.content_type, "image/png");
}

/// A second put of the same key replaces the first, hash included.
pub async fn put_replaces(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Outbound, "doc.txt");
    t.storage.put(&key, Bytes::from_static(b"first"), "text/plain", &Metadata::new()).await.expect("put");
    t.storage.put(&key, Bytes::from_static(b"second!"), "text/csv", &Metadata::new()).await.expect("put again");
    let object = t.storage.get(&key).await.expect("get");
    assert_eq!(object.body, Bytes::from_static(b"second!"));
    assert_eq!(object.info.content_type, "text/csv");
    assert_eq!(object.info.sha256, Some(sha256_hex(b"second!")));
}

/// A key nobody wrote is `NotFound` for head, get and open; deleting it succeeds.
pub async fn missing_key_is_not_found(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Inbound, "never-written");
    assert!(matches!(t.storage.head(&key).await, Err(StorageError::NotFound(_))));
    assert!(matches!(t.storage.get(&key).await, Err(StorageError::NotFound(_))));
    assert!(matches!(t.storage.open(&key).await.map(|(info, _)| info), Err(StorageError::NotFound(_))));
    t.storage.delete(&key).await.expect("deleting a missing key succeeds");
}

/// After delete the object is gone, and nothing else is.
pub async fn delete_removes_only_that_object(t: &StorageUnderTest) {
    let tenant = tenant();
    let (gone, kept) = (key(&tenant, Direction::Inbound, "a"), key(&tenant, Direction::Inbound, "b"));
    for k in [&gone, &kept] {
        t.storage.put(k, Bytes::from_static(b"x"), "text/plain", &Metadata::new()).await.expect("put");
    }
    t.storage.delete(&gone).await.expect("delete");
    assert!(matches!(t.storage.head(&gone).await, Err(StorageError::NotFound(_))));
    assert!(matches!(t.storage.get(&gone).await, Err(StorageError::NotFound(_))));
    assert_eq!(t.storage.get(&kept).await.expect("other object").body, Bytes::from_static(b"x"));
}

/// A presigned GET fetches the bytes with their content type, with no credentials.
pub async fn presigned_get_is_fetchable(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Inbound, "med_2/voice.ogg");
    let body = binary();
    t.storage.put(&key, body.clone(), "audio/ogg", &Metadata::new()).await.expect("put");
    let request = t.storage.presign_get(&key, MAX_GET_URL_TTL).await.expect("presign");
    assert_eq!(request.method, http::Method::GET);
    assert_eq!(request.expires_at.timestamp(), t.clock.now().timestamp() + 300);
    // A store that redirects downloads names the origin its URLs are on (a console page allows it
    // in its Content-Security-Policy); one that serves them itself is the platform's own origin.
    assert_eq!(t.storage.download_origin().is_some(), t.storage.redirects_downloads());
    if let Some(origin) = t.storage.download_origin() {
        assert_eq!(crate::ports::storage::url_origin(&request.url).as_deref(), Some(origin), "{}", request.url);
    }
    let response = send(&request, None).await;
    assert_eq!(response.status(), 200, "GET {}", request.url);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(response.bytes().await.expect("body"), body);
}

/// A presigned GET is valid 5 minutes at most; one made 10 minutes ago no longer opens the file
/// where the backend checks expiry.
pub async fn presigned_get_expires(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Inbound, "old-link.jpg");
    t.storage.put(&key, Bytes::from_static(b"jpeg"), "image/jpeg", &Metadata::new()).await.expect("put");
    let too_long = t.storage.presign_get(&key, MAX_GET_URL_TTL + Duration::from_secs(1)).await;
    assert!(matches!(too_long, Err(StorageError::Invalid(_))), "{too_long:?}");

    t.clock.set(Utc::now() - chrono::Duration::minutes(10));
    let request = t.storage.presign_get(&key, MAX_GET_URL_TTL).await.expect("presign");
    assert!(request.expires_at < Utc::now(), "made 10 minutes ago for 5: expired");
    if t.enforces_presigned {
        let status = send(&request, None).await.status();
        assert_eq!(status, 403, "an expired URL opened the file");
    }
}

/// A presigned PUT uploads exactly the declared type and size; the object then reads back.
pub async fn presigned_put_uploads_the_declared_file(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Outbound, "med_3/invoice.pdf");
    let body = binary();
    let request =
        t.storage.presign_put(&key, "application/pdf", body.len() as u64, MAX_GET_URL_TTL).await.expect("presign");
    assert_eq!(request.method, http::Method::PUT);
    assert_eq!(header(&request, "content-type"), Some("application/pdf"));
    assert_eq!(header(&request, "content-length"), Some(body.len().to_string().as_str()));
    let response = send(&request, Some(body.to_vec())).await;
    assert!(response.status().is_success(), "PUT {}: {}", request.url, response.status());
    let object = t.storage.get(&key).await.expect("uploaded object");
    assert_eq!(object.body, body);
    assert_eq!((object.info.content_type.as_str(), object.info.size), ("application/pdf", body.len() as u64));
}

/// Another content type, another size, or a GET URL used to PUT: refused, nothing stored
/// (where the backend checks signatures).
pub async fn presigned_put_refuses_tampering(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Outbound, "med_4/photo.jpg");
    let request = t.storage.presign_put(&key, "image/jpeg", 4, MAX_GET_URL_TTL).await.expect("presign");
    if !t.enforces_presigned {
        // What a checking backend (S3) holds the uploader to: the signed type and size.
        assert_eq!(header(&request, "content-type"), Some("image/jpeg"));
        assert_eq!(header(&request, "content-length"), Some("4"));
        return;
    }
    let mut other_type = request.clone();
    other_type.headers = vec![("content-type".into(), "text/html".into())];
    assert_eq!(send(&other_type, Some(b"jpeg".to_vec())).await.status(), 403, "another content type");
    assert_eq!(send(&request, Some(b"jpeg plus more".to_vec())).await.status(), 403, "another size");
    let get_url = t.storage.presign_get(&key, MAX_GET_URL_TTL).await.expect("presign get");
    let as_put = PresignedRequest { method: http::Method::PUT, headers: request.headers.clone(), ..get_url };
    assert_eq!(send(&as_put, Some(b"jpeg".to_vec())).await.status(), 403, "a GET URL used to PUT");
    assert!(matches!(t.storage.head(&key).await, Err(StorageError::NotFound(_))), "a refused upload stored something");
    assert!(send(&request, Some(b"jpeg".to_vec())).await.status().is_success(), "the URL itself works");
}

/// Listing a tenant's prefix finds its objects only (not those of a tenant whose id it prefixes).
pub async fn list_finds_a_prefix_only(t: &StorageUnderTest) {
    let tenant = tenant();
    let neighbour = format!("{tenant}0");
    let keys = [
        key(&tenant, Direction::Inbound, "b/2.jpg"),
        key(&tenant, Direction::Inbound, "a/1.jpg"),
        key(&tenant, Direction::Outbound, "c.pdf"),
        key(&neighbour, Direction::Inbound, "d.jpg"),
    ];
    for k in &keys {
        t.storage.put(k, Bytes::from_static(b"12345"), "image/jpeg", &Metadata::new()).await.expect("put");
    }
    let listed = |prefix: MediaPrefix| {
        let storage = t.storage.clone();
        async move { storage.list(&prefix).await.expect("list") }
    };
    let all = listed(MediaPrefix::tenant(&tenant).unwrap()).await;
    let names: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
    let expected = [&keys[1], &keys[0], &keys[2]].map(MediaKey::as_str);
    assert_eq!(names, expected);
    assert!(all.iter().all(|s| s.size == 5));
    let inbound = listed(MediaPrefix::direction(&tenant, Direction::Inbound).unwrap()).await;
    assert_eq!(inbound.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), expected[..2]);
    assert_eq!(listed(MediaPrefix::tenant(&neighbour).unwrap()).await.len(), 1);
}

/// A content type or metadata that could break a header is refused before anything is stored.
pub async fn header_breaking_values_are_refused(t: &StorageUnderTest) {
    let key = key(&tenant(), Direction::Outbound, "x.txt");
    let body = Bytes::from_static(b"x");
    let bad_type = t.storage.put(&key, body.clone(), "text/plain\r\nx-amz-acl: public-read", &Metadata::new()).await;
    assert!(matches!(bad_type, Err(StorageError::Invalid(_))), "{bad_type:?}");
    let bad_meta: Metadata = [("filename".to_string(), "a\r\nb".to_string())].into();
    assert!(matches!(t.storage.put(&key, body, "text/plain", &bad_meta).await, Err(StorageError::Invalid(_))));
    let bad_put = t.storage.presign_put(&key, "text/plain\nx: y", 1, MAX_GET_URL_TTL).await;
    assert!(matches!(bad_put, Err(StorageError::Invalid(_))));
    assert!(matches!(t.storage.head(&key).await, Err(StorageError::NotFound(_))));
}

/// An upload of more than two parts, written in uneven pieces: the object reads back whole, with
/// its type and metadata, and is invisible until finished; a small one (under a part) too.
pub async fn upload_writes_a_large_object_part_by_part(t: &StorageUnderTest) {
    use crate::ports::storage::UPLOAD_PART_SIZE;
    let tenant = tenant();
    let big = key(&tenant, Direction::Exports, "cmp_1/recipients.csv");
    let metadata: Metadata = [("filename".to_string(), "cmp_1-recipients.csv".to_string())].into();
    let mut upload = t.storage.upload(&big, "text/csv; charset=utf-8", &metadata).await.expect("upload");
    let mut expected = Vec::new();
    let mut n = 0u32;
    while expected.len() < 2 * UPLOAD_PART_SIZE + 1234 {
        // Rows of every length, so parts split them anywhere.
        let row = format!("{n},+1555{n:07},{}\n", "x".repeat((n % 97) as usize));
        expected.extend_from_slice(row.as_bytes());
        upload.write(Bytes::from(row)).await.expect("write");
        n += 1;
    }
    assert!(matches!(t.storage.head(&big).await, Err(StorageError::NotFound(_))), "visible before finish");
    let info = upload.finish().await.expect("finish");
    assert_eq!((info.size, info.content_type.as_str()), (expected.len() as u64, "text/csv; charset=utf-8"));
    let got = t.storage.get(&big).await.expect("get");
    assert_eq!(got.info.size, expected.len() as u64);
    assert!(got.body == expected, "the bytes come back as written");
    assert_eq!(got.info.metadata, metadata);
    assert_eq!(got.info.content_type, "text/csv; charset=utf-8");
    assert_eq!(big.tenant_id(), tenant);

    let small = key(&tenant, Direction::Exports, "cmp_2/recipients.csv");
    let mut upload = t.storage.upload(&small, "text/csv", &Metadata::new()).await.expect("upload");
    upload.write(Bytes::from_static(b"a,b\n")).await.expect("write");
    upload.write(Bytes::from_static(b"1,2\n")).await.expect("write");
    upload.finish().await.expect("finish");
    assert_eq!(&t.storage.get(&small).await.expect("get").body[..], b"a,b\n1,2\n");
    let listed = t.storage.list(&MediaPrefix::direction(&tenant, Direction::Exports).unwrap()).await.expect("list");
    assert_eq!(listed.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), [big.as_str(), small.as_str()]);
}

/// An aborted upload (after a part was sent) and a dropped one leave nothing readable, and the
/// object an upload replaces stays as it was until the upload finishes.
pub async fn aborted_uploads_leave_nothing(t: &StorageUnderTest) {
    use crate::ports::storage::UPLOAD_PART_SIZE;
    let tenant = tenant();
    let kept = key(&tenant, Direction::Exports, "cmp_3/recipients.csv");
    t.storage.put(&kept, Bytes::from_static(b"old"), "text/csv", &Metadata::new()).await.expect("put");
    let mut upload = t.storage.upload(&kept, "text/csv", &Metadata::new()).await.expect("upload");
    upload.write(Bytes::from(vec![b'x'; UPLOAD_PART_SIZE + 10])).await.expect("write");
    assert_eq!(&t.storage.get(&kept).await.expect("get").body[..], b"old", "replaced before finish");
    upload.abort().await.expect("abort");
    assert_eq!(&t.storage.get(&kept).await.expect("get").body[..], b"old");
    let other = key(&tenant, Direction::Exports, "cmp_4/recipients.csv");
    let mut dropped = t.storage.upload(&other, "text/csv", &Metadata::new()).await.expect("upload");
    dropped.write(Bytes::from_static(b"half")).await.expect("write");
    drop(dropped);
    assert!(matches!(t.storage.head(&other).await, Err(StorageError::NotFound(_))));
    let listed = t.storage.list(&MediaPrefix::tenant(&tenant).unwrap()).await.expect("list");
    assert_eq!(listed.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), [kept.as_str()]);
    let bad = t.storage.upload(&other, "text/csv\r\nx: y", &Metadata::new()).await;
    assert!(matches!(bad, Err(StorageError::Invalid(_))), "a header-breaking type");
}

/// One `#[tokio::test]` per case. `$make` is a closure `Fn(Arc<ManualClock>) -> impl Future<Output
/// = StorageUnderTest>` called afresh for each test. The calling crate needs `tokio`.
#[macro_export]
macro_rules! storage_conformance {
    ($make:expr) => {
        $crate::storage_conformance!(@cases $make;
            round_trip_keeps_bytes_type_metadata_and_sha256,
            put_replaces,
            missing_key_is_not_found,
            delete_removes_only_that_object,
            presigned_get_is_fetchable,
            presigned_get_expires,
            presigned_put_uploads_the_declared_file,
            presigned_put_refuses_tampering,
            list_finds_a_prefix_only,
            header_breaking_values_are_refused,
            upload_writes_a_large_object_part_by_part,
            aborted_uploads_leave_nothing,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let clock = $crate::testkit::storage::clock_at_now();
                let under_test: $crate::testkit::storage::StorageUnderTest = ($make)(clock).await;
                $crate::testkit::storage::$case(&under_test).await;
            }
        )*
    };
}

// ---- the embedded store, served ------------------------------------------------------------

/// A [`FileStorage`] in a temporary folder whose URLs point at a small HTTP server on loopback
/// serving the local process's own `/media-files/` route (`http::media_files`).
pub async fn served_file_storage(clock: Arc<ManualClock>) -> StorageUnderTest {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let urls = MediaUrls::new(secrecy::SecretString::from(unique("media-key")), &base);
    let storage = Arc::new(FileStorage::open(dir.path().join("media"), urls, clock.clone()).expect("file storage"));
    let app = crate::http::media_files::router(storage.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    /// Stops the server; the folder is removed when the guard drops.
    struct Guard(tokio::task::JoinHandle<std::io::Result<()>>, #[allow(dead_code)] tempfile::TempDir);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    StorageUnderTest { storage, clock, enforces_presigned: true, guard: Box::new(Guard(server, dir)) }
}

// ---- S3 on moto ------------------------------------------------------------------------------

/// An [`S3Storage`](crate::adapters::aws::s3::S3Storage) on a fresh bucket of the moto server
/// (`infra/test.sh` starts it). moto does not check presigned signatures or expiry.
#[cfg(feature = "s3")]
pub async fn moto_s3_storage(clock: Arc<ManualClock>) -> StorageUnderTest {
    use crate::adapters::aws::s3::S3Storage;
    let store = S3Storage::new(&super::moto::sdk_config().await, unique("media"), clock.clone()).expect("S3 store");
    store.create_bucket().await.expect("CreateBucket on moto");
    let storage = Arc::new(store.with_download_origin().await);
    StorageUnderTest { storage, clock, enforces_presigned: false, guard: Box::new(()) }
}
