//! The media storage conformance suite on both adapters: files under a folder, served through
//! their signed local URLs by a loopback server (as the local process will), and S3 on moto.
//! Then what only one adapter shows: what an S3 presigned URL signs (moto does not check it),
//! a missing bucket, and the embedded platform's wiring.

use std::sync::Arc;

use bytes::Bytes;
use miping::ports::storage::{Direction, MAX_GET_URL_TTL, MediaKey, Metadata, Storage, StorageError};
use miping::testkit::storage::{clock_at_now, moto_s3_storage, served_file_storage};
use miping::testkit::unique;

mod files {
    miping::storage_conformance!(miping::testkit::storage::served_file_storage);
}

mod s3 {
    miping::storage_conformance!(miping::testkit::storage::moto_s3_storage);
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

fn key(name: &str) -> MediaKey {
    MediaKey::new(&unique("ten").replace('-', "_"), Direction::Outbound, name).unwrap()
}

/// What real S3 enforces: a GET URL of 300 s from the adapter's clock, a PUT URL that signs
/// the content type and length (another type or size → SignatureDoesNotMatch on S3).
#[tokio::test]
async fn s3_presigned_urls_sign_the_expiry_and_the_upload_constraints() {
    let under_test = moto_s3_storage(clock_at_now()).await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(3);
    under_test.clock.set(start);
    let key = key("invoice.pdf");

    let get = under_test.storage.presign_get(&key, MAX_GET_URL_TTL).await.expect("presign get");
    assert_eq!(query_param(&get.url, "X-Amz-Expires").as_deref(), Some("300"), "{}", get.url);
    assert_eq!(query_param(&get.url, "X-Amz-Date"), Some(start.format("%Y%m%dT%H%M%SZ").to_string()));
    assert!(get.url.contains(&format!("/{key}?")), "path-style URL of the key: {}", get.url);

    let put =
        under_test.storage.presign_put(&key, "application/pdf", 1234, MAX_GET_URL_TTL).await.expect("presign put");
    let signed = query_param(&put.url, "X-Amz-SignedHeaders").expect("signed headers");
    let signed: Vec<&str> = signed.split("%3B").collect();
    assert!(signed.contains(&"content-type") && signed.contains(&"content-length"), "{signed:?}");
    assert!(put.headers.contains(&("content-type".into(), "application/pdf".into())), "{:?}", put.headers);
    assert!(put.headers.contains(&("content-length".into(), "1234".into())), "{:?}", put.headers);
}

/// A bucket that does not exist is a configuration fault (`Unavailable`), not a missing file,
/// wherever S3 says so (a HEAD answer has no body, so `head` cannot tell and says `NotFound`).
#[tokio::test]
async fn s3_missing_bucket_is_unavailable_not_not_found() {
    use miping::adapters::aws::s3::S3Storage;
    use miping::ports::storage::MediaPrefix;
    let sdk = miping::testkit::moto::sdk_config().await;
    let storage = S3Storage::new(&sdk, unique("no-such-bucket"), clock_at_now()).expect("S3 store");
    let err = storage.get(&key("x")).await.expect_err("get in a missing bucket");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    let err = storage.list(&MediaPrefix::tenant("ten_1").unwrap()).await.expect_err("list in a missing bucket");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
}

/// The plan's retention reaches S3 as the object's `retention-days` tag (the bucket's lifecycle
/// rules match tags, not metadata); without it the object has no tag.
#[tokio::test]
async fn s3_retention_metadata_becomes_the_objects_tag() {
    use miping::adapters::aws::s3::S3Storage;
    use miping::ports::storage::RETENTION_TAG;
    let sdk = miping::testkit::moto::sdk_config().await;
    let bucket = unique("media");
    let storage = S3Storage::new(&sdk, bucket.clone(), clock_at_now()).expect("S3 store");
    storage.create_bucket().await.expect("CreateBucket on moto");
    // Read back through AWS's own SDK, independently of the adapter.
    let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let (tagged, plain) = (key("a.png"), key("b.png"));
    let metadata: Metadata = [(RETENTION_TAG.to_owned(), "30".to_owned())].into();
    storage.put(&tagged, Bytes::from_static(b"x"), "image/png", &metadata).await.expect("put");
    storage.put(&plain, Bytes::from_static(b"y"), "image/png", &Metadata::new()).await.expect("put");
    let tags = |k: MediaKey| {
        let (client, bucket) = (client.clone(), bucket.clone());
        async move {
            let out = client.get_object_tagging().bucket(bucket).key(k.as_str()).send().await.expect("tagging");
            out.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect::<Vec<_>>()
        }
    };
    assert_eq!(tags(tagged).await, [("retention-days".to_owned(), "30".to_owned())]);
    assert!(tags(plain).await.is_empty());
}

/// The embedded platform keeps media under `<data_dir>/media/` and signs its URLs with a key kept
/// in `<data_dir>/keys/media.key`, so URLs stay valid across restarts.
#[tokio::test]
async fn embedded_ports_store_media_under_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let ports = miping::testkit::embedded_ports(dir.path());
    let key = MediaKey::new("ten_1", Direction::Inbound, "med_1/photo.jpg").unwrap();
    ports.storage.put(&key, Bytes::from_static(b"jpeg"), "image/jpeg", &Metadata::new()).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("media").join(key.as_str())).unwrap(), b"jpeg");
    let url = ports.storage.presign_get(&key, MAX_GET_URL_TTL).await.unwrap().url;
    assert!(url.contains(&format!("/media-files/{key}?expires=")), "{url}");

    let again = miping::testkit::embedded_ports(dir.path());
    assert_eq!(again.storage.get(&key).await.unwrap().body, Bytes::from_static(b"jpeg"));
    let expires = query_param(&url, "expires").unwrap();
    let url_after_restart = again.storage.presign_get(&key, MAX_GET_URL_TTL).await.unwrap().url;
    // Same key, same second or the next: the same signature means the same signing key.
    if query_param(&url_after_restart, "expires").as_deref() == Some(expires.as_str()) {
        assert_eq!(url_after_restart, url);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/media.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// A file put by the platform is served by the test server only with a valid URL.
#[tokio::test]
async fn a_file_url_of_one_tenant_opens_no_other_tenants_file() {
    let under_test = served_file_storage(clock_at_now()).await;
    let storage: Arc<dyn Storage> = under_test.storage.clone();
    let (mine, theirs) = (
        MediaKey::new("ten_a", Direction::Inbound, "x.jpg").unwrap(),
        MediaKey::new("ten_b", Direction::Inbound, "x.jpg").unwrap(),
    );
    for k in [&mine, &theirs] {
        storage.put(k, Bytes::from(k.to_string()), "image/jpeg", &Metadata::new()).await.unwrap();
    }
    let url = storage.presign_get(&mine, MAX_GET_URL_TTL).await.unwrap().url;
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().text().await.unwrap(), mine.to_string());
    let swapped = url.replace("ten_a", "ten_b");
    assert_eq!(client.get(&swapped).send().await.unwrap().status(), 403);
    let escaped = url.replace("ten_a/inbound/x.jpg", "ten_a/inbound/../../ten_b/inbound/x.jpg");
    assert_eq!(client.get(&escaped).send().await.unwrap().status(), 403);
}
