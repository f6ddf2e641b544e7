//! Remembered renderings of records, for answers that show the same record again and
//! again (`GET /servers/{id}`, `servers/detail`, a balancer with its nodes).
//!
//! An entry is the JSON of one record together with a *stamp*: everything the JSON was
//! rendered from (the record's store revision, what it shows at this instant, the link
//! base, ...).
//! A rendering is reused only when the stamp of the request at hand is equal to the
//! stored one, so a cached answer is always byte-for-byte what rendering afresh would
//! give; a changed record, a status that moved on with the clock or another `Host`
//! simply renders again. The cache is bounded and starts over when full.

use std::borrow::Borrow;
use std::convert::Infallible;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;

/// How many renderings a cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 8_192;

/// Renderings of records with keys `K` (their ids), each with its stamp `S`.
pub struct RenderCache<K, S> {
    entries: Mutex<crate::FastMap<K, (S, Bytes)>>,
    capacity: usize,
}

impl<K: Hash + Eq, S> Default for RenderCache<K, S> {
    fn default() -> Self {
        RenderCache::new(DEFAULT_CAPACITY)
    }
}

impl<K: Hash + Eq, S> RenderCache<K, S> {
    pub fn new(capacity: usize) -> RenderCache<K, S> {
        RenderCache {
            entries: Mutex::new(crate::FastMap::default()),
            capacity: capacity.max(1),
        }
    }

    /// The cache, locked for one lookup or several (a page of records).
    pub fn lock(&self) -> RenderCacheGuard<'_, K, S> {
        RenderCacheGuard {
            entries: self.entries.lock().unwrap_or_else(|e| e.into_inner()),
            capacity: self.capacity,
        }
    }
}

pub struct RenderCacheGuard<'a, K, S> {
    entries: std::sync::MutexGuard<'a, crate::FastMap<K, (S, Bytes)>>,
    capacity: usize,
}

impl<K: Hash + Eq, S> RenderCacheGuard<'_, K, S> {
    /// The JSON of record `id`: the remembered rendering if `fresh` says its stamp is
    /// the stamp of this request, else `render` of a new `stamp` (remembered).
    pub fn get_or_render<Q>(
        &mut self,
        id: &Q,
        fresh: impl FnOnce(&S) -> bool,
        stamp: impl FnOnce() -> S,
        render: impl FnOnce(&S) -> Vec<u8>,
    ) -> Bytes
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some((stored, bytes)) = self.entries.get(id) {
            if fresh(stored) {
                return bytes.clone();
            }
        }
        let stamp = stamp();
        let bytes = Bytes::from(render(&stamp));
        crate::remember(
            &mut self.entries,
            self.capacity,
            id.to_owned(),
            (stamp, bytes.clone()),
        );
        bytes
    }
}

/// A JSON body sent as the parts it was assembled from (`prefix`, fragments joined by
/// commas, `suffix`), so a page of remembered renderings is never copied into one buffer.
pub struct JsonParts {
    chunks: std::vec::IntoIter<Bytes>,
    size: u64,
}

impl JsonParts {
    pub fn new(prefix: &'static [u8], parts: Vec<Bytes>, suffix: Bytes) -> JsonParts {
        let mut chunks = Vec::with_capacity(parts.len() * 2 + 2);
        chunks.push(Bytes::from_static(prefix));
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                chunks.push(Bytes::from_static(b","));
            }
            chunks.push(p);
        }
        chunks.push(suffix);
        let size = chunks.iter().map(|c| c.len() as u64).sum();
        JsonParts {
            chunks: chunks.into_iter(),
            size,
        }
    }
}

impl MessageBody for JsonParts {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.chunks.next().map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_rendering_is_reused_only_while_its_stamp_is_fresh() {
        let cache: RenderCache<String, _> = RenderCache::new(10);
        let renders = Cell::new(0);
        let get = |id: &str, want: (u32, &'static str)| {
            cache.lock().get_or_render(
                id,
                |s| *s == want,
                || want,
                |s| {
                    renders.set(renders.get() + 1);
                    format!("{{\"v\":{},\"s\":\"{}\"}}", s.0, s.1).into_bytes()
                },
            )
        };
        let a = get("x", (1, "ACTIVE"));
        let b = get("x", (1, "ACTIVE"));
        assert_eq!(a, b);
        assert_eq!(renders.get(), 1, "second answer from memory");
        let c = get("x", (1, "REBOOT"));
        assert_eq!(&c[..], br#"{"v":1,"s":"REBOOT"}"#);
        assert_eq!(renders.get(), 2, "another stamp renders again");
        let d = get("y", (1, "REBOOT"));
        assert_eq!(d, c);
        assert_eq!(renders.get(), 3, "another id renders again");
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = RenderCache::new(3);
        for i in 0..10 {
            cache
                .lock()
                .get_or_render(&i, |s| *s == i, || i, |s| s.to_string().into_bytes());
            assert!(cache.lock().entries.len() <= 3);
        }
    }

    #[actix_web::test]
    async fn parts_make_one_json_document_of_the_announced_size() {
        let parts = vec![Bytes::from_static(b"1"), Bytes::from_static(b"{}")];
        let body = JsonParts::new(b"[", parts, Bytes::from_static(b"]"));
        assert_eq!(body.size(), BodySize::Sized(6));
        let bytes = actix_web::body::to_bytes(body).await.unwrap();
        assert_eq!(&bytes[..], b"[1,{}]");
        let empty = JsonParts::new(b"[", Vec::new(), Bytes::from_static(b"]"));
        assert_eq!(&actix_web::body::to_bytes(empty).await.unwrap()[..], b"[]");
    }
}
