//! Plans and writes a mirror: log files (in parallel), then digests chain by chain.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::mirror::{Meta, write_metadata};
use crate::records::{LogBody, Principal, alnum, principal_pool, write_log_body};
use crate::{
    DigestEntry, KeyId, LogEntry, Mirror, TestKey, TrailSpec, format_time, gz_encoder, gzip,
    sha256_hex, signing_string,
};

/// Builds a [`Mirror`] from one or more [`TrailSpec`]s: `MirrorBuilder::new(dir).trail(a).trail(b).build()`.
///
/// Layout under `dir`: `dir/mirror/` is the mirror of the first trail's bucket (files at
/// `<root>/<s3 key>`, as `aws s3 sync s3://bucket root` writes them); any other bucket (another
/// trail's, or a `bucket_change_at_hour` target) is mirrored in `dir/<bucket name>/`;
/// `dir/public-keys.json` is the `list-public-keys` output covering every key that signed.
/// `dir` should be empty or absent; nothing is deleted.
pub struct MirrorBuilder {
    dir: PathBuf,
    trails: Vec<TrailSpec>,
}

/// A log file to write.
struct LogPlan {
    bucket: String,
    key: String,
    path: PathBuf,
    account: String,
    region: String,
    delivered: i64,
    records: u32,
    events: (i64, i64),
    seed: u64,
    /// Index into the principal pools.
    pool: usize,
    listed_by: Vec<String>,
    /// Records appended after the generated ones (the trail's own API calls).
    extra: Vec<Value>,
}

/// A digest to write.
struct DigestPlan {
    trail: usize,
    bucket: String,
    key: String,
    path: PathBuf,
    account: String,
    region: String,
    backfill: bool,
    start: i64,
    end: i64,
    signer: KeyId,
    logs: Vec<usize>,
    /// Index of the previous digest in the chain (None: chain start).
    prev: Option<usize>,
}

struct LogResult {
    sha256_hex: String,
    oldest: i64,
    newest: i64,
}

impl MirrorBuilder {
    /// A builder writing under `dir` (see the type docs for the layout).
    pub fn new(dir: impl Into<PathBuf>) -> MirrorBuilder {
        MirrorBuilder {
            dir: dir.into(),
            trails: Vec::new(),
        }
    }

    /// Adds a trail. Several trails may share a bucket (then they share a root directory).
    pub fn trail(mut self, spec: TrailSpec) -> MirrorBuilder {
        self.trails.push(spec);
        self
    }

    /// Writes every file and returns the description of what was written.
    pub fn build(self) -> Mirror {
        let root = self.dir.join("mirror");
        let mut bucket_roots: Vec<(String, PathBuf)> = Vec::new();
        for t in &self.trails {
            let mut buckets = vec![t.bucket.clone()];
            if let Some((_, b)) = &t.bucket_change_at_hour {
                buckets.push(b.clone());
            }
            for b in buckets {
                if !bucket_roots.iter().any(|(name, _)| *name == b) {
                    let dir = if bucket_roots.is_empty() {
                        root.clone()
                    } else {
                        self.dir.join(&b)
                    };
                    bucket_roots.push((b, dir));
                }
            }
        }
        fs::create_dir_all(&root).expect("create mirror root");
        let root_of = |bucket: &str| -> PathBuf {
            bucket_roots
                .iter()
                .find(|(b, _)| b == bucket)
                .map(|(_, p)| p.clone())
                .expect("bucket has a root")
        };

        // ---- Plan -------------------------------------------------------------------------
        let mut pools: Vec<Vec<Principal>> = Vec::new();
        let mut logs: Vec<LogPlan> = Vec::new();
        let mut digests: Vec<DigestPlan> = Vec::new();
        for (ti, spec) in self.trails.iter().enumerate() {
            assert!(!spec.keys.is_empty(), "TrailSpec.keys must not be empty");
            for (ai, account) in spec.accounts.iter().enumerate() {
                let mut prng = Rng::with_seed(mix(&[spec.seed, ti as u64, ai as u64, 0xB00C]));
                let pool_idx = pools.len();
                pools.push(principal_pool(&mut prng, account));
                for (ri, region) in spec.regions.iter().enumerate() {
                    let mut rng =
                        Rng::with_seed(mix(&[spec.seed, ti as u64, ai as u64, ri as u64]));
                    let mut prev: Option<usize> = None;
                    let mut backfills: Vec<DigestPlan> = Vec::new();
                    for h in 0..spec.hours {
                        let ws = spec.window_start(h).as_second();
                        let we = ws + 3600;
                        let first_min = (ws + 59).div_euclid(60);
                        let last_min = (we - 1).div_euclid(60);
                        let bucket = spec.bucket_for_hour(h).to_owned();
                        let broot = root_of(&bucket);
                        let new_log = |rng: &mut Rng, late: bool| -> LogPlan {
                            let delivered = rng.i64(first_min..=last_min) * 60;
                            let records = records_for(rng, spec);
                            let events = if late {
                                (
                                    delivered - rng.i64(7200..10800),
                                    delivered - rng.i64(3700..4400),
                                )
                            } else {
                                (delivered - rng.i64(300..900), delivered - rng.i64(15..60))
                            };
                            let seed = rng.u64(..);
                            let unique = alnum(rng, 16);
                            let key = spec.log_key(account, region, ts(delivered), &unique);
                            LogPlan {
                                bucket: bucket.clone(),
                                path: broot.join(&key),
                                key,
                                account: account.clone(),
                                region: region.clone(),
                                delivered,
                                records,
                                events,
                                seed,
                                pool: pool_idx,
                                listed_by: Vec::new(),
                                extra: Vec::new(),
                            }
                        };
                        let n = if spec.empty_hours.contains(&h) {
                            0
                        } else {
                            let (lo, hi) = spec.logs_per_hour;
                            rng.u32(lo.min(hi)..=hi.max(lo))
                        };
                        let mut hour_logs: Vec<LogPlan> =
                            (0..n).map(|_| new_log(&mut rng, false)).collect();
                        hour_logs.sort_by(|a, b| (a.delivered, &a.key).cmp(&(b.delivered, &b.key)));
                        if *region == spec.home_region
                            && let Some(last) = hour_logs.last_mut()
                        {
                            for (_, event) in spec.trail_events.iter().filter(|(eh, _)| *eh == h) {
                                last.extra.push(crate::records::trail_event(
                                    *event,
                                    account,
                                    &spec.home_region,
                                    &spec.trail_name,
                                    last.events.1,
                                ));
                            }
                        }
                        let late = spec
                            .backfill_hours
                            .contains(&h)
                            .then(|| new_log(&mut rng, true));
                        let first_log = logs.len();
                        logs.extend(hour_logs);
                        let listed: Vec<usize> = (first_log..logs.len()).collect();
                        if spec.in_gap(h) {
                            prev = None;
                        } else {
                            let key = spec.digest_key(account, region, ts(we), false);
                            digests.push(DigestPlan {
                                trail: ti,
                                bucket: bucket.clone(),
                                path: broot.join(&key),
                                key,
                                account: account.clone(),
                                region: region.clone(),
                                backfill: false,
                                start: ws,
                                end: we,
                                signer: spec.key_for_hour(h),
                                logs: listed,
                                prev,
                            });
                            prev = Some(digests.len() - 1);
                        }
                        if let Some(late) = late {
                            logs.push(late);
                            let key = spec.digest_key(account, region, ts(we), true);
                            backfills.push(DigestPlan {
                                trail: ti,
                                bucket: bucket.clone(),
                                path: broot.join(&key),
                                key,
                                account: account.clone(),
                                region: region.clone(),
                                backfill: true,
                                start: ws,
                                end: we,
                                signer: spec.key_for_hour(h),
                                logs: vec![logs.len() - 1],
                                prev: None,
                            });
                        }
                    }
                    digests.extend(backfills);
                }
            }
        }
        for d in &digests {
            for &l in &d.logs {
                logs[l].listed_by.push(d.key.clone());
            }
        }

        // ---- Log files (parallel; each file depends only on its own plan) --------------------
        let results = write_logs_parallel(&logs, &pools);

        // ---- Digests (sequential per chain: each needs the previous one's hash + signature) ----
        let mut written: Vec<Option<(String, String)>> = vec![None; digests.len()];
        let mut key_windows: BTreeMap<KeyId, (i64, i64)> = BTreeMap::new();
        let mut digest_entries = Vec::with_capacity(digests.len());
        for (di, d) in digests.iter().enumerate() {
            let signer = TestKey::get(d.signer);
            let listed: Vec<&LogResult> = d.logs.iter().map(|&l| &results[l]).collect();
            let newest = listed.iter().map(|r| r.newest).max();
            let oldest = listed.iter().map(|r| r.oldest).min();
            let (pb, pk, ph, pa, ps) = match d.prev {
                Some(p) => {
                    let (hash, sig) = written[p].clone().expect("previous digest written first");
                    (
                        json!(digests[p].bucket),
                        json!(digests[p].key),
                        json!(hash),
                        json!("SHA-256"),
                        json!(sig),
                    )
                }
                None => (
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ),
            };
            let log_files: Vec<Value> = d
                .logs
                .iter()
                .map(|&l| {
                    let (p, r) = (&logs[l], &results[l]);
                    json!({
                        "s3Bucket": p.bucket,
                        "s3Object": p.key,
                        "hashValue": r.sha256_hex,
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": fmt(r.newest),
                        "oldestEventTime": fmt(r.oldest),
                    })
                })
                .collect();
            let doc = json!({
                "awsAccountId": d.account,
                "digestStartTime": fmt(d.start),
                "digestEndTime": fmt(d.end),
                "digestS3Bucket": d.bucket,
                "digestS3Object": d.key,
                "digestPublicKeyFingerprint": if self.trails[d.trail].spki_keys { signer.spki_fingerprint() } else { signer.fingerprint() },
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": newest.map(fmt),
                "oldestEventTime": oldest.map(fmt),
                "previousDigestS3Bucket": pb,
                "previousDigestS3Object": pk,
                "previousDigestHashValue": ph,
                "previousDigestHashAlgorithm": pa,
                "previousDigestSignature": ps,
                "logFiles": log_files,
            });
            let inflated = serde_json::to_vec(&doc).expect("serialize digest");
            let gz = gzip(&inflated);
            let sig = hex::encode(signer.sign(&signing_string(&doc, &inflated)));
            fs::create_dir_all(d.path.parent().expect("digest path has a parent"))
                .expect("create digest folder");
            fs::write(&d.path, &gz).expect("write digest");
            let delivered = d.end + 10 + (fnv(&d.key) % 40) as i64;
            let generation = d.backfill.then(|| d.end + 5400);
            let last_modified = generation.map_or(delivered, |g| g + 7);
            let meta = Meta {
                signature_hex: sig.clone(),
                backfill_generation: generation.map(fmt),
                last_modified,
                content_length: gz.len() as u64,
                etag: hex::encode(md5::Md5::digest(&gz)),
            };
            let store = self.trails[d.trail].signature_store;
            write_metadata(&d.path, store, &meta);
            set_mtime(&d.path, last_modified);
            let w = key_windows.entry(d.signer).or_insert((d.start, d.end));
            w.0 = w.0.min(d.start);
            w.1 = w.1.max(generation.unwrap_or(d.end));
            written[di] = Some((sha256_hex(&inflated), sig.clone()));
            digest_entries.push(DigestEntry {
                bucket: d.bucket.clone(),
                key: d.key.clone(),
                path: d.path.clone(),
                account: d.account.clone(),
                region: d.region.clone(),
                backfill: d.backfill,
                end_time: ts(d.end),
                json: doc,
                signature_hex: sig,
                signed_by: d.signer,
                log_keys: d.logs.iter().map(|&l| logs[l].key.clone()).collect(),
            });
        }

        // ---- Public keys ------------------------------------------------------------------------
        let public_keys = self.dir.join("public-keys.json");
        let spki = self.trails.iter().any(|t| t.spki_keys);
        write_public_keys(&public_keys, &key_windows, spki);

        let log_entries = logs
            .into_iter()
            .zip(results)
            .map(|(p, r)| LogEntry {
                bucket: p.bucket,
                key: p.key,
                path: p.path,
                account: p.account,
                region: p.region,
                delivered: ts(p.delivered),
                sha256_hex: r.sha256_hex,
                listed_by: p.listed_by,
            })
            .collect();
        Mirror {
            extra_roots: bucket_roots
                .iter()
                .skip(1)
                .map(|(_, p)| p.clone())
                .collect(),
            root,
            public_keys,
            digests: digest_entries,
            logs: log_entries,
            trails: self.trails,
            bucket_roots,
        }
    }
}

/// Writes the `list-public-keys` JSON (CLI v1 style: base64 `Value`, epoch-float validity times).
/// Each key's window covers everything it signed, 1 h earlier and 2 h later (backfill generation
/// times included).
fn write_public_keys(path: &Path, windows: &BTreeMap<KeyId, (i64, i64)>, spki: bool) {
    use base64::Engine as _;
    let mut list: Vec<(i64, Value)> = windows
        .iter()
        .map(|(&id, &(start, end))| {
            let k = TestKey::get(id);
            let (vs, ve) = (start - 3600, end + 7200);
            (
                vs,
                json!({
                    "Value": base64::engine::general_purpose::STANDARD.encode(if spki { k.public_spki_der() } else { k.public_pkcs1_der() }),
                    "ValidityStartTime": vs as f64,
                    "ValidityEndTime": ve as f64,
                    "Fingerprint": if spki { k.spki_fingerprint() } else { k.fingerprint() },
                }),
            )
        })
        .collect();
    list.sort_by_key(|(vs, _)| *vs);
    let doc = json!({"PublicKeyList": list.into_iter().map(|(_, v)| v).collect::<Vec<_>>()});
    fs::write(path, pretty(&doc)).expect("write public keys");
}

/// JSON as the AWS CLI prints it (4-space indent, trailing newline).
pub(crate) fn pretty(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("serialize json");
    out.push(b'\n');
    out
}

fn records_for(rng: &mut Rng, spec: &TrailSpec) -> u32 {
    let (lo, hi) = spec.records_per_log;
    let (lo, hi) = (lo.min(hi).max(1), hi.max(lo).max(1));
    if spec.heavy_logs_per_mille > 0 && rng.u32(..1000) < spec.heavy_logs_per_mille {
        hi.saturating_mul(rng.u32(10..=40))
    } else {
        rng.u32(lo..=hi)
    }
}

fn write_logs_parallel(logs: &[LogPlan], pools: &[Vec<Principal>]) -> Vec<LogResult> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(logs.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, LogResult)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = logs.get(i) else { break };
                        let body = LogBody {
                            account: &p.account,
                            region: &p.region,
                            pool: &pools[p.pool],
                            records: p.records,
                            events_from: p.events.0,
                            events_to: p.events.1,
                            seed: p.seed,
                            extra: &p.extra,
                        };
                        let r = write_log_file(&p.path, &body, p.delivered + (p.seed % 40) as i64);
                        done.push((i, r));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("log writer thread"))
            .collect()
    });
    parts.sort_by_key(|(i, _)| *i);
    parts.into_iter().map(|(_, r)| r).collect()
}

/// Writes one gzip log file at `path`; returns its hash and event-time range.
fn write_log_file(path: &Path, body: &LogBody<'_>, mtime: i64) -> LogResult {
    fs::create_dir_all(path.parent().expect("log path has a parent")).expect("create log folder");
    let file = fs::File::create(path).expect("create log file");
    let mut enc = gz_encoder(BufWriter::with_capacity(256 * 1024, file));
    let mut hasher = sha2::Sha256::new();
    let (oldest, newest) = write_log_body(body, &mut |chunk| {
        hasher.update(chunk);
        enc.write_all(chunk).expect("write log file");
    });
    let file = enc
        .finish()
        .expect("finish gzip")
        .into_inner()
        .expect("flush log file");
    set_file_mtime(&file, mtime);
    LogResult {
        sha256_hex: hex::encode(hasher.finalize()),
        oldest,
        newest,
    }
}

/// Writes a fresh, valid log file (used by [`Mirror::inject_log`]).
pub(crate) fn write_injected_log(
    path: &Path,
    account: &str,
    region: &str,
    delivered: i64,
    seed: u64,
) -> String {
    let mut rng = Rng::with_seed(seed);
    let pool = principal_pool(&mut rng, account);
    let body = LogBody {
        account,
        region,
        pool: &pool,
        records: rng.u32(5..=15),
        events_from: delivered - rng.i64(300..900),
        events_to: delivered - rng.i64(15..60),
        seed: rng.u64(..),
        extra: &[],
    };
    write_log_file(path, &body, delivered + 20).sha256_hex
}

pub(crate) fn set_mtime(path: &Path, epoch: i64) {
    let f = fs::File::options()
        .append(true)
        .open(path)
        .expect("open for mtime");
    set_file_mtime(&f, epoch);
}

fn set_file_mtime(f: &fs::File, epoch: i64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(epoch.max(0) as u64);
    f.set_modified(t).expect("set mtime");
}

pub(crate) fn ts(epoch: i64) -> Timestamp {
    Timestamp::from_second(epoch).expect("timestamp in range")
}

pub(crate) fn fmt(epoch: i64) -> String {
    format_time(ts(epoch))
}

/// SplitMix64-based mixing of several words into one seed.
pub(crate) fn mix(words: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &w in words {
        h ^= w;
        h = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

/// FNV-1a of a string (stable seed material).
pub(crate) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
