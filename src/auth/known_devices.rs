//! The devices an account has signed in from, kept in the account's own document: a map from
//! a key of the device summary and network to when they last signed in, at most
//! [`MAX_KNOWN_DEVICES`] of them. Whether a sign-in comes from a new device is then a look at
//! the account that the password check has just read, and costs the same however long the
//! account's history (a query over its security events grew with every sign-in: 25 µs per
//! event on SecantusDB, bench/RESULTS.md).

use std::collections::HashMap;

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{ClientInfo, device_summary};

/// How far back a sign-in's device and network count as known to the account.
pub const KNOWN_DEVICE_WINDOW: time::Duration = time::Duration::days(90);

/// How many devices an account remembers: the least recently seen go first. Signing in from
/// ever more networks cannot grow the account's document; forgetting only costs an extra alert.
pub const MAX_KNOWN_DEVICES: usize = 64;

/// A device summary and network, as the key an account remembers them under: a hash, because
/// the dots of an address would split a field path in an update. Not a secret: summaries and
/// networks are few enough to guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKey(String);

impl DeviceKey {
    /// The key of `client`'s device summary ("Firefox on Linux") and network (its /24 or /64).
    pub fn of(client: &ClientInfo) -> Self {
        Self::new(&device_summary(&client.user_agent).0, client.network().as_deref())
    }

    /// The key of a device summary and network as a sign-in record keeps them.
    pub fn new(device: &str, network: Option<&str>) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(device.as_bytes());
        hasher.update([0]);
        hasher.update(network.unwrap_or_default().as_bytes());
        Self(hex::encode(&hasher.finalize()[..16]))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The devices an account remembers, each with when it last signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KnownDevices(HashMap<String, DateTime>);

impl KnownDevices {
    /// An account's devices right after it registered from `first` (none when it was made
    /// without a browser, by the `create-user` command).
    pub fn first(first: Option<&DeviceKey>, now: OffsetDateTime) -> Self {
        Self(first.map(|key| (key.0.clone(), DateTime::from_time_0_3(now))).into_iter().collect())
    }

    /// Notes that `key` signed in at `at`, unless it is known from a later sign-in already.
    pub fn saw(&mut self, key: DeviceKey, at: DateTime) {
        let last = self.0.entry(key.0).or_insert(at);
        *last = (*last).max(at);
    }

    /// Whether `key` signed in to the account within [`KNOWN_DEVICE_WINDOW`] before `now`.
    pub fn knows(&self, key: &DeviceKey, now: OffsetDateTime) -> bool {
        self.0.get(&key.0).is_some_and(|last| last.to_time_0_3() >= now - KNOWN_DEVICE_WINDOW)
    }

    /// The keys to drop when `key` is remembered: those that have not signed in within the
    /// window, and beyond [`MAX_KNOWN_DEVICES`] the least recently seen, so that the account keeps
    /// `key` and at most [`MAX_KNOWN_DEVICES`] in all.
    pub fn to_forget(&self, key: &DeviceKey, now: OffsetDateTime) -> Vec<String> {
        let since = DateTime::from_time_0_3(now - KNOWN_DEVICE_WINDOW);
        let mut kept: Vec<(&String, &DateTime)> = self.0.iter().filter(|(other, _)| **other != key.0).collect();
        kept.sort_by(|a, b| b.1.cmp(a.1));
        let room = MAX_KNOWN_DEVICES - 1;
        kept.iter()
            .enumerate()
            .filter(|(rank, (_, last))| *rank >= room || **last < since)
            .map(|(_, (other, _))| (*other).clone())
            .collect()
    }

    /// These devices once `key` signed in at `now`: what [`to_forget`](Self::to_forget) names
    /// dropped, and `key` at `now`.
    #[must_use]
    pub fn remembering(mut self, key: &DeviceKey, now: OffsetDateTime) -> Self {
        for other in self.to_forget(key, now) {
            self.0.remove(&other);
        }
        self.0.insert(key.0.clone(), DateTime::from_time_0_3(now));
        self
    }
}

#[cfg(test)]
mod tests {
    use time::{Duration, macros::datetime};

    use super::*;

    fn key(name: &str) -> DeviceKey {
        DeviceKey(name.to_owned())
    }

    #[test]
    fn a_device_is_known_for_90_days_after_its_last_sign_in_and_then_forgotten() {
        let signed_in = datetime!(2026-01-01 12:00 UTC);
        let known = KnownDevices::first(Some(&key("laptop")), signed_in);
        assert!(known.knows(&key("laptop"), signed_in + Duration::days(90)));
        assert!(!known.knows(&key("laptop"), signed_in + Duration::days(90) + Duration::seconds(1)));
        assert!(!known.knows(&key("phone"), signed_in));

        let later = signed_in + Duration::days(30);
        let both = known.clone().remembering(&key("phone"), later);
        assert!(both.knows(&key("laptop"), later) && both.knows(&key("phone"), later));
        let months_later = signed_in + Duration::days(100);
        let phone_only = both.remembering(&key("phone"), months_later);
        assert!(!phone_only.knows(&key("laptop"), months_later));
        assert_eq!(phone_only.0.len(), 1, "a device unseen for 90 days is dropped when another is remembered");
        assert_eq!(KnownDevices::first(None, signed_in), KnownDevices::default());
    }

    #[test]
    fn an_account_remembers_at_most_64_devices_and_forgets_the_least_recently_seen() {
        let start = datetime!(2026-01-01 12:00 UTC);
        let mut known = KnownDevices::default();
        for n in 0..100 {
            known = known.remembering(&key(&format!("network {n}")), start + Duration::minutes(n));
        }
        assert_eq!(known.0.len(), MAX_KNOWN_DEVICES);
        let now = start + Duration::minutes(100);
        assert!(known.knows(&key("network 99"), now) && known.knows(&key("network 36"), now));
        assert!(!known.knows(&key("network 35"), now), "the least recently seen went first");
    }

    #[test]
    fn a_device_key_is_32_hex_characters_that_depend_on_summary_and_network_alone() {
        let key = DeviceKey::new("Firefox on Linux", Some("198.51.100.0/24"));
        assert_eq!(key, DeviceKey::new("Firefox on Linux", Some("198.51.100.0/24")));
        assert_eq!(key.as_str().len(), 32);
        assert!(key.as_str().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(key, DeviceKey::new("Firefox on Linux", Some("198.51.101.0/24")));
        assert_ne!(key, DeviceKey::new("Firefox on Linux", None));
        // The separator keeps the two parts apart: no summary and network run into another pair.
        assert_ne!(DeviceKey::new("ab", Some("c")), DeviceKey::new("a", Some("bc")));
    }

    #[test]
    fn a_device_seen_twice_keeps_its_latest_sign_in() {
        let early = DateTime::from_time_0_3(datetime!(2026-01-01 12:00 UTC));
        let late = DateTime::from_time_0_3(datetime!(2026-03-01 12:00 UTC));
        let mut known = KnownDevices::default();
        known.saw(key("laptop"), late);
        known.saw(key("laptop"), early);
        assert_eq!(known.0.get("laptop"), Some(&late));
    }
}
