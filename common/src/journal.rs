//! The request journal: a bounded log of recent requests, newest last.
//!
//! In memory it is a ring buffer of this process; with a shared store (Redis) it is one
//! list per service that every replica appends to, so one query sees them all.
//!
//! Each entry says what was asked, what was answered, how long it took and which fault
//! rule (if any) fired, so a test can assert on what its system under test really sent.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JournalEntry {
    pub seq: u64,
    /// Virtual time when the request arrived.
    pub time: DateTime<Utc>,
    /// Wall time when the request arrived, in microseconds since the epoch: orders the
    /// entries of several mocks that share one frozen virtual time.
    #[serde(default)]
    pub received_us: i64,
    pub service: Cow<'static, str>,
    pub method: Cow<'static, str>,
    pub path: String,
    /// The route pattern that answered, as `/metrics` labels it
    /// (`/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes`); none for an unknown route.
    #[serde(default)]
    pub route: Option<String>,
    pub query: String,
    pub status: u16,
    pub tenant: Option<String>,
    pub region: Option<String>,
    pub latency_us: u64,
    pub request_id: String,
    /// Id of the fault rule that fired, if one did.
    pub rule: Option<String>,
    /// Headers and bodies of the request and the answer (what the console and the HAR
    /// show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Box<Exchange>>,
}

/// The note on an answer that was streamed (a large listing): its size is known, its
/// text was not copied.
pub const STREAMED_NOT_KEPT: &str = "a streamed answer is not kept";

/// What was sent and answered, as kept with a journal entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Exchange {
    /// `Host` the client called (to write absolute URLs).
    pub host: String,
    pub request_headers: Headers,
    pub request_body: Option<KeptBody>,
    pub response_headers: Headers,
    pub response_body: Option<KeptBody>,
}

/// Headers in the order they were sent: every name and value in one buffer, so keeping
/// them costs two allocations a list (sized first with [`Headers::with_capacity`], as the
/// pipeline does) instead of two a header: an entry is kept for every request. Written as
/// `[[name, value], …]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers {
    text: String,
    /// Where each header's name and value end in `text`.
    ends: Vec<(u32, u32)>,
}

impl Headers {
    /// Room for `headers` headers of `bytes` bytes of names and values in all.
    pub fn with_capacity(bytes: usize, headers: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(headers),
        }
    }

    pub fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len() as u32;
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len() as u32));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(name_end, end)| {
            let (name_end, end) = (name_end as usize, end as usize);
            let pair = (&self.text[start..name_end], &self.text[name_end..end]);
            start = end;
            pair
        })
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Headers {
        let mut out = Headers::default();
        for (name, value) in pairs {
            out.push(name, value);
        }
        out
    }
}

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Headers, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(d)?;
        Ok(pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect())
    }
}

/// A body as kept: text (or base64 when it is not UTF-8), its real size, and whether it
/// was cut at the journal's body limit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct KeptBody {
    pub size: usize,
    pub mime_type: String,
    pub text: String,
    /// `base64` when the body is not UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Why the text is not the whole body (cut at the limit, streamed, not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl KeptBody {
    /// Up to `limit` bytes of `bytes`, as text or base64, with a note when cut.
    pub fn keep(bytes: &[u8], mime_type: &str, limit: usize) -> KeptBody {
        use base64::Engine;
        let cut = bytes.len() > limit;
        let kept = &bytes[..bytes.len().min(limit)];
        let (text, encoding) = match std::str::from_utf8(kept) {
            Ok(t) => (t.to_string(), None),
            // A cut in the middle of a character is still text up to it.
            Err(e) if cut && e.error_len().is_none() => (
                String::from_utf8_lossy(&kept[..e.valid_up_to()]).into_owned(),
                None,
            ),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(kept),
                Some("base64".to_string()),
            ),
        };
        KeptBody {
            size: bytes.len(),
            mime_type: mime_type.to_string(),
            text,
            encoding,
            note: cut.then(|| {
                format!(
                    "cut at the journal's body limit: {limit} of {} bytes kept",
                    bytes.len()
                )
            }),
        }
    }

    /// A body that was not kept, and why.
    pub fn not_kept(size: usize, mime_type: &str, why: &str) -> KeptBody {
        KeptBody {
            size,
            mime_type: mime_type.to_string(),
            text: String::new(),
            encoding: None,
            note: Some(why.to_string()),
        }
    }
}

/// What to look for in the journal; every field that is set must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    pub service: Option<String>,
    pub tenant: Option<String>,
    pub method: Option<String>,
    /// A prefix of the path.
    pub path: Option<String>,
    pub status: Option<u16>,
    pub rule: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// At most this many entries, the newest ones.
    pub limit: Option<usize>,
}

impl JournalQuery {
    pub fn matches(&self, e: &JournalEntry) -> bool {
        self.service.as_ref().is_none_or(|s| *s == *e.service)
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| Some(t) == e.tenant.as_ref())
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self
                .path
                .as_ref()
                .is_none_or(|p| e.path.starts_with(p.as_str()))
            && self.status.is_none_or(|s| s == e.status)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| Some(r) == e.rule.as_ref())
            && self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
    }
}

#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Ring>>,
    shared: Option<crate::store::redis::RedisBackend>,
}

struct Ring {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    pub fn new(capacity: usize) -> Journal {
        Journal {
            inner: Arc::new(Mutex::new(Ring {
                capacity: capacity.max(1),
                next_seq: 0,
                entries: VecDeque::with_capacity(capacity.clamp(1, 4096)),
            })),
            shared: None,
        }
    }

    /// The journal kept where `store` keeps state: this process's ring in memory, the
    /// service's shared list on Redis.
    pub fn for_store(capacity: usize, store: &crate::store::Store) -> Journal {
        let shared = store.redis().cloned();
        // With a shared log the ring keeps no entries, only the default capacity.
        let reserve = if shared.is_some() {
            0
        } else {
            capacity.clamp(1, 4096)
        };
        Journal {
            inner: Arc::new(Mutex::new(Ring {
                capacity: capacity.max(1),
                next_seq: 0,
                entries: VecDeque::with_capacity(reserve),
            })),
            shared,
        }
    }

    /// Adds an entry, numbering it and dropping the oldest when full. A shared log that
    /// cannot be written loses the entry (logged), never the request.
    pub async fn record(&self, entry: JournalEntry) {
        if let Some(shared) = &self.shared {
            let json = serde_json::to_string(&entry).unwrap_or_default();
            if let Err(e) = shared.log_append(&json, self.default_capacity()).await {
                tracing::warn!(error = %e, "journal entry not kept");
            }
            return;
        }
        self.record_here(entry);
    }

    fn default_capacity(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .capacity
    }

    fn record_here(&self, mut entry: JournalEntry) {
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        ring.next_seq += 1;
        entry.seq = ring.next_seq;
        if ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    /// Matching entries, oldest first (the newest `limit` of them).
    pub async fn query(&self, q: &JournalQuery) -> Result<Vec<JournalEntry>, StoreError> {
        if let Some(shared) = &self.shared {
            let mut out: Vec<JournalEntry> = shared
                .log_read()
                .await?
                .into_iter()
                .filter_map(|(n, json)| {
                    let mut e: JournalEntry = serde_json::from_str(&json).ok()?;
                    e.seq = n;
                    Some(e)
                })
                .filter(|e| q.matches(e))
                .take(q.limit.unwrap_or(usize::MAX))
                .collect();
            out.reverse();
            return Ok(out);
        }
        Ok(self.query_here(q))
    }

    fn query_here(&self, q: &JournalQuery) -> Vec<JournalEntry> {
        let ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = ring
            .entries
            .iter()
            .rev()
            .filter(|e| q.matches(e))
            .take(q.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        out.reverse();
        out
    }

    pub async fn clear(&self) -> Result<(), StoreError> {
        if let Some(shared) = &self.shared {
            return shared.log_clear().await;
        }
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .clear();
        Ok(())
    }

    pub async fn set_capacity(&self, capacity: usize) -> Result<(), StoreError> {
        if let Some(shared) = &self.shared {
            return shared.set_log_capacity(capacity).await;
        }
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        ring.capacity = capacity.max(1);
        while ring.entries.len() > ring.capacity {
            ring.entries.pop_front();
        }
        Ok(())
    }

    pub async fn capacity(&self) -> Result<usize, StoreError> {
        if let Some(shared) = &self.shared {
            return Ok(shared
                .log_capacity()
                .await?
                .unwrap_or_else(|| self.default_capacity()));
        }
        Ok(self.default_capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            seq: 0,
            time: Utc::now(),
            received_us: 0,
            service: "compute".into(),
            method: "GET".into(),
            path: path.into(),
            route: None,
            query: String::new(),
            status,
            tenant: Some("t1".into()),
            region: None,
            latency_us: 1,
            request_id: "r".into(),
            rule: None,
            exchange: None,
        }
    }

    #[test]
    fn the_ring_keeps_only_the_newest_entries() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.record_here(entry(&format!("/{i}"), 200));
        }
        let all = j.query_here(&JournalQuery::default());
        assert_eq!(
            all.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["/2", "/3", "/4"]
        );
        assert_eq!(all[2].seq, 5);
    }

    #[test]
    fn queries_filter_and_limit() {
        let j = Journal::new(10);
        j.record_here(entry("/v2/t1/servers", 202));
        j.record_here(entry("/v2/t1/servers/x", 404));
        j.record_here(entry("/v2/t1/flavors", 200));
        let q = JournalQuery {
            path: Some("/v2/t1/servers".into()),
            ..Default::default()
        };
        assert_eq!(j.query_here(&q).len(), 2);
        let q = JournalQuery {
            status: Some(404),
            ..Default::default()
        };
        assert_eq!(j.query_here(&q)[0].path, "/v2/t1/servers/x");
        let q = JournalQuery {
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(j.query_here(&q)[0].path, "/v2/t1/flavors");
    }

    #[test]
    fn headers_keep_their_order_and_are_written_as_pairs() {
        let h: Headers = [
            ("Host", "x:1"),
            ("x-empty", ""),
            ("x-text", "é ü"),
            ("host", "y"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [
                ("Host", "x:1"),
                ("x-empty", ""),
                ("x-text", "é ü"),
                ("host", "y")
            ]
        );
        assert_eq!(h.get("HOST"), Some("x:1"), "the first, in any case");
        assert_eq!(h.get("location"), None);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"[["Host","x:1"],["x-empty",""],["x-text","é ü"],["host","y"]]"#
        );
        assert_eq!(serde_json::from_str::<Headers>(&json).unwrap(), h);
        assert_eq!(serde_json::to_string(&Headers::default()).unwrap(), "[]");
    }
}

#[cfg(test)]
mod body_tests {
    use super::KeptBody;

    #[test]
    fn bodies_are_kept_as_text_cut_with_a_note_or_in_base64() {
        let b = KeptBody::keep(b"{\"a\":1}", "application/json", 100);
        assert_eq!((b.text.as_str(), b.size, b.note), ("{\"a\":1}", 7, None));
        let b = KeptBody::keep("héllo".as_bytes(), "text/plain", 2);
        assert_eq!(b.text, "h", "cut before a broken character");
        assert!(b.note.unwrap().contains("2 of 6 bytes"));
        let b = KeptBody::keep(&[0xff, 0x00, 0x10], "application/octet-stream", 100);
        assert_eq!(
            (b.text.as_str(), b.encoding.as_deref()),
            ("/wAQ", Some("base64"))
        );
    }
}
