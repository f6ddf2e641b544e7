//! Quota usage of one tenant in one region and Nova's over-quota text.

use serde::{Deserialize, Serialize};

use crate::configuration::Quota;

/// What a tenant uses in one region; kept as one record so a create checks and counts
/// in O(1), atomically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
}

impl Usage {
    pub fn add(&mut self, d: Usage) {
        self.instances += d.instances;
        self.cores += d.cores;
        self.ram_mb += d.ram_mb;
    }

    pub fn sub(&mut self, d: Usage) {
        self.instances = (self.instances - d.instances).max(0);
        self.cores = (self.cores - d.cores).max(0);
        self.ram_mb = (self.ram_mb - d.ram_mb).max(0);
    }
}

/// Checks that `used + req` fits in `quota`; otherwise Nova's `TooManyInstances` text:
/// "Quota exceeded for <overs>: Requested <req>, but already used <used> of <limit> <first>".
pub fn check(quota: &Quota, used: &Usage, req: &Usage) -> Result<(), String> {
    // Sorted by resource name, as Nova joins them.
    let resources = [
        ("cores", quota.cores, used.cores, req.cores),
        ("instances", quota.instances, used.instances, req.instances),
        ("ram", quota.ram_mb, used.ram_mb, req.ram_mb),
    ];
    let overs: Vec<_> = resources
        .iter()
        .filter(|(_, limit, used, req)| *limit >= 0 && *req > 0 && used + req > *limit)
        .collect();
    let Some((name, limit, used, req)) = overs.first() else {
        return Ok(());
    };
    let names: Vec<&str> = overs.iter().map(|o| o.0).collect();
    Err(format!(
        "Quota exceeded for {}: Requested {req}, but already used {used} of {limit} {name}",
        names.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(instances: i64, cores: i64, ram_mb: i64) -> Quota {
        Quota {
            instances,
            cores,
            ram_mb,
        }
    }

    fn usage(instances: i64, cores: i64, ram_mb: i64) -> Usage {
        Usage {
            instances,
            cores,
            ram_mb,
        }
    }

    #[test]
    fn the_instance_quota_text_is_novas() {
        let e = check(&quota(10, -1, -1), &usage(10, 10, 5120), &usage(1, 1, 512)).unwrap_err();
        assert_eq!(
            e,
            "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
        );
    }

    #[test]
    fn several_overs_are_joined_and_the_first_is_described() {
        let e = check(
            &quota(100, -1, 1024),
            &usage(100, 0, 1024),
            &usage(1, 1, 512),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Quota exceeded for instances,ram: Requested 1, but already used 100 of 100 instances"
        );
        let e = check(&quota(-1, 2, -1), &usage(1, 2, 0), &usage(1, 2, 512)).unwrap_err();
        assert!(
            e.starts_with("Quota exceeded for cores: Requested 2, but already used 2 of 2 cores")
        );
    }

    #[test]
    fn minus_one_is_unlimited() {
        assert!(check(&quota(-1, -1, -1), &usage(1_000_000, 9, 9), &usage(1, 1, 1)).is_ok());
    }
}
