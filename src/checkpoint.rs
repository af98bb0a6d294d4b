//! Checkpoints: what one audit saw of each chain's newest digest (its
//! *head*), kept by the auditor outside the bucket, so that a later audit
//! catches the newest digests deleted, changed or rolled back since — which
//! no run that starts from nothing can see.
//!
//! A checkpoint is one JSON document ([`SCHEMA`], [`SCHEMA_VERSION`]). Each
//! head carries every field its signature covers, so a head edited in the
//! file no longer verifies when the checkpoint is loaded (exit 2). Swapping
//! a whole head for an older genuine one cannot be caught that way: the
//! auditor keeps the checkpoint's SHA-256 in the case file (the reports
//! show it).

use crate::chain::Chain;
use crate::digest::SignatureText;
use crate::error::Error;
use crate::finding::{Finding, FindingCode, STORED_SHA256, UNCOMPRESSED_SHA256};
use crate::keys::{KeyLookup, KeyRing, SigningTime};
use crate::mirror::Inventory;
use crate::record::DigestRecord;
use crate::signature::{SignatureSource, SignedFields};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The `schema` of every checkpoint.
pub const SCHEMA: &str = "trailproof-checkpoint";

/// The version of the checkpoint format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Largest checkpoint read (a few hundred bytes per chain and partition).
const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

/// One audit's record of every chain's head: see the [module](self) docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The trailproof that wrote it.
    pub tool: ToolVersion,
    /// When the run that wrote it started.
    pub created_at: Timestamp,
    /// That run's verdict: `pass`, `fail` or `incomplete`.
    pub verdict: String,
    /// SHA-256 of the JSON report that run wrote, if it wrote one.
    pub report_sha256: Option<String>,
    /// The key files that run used.
    pub public_keys: Vec<KeyFileHash>,
    /// Every chain, with its head.
    pub chains: Vec<ChainHead>,
    /// Every partition (a day's log folder of one place), with its newest digest.
    pub partitions: Vec<PartitionHead>,
}

/// A program and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolVersion {
    /// `trailproof`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// A key file by name and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFileHash {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file (hex).
    pub sha256: String,
}

/// One chain and its newest digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// The chain's id (`[org/]account/region/trail@home[/backfill]`).
    pub chain: String,
    /// The bucket its head lies in.
    pub bucket: String,
    /// Account the chain delivers for.
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Its newest digest.
    pub head: HeadDigest,
}

/// A chain's newest digest: where it lay, its bytes' hashes and the fields
/// its signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadDigest {
    /// `s3://bucket/key` where it lay.
    pub object: String,
    /// `digestEndTime`, verbatim.
    pub digest_end_time: String,
    /// `digestS3Bucket`.
    pub digest_s3_bucket: String,
    /// `digestS3Object`.
    pub digest_s3_object: String,
    /// `digestPublicKeyFingerprint`.
    pub digest_public_key_fingerprint: String,
    /// `previousDigestSignature` (`None`: JSON null).
    pub previous_digest_signature: Option<String>,
    /// SHA-256 of the file's stored (compressed) bytes (hex).
    pub stored_sha256: String,
    /// Size of the file as stored.
    pub stored_size: u64,
    /// SHA-256 of its uncompressed content (hex): what the signature covers.
    pub inflated_sha256: String,
    /// The signature that verified it, if one did (hex).
    pub signature: Option<String>,
    /// Whether its signature verified and no later digest contradicted it.
    pub proven: bool,
}

/// One partition and its newest digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionHead {
    /// The partition's id (its day folder's `s3://` URL).
    pub id: String,
    /// The newest digest listing a file in it.
    pub newest_digest: Option<String>,
    /// Digests listing a file in it.
    pub digests: usize,
    /// Distinct log files listed in it.
    pub log_files_listed: usize,
    /// Of those, found with the listed hash.
    pub log_files_valid: usize,
}

/// A checkpoint read and authenticated for a run.
#[derive(Debug, Clone)]
pub(crate) struct LoadedCheckpoint {
    /// The path as given.
    pub path: PathBuf,
    /// SHA-256 of the file.
    pub sha256: [u8; 32],
    /// Its content.
    pub checkpoint: Checkpoint,
}

/// A checkpoint a run checked the mirror against, as the reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckpointUsed {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file (hex): compare it with the one kept in the case file.
    #[schemars(extend("pattern" = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// When the run that wrote it started.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub created_at: Timestamp,
    /// That run's verdict.
    #[schemars(extend("enum" = ["pass", "fail", "incomplete"]))]
    pub verdict: String,
    /// SHA-256 of that run's JSON report.
    #[schemars(extend("pattern" = "^[0-9a-f]{64}$"))]
    pub report_sha256: Option<String>,
    /// Chains it records.
    pub chains: usize,
}

impl LoadedCheckpoint {
    /// Reads `path` (a regular file, bounded, never blocking on a FIFO),
    /// checks its schema and that every proven head's signature verifies
    /// over the fields recorded with it.
    ///
    /// # Errors
    /// [`Error::CheckpointUnreadable`], [`Error::CheckpointInvalid`] or
    /// [`Error::CheckpointNotAuthentic`].
    pub fn load(path: &Path, keys: &KeyRing) -> Result<LoadedCheckpoint, Error> {
        let bytes =
            crate::evidence::read_regular(path, MAX_CHECKPOINT_BYTES).map_err(|source| {
                Error::CheckpointUnreadable {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        let invalid = |reason: String| Error::CheckpointInvalid {
            path: path.to_path_buf(),
            reason,
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("it is not a trailproof checkpoint: {e}")))?;
        if checkpoint.schema != SCHEMA {
            return Err(invalid(format!(
                "its schema is {:?}, not {SCHEMA:?}",
                checkpoint.schema
            )));
        }
        if checkpoint.schema_version != SCHEMA_VERSION {
            return Err(invalid(format!(
                "it has schema version {}; this trailproof reads version {SCHEMA_VERSION}",
                checkpoint.schema_version
            )));
        }
        for chain in &checkpoint.chains {
            let backfill = chain.chain.ends_with("/backfill");
            chain
                .check_identity()
                .and_then(|()| chain.head.check(keys, backfill))
                .map_err(|reason| Error::CheckpointNotAuthentic {
                    path: path.to_path_buf(),
                    chain: chain.chain.clone(),
                    reason,
                })?;
        }
        Ok(LoadedCheckpoint {
            path: path.to_path_buf(),
            sha256: Sha256::digest(&bytes).into(),
            checkpoint,
        })
    }

    /// How the reports name it.
    pub fn used(&self) -> CheckpointUsed {
        CheckpointUsed {
            path: self.path.display().to_string(),
            sha256: hex::encode(self.sha256),
            created_at: self.checkpoint.created_at,
            verdict: self.checkpoint.verdict.clone(),
            report_sha256: self.checkpoint.report_sha256.clone(),
            chains: self.checkpoint.chains.len(),
        }
    }
}

/// Whether `text` is a lower-case hex SHA-256.
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ChainHead {
    /// Checks that the chain, bucket, account and region recorded are those
    /// of its head's key (which its signature covers).
    fn check_identity(&self) -> Result<(), String> {
        let key = crate::chain::ChainKey::of_key(&self.head.digest_s3_object).ok_or_else(|| {
            format!(
                "its head's digest_s3_object {:?} is not a CloudTrail digest key",
                self.head.digest_s3_object
            )
        })?;
        let consistent = key.id() == self.chain
            && key.account == self.account
            && key.region == self.region
            && self.bucket == self.head.digest_s3_bucket;
        if consistent {
            Ok(())
        } else {
            Err(format!(
                "the chain, bucket, account and region recorded ({} in s3://{}, account {}, region {}) are not those of its head {}",
                self.chain, self.bucket, self.account, self.region, self.head.object
            ))
        }
    }
}

impl HeadDigest {
    /// The head's end time.
    fn end_time(&self) -> Result<Timestamp, String> {
        self.digest_end_time.parse().map_err(|e| {
            format!(
                "its digestEndTime {:?} is not a time: {e}",
                self.digest_end_time
            )
        })
    }

    /// Checks the hashes' form, that it lay where it names itself, and that
    /// its signature (when it has one; a proven head must) verifies over its fields.
    fn check(&self, keys: &KeyRing, backfill: bool) -> Result<(), String> {
        for (name, value) in [
            ("stored_sha256", &self.stored_sha256),
            ("inflated_sha256", &self.inflated_sha256),
        ] {
            if !is_sha256_hex(value) {
                return Err(format!("its head's {name} {value:?} is not a hex SHA-256"));
            }
        }
        let end = self.end_time()?;
        let named = crate::layout::s3_url(&self.digest_s3_bucket, &self.digest_s3_object);
        if named != self.object {
            return Err(format!(
                "its head lies at {} but names itself {named}",
                self.object
            ));
        }
        let Some(signature) = &self.signature else {
            return if self.proven {
                Err("its head is marked proven but has no signature".to_owned())
            } else {
                Ok(()) // the audit that wrote it could not prove it either
            };
        };
        let at = if backfill {
            SigningTime::AtOrAfter(end)
        } else {
            SigningTime::At(end)
        };
        let key = match keys.lookup(&self.digest_public_key_fingerprint, at) {
            KeyLookup::Found(entry) => &entry.key,
            _ => {
                return Err(format!(
                    "no supplied public key has the fingerprint {} its head {} was signed with",
                    self.digest_public_key_fingerprint, self.object
                ));
            }
        };
        self.fields()
            .verify(key, &SignatureText::new(signature))
            .map_err(|e| {
                format!(
                    "the signature recorded for its head {} does not verify over the fields recorded with it ({e}): the file was edited",
                    self.object
                )
            })
    }

    /// The fields its signature covers.
    fn fields(&self) -> SignedFields<'_> {
        SignedFields {
            end_time: &self.digest_end_time,
            bucket: &self.digest_s3_bucket,
            object: &self.digest_s3_object,
            content_sha256_hex: &self.inflated_sha256,
            previous_signature: self.previous_digest_signature.as_deref(),
        }
    }

    /// The S3 key it lay at.
    fn key(&self) -> &str {
        &self.digest_s3_object
    }
}

/// Every chain's head, from a run's records (all of them, whatever the time
/// range: the head is the newest digest read).
pub(crate) fn heads(records: &[DigestRecord], chains: &[Chain]) -> Vec<ChainHead> {
    chains
        .iter()
        .filter_map(|chain| {
            let record = chain
                .members
                .iter()
                .rev()
                .filter_map(|&i| records.get(i))
                .find(|r| r.parsed.is_ok() && r.stored.is_some())?;
            Some(ChainHead {
                chain: chain.key.id(),
                bucket: record.bucket.clone(),
                account: chain.key.account.clone(),
                region: chain.key.region.clone(),
                head: head_digest(record)?,
            })
        })
        .collect()
}

/// A record as a checkpoint head, with the signature its metadata held
/// when that proved it. (A chain's newest digest can only be proven by its
/// own metadata: no digest links to it yet.)
fn head_digest(record: &DigestRecord) -> Option<HeadDigest> {
    let digest = record.parsed.as_ref().ok()?;
    let stored = record.stored?;
    let verified_by = record.auth.as_ref().and_then(|a| a.verified_by);
    let signature = match verified_by {
        Some(SignatureSource::Sidecar | SignatureSource::Xattr) => {
            record.metadata.signature.clone()
        }
        Some(SignatureSource::NextDigest) | None => None,
    };
    Some(HeadDigest {
        object: record.url(),
        digest_end_time: digest.end_time_text.clone(),
        digest_s3_bucket: digest.bucket.clone(),
        digest_s3_object: digest.object.clone(),
        digest_public_key_fingerprint: digest.fingerprint.clone(),
        previous_digest_signature: digest
            .previous_signature
            .as_ref()
            .map(|s| s.text().into_owned()),
        stored_sha256: hex::encode(stored.sha256),
        stored_size: stored.len,
        inflated_sha256: digest.content_sha256_hex(),
        proven: record.is_authentic() && signature.is_some(),
        signature: signature.map(|s| s.text().into_owned()),
    })
}

/// The part of a chain an earlier audit verified: its digests up to the
/// head a checkpoint recorded, which is still there, unchanged, with the
/// chain going on through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrustedPart {
    /// The chain's id.
    pub chain: String,
    /// The head's `digestEndTime`: digests up to it are vouched for.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub until: Timestamp,
    /// The head's `s3://` URL.
    pub head: String,
    /// When the audit that verified it ran.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub verified_on: Timestamp,
    /// SHA-256 of that audit's JSON report, if it wrote one.
    #[schemars(extend("pattern" = "^[0-9a-f]{64}$"))]
    pub report_sha256: Option<String>,
    /// SHA-256 of the checkpoint file.
    #[schemars(extend("pattern" = "^[0-9a-f]{64}$"))]
    pub checkpoint_sha256: String,
}

/// What checking the mirror against the checkpoints came to.
#[derive(Debug, Default)]
pub(crate) struct CheckpointOutcome {
    /// `checkpoint.*` findings.
    pub findings: Vec<Finding>,
    /// Per chain, the newest part a checkpoint vouches for (chains with a
    /// checkpoint finding have none).
    pub trusted: Vec<TrustedPart>,
}

/// Checks the mirror against every checkpoint: each chain's head must still
/// be there, unchanged, with the chain passing through it and going on from it.
///
/// # Errors
/// [`Error::CheckpointForeign`] when a checkpoint knows none of the mirror's
/// buckets and accounts.
pub(crate) fn check(
    checkpoints: &[LoadedCheckpoint],
    records: &[DigestRecord],
    chains: &[Chain],
    inventory: &Inventory,
) -> Result<CheckpointOutcome, Error> {
    let present: BTreeSet<(&str, &str)> = records
        .iter()
        .filter_map(|r| Some((r.bucket.as_str(), r.layout.as_ref()?.account.as_str())))
        .collect();
    let mut outcome = CheckpointOutcome::default();
    if checkpoints.is_empty() {
        return Ok(outcome);
    }
    let ids: Vec<String> = chains.iter().map(|c| c.key.id()).collect();
    let by_id: HashMap<&str, &Chain> = ids.iter().map(String::as_str).zip(chains).collect();
    let by_url: HashMap<String, &DigestRecord> = records.iter().map(|r| (r.url(), r)).collect();
    for loaded in checkpoints {
        let heads = &loaded.checkpoint.chains;
        let known = |h: &&ChainHead| present.contains(&(h.bucket.as_str(), h.account.as_str()));
        if !heads.is_empty() && !heads.iter().any(|h| known(&h)) {
            return Err(Error::CheckpointForeign {
                path: loaded.path.clone(),
                theirs: places(
                    heads
                        .iter()
                        .map(|h| (h.bucket.as_str(), h.account.as_str())),
                ),
                ours: places(present.iter().copied()),
            });
        }
        let judge = Judge {
            records,
            inventory,
            checkpoint: loaded,
            by_url: &by_url,
        };
        for head in heads {
            match by_id.get(head.chain.as_str()) {
                Some(chain) => {
                    let found = judge.chain(head, chain);
                    if found.is_empty() {
                        outcome.trust(judge.trusted(head));
                    }
                    outcome.findings.extend(found);
                }
                None => outcome.findings.push(judge.chain_missing(head)),
            }
        }
    }
    // A chain some checkpoint finds fault with is verified in full.
    let CheckpointOutcome { findings, trusted } = &mut outcome;
    trusted.retain(|t| !findings.iter().any(|f| f.chain.as_ref() == Some(&t.chain)));
    Ok(outcome)
}

impl CheckpointOutcome {
    /// Adds a trusted part, keeping the newest per chain.
    fn trust(&mut self, part: Option<TrustedPart>) {
        let Some(part) = part else { return };
        match self.trusted.iter_mut().find(|t| t.chain == part.chain) {
            Some(known) if known.until < part.until => *known = part,
            Some(_) => {}
            None => self.trusted.push(part),
        }
    }
}

/// `bucket/account` pairs, for messages.
fn places<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let set: BTreeSet<String> = pairs
        .map(|(b, a)| format!("s3://{b} account {a}"))
        .collect();
    set.into_iter().collect::<Vec<_>>().join(", ")
}

/// Judges the mirror's chains against one checkpoint.
struct Judge<'a> {
    records: &'a [DigestRecord],
    /// Every digest read, by the `s3://` URL where it lies.
    by_url: &'a HashMap<String, &'a DigestRecord>,
    inventory: &'a Inventory,
    checkpoint: &'a LoadedCheckpoint,
}

impl Judge<'_> {
    /// "checkpoint F (written …)", for messages.
    fn source(&self) -> String {
        format!(
            "checkpoint {} (written {})",
            self.checkpoint.path.display(),
            self.checkpoint.checkpoint.created_at
        )
    }

    /// Where the head would lie in the mirror.
    fn head_path(&self, head: &ChainHead) -> Option<PathBuf> {
        match self.inventory.resolve(&head.bucket, head.head.key()) {
            Ok(file) => Some(self.inventory.path_of(file)),
            Err(path) => path,
        }
    }

    /// The part of the chain of `head` this checkpoint vouches for.
    fn trusted(&self, head: &ChainHead) -> Option<TrustedPart> {
        Some(TrustedPart {
            chain: head.chain.clone(),
            until: head.head.end_time().ok()?,
            head: head.head.object.clone(),
            verified_on: self.checkpoint.checkpoint.created_at,
            report_sha256: self.checkpoint.checkpoint.report_sha256.clone(),
            checkpoint_sha256: hex::encode(self.checkpoint.sha256),
        })
    }

    /// A chain the checkpoint knows and the mirror has no digest of.
    fn chain_missing(&self, head: &ChainHead) -> Finding {
        Finding::new(
            FindingCode::CheckpointChainMissing,
            head.head.object.clone(),
            format!(
                "The chain {} had digests up to {} when {} was written; the mirror holds no digest of it at all now.",
                head.chain,
                head.head.digest_end_time,
                self.source()
            ),
        )
        .at(self.head_path(head))
        .values(
            format!("digests of chain {} up to at least {}", head.chain, head.head.digest_end_time),
            "no digest of the chain",
        )
        .in_chain(Some(head.chain.clone()))
    }

    /// The findings about one checkpointed chain the mirror has.
    fn chain(&self, head: &ChainHead, chain: &Chain) -> Vec<Finding> {
        let mut findings = Vec::new();
        let Ok(head_end) = head.head.end_time() else {
            return findings; // refused when loaded
        };
        let url = &head.head.object;
        match self.by_url.get(url) {
            None => findings.push(self.head_missing(head)),
            Some(record) => findings.extend(self.head_modified(head, record)),
        }
        let newest = chain
            .members
            .iter()
            .rev()
            .filter_map(|&i| self.records.get(i))
            .find_map(|r| Some((r, r.time()?)));
        if let Some((record, end)) = newest
            && end < head_end
        {
            findings.push(self.rollback(head, record, end));
        }
        findings.extend(self.fork(head, head_end, chain));
        findings
    }

    fn head_missing(&self, head: &ChainHead) -> Finding {
        Finding::new(
            FindingCode::CheckpointHeadMissing,
            head.head.object.clone(),
            format!(
                "The newest digest of chain {} when {} was written is gone: digests were deleted after that audit.",
                head.chain,
                self.source()
            ),
        )
        .at(self.head_path(head))
        .values(
            format!("the digest ending at {}", head.head.digest_end_time),
            "no file",
        )
        .in_chain(Some(head.chain.clone()))
    }

    fn head_modified(&self, head: &ChainHead, record: &DigestRecord) -> Option<Finding> {
        let stored = record.stored?;
        let inflated = record.inflated_sha256.map(hex::encode);
        let (compared, expected, actual) = match inflated {
            Some(found) if found != head.head.inflated_sha256 => (
                UNCOMPRESSED_SHA256,
                head.head.inflated_sha256.clone(),
                found,
            ),
            _ if hex::encode(stored.sha256) != head.head.stored_sha256 => (
                STORED_SHA256,
                head.head.stored_sha256.clone(),
                hex::encode(stored.sha256),
            ),
            _ => return None,
        };
        let what = if compared == STORED_SHA256 {
            "its stored bytes differ (its uncompressed content is the same: it was compressed again)"
        } else {
            "its content differs"
        };
        Some(
            Finding::new(
                FindingCode::CheckpointHeadModified,
                head.head.object.clone(),
                format!(
                    "The newest digest of chain {} when {} was written is still there, but {what}.",
                    head.chain,
                    self.source()
                ),
            )
            .at(Some(record.path.clone()))
            .hashes(compared, expected, actual)
            .in_chain(Some(head.chain.clone())),
        )
    }

    fn rollback(&self, head: &ChainHead, newest: &DigestRecord, end: Timestamp) -> Finding {
        Finding::new(
            FindingCode::CheckpointRollback,
            head.head.object.clone(),
            format!(
                "Chain {} now ends at {} ({}), before its newest digest when {} was written: the mirror is older than that audit (rolled back, or its newest digests deleted).",
                head.chain,
                end,
                newest.url(),
                self.source()
            ),
        )
        .at(self.head_path(head))
        .values(
            format!("a newest digest ending at or after {}", head.head.digest_end_time),
            format!("{} ending at {end}", newest.url()),
        )
        .in_chain(Some(head.chain.clone()))
    }

    /// The first later digest of the chain whose link passes by the head.
    fn fork(&self, head: &ChainHead, head_end: Timestamp, chain: &Chain) -> Option<Finding> {
        let head_key = head.head.key();
        chain.members.iter().find_map(|&i| {
            let record = self.records.get(i)?;
            let digest = record.parsed.as_ref().ok()?;
            if digest.end_time <= head_end {
                return None;
            }
            let link = digest.previous.as_ref()?;
            let names_head = link.bucket == head.head.digest_s3_bucket && link.object == head_key;
            let actual = if names_head {
                let hash = link.hash_value.as_deref().unwrap_or("null");
                if hash == head.head.inflated_sha256 {
                    return None;
                }
                format!("{} with previousDigestHashValue {hash}", head.head.object)
            } else {
                let before = crate::layout::DigestKey::parse(&link.object)
                    .is_some_and(|k| k.name.time <= head_end);
                if !before {
                    return None;
                }
                crate::layout::s3_url(&link.bucket, &link.object)
            };
            Some(
                Finding::new(
                    FindingCode::CheckpointFork,
                    record.url(),
                    format!(
                        "This digest of chain {} follows the chain's newest digest when {} was written, but its previous link does not lead through it: the chain was rewritten after that audit.",
                        head.chain,
                        self.source()
                    ),
                )
                .at(Some(record.path.clone()))
                .values(
                    format!(
                        "a link to {} with previousDigestHashValue {}",
                        head.head.object, head.head.inflated_sha256
                    ),
                    format!("a link to {actual}"),
                )
                .in_chain(Some(head.chain.clone())),
            )
        })
    }
}

impl Checkpoint {
    /// The checkpoint as pretty JSON, ending in a newline.
    ///
    /// # Errors
    /// Never in practice (the types serialize infallibly); the I/O error of `out`.
    pub fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("c.json");
        std::fs::write(&path, b"0123456789").expect("write");
        assert_eq!(
            crate::evidence::read_regular(&path, 10)
                .expect("fits")
                .len(),
            10
        );
        let error = crate::evidence::read_regular(&path, 9).expect_err("one byte too many");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            crate::evidence::read_regular(dir.path(), 100).is_err(),
            "a folder is not a checkpoint"
        );
    }

    #[test]
    fn only_lower_case_hex_sha256_is_a_hash() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"ab".repeat(31)), "too short");
        assert!(!is_sha256_hex(&"AB".repeat(32)), "upper case");
        assert!(!is_sha256_hex(&"xy".repeat(32)), "not hex");
    }
}
