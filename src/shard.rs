//! Shard plans: one audit split into pieces that a batch engine (Slurm,
//! Kubernetes, AWS Batch) runs in parallel.
//!
//! [`Plan::make`] assigns every place (account × delivering region) to one of
//! N shards, balanced by bytes, and lists per shard the S3 prefixes it needs.
//! `verify --plan --shard K` then runs with the [`ShardScope`] of shard K:
//! the digests of every place are still read as evidence (they may link to or
//! list what lies in another place), but only shard K's places' log files
//! are read, and only findings about objects in its places (and, for shard 0,
//! objects in no place) are reported. The scopes of a plan's shards divide
//! the objects of the archive between them: every finding of a single run is
//! a finding of exactly one shard.

use crate::layout::{Location, Service, parse_layout, s3_url};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `format` of a plan file.
pub const FORMAT: &str = "trailproof-plan/1";

/// Most shards a plan may have (`plan --shards`).
pub const MAX_SHARDS: usize = 100_000;

/// Largest plan file read (a plan lists places, not files).
const MAX_PLAN_BYTES: u64 = 256 << 20;

/// A shard plan: written by `trailproof plan`, read by `verify --plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`FORMAT`].
    pub format: String,
    /// The tool that planned (`trailproof 0.1.0`).
    pub tool: String,
    /// When the plan was made.
    pub created_at: Timestamp,
    /// Where the sizes came from (mirror folders or collection listings).
    pub sources: Vec<Source>,
    /// Bytes and files of the whole archive.
    pub total: Load,
    /// The shards, indexed from 0.
    pub shards: Vec<Shard>,
    /// Every digest folder (`s3://…/CloudTrail-Digest/REGION/`): every shard
    /// needs them all, as the digests of one place may list or link to what
    /// lies in another.
    pub digest_prefixes: Vec<String>,
}

/// One input of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `mirror` (a folder walked) or `listing` (a `collect` listing read).
    pub kind: String,
    /// The path as given.
    pub path: String,
    /// The bucket, when known.
    pub bucket: Option<String>,
    /// The key prefix of the source in its bucket.
    pub prefix: String,
}

/// Bytes and files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Stored bytes.
    pub bytes: u64,
    /// Files.
    pub files: u64,
}

impl Load {
    fn add(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.files = self.files.saturating_add(1);
    }

    fn add_load(&mut self, other: Load) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.files = self.files.saturating_add(other.files);
    }
}

/// One shard of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Its index (0-based: Slurm `--array=0-(N-1)`, Kubernetes
    /// `JOB_COMPLETION_INDEX`, AWS Batch `AWS_BATCH_JOB_ARRAY_INDEX`).
    pub index: usize,
    /// Bytes and files of its places (and, for shard 0, of what lies in no place).
    pub load: Load,
    /// Whether it also judges what lies in no place (shard 0 only).
    pub outside: bool,
    /// Its places, largest first.
    pub places: Vec<Place>,
    /// What a node running it fetches: its places' log folders, then every
    /// digest folder (`s3://bucket/prefix/`, ending with `/`; a key prefix
    /// alone when the source's bucket is not known).
    pub prefixes: Vec<String>,
}

/// One place: the files of one account folder and delivering region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Account id folder (a member account for an organization trail).
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Its bytes and files (logs and digests).
    pub load: Load,
}

/// Why a plan could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A source or the plan file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The shard index is outside the plan.
    #[error(
        "shard {index} is not in the plan (it has shards 0 to {}): give --shard, or start the array job at index 0",
        shards.saturating_sub(1)
    )]
    NoSuchShard {
        /// The index asked for.
        index: usize,
        /// How many shards the plan has.
        shards: usize,
    },
    /// No shard index was given and no engine's index variable is set.
    #[error(
        "no shard given: pass --shard K, or run under an engine that sets SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX"
    )]
    NoShardIndex,
}

/// The files of an archive, by place, as a plan needs them.
#[derive(Debug, Default)]
pub struct Sizes {
    sources: Vec<Source>,
    places: BTreeMap<(String, String), PlaceSizes>,
    outside: Load,
    digest_prefixes: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct PlaceSizes {
    load: Load,
    log_prefixes: BTreeSet<String>,
}

impl Sizes {
    /// Counts one object of `bucket` (`None`: a folder whose bucket is unknown).
    pub fn add(&mut self, bucket: Option<&str>, key: &str, bytes: u64) {
        for service in [Service::Logs, Service::Digests] {
            if let Some(layout) = parse_layout(key, service.folder()) {
                let location = Location::of(bucket.unwrap_or_default(), &layout);
                let place = self
                    .places
                    .entry((location.account.clone(), location.region.clone()))
                    .or_default();
                place.load.add(bytes);
                // Without a bucket name (a folder not named after its
                // bucket), the prefix is the key's, relative to the bucket.
                let folder = match bucket {
                    Some(bucket) => s3_url(bucket, &location.folder(service)),
                    None => location.folder(service),
                };
                match service {
                    Service::Logs => place.log_prefixes.insert(folder),
                    Service::Digests => self.digest_prefixes.insert(folder),
                };
                return;
            }
        }
        self.outside.add(bytes);
    }

    /// Walks a mirror folder as `verify` does (links are not followed,
    /// folders are read without changing their access times, the collection
    /// folder is not evidence), counting every regular file.
    ///
    /// # Errors
    /// When the folder is not a mirror root that can be read.
    pub fn add_mirror(&mut self, path: &Path) -> Result<(), PlanError> {
        use crate::evidence::{EntryKind, read_folder};
        let inventory =
            crate::mirror::scan(&[path.to_path_buf()]).map_err(|e| PlanError::Invalid {
                path: path.to_path_buf(),
                what: e.to_string(),
            })?;
        let root = inventory.roots.into_iter().next();
        let (bucket, prefix) = root.map(|r| (r.bucket, r.prefix)).unwrap_or_default();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            let Ok(entries) = read_folder(&path.join(&rel), rel.is_empty()) else {
                continue; // `verify` reports what it cannot read
            };
            for entry in entries {
                let Some(name) = entry.name.to_str() else {
                    continue; // no S3 key: `verify` reports the name
                };
                if rel.is_empty() && name == crate::layout::COLLECTION_DIR {
                    continue;
                }
                let child = if rel.is_empty() {
                    name.to_owned()
                } else {
                    format!("{rel}/{name}")
                };
                match entry.kind {
                    EntryKind::Folder => pending.push(child),
                    EntryKind::File(bytes) => {
                        self.add(bucket.as_deref(), &format!("{prefix}{child}"), bytes);
                    }
                    EntryKind::Other | EntryKind::Unknown(_) => {}
                }
            }
        }
        self.sources.push(Source {
            kind: "mirror".to_owned(),
            path: path.to_string_lossy().into_owned(),
            bucket,
            prefix,
        });
        Ok(())
    }

    /// Reads a `trailproof collect` listing (`objects.jsonl` of a collection
    /// folder; its `record.json` beside it names the bucket).
    ///
    /// # Errors
    /// When the listing or its record cannot be read or parsed.
    pub fn add_listing(&mut self, path: &Path) -> Result<(), PlanError> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let record_path = folder.join(crate::custody::RECORD_FILE);
        let record: crate::custody::CollectionRecord =
            serde_json::from_slice(&read_bounded(&record_path)?).map_err(|e| {
                PlanError::Invalid {
                    path: record_path.clone(),
                    what: format!("not a collection record: {e}"),
                }
            })?;
        let text = read_bounded(path)?;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry: crate::custody::FileEntry =
                serde_json::from_slice(line).map_err(|e| PlanError::Invalid {
                    path: path.to_path_buf(),
                    what: format!("line {}: not a listing entry: {e}", number + 1),
                })?;
            if entry.kind == crate::custody::RecordKind::Object {
                let key = entry
                    .key
                    .unwrap_or_else(|| format!("{}{}", record.prefix, entry.path));
                self.add(Some(&record.bucket), &key, entry.size);
            }
        }
        self.sources.push(Source {
            kind: "listing".to_owned(),
            path: path.to_string_lossy().into_owned(),
            bucket: Some(record.bucket),
            prefix: record.prefix,
        });
        Ok(())
    }
}

/// Reads a small file whole (a regular file, never blocking on a FIFO),
/// refusing one over [`MAX_PLAN_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, PlanError> {
    crate::evidence::read_regular(path, MAX_PLAN_BYTES).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl Plan {
    /// Splits the archive `sizes` describe into `shards` shards (at least
    /// one): places go, largest first, to the shard with the fewest bytes so
    /// far (ties: the lower index); what lies in no place goes to shard 0.
    #[must_use]
    pub fn make(sizes: Sizes, shards: usize) -> Plan {
        let count = shards.max(1);
        let mut out: Vec<Shard> = (0..count)
            .map(|index| Shard {
                index,
                load: Load::default(),
                outside: index == 0,
                places: Vec::new(),
                prefixes: Vec::new(),
            })
            .collect();
        let mut total = sizes.outside;
        if let Some(first) = out.first_mut() {
            first.load = sizes.outside;
        }
        let mut places: Vec<((String, String), PlaceSizes)> = sizes.places.into_iter().collect();
        // Largest first; equal sizes in place order, so a plan is a function of its input.
        places.sort_by(|(a, x), (b, y)| y.load.bytes.cmp(&x.load.bytes).then(a.cmp(b)));
        let mut log_prefixes: Vec<BTreeSet<String>> = vec![BTreeSet::new(); count];
        for ((account, region), place) in places {
            total.add_load(place.load);
            let Some(shard) = out.iter_mut().min_by_key(|s| (s.load.bytes, s.index)) else {
                continue;
            };
            shard.load.add_load(place.load);
            if let Some(set) = log_prefixes.get_mut(shard.index) {
                set.extend(place.log_prefixes);
            }
            shard.places.push(Place {
                account,
                region,
                load: place.load,
            });
        }
        let digest_prefixes: Vec<String> = sizes.digest_prefixes.into_iter().collect();
        for (shard, logs) in out.iter_mut().zip(log_prefixes) {
            shard.prefixes = logs.into_iter().chain(digest_prefixes.clone()).collect();
        }
        Plan {
            format: FORMAT.to_owned(),
            tool: format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            created_at: Timestamp::now(),
            sources: sizes.sources,
            total,
            shards: out,
            digest_prefixes,
        }
    }

    /// Reads a plan file, with the SHA-256 of its bytes.
    ///
    /// # Errors
    /// When it cannot be read or is not a plan.
    pub fn load(path: &Path) -> Result<(Plan, String), PlanError> {
        let bytes = read_bounded(path)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| PlanError::Invalid {
            path: path.to_path_buf(),
            what: format!("not a trailproof plan: {e}"),
        })?;
        if plan.format != FORMAT {
            return Err(PlanError::Invalid {
                path: path.to_path_buf(),
                what: format!("plan format {:?}, this build reads {FORMAT:?}", plan.format),
            });
        }
        let indexes_ok = plan.shards.iter().enumerate().all(|(i, s)| s.index == i);
        let places: Vec<(&str, &str)> = plan
            .shards
            .iter()
            .flat_map(|s| &s.places)
            .map(|p| (p.account.as_str(), p.region.as_str()))
            .collect();
        let unique = places.iter().collect::<BTreeSet<_>>().len() == places.len();
        let one_outside = plan.shards.iter().filter(|s| s.outside).count() == 1;
        if plan.shards.is_empty()
            || plan.shards.len() > MAX_SHARDS
            || !indexes_ok
            || !unique
            || !one_outside
        {
            return Err(PlanError::Invalid {
                path: path.to_path_buf(),
                what: "its shards are not numbered 0 to N-1, or a place is in two shards, or not exactly one shard judges what lies in no place".to_owned(),
            });
        }
        Ok((plan, sha256))
    }

    /// The scope of shard `index` of this plan (whose file has SHA-256 `sha256`).
    ///
    /// # Errors
    /// [`PlanError::NoSuchShard`].
    pub fn scope(&self, index: usize, sha256: &str) -> Result<ShardScope, PlanError> {
        let shard = self.shards.get(index).ok_or(PlanError::NoSuchShard {
            index,
            shards: self.shards.len(),
        })?;
        let mut places = Places::default();
        let mut others = Places::default();
        for other in &self.shards {
            let to = if other.index == index {
                &mut places
            } else {
                &mut others
            };
            for p in &other.places {
                to.entry(p.account.clone())
                    .or_default()
                    .insert(p.region.clone());
            }
        }
        Ok(ShardScope {
            plan_sha256: sha256.to_owned(),
            index,
            shards: self.shards.len(),
            places,
            others,
            outside: shard.outside,
        })
    }
}

/// The scope of the shard a run is asked for: the plan at `path`, and
/// [`shard_index`] from `given` and the process's environment.
///
/// # Errors
/// When the plan cannot be read, no index is given, or it is not in the plan.
pub fn scope_of_run(path: &Path, given: Option<usize>) -> Result<ShardScope, PlanError> {
    let (plan, sha256) = Plan::load(path)?;
    let index = shard_index(given, |name| std::env::var(name).ok())?;
    plan.scope(index, &sha256)
}

/// The shard index: `--shard`, else the first of the engines' index
/// variables that is set (`SLURM_ARRAY_TASK_ID`, `JOB_COMPLETION_INDEX`,
/// `AWS_BATCH_JOB_ARRAY_INDEX`), read through `var`.
///
/// # Errors
/// [`PlanError::NoShardIndex`] when none is given, or a variable is not a number.
pub fn shard_index(
    given: Option<usize>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<usize, PlanError> {
    if let Some(index) = given {
        return Ok(index);
    }
    for name in INDEX_VARIABLES {
        if let Some(value) = var(name) {
            return value.trim().parse().map_err(|_| PlanError::Invalid {
                path: PathBuf::from(format!("${name}")),
                what: format!(
                    "\"{}\" is not a shard index",
                    crate::text::escape_control(&value)
                ),
            });
        }
    }
    Err(PlanError::NoShardIndex)
}

/// The engines' array index variables, in the order they are consulted.
pub const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// Places by account, then region.
type Places = BTreeMap<String, BTreeSet<String>>;

fn holds(places: &Places, account: &str, region: &str) -> bool {
    places.get(account).is_some_and(|r| r.contains(region))
}

/// What one shard examines: its places; and shard 0 what lies in no place
/// and in places the plan gave to no shard (a mirror that grew since it
/// was planned), so that every object is some shard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardScope {
    /// SHA-256 of the plan file.
    pub plan_sha256: String,
    /// The shard's index.
    pub index: usize,
    /// How many shards the plan has.
    pub shards: usize,
    /// Its places.
    places: Places,
    /// The other shards' places.
    others: Places,
    /// Whether it judges objects in no place (and in places of no shard).
    pub outside: bool,
}

impl ShardScope {
    /// Whether the place `(account, region)` is this shard's: one of its
    /// places, or (shard 0) one the plan gave to no shard.
    #[must_use]
    pub fn has_place(&self, account: &str, region: &str) -> bool {
        holds(&self.places, account, region)
            || (self.outside && !holds(&self.others, account, region))
    }

    /// Its places, `(account, region)`, as the plan lists them.
    pub fn places(&self) -> impl Iterator<Item = (&str, &str)> {
        self.places
            .iter()
            .flat_map(|(a, regions)| regions.iter().map(move |r| (a.as_str(), r.as_str())))
    }

    /// What the report says of it.
    #[must_use]
    pub fn used(&self) -> ShardUsed {
        ShardUsed {
            plan_sha256: self.plan_sha256.clone(),
            shard: self.index,
            shards: self.shards,
            places: self.places().map(|(a, r)| format!("{a}/{r}")).collect(),
            outside: self.outside,
        }
    }
}

/// The shard a partial report covers (`verify --plan --shard`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShardUsed {
    /// SHA-256 of the plan file (lower-case hex).
    pub plan_sha256: String,
    /// The shard's index.
    pub shard: usize,
    /// How many shards the plan has.
    pub shards: usize,
    /// Its places, `account/region`.
    pub places: Vec<String>,
    /// Whether it judged what lies in no place.
    pub outside: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Option<&str> = Some("bucket");

    fn log(account: &str, region: &str) -> String {
        format!(
            "AWSLogs/{account}/CloudTrail/{region}/2026/03/01/{account}_CloudTrail_{region}_20260301T0000Z_abcdefghijklmnop.json.gz"
        )
    }

    fn digest(account: &str, region: &str) -> String {
        format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/2026/03/01/{account}_CloudTrail-Digest_{region}_main_us-east-1_20260301T010000Z.json.gz"
        )
    }

    fn sizes(entries: &[(&str, &str, u64)]) -> Sizes {
        let mut sizes = Sizes::default();
        for (account, region, bytes) in entries {
            sizes.add(B, &log(account, region), *bytes);
            sizes.add(B, &digest(account, region), 1);
        }
        sizes
    }

    fn places(shard: &Shard) -> Vec<String> {
        shard
            .places
            .iter()
            .map(|p| format!("{}/{}", p.account, p.region))
            .collect()
    }

    #[test]
    fn largest_places_go_first_to_the_least_loaded_shard() {
        let mut s = sizes(&[
            ("111111111111", "us-east-1", 100),
            ("111111111111", "eu-west-1", 60),
            ("222222222222", "us-east-1", 50),
            ("222222222222", "eu-west-1", 30),
            ("333333333333", "us-east-1", 20),
        ]);
        s.add(B, "README.txt", 7);
        let plan = Plan::make(s, 2);
        assert_eq!(plan.shards.len(), 2);
        // Shard 0 starts with what lies in no place (7): 101 goes to 1, 61 to 0 (7),
        // 51 to 0 (68), 31 to 1 (101 < 119), 21 to 0 (119 < 132).
        assert_eq!(
            places(&plan.shards[0]),
            [
                "111111111111/eu-west-1",
                "222222222222/us-east-1",
                "333333333333/us-east-1"
            ]
        );
        assert_eq!(
            places(&plan.shards[1]),
            ["111111111111/us-east-1", "222222222222/eu-west-1"]
        );
        assert_eq!(
            plan.shards[0].load,
            Load {
                bytes: 7 + 61 + 51 + 21,
                files: 7
            }
        );
        assert_eq!(
            plan.shards[1].load,
            Load {
                bytes: 101 + 31,
                files: 4
            }
        );
        assert_eq!(
            plan.total,
            Load {
                bytes: 272,
                files: 11
            }
        );
        assert!(plan.shards[0].outside && !plan.shards[1].outside);
        assert_eq!(plan.digest_prefixes.len(), 5);
        assert!(
            plan.shards[1]
                .prefixes
                .contains(&"s3://bucket/AWSLogs/111111111111/CloudTrail/us-east-1/".to_owned())
        );
        assert!(
            !plan.shards[1]
                .prefixes
                .contains(&"s3://bucket/AWSLogs/111111111111/CloudTrail/eu-west-1/".to_owned())
        );
        assert!(
            plan.shards[1].prefixes.contains(
                &"s3://bucket/AWSLogs/111111111111/CloudTrail-Digest/us-east-1/".to_owned()
            )
        );
    }

    #[test]
    fn more_shards_than_places_leaves_some_empty_and_zero_shards_is_one() {
        let plan = Plan::make(sizes(&[("111111111111", "us-east-1", 5)]), 3);
        assert_eq!(
            plan.shards
                .iter()
                .map(|s| s.places.len())
                .collect::<Vec<_>>(),
            [1, 0, 0]
        );
        assert_eq!(Plan::make(sizes(&[]), 0).shards.len(), 1);
    }

    #[test]
    fn a_plan_round_trips_and_its_scopes_divide_the_places() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::make(
            sizes(&[
                ("111111111111", "us-east-1", 5),
                ("111111111111", "eu-west-1", 4),
                ("222222222222", "us-east-1", 3),
            ]),
            2,
        );
        let path = dir.path().join("plan.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
        let (read, sha) = Plan::load(&path).unwrap();
        assert_eq!(read, plan);
        assert_eq!(
            sha,
            hex::encode(Sha256::digest(std::fs::read(&path).unwrap()))
        );
        let a = read.scope(0, &sha).unwrap();
        let b = read.scope(1, &sha).unwrap();
        assert!(
            a.has_place("111111111111", "us-east-1") && !b.has_place("111111111111", "us-east-1")
        );
        assert!(
            b.has_place("111111111111", "eu-west-1") && !a.has_place("111111111111", "eu-west-1")
        );
        // A place the plan gave to no shard (the mirror grew) is shard 0's.
        assert!(
            a.has_place("999999999999", "us-east-1") && !b.has_place("999999999999", "us-east-1")
        );
        assert!(matches!(
            read.scope(2, &sha),
            Err(PlanError::NoSuchShard {
                index: 2,
                shards: 2
            })
        ));
        // A place in two shards is refused.
        let mut twice = plan.clone();
        let dup = twice.shards[0].places[0].clone();
        twice.shards[1].places.push(dup);
        std::fs::write(&path, serde_json::to_vec(&twice).unwrap()).unwrap();
        assert!(matches!(Plan::load(&path), Err(PlanError::Invalid { .. })));
        std::fs::write(&path, b"{\"format\":\"other\"}").unwrap();
        assert!(matches!(Plan::load(&path), Err(PlanError::Invalid { .. })));
    }

    #[test]
    fn the_shard_index_comes_from_the_option_then_the_engines_variables() {
        let none = |_: &str| None;
        assert_eq!(shard_index(Some(3), none).unwrap(), 3);
        assert!(matches!(
            shard_index(None, none),
            Err(PlanError::NoShardIndex)
        ));
        for name in INDEX_VARIABLES {
            let var = |n: &str| (n == name).then(|| "2".to_owned());
            assert_eq!(shard_index(None, var).unwrap(), 2, "{name}");
        }
        let slurm_first = |n: &str| match n {
            "SLURM_ARRAY_TASK_ID" => Some("1".to_owned()),
            _ => Some("5".to_owned()),
        };
        assert_eq!(shard_index(None, slurm_first).unwrap(), 1);
        let bad = |_: &str| Some("x\u{1b}[2J".to_owned());
        let err = shard_index(None, bad).unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}
