//! Which chains a run examines: `--account-id`, `--region`, `--trail-arn`
//! and `--trail`, like `validate-logs`' options.

/// Which chains a run examines (`--account-id`, `--region`, `--trail-arn`,
/// `--trail`), like `validate-logs`' options; an empty list selects all.
/// Digests of chains outside it are still read as evidence (they may link
/// to selected ones), but nothing about them or their files is reported.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct Selection {
    /// Account IDs (of the account folder: a member account for an organization trail).
    pub accounts: Vec<String>,
    /// Delivering regions.
    pub regions: Vec<String>,
    /// Trails.
    pub trails: Vec<TrailSelector>,
    /// The shard of a plan this run is (`verify --plan --shard`): only its
    /// places, and for shard 0 what lies in no place, are examined. The
    /// report names it in `inputs.shard`.
    #[serde(skip)]
    #[schemars(skip)]
    pub scope: Option<crate::shard::ShardScope>,
}

impl Selection {
    /// Whether the selection is everything.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.accounts.is_empty()
            && self.regions.is_empty()
            && self.trails.is_empty()
            && self.scope.is_none()
    }

    /// The selection the options ask for, without the shard's scope.
    #[must_use]
    pub fn chosen(&self) -> Selection {
        Selection {
            scope: None,
            ..self.clone()
        }
    }

    /// Whether what lies in no place (no account and region folder) is examined.
    #[must_use]
    pub fn admits_outside(&self) -> bool {
        self.scope.as_ref().is_none_or(|s| s.outside)
    }

    /// Whether `--account-id` and `--region` take the place.
    fn chooses_place(&self, account: &str, region: &str) -> bool {
        (self.accounts.is_empty() || self.accounts.iter().any(|a| a == account))
            && (self.regions.is_empty() || self.regions.iter().any(|r| r == region))
    }

    /// Whether what lies at `account` in `region` is examined and reported
    /// on: its digests and chains, and what lies in no day of it.
    #[must_use]
    pub fn admits_place(&self, account: &str, region: &str) -> bool {
        self.chooses_place(account, region)
            && self
                .scope
                .as_ref()
                .is_none_or(|s| s.owns_place(account, region))
    }

    /// Whether the log folder of `day` at `account` in `region` is examined.
    #[must_use]
    pub fn admits_day(&self, account: &str, region: &str, day: jiff::civil::Date) -> bool {
        self.chooses_place(account, region)
            && self
                .scope
                .as_ref()
                .is_none_or(|s| s.has_day(account, region, day))
    }

    /// Whether the chain `key` is examined and reported on.
    #[must_use]
    pub fn admits_chain(&self, key: &crate::chain::ChainKey) -> bool {
        self.admits_place(&key.account, &key.region) && self.chooses_trail(key)
    }

    /// Whether the chain `key`'s digests are read as the run's own: it is
    /// examined, or a shard examines some days of its place (their log
    /// files are judged by every digest of the place, as in a single run).
    #[must_use]
    pub fn reads_chain(&self, key: &crate::chain::ChainKey) -> bool {
        self.chooses_place(&key.account, &key.region)
            && self.chooses_trail(key)
            && self
                .scope
                .as_ref()
                .is_none_or(|s| s.reads_place(&key.account, &key.region))
    }

    fn chooses_trail(&self, key: &crate::chain::ChainKey) -> bool {
        self.trails.is_empty() || self.trails.iter().any(|t| t.matches(key))
    }

    /// Whether what an S3 URL (`s3://bucket/key`) names is examined (see
    /// [`Selection::admits_key`]); what is no S3 URL is examined as what
    /// lies in no place.
    #[must_use]
    pub fn admits_url(&self, url: &str) -> bool {
        self.is_all()
            || url
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .map_or(self.admits_outside(), |(_, key)| self.admits_key(key))
    }

    /// Whether the object at `key` is examined: a digest of a selected
    /// chain, or a file of a selected account and region; what lies outside
    /// any CloudTrail folder is examined unless a shard other than 0 runs.
    #[must_use]
    pub fn admits_key(&self, key: &str) -> bool {
        if self.is_all() {
            return true;
        }
        if let Some(chain) = crate::chain::ChainKey::of_key(key) {
            return self.admits_chain(&chain);
        }
        if let Some(layout) = crate::layout::parse_layout(key, "CloudTrail") {
            return match crate::layout::folder_date(key) {
                Some(day) => self.admits_day(&layout.account, &layout.region, day),
                None => self.admits_place(&layout.account, &layout.region),
            };
        }
        crate::layout::parse_layout(key, "CloudTrail-Digest")
            .map_or(self.admits_outside(), |layout| {
                self.admits_place(&layout.account, &layout.region)
            })
    }
}

impl std::fmt::Display for Selection {
    /// `accounts 111122223333; regions eu-west-1; trails main (home us-east-1)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.accounts.is_empty() {
            parts.push(format!("accounts {}", self.accounts.join(", ")));
        }
        if !self.regions.is_empty() {
            parts.push(format!("regions {}", self.regions.join(", ")));
        }
        if !self.trails.is_empty() {
            let trails: Vec<String> = self
                .trails
                .iter()
                .map(|t| match (&t.home_region, &t.account) {
                    (Some(home), Some(account)) => {
                        format!("{} (home {home}, account {account})", t.name)
                    }
                    _ => t.name.clone(),
                })
                .collect();
            parts.push(format!("trails {}", trails.join(", ")));
        }
        if parts.is_empty() {
            f.write_str("every chain")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// One trail to examine: by name, and with `--trail-arn` also its home
/// region and (unless it is an organization trail) its account.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct TrailSelector {
    /// The trail's name.
    pub name: String,
    /// The trail's home region, when given by its ARN.
    pub home_region: Option<String>,
    /// The account owning the trail, when given by its ARN (an organization
    /// trail's digests lie in member accounts' folders, so it is not required
    /// of their chains).
    pub account: Option<String>,
}

/// Why a `--trail` or `--trail-arn` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

impl TrailSelector {
    /// A trail by name: 3 to 128 letters, digits, `.`, `_` or `-`.
    ///
    /// # Errors
    /// When the name cannot be a trail's.
    pub fn from_name(name: &str) -> Result<Self, SelectorError> {
        let name = name.trim();
        let valid = (3..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(SelectorError(
                "expected a trail name: 3 to 128 letters, digits, '.', '_' or '-' (or give --trail-arn)"
                    .to_owned(),
            ));
        }
        Ok(TrailSelector {
            name: name.to_owned(),
            home_region: None,
            account: None,
        })
    }

    /// A trail by ARN: `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    ///
    /// # Errors
    /// When the text is not a trail's ARN.
    pub fn from_arn(arn: &str) -> Result<Self, SelectorError> {
        let refuse = || {
            SelectorError(
                "expected a trail ARN: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME".to_owned(),
            )
        };
        let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
        let [arn_word, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(refuse());
        };
        let name = resource.strip_prefix("trail/").ok_or_else(refuse)?;
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if *arn_word != "arn"
            || !partition.starts_with("aws")
            || *service != "cloudtrail"
            || region.is_empty()
            || !account_ok
        {
            return Err(refuse());
        }
        let mut selector = TrailSelector::from_name(name)?;
        selector.home_region = Some((*region).to_owned());
        selector.account = Some((*account).to_owned());
        Ok(selector)
    }

    /// Whether the chain `key` is this trail's.
    #[must_use]
    pub fn matches(&self, key: &crate::chain::ChainKey) -> bool {
        key.trail == self.name
            && self
                .home_region
                .as_ref()
                .is_none_or(|r| *r == key.home_region)
            && self
                .account
                .as_ref()
                .is_none_or(|a| key.organization.is_some() || *a == key.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainKey;

    fn key(org: Option<&str>, account: &str, region: &str, trail: &str, home: &str) -> ChainKey {
        ChainKey {
            organization: org.map(str::to_owned),
            account: account.to_owned(),
            region: region.to_owned(),
            trail: trail.to_owned(),
            home_region: home.to_owned(),
            backfill: false,
        }
    }

    #[test]
    fn trail_arns_select_by_name_home_region_and_owner() {
        let arn = TrailSelector::from_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/main")
            .unwrap();
        assert!(arn.matches(&key(None, "111122223333", "us-east-1", "main", "eu-west-1")));
        assert!(!arn.matches(&key(None, "444455556666", "us-east-1", "main", "eu-west-1")));
        assert!(!arn.matches(&key(None, "111122223333", "us-east-1", "main", "us-east-1")));
        assert!(!arn.matches(&key(
            None,
            "111122223333",
            "us-east-1",
            "other",
            "eu-west-1"
        )));
        // An organization trail's chains lie in member accounts' folders.
        assert!(arn.matches(&key(
            Some("o-abc"),
            "444455556666",
            "us-east-1",
            "main",
            "eu-west-1"
        )));
        let name = TrailSelector::from_name("main").unwrap();
        assert!(name.matches(&key(None, "444455556666", "us-east-1", "main", "us-east-1")));
        for bad in [
            "arn:aws:cloudtrail:eu-west-1:111122223333:main",
            "arn:aws:s3:eu-west-1:111122223333:trail/main",
            "arn:aws:cloudtrail:eu-west-1:1111:trail/main",
            "arn:aws:cloudtrail::111122223333:trail/main",
            "nra:aws:cloudtrail:eu-west-1:111122223333:trail/main",
            "arn:aws:cloudtrail:eu-west-1:111122223333:trail/a",
            "main",
        ] {
            assert!(TrailSelector::from_arn(bad).is_err(), "{bad}");
        }
        assert!(TrailSelector::from_name("bad name").is_err());
        assert!(TrailSelector::from_name("ab").is_err());
    }

    #[test]
    fn selections_admit_places_chains_and_urls() {
        let all = Selection::default();
        assert!(all.is_all() && all.admits_url("s3://b/AWSLogs/1/x"));
        let some = Selection {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            trails: Vec::new(),
            scope: None,
        };
        assert!(!some.is_all());
        assert!(some.admits_place("111122223333", "eu-west-1"));
        assert!(!some.admits_place("111122223333", "us-east-1"));
        assert!(!some.admits_place("444455556666", "eu-west-1"));
        let log = "s3://b/AWSLogs/444455556666/CloudTrail/eu-west-1/2026/03/01/444455556666_CloudTrail_eu-west-1_20260301T0000Z_abcdefghijklmnop.json.gz";
        assert!(!some.admits_url(log));
        assert!(some.admits_url(&log.replace("444455556666", "111122223333")));
        assert!(some.admits_url("s3://b/elsewhere.txt"));
        assert!(some.admits_url("not a url"));
        assert_eq!(some.to_string(), "accounts 111122223333; regions eu-west-1");
        assert_eq!(all.to_string(), "every chain");
    }
}
