//! What each finding code means, for `trailproof explain CODE`: the same
//! one-line meaning and advice the reports carry ([`FindingCode::summary`],
//! [`default_help`]), plus what usually causes it and what it proves.

use crate::finding::{FindingCode, Severity, default_help};

/// Everything there is to say about one finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The code explained.
    pub code: FindingCode,
    /// Its severity.
    pub severity: Severity,
    /// What a finding of this code means (the reports' one-line summary).
    pub meaning: &'static str,
    /// What usually causes it, innocent causes first.
    pub causes: &'static str,
    /// What a finding of this code proves.
    pub proves: &'static str,
    /// What it does not prove.
    pub does_not_prove: &'static str,
    /// What to do (the reports' help text for it).
    pub action: &'static str,
}

impl Explanation {
    /// The exit status a run with a finding of this code (and nothing worse) ends with.
    #[must_use]
    pub fn exit_status(&self) -> &'static str {
        if self.code.leaves_run_incomplete() {
            "2 (the run is incomplete), unless an error elsewhere makes it 1"
        } else if self.severity == Severity::Error {
            "1 (the evidence is not intact), unless --fail-on never"
        } else {
            "0, unless --fail-on warning (then 1)"
        }
    }
}

/// The code whose stable string form is `name` (`digest.missing`), if any.
#[must_use]
pub fn code_named(name: &str) -> Option<FindingCode> {
    FindingCode::ALL
        .iter()
        .copied()
        .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
}

/// The codes whose names are close to `name`, for "did you mean": those it
/// begins, else those holding it or its last word, or at most two edits away.
#[must_use]
pub fn codes_like(name: &str) -> Vec<FindingCode> {
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let starting: Vec<FindingCode> = FindingCode::ALL
        .iter()
        .copied()
        .filter(|c| c.as_str().starts_with(&name))
        .collect();
    if !starting.is_empty() {
        return starting;
    }
    let tail = name.rsplit(['.', '_']).next().unwrap_or_default();
    FindingCode::ALL
        .iter()
        .copied()
        .filter(|c| {
            let code = c.as_str();
            code.contains(&name)
                || (tail.len() >= 3 && code.contains(tail))
                || strsim::levenshtein(code, &name) <= 2
        })
        .collect()
}

/// The explanation of `code`.
#[must_use]
pub fn explain(code: FindingCode) -> Explanation {
    let (causes, proves, does_not_prove) = texts(code);
    Explanation {
        code,
        severity: code.severity(),
        meaning: code.summary(),
        causes,
        proves,
        does_not_prove,
        action: default_help(code),
    }
}

/// Causes, what it proves, what it does not prove.
fn texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::DigestMissing
        | FindingCode::DigestSignatureInvalid
        | FindingCode::DigestModified
        | FindingCode::DigestMoved
        | FindingCode::DigestMalformed
        | FindingCode::DigestKeyUnknown
        | FindingCode::DigestUnsigned
        | FindingCode::DigestNotExamined => digest_texts(code),
        FindingCode::LogMissing
        | FindingCode::LogModified
        | FindingCode::LogMalformed
        | FindingCode::LogUnreferenced
        | FindingCode::LogUnverified
        | FindingCode::LogUnsafePath
        | FindingCode::LogMoved
        | FindingCode::LogNotCovered => log_texts(code),
        FindingCode::LogDeleted
        | FindingCode::LogDeletedVersionExists
        | FindingCode::LogOverwrittenVersionExists => history_texts(code),
        FindingCode::CollectionModified
        | FindingCode::CollectionAdded
        | FindingCode::CollectionRemoved
        | FindingCode::CollectionConflict
        | FindingCode::CollectionIncomplete
        | FindingCode::CollectionRecordInvalid => collection_texts(code),
        FindingCode::QuerySignFileMissing
        | FindingCode::QuerySignFileMalformed
        | FindingCode::QuerySignatureInvalid
        | FindingCode::QueryKeyNotValid
        | FindingCode::QueryFileMissing
        | FindingCode::QueryFileModified
        | FindingCode::QueryFileNotRegular
        | FindingCode::QueryUnsafeName
        | FindingCode::QueryFileUnlisted => query_texts(code),
        FindingCode::MirrorUnreadable
        | FindingCode::MirrorNotRegular
        | FindingCode::MirrorInvalidName
        | FindingCode::MirrorStrayFile => mirror_texts(code),
        FindingCode::ChainGap
        | FindingCode::ChainOutOfOrder
        | FindingCode::ChainEndsEarly
        | FindingCode::ChainStopped
        | FindingCode::ChainStartsLate
        | FindingCode::ChainStarted => chain_texts(code),
        FindingCode::CheckpointHeadMissing
        | FindingCode::CheckpointHeadModified
        | FindingCode::CheckpointRollback
        | FindingCode::CheckpointFork
        | FindingCode::CheckpointChainMissing => checkpoint_texts(code),
    }
}

fn digest_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::DigestMissing => (
            "The digest was deleted from the bucket or the mirror, the copy (aws s3 sync, rclone) was interrupted or filtered, or the mirror was taken from a prefix that misses part of the chain.",
            "A later, verified digest names this digest (key, SHA-256 and signature): CloudTrail delivered it, and it is not in the mirror.",
            "Not that the log files it listed were altered: those no remaining digest lists are reported on their own (log.not_covered or log.unreferenced).",
        ),
        FindingCode::DigestSignatureInvalid => (
            "The digest's content or its signature was changed after delivery, the signature sidecar belongs to another digest, or the key with its fingerprint is not the one CloudTrail signed with.",
            "The bytes and signature present do not verify with the public key named by the digest's fingerprint.",
            "Not who changed it, nor that the log files it lists were changed (they are checked against it all the same and reported as log.unverified).",
        ),
        FindingCode::DigestModified => (
            "The digest file was edited, re-compressed or replaced after the next digest was signed.",
            "The SHA-256 of the file differs from the hash the next, verified digest recorded for it: this is not the file CloudTrail delivered.",
            "Not what was changed in it: compare with the bucket's object versions.",
        ),
        FindingCode::DigestMoved => (
            "The file was copied or renamed to another key (another date folder, region or account), or a digest of another bucket was placed here.",
            "The digest's own signed digestS3Bucket/digestS3Object name another place than where it lies.",
            "Not that its content was changed: its signature and its log files are still checked.",
        ),
        FindingCode::DigestMalformed => (
            "A truncated download, data appended to the gzip stream, a file that is not gzip or not JSON, or a digest larger than --max-digest-mib.",
            "The file cannot be read as one complete CloudTrail digest, so nothing it would say can be trusted.",
            "Not deliberate tampering by itself: a broken transfer looks the same. Re-download and compare.",
        ),
        FindingCode::DigestKeyUnknown => (
            "The key file given with --public-keys lacks the region's key for that time (keys rotate), or is another partition's (aws-cn, aws-us-gov), or the digest names a fingerprint CloudTrail never used.",
            "No public key supplied can check the signature, so the digest is unauthenticated.",
            "Not that the digest is forged: with the right key file it may verify. This is usually a mistake in the key file.",
        ),
        FindingCode::DigestUnsigned => (
            "The mirror was copied without S3 object metadata (aws s3 sync drops it; rclone --metadata or a head-object sidecar keeps it), and no later digest carries its signature.",
            "Nothing: no signature is available for this digest, so its content is not authenticated.",
            "Not that it was altered; save its metadata beside it to verify it.",
        ),
        FindingCode::DigestNotExamined => (
            "The digests list more log files than --memory-budget-mib lets the run hold at once, or a digest changed while it was being read.",
            "Part of the evidence was not examined: the run is incomplete.",
            "Nothing about the files that were not examined, good or bad.",
        ),
        _ => ("", "", ""),
    }
}

fn log_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::LogMissing => (
            "The log file was deleted from the bucket or the mirror, or the copy was interrupted, filtered (--exclude) or taken from a partial prefix.",
            "An authentic digest lists this log file with its hash: CloudTrail delivered it, and it is not at its key in the mirror.",
            "Not what the file held. Restore it and re-run to check it.",
        ),
        FindingCode::LogModified => (
            "The log file was edited (events added, removed or changed) and re-compressed, or replaced by another file.",
            "The SHA-256 of its uncompressed bytes differs from the hash an authentic digest recorded: its content is not what CloudTrail delivered.",
            "Not which events changed: compare with the bucket's object versions.",
        ),
        FindingCode::LogMalformed => (
            "A truncated download, data appended after the gzip stream, or a corrupted or bombed file.",
            "The file at the listed key is not one complete, valid gzip stream, so it is not the file CloudTrail delivered.",
            "Not whether the events in it were altered; a broken transfer looks the same.",
        ),
        FindingCode::LogUnreferenced => (
            "A file was placed in the mirror (injected events), a digest listing it was removed and replaced, or another trail delivers into the same folder with its digests missing.",
            "No authentic digest covering its delivery time lists it: CloudTrail did not vouch for this file.",
            "Not that its events are false; only that nothing proves they are CloudTrail's.",
        ),
        FindingCode::LogUnverified => (
            "The only digests listing it have findings of their own (bad or missing signature, unknown key).",
            "Nothing about the file itself: it matches what an unauthenticated digest says.",
            "Not that it is intact or altered: fix the digest's finding first.",
        ),
        FindingCode::LogUnsafePath => (
            "A digest (possibly forged) names a key with `..`, an absolute path, NUL or backslashes, or one leading through a symbolic link in the mirror.",
            "The digest names a key that cannot be a plain file of the mirror; it was not opened.",
            "Not that the digest is forged, if its signature verifies: then S3 holds such a key.",
        ),
        FindingCode::LogMoved => (
            "The log file was renamed or copied to another key (date folder, region, account).",
            "A file with exactly the listed content lies at another key, and nothing lies at the listed one.",
            "Not that events were changed: the content is intact; where it lies is not.",
        ),
        FindingCode::LogNotCovered => (
            "The digest of its hour is missing (see digest.missing), log file validation was off then, or the mirror's digests end before its delivery.",
            "No digest present covers the time it was delivered in, so it cannot be verified.",
            "Not that it was injected or altered.",
        ),
        _ => ("", "", ""),
    }
}

fn history_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::LogDeleted => (
            "Someone with s3:DeleteObject deleted the log file after CloudTrail delivered it, and its older versions were removed too (or the bucket was not versioned then).",
            "An authentic digest lists the file, and the bucket's own versioning records a delete marker for its key (when the deletion happened).",
            "Who deleted it: see CloudTrail data events or S3 server access logs for the marker's time.",
        ),
        FindingCode::LogDeletedVersionExists => (
            "Someone deleted the log file after delivery on a versioned bucket, which kept the original as a noncurrent version.",
            "The object was deleted (the delete marker's time), and a saved older version has exactly the content the authentic digest lists: nothing of its events is lost.",
            "Who deleted it, or why.",
        ),
        FindingCode::LogOverwrittenVersionExists => (
            "Someone wrote other content to the log file's key after delivery, on a versioned bucket that kept the original.",
            "The current object is not what CloudTrail delivered, and a saved older version has exactly the listed content: the original survives.",
            "Who overwrote it, or what the change was meant to hide: compare the two versions.",
        ),
        _ => ("", "", ""),
    }
}

fn collection_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::CollectionModified => (
            "The collected folder was edited, damaged or partly replaced after `trailproof collect` wrote it (during transport, on a shared drive, by a person).",
            "The file's bytes differ from the SHA-256 the collection record took as it wrote them: the change happened on this side of the chain of custody, after collection.",
            "Anything about the bucket: the object may still be intact there. Not who changed it.",
        ),
        FindingCode::CollectionAdded => (
            "A file was copied into the collected folder after collection: by hand, by another sync tool, or to plant evidence.",
            "The collection record, written when the folder was filled, does not list it.",
            "That the file is forged: it may be a genuine object added from another copy. It did not come from this collection.",
        ),
        FindingCode::CollectionRemoved => (
            "A file was deleted from the collected folder after collection, or the folder was copied incompletely.",
            "The collection record lists the file with its hash, and it is not there now.",
            "That the bucket lost it: the object was in the bucket at collection time.",
        ),
        FindingCode::CollectionConflict => (
            "The folder already held a file at that key (an earlier copy, a manual edit) whose bytes differ from the bucket's object; collect never overwrites.",
            "At collection, the local file and the bucket's object differed (compared by downloading the object).",
            "Which one is genuine: the digests decide that (see the file's log.* or digest.* findings).",
        ),
        FindingCode::CollectionIncomplete => (
            "`trailproof collect` was interrupted (Ctrl-C, lost connection, a killed job) or could not fetch some objects (permissions, throttling that outlasted the retries).",
            "The folder's collection did not finish: not every object of the bucket was taken or checked.",
            "That anything is missing from the bucket.",
        ),
        FindingCode::CollectionRecordInvalid => (
            "The record or its object list was edited, truncated or replaced after collection, or written by another tool.",
            "The collection record cannot vouch for this folder: it is unreadable, or its object list's SHA-256 differs from the one the record holds.",
            "That the evidence files themselves were changed: the digests still prove or disprove them.",
        ),
        _ => ("", "", ""),
    }
}

fn query_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::QuerySignFileMissing => (
            "The query was run without signing, the sign file was not copied with the results, or it was removed.",
            "Nothing vouches for the result files: their content cannot be proven to be what CloudTrail Lake returned.",
            "That the results were altered: only that they cannot be proven.",
        ),
        FindingCode::QuerySignFileMalformed => (
            "The sign file was truncated or edited, or written by something other than CloudTrail Lake.",
            "The export's proof cannot be read: no result file can be proven by it.",
            "Which result file, if any, was changed.",
        ),
        FindingCode::QuerySignatureInvalid => (
            "A result file's hash in the sign file, the order of the files, or the signature itself was changed; or the sign file was forged.",
            "The list of result files and hashes is not the one CloudTrail signed.",
            "That the result files differ from what CloudTrail returned: their own findings say that.",
        ),
        FindingCode::QueryKeyNotValid => (
            "The sign file's queryCompleteTime or publicKeyFingerprint was changed, or a key list of another time was supplied.",
            "CloudTrail did not publish the named key as valid when the query completed (nor in the 20 days after).",
            "That the signature is forged: it may verify with the key, which would then be used outside its published window.",
        ),
        FindingCode::QueryFileMissing => (
            "The file was not copied with the export, or was deleted or renamed since.",
            "A result CloudTrail Lake signed for is absent: the results are incomplete.",
            "What it held, or that it was removed on purpose.",
        ),
        FindingCode::QueryFileModified => (
            "The file was edited, truncated, re-compressed or replaced after CloudTrail Lake wrote it.",
            "Its stored bytes are not those CloudTrail signed for (SHA-256 of the stored, compressed bytes, as the AWS CLI compares).",
            "What changed inside it: re-compressing the same rows changes the bytes too.",
        ),
        FindingCode::QueryFileNotRegular => (
            "The export was copied with links kept, or a link, FIFO or device was put in place of a result file.",
            "The listed result is not a file in the export; trailproof did not follow or open it.",
            "What the link points to, nor that it is malicious.",
        ),
        FindingCode::QueryUnsafeName => (
            "The sign file was edited to point at a file outside the export (an absolute path, `..`), or was not written by CloudTrail Lake.",
            "The sign file names something no export holds; it was not opened (the AWS CLI would open it).",
            "Anything about the other result files.",
        ),
        FindingCode::QueryFileUnlisted => (
            "Other files were copied into the export folder (keys, notes, another query's results), or a result file was added.",
            "The signature does not cover this file: it is not part of the signed results.",
            "That the listed results were changed.",
        ),
        _ => ("", "", ""),
    }
}

fn mirror_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::MirrorUnreadable => (
            "The user running trailproof lacks read permission on a folder or file of the mirror, or the file system returned an I/O error.",
            "Part of the mirror was not examined: the run is incomplete (exit 2).",
            "Nothing about the evidence: it is a problem of the machine or the user, not of the archive.",
        ),
        FindingCode::MirrorNotRegular => (
            "A symbolic link, FIFO, socket or device was placed in the mirror, or a copy tool kept links of the source.",
            "Where S3 holds only objects, the mirror holds something else; it was not followed or opened.",
            "Not what the link points to, nor that it is malicious.",
        ),
        FindingCode::MirrorInvalidName => (
            "A file was created in the mirror by something other than a copy from S3, or a copy tool mangled its name.",
            "The name is not UTF-8, so no S3 key has it: it cannot have come from the bucket.",
            "Not what it holds: it was not examined.",
        ),
        FindingCode::MirrorStrayFile => (
            "A desktop's metadata file (.DS_Store, Thumbs.db), an interrupted download's temporary file, or a file put there by hand.",
            "The file is not a CloudTrail object, so no digest can vouch for it.",
            "Not tampering: such files are common. It is a warning.",
        ),
        _ => ("", "", ""),
    }
}

fn chain_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::ChainGap => (
            "Logging was stopped and started again, or log file validation was turned off and on (StopLogging/StartLogging, UpdateTrail); trailproof names the calls when the trail's logs record them.",
            "CloudTrail started a new chain: digests before and after are not linked, so deleting digests across the gap would not show in the links.",
            "Not tampering by itself: a restart is normal when logging stops. Check who stopped it and why.",
        ),
        FindingCode::ChainOutOfOrder => (
            "Digests were renamed or their times altered, or two digests were made to claim the same predecessor (a forked chain).",
            "The links between digests contradict their times or each other.",
            "Not which digest is the genuine one: the signatures and the bucket's object versions tell.",
        ),
        FindingCode::ChainEndsEarly => (
            "The newest digests (and their logs) were deleted, the mirror was copied before --collected-at says, or CloudTrail stopped delivering without a recorded call.",
            "With --collected-at, the chain's newest digest ends more than --max-lag before the mirror was taken, and the trail's own logs record no call that stopped logging.",
            "Not that digests were deleted if --collected-at is wrong: it is taken on the auditor's word.",
        ),
        FindingCode::ChainStopped => (
            "Someone stopped logging, deleted the trail or turned validation off; the finding names when, who and from where.",
            "The trail's own authentic logs record the call that ended the chain.",
            "Not that the call was legitimate: check that person's authority for it.",
        ),
        FindingCode::ChainStartsLate => (
            "The region was added to the trail later, its oldest digests were deleted, or the mirror misses them.",
            "With --collected-at, the chain starts more than --max-lag after its trail's oldest digest in another region, and no recorded call explains it.",
            "Not deletion by itself: compare with the trail's history.",
        ),
        FindingCode::ChainStarted => (
            "Logging or validation was started then (StartLogging, CreateTrail, UpdateTrail).",
            "The trail's own authentic logs record the call that started the chain.",
            "Not that the earlier time was never logged elsewhere.",
        ),
        _ => ("", "", ""),
    }
}

fn checkpoint_texts(code: FindingCode) -> (&'static str, &'static str, &'static str) {
    match code {
        FindingCode::CheckpointHeadMissing => (
            "Digests were deleted after the earlier audit, or this mirror is another or older copy.",
            "The digest the earlier audit saw as the chain's newest, recorded with its hashes and signature, is not in the mirror now.",
            "Not what else changed; the rest of the chain is still verified.",
        ),
        FindingCode::CheckpointHeadModified => (
            "The head digest was edited, re-compressed or replaced since the earlier audit.",
            "Its bytes differ from the SHA-256 the checkpoint recorded (the finding says whether the stored or the uncompressed hash).",
            "Not which copy is genuine if the checkpoint itself was not kept safe.",
        ),
        FindingCode::CheckpointRollback => (
            "The newest digests were deleted after the earlier audit, or the mirror was restored from an older copy.",
            "The chain now ends before the head the earlier audit recorded.",
            "Nothing about the files the chain still holds: they are verified as usual.",
        ),
        FindingCode::CheckpointFork => (
            "The chain after the checkpointed head was rewritten, which needs CloudTrail's private key or a re-signed forgery with a supplied key.",
            "A digest after the head links past it, or links to it with another hash.",
            "Not how it was done: preserve both the checkpoint and the mirror.",
        ),
        FindingCode::CheckpointChainMissing => (
            "A whole region's or account's digests were deleted, the mirror was taken with a narrower prefix, or a filter left the chain out.",
            "A chain the earlier audit verified has no digest in the mirror at all.",
            "Not deletion, if this run was deliberately narrowed to part of the bucket.",
        ),
        _ => ("", "", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_explained_in_full() {
        for &code in FindingCode::ALL {
            let e = explain(code);
            for (what, text) in [
                ("causes", e.causes),
                ("proves", e.proves),
                ("does_not_prove", e.does_not_prove),
            ] {
                assert!(text.len() > 20, "{code}: {what} is empty");
            }
            assert_eq!(e.action, default_help(code));
            assert_eq!(e.meaning, code.summary());
            assert_eq!(code_named(code.as_str()), Some(code));
        }
    }

    #[test]
    fn names_are_looked_up_exactly_and_loosely() {
        assert_eq!(code_named(" LOG.Modified "), Some(FindingCode::LogModified));
        assert_eq!(code_named("log.modifie"), None);
        assert_eq!(codes_like("log.modifie"), vec![FindingCode::LogModified]);
        assert!(codes_like("missing").contains(&FindingCode::DigestMissing));
        assert!(codes_like("missing").contains(&FindingCode::LogMissing));
        assert_eq!(codes_like("log.modifed"), vec![FindingCode::LogModified]);
        assert!(codes_like("zzz").is_empty());
    }

    #[test]
    fn exit_statuses_follow_the_gate() {
        assert!(
            explain(FindingCode::LogModified)
                .exit_status()
                .starts_with('1')
        );
        assert!(
            explain(FindingCode::ChainGap)
                .exit_status()
                .starts_with('0')
        );
        assert!(
            explain(FindingCode::MirrorUnreadable)
                .exit_status()
                .starts_with('2')
        );
    }
}
