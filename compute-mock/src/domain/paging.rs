//! Query strings of list calls: `limit`/`marker` and the `rel: next` link's query.
//!
//! Parameters are kept as the client wrote them (still percent-encoded), so the next link
//! repeats every filter exactly and only `marker` (and `limit`) change.

/// The query of a list call, as raw `key=value` pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: raw
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (p.to_string(), String::new()),
                })
                .collect(),
        }
    }

    /// The decoded value of the first `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.all(key).next()
    }

    /// Every decoded value of `key` (Kilo lets `status` repeat).
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = String> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| decode(k) == key)
            .map(|(_, v)| decode(v))
    }

    /// The query of the next page: every parameter as sent, `limit` as given (added
    /// when absent), and `marker` set to the last id of this page.
    pub fn next(&self, limit: usize, marker: &str) -> String {
        let mut out: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "marker")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !self.pairs.iter().any(|(k, _)| k == "limit") {
            out.push(format!("limit={limit}"));
        }
        out.push(format!("marker={}", encode(marker)));
        out.join("&")
    }
}

/// `limit` as Nova reads it: absent or 0 means the maximum; capped at the maximum.
pub fn parse_limit(v: Option<&str>, max: usize) -> Result<usize, &'static str> {
    let Some(v) = v else { return Ok(max) };
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| "limit param must be an integer")?;
    if n < 0 {
        return Err("limit param must be positive");
    }
    Ok(if n == 0 { max } else { (n as usize).min(max) })
}

/// Percent-decoding of a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Applies `marker` and `limit` to an in-memory list; returns the page and the
/// `<collection>_links` next link when the page is full. Nova's text when the limit or
/// the marker is refused (a 400).
pub fn paginate<'a, T>(
    items: Vec<&'a T>,
    id: impl Fn(&T) -> &str,
    q: &Query,
    max: usize,
    url: &str,
) -> Result<(Vec<&'a T>, Option<serde_json::Value>), String> {
    let limit = parse_limit(q.get("limit").as_deref(), max)?;
    let start = match q.get("marker") {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|i| id(i) == m)
                .ok_or_else(|| format!("marker [{m}] not found"))?
                + 1
        }
    };
    let page: Vec<&T> = items.into_iter().skip(start).take(limit).collect();
    let next = (page.len() == limit).then(|| page.last()).flatten().map(|last| {
        serde_json::json!([{"href": format!("{url}?{}", q.next(limit, id(last))), "rel": "next"}])
    });
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_like_nova() {
        assert_eq!(parse_limit(None, 1000), Ok(1000));
        assert_eq!(parse_limit(Some("0"), 1000), Ok(1000));
        assert_eq!(parse_limit(Some("5000"), 1000), Ok(1000));
        assert_eq!(parse_limit(Some("10"), 1000), Ok(10));
        assert_eq!(
            parse_limit(Some("ten"), 1000),
            Err("limit param must be an integer")
        );
        assert_eq!(
            parse_limit(Some("-1"), 1000),
            Err("limit param must be positive")
        );
    }

    #[test]
    fn the_next_query_keeps_filters_and_replaces_the_marker() {
        let q = Query::parse("name=web%2B1&limit=2&marker=old&changes-since=2020-01-01T00:00:00Z");
        assert_eq!(
            q.next(2, "new"),
            "name=web%2B1&limit=2&changes-since=2020-01-01T00:00:00Z&marker=new"
        );
        assert_eq!(q.get("name").as_deref(), Some("web+1"));
        assert_eq!(Query::parse("").next(1000, "a"), "limit=1000&marker=a");
    }

    #[test]
    fn decoding_handles_plus_and_percent() {
        assert_eq!(decode("a+b%3A%zz"), "a b:%zz");
        assert_eq!(decode("100%"), "100%");
    }
}
