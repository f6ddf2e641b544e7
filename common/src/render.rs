//! Remembered renderings of records, for answers that show the same record again and
//! again (`GET /servers/{id}`, `servers/detail`, a balancer with its nodes).
//!
//! An entry is the JSON of one record together with a *stamp*: everything the JSON was
//! rendered from (the record itself, what it shows at this instant, the link base, ...).
//! A rendering is reused only when the stamp of the request at hand is equal to the
//! stored one, so a cached answer is always byte-for-byte what rendering afresh would
//! give; a changed record, a status that moved on with the clock or another `Host`
//! simply renders again. The cache is bounded and starts over when full.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// How many renderings a cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 8_192;

pub struct RenderCache<S> {
    entries: Mutex<HashMap<String, (S, Bytes)>>,
    capacity: usize,
}

impl<S: PartialEq> Default for RenderCache<S> {
    fn default() -> Self {
        RenderCache::new(DEFAULT_CAPACITY)
    }
}

impl<S: PartialEq> RenderCache<S> {
    pub fn new(capacity: usize) -> RenderCache<S> {
        RenderCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The JSON of record `id` rendered from `stamp`: remembered, or rendered by `render`
    /// and remembered.
    pub fn get_or_render(&self, id: &str, stamp: S, render: impl FnOnce(&S) -> Vec<u8>) -> Bytes {
        self.lock().get_or_render(id, stamp, render)
    }

    /// One lock for many lookups (a page of records).
    pub fn lock(&self) -> RenderCacheGuard<'_, S> {
        RenderCacheGuard {
            entries: self.entries.lock().unwrap_or_else(|e| e.into_inner()),
            capacity: self.capacity,
        }
    }

    /// Forgets every rendering (nothing depends on this for correctness; it frees memory).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct RenderCacheGuard<'a, S> {
    entries: std::sync::MutexGuard<'a, HashMap<String, (S, Bytes)>>,
    capacity: usize,
}

impl<S: PartialEq> RenderCacheGuard<'_, S> {
    /// See [`RenderCache::get_or_render`].
    pub fn get_or_render(
        &mut self,
        id: &str,
        stamp: S,
        render: impl FnOnce(&S) -> Vec<u8>,
    ) -> Bytes {
        if let Some((stored, bytes)) = self.entries.get(id) {
            if *stored == stamp {
                return bytes.clone();
            }
        }
        let bytes = Bytes::from(render(&stamp));
        if self.entries.len() >= self.capacity && !self.entries.contains_key(id) {
            self.entries.clear();
        }
        self.entries.insert(id.to_string(), (stamp, bytes.clone()));
        bytes
    }
}

/// Joins JSON fragments into `prefix f1,f2,... suffix` with one allocation.
pub fn join_json(prefix: &[u8], parts: &[Bytes], suffix: &[u8]) -> Vec<u8> {
    let len = prefix.len() + suffix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(prefix);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(p);
    }
    out.extend_from_slice(suffix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_rendering_is_reused_only_for_an_equal_stamp() {
        let cache = RenderCache::new(10);
        let renders = Cell::new(0);
        let render = |s: &(u32, &str)| {
            renders.set(renders.get() + 1);
            format!("{{\"v\":{},\"s\":\"{}\"}}", s.0, s.1).into_bytes()
        };
        let a = cache.get_or_render("x", (1, "ACTIVE"), render);
        let b = cache.get_or_render("x", (1, "ACTIVE"), render);
        assert_eq!(a, b);
        assert_eq!(renders.get(), 1, "second answer from memory");
        let c = cache.get_or_render("x", (1, "REBOOT"), render);
        assert_eq!(&c[..], br#"{"v":1,"s":"REBOOT"}"#);
        assert_eq!(renders.get(), 2, "another stamp renders again");
        let d = cache.get_or_render("y", (1, "REBOOT"), render);
        assert_eq!(d, c);
        assert_eq!(renders.get(), 3, "another id renders again");
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = RenderCache::new(3);
        for i in 0..10 {
            cache.get_or_render(&i.to_string(), i, |s| s.to_string().into_bytes());
            assert!(cache.len() <= 3);
        }
    }

    #[test]
    fn fragments_join_into_one_array() {
        let parts = [Bytes::from_static(b"1"), Bytes::from_static(b"{}")];
        assert_eq!(join_json(b"[", &parts, b"]"), b"[1,{}]");
        assert_eq!(join_json(b"[", &[], b"]"), b"[]");
    }
}
