//! CloudTrail's public keys (`ListPublicKeys`) for every region the
//! collected digests come from, over the time they cover, saved in the
//! AWS CLI's output format that `verify --public-keys` reads.

use super::fetch::{Clients, error_text, timestamp};
use super::store::{Store, write_replacing};
use crate::custody::record::{
    COLLECTION_DIR, Failure, FileEntry, KEYS_DIR, KeysFetched, RecordKind,
};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// Fetches and saves the keys of every region.
///
/// # Errors
/// The first region whose keys could not be fetched or saved.
pub(crate) async fn fetch(
    clients: &Clients,
    store: &Store,
    digest_times: &BTreeMap<String, (Timestamp, Timestamp)>,
) -> Result<Vec<KeysFetched>, Failure> {
    let mut fetched = Vec::new();
    for (region, (first, last)) in digest_times {
        // A digest is signed when it is delivered, shortly after its end time.
        let start = *first - SignedDuration::from_hours(1);
        let end = *last + SignedDuration::from_hours(1);
        let failure = |error: String| Failure {
            key: format!("ListPublicKeys in {region}"),
            error,
        };
        let keys = list(clients, region, start, end).await.map_err(failure)?;
        let rel = format!("{COLLECTION_DIR}/{KEYS_DIR}/{region}.json");
        let mut text = serde_json::to_vec_pretty(&serde_json::json!({ "PublicKeyList": keys }))
            .map_err(|e| failure(e.to_string()))?;
        text.push(b'\n');
        if let Some(parent) = store.root().join(&rel).parent() {
            std::fs::create_dir_all(parent).map_err(|e| failure(e.to_string()))?;
        }
        write_replacing(&store.root().join(&rel), &text).map_err(|e| failure(e.to_string()))?;
        let sha256 = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(&text))
        };
        store
            .finish(&FileEntry {
                path: rel.clone(),
                kind: RecordKind::PublicKeys,
                key: None,
                version_id: None,
                etag: None,
                last_modified: None,
                checked: None,
                size: text.len() as u64,
                sha256,
            })
            .map_err(|e| failure(e.to_string()))?;
        fetched.push(KeysFetched {
            region: region.clone(),
            path: rel,
            start,
            end,
            keys: keys.len() as u64,
        });
    }
    Ok(fetched)
}

/// Every page of `ListPublicKeys` in `region`.
async fn list(
    clients: &Clients,
    region: &str,
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<serde_json::Value>, String> {
    use aws_sdk_cloudtrail::primitives::DateTime;
    let config = aws_sdk_cloudtrail::config::Builder::from(&clients.config)
        .region(aws_sdk_cloudtrail::config::Region::new(region.to_owned()))
        .build();
    let client = aws_sdk_cloudtrail::Client::from_conf(config);
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_public_keys()
            .start_time(DateTime::from_secs(start.as_second()))
            .end_time(DateTime::from_secs(end.as_second()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| error_text(&e))?;
        for key in page.public_key_list() {
            use base64::Engine as _;
            let value = key
                .value()
                .map(|v| base64::engine::general_purpose::STANDARD.encode(v.as_ref()));
            let time = |t: Option<&DateTime>| timestamp(t).map(|t| t.to_string());
            keys.push(serde_json::json!({
                "Value": value,
                "ValidityStartTime": time(key.validity_start_time()),
                "ValidityEndTime": time(key.validity_end_time()),
                "Fingerprint": key.fingerprint(),
            }));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(keys);
        }
    }
}
