//! Glance v2's image list rules (`GET /v2/images`): filters, sort order and paging, over
//! the images Compute knows, so the image service and Nova's `/images` show one set of
//! ids. Pure: the routes parse the query into [`ListQuery`] and render what [`list`]
//! returns.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::domain::catalog::Image;

/// Glance's default page size and its largest (`limit_param_default`, `api_limit_max`).
pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;

/// The keys a client may sort by.
const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

/// What every image shows, besides its own fields.
pub const CONTAINER_FORMAT: &str = "ovf";
pub const DISK_FORMAT: &str = "vhd";
pub const SIZE_BYTES: u64 = 2_147_483_648;

/// One `GET /v2/images` query, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub limit: usize,
    pub marker: Option<String>,
    /// (key, descending), most significant first.
    pub sort: Vec<(String, bool)>,
    pub filters: Vec<Filter>,
}

/// One filter of the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `name`, `id`, `status`, `container_format`, `disk_format`, `visibility`, `owner` and
    /// image properties: the image's value is one of these.
    OneOf(String, Vec<String>),
    /// `os_hidden` or `protected`.
    Flag(String, bool),
    /// `tag` (repeatable, every one must be present).
    Tag(String),
    SizeMin(u64),
    SizeMax(u64),
    /// `created_at` / `updated_at` with an operator.
    Time(String, TimeOp, DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

/// A query Glance refuses, with Glance's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

fn bad(msg: impl Into<String>) -> BadQuery {
    BadQuery(msg.into())
}

impl ListQuery {
    /// Reads decoded `(key, value)` pairs as Glance's request deserializer does.
    pub fn parse(pairs: &[(String, String)]) -> Result<ListQuery, BadQuery> {
        let mut q = ListQuery {
            limit: DEFAULT_LIMIT,
            ..ListQuery::default()
        };
        let mut sort_keys = Vec::new();
        let mut sort_dirs = Vec::new();
        let mut sort = None;
        let mut hidden_given = false;
        for (k, v) in pairs {
            match k.as_str() {
                "limit" => {
                    let n: i64 = v
                        .trim()
                        .parse()
                        .map_err(|_| bad("limit param must be an integer"))?;
                    if n < 0 {
                        return Err(bad("limit param must be positive"));
                    }
                    q.limit = (n as usize).min(MAX_LIMIT);
                }
                "marker" => q.marker = Some(v.clone()),
                "sort_key" => {
                    if !SORT_KEYS.contains(&v.as_str()) {
                        return Err(bad(format!("Invalid sort key: {v}.")));
                    }
                    sort_keys.push(v.clone());
                }
                "sort_dir" => sort_dirs.push(direction(v)?),
                "sort" => sort = Some(v.clone()),
                "changes-since" => {
                    return Err(bad("changes-since is not a valid filter for images"))
                }
                "member_status" => {
                    if !["pending", "accepted", "rejected", "all"].contains(&v.as_str()) {
                        return Err(bad(format!(
                            "Invalid status value: {v}. Valid values are: pending, accepted, rejected, all"
                        )));
                    }
                }
                "visibility" => {
                    if !["public", "private", "shared", "community", "all"].contains(&v.as_str()) {
                        return Err(bad(format!("Invalid visibility value: {v}")));
                    }
                    if v != "all" {
                        q.filters.push(Filter::OneOf(k.clone(), vec![v.clone()]));
                    }
                }
                "os_hidden" | "protected" => {
                    let flag = match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(format!("Invalid value '{v}' for parameter '{k}'"))),
                    };
                    hidden_given |= k == "os_hidden";
                    q.filters.push(Filter::Flag(k.clone(), flag));
                }
                "tag" => q.filters.push(Filter::Tag(v.clone())),
                "size_min" | "size_max" => {
                    let n: u64 = v
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("Invalid value for {k}: {v}")))?;
                    q.filters.push(if k == "size_min" {
                        Filter::SizeMin(n)
                    } else {
                        Filter::SizeMax(n)
                    });
                }
                "created_at" | "updated_at" => {
                    let (op, t) = time_filter(v)?;
                    q.filters.push(Filter::Time(k.clone(), op, t));
                }
                _ => q.filters.push(Filter::OneOf(k.clone(), one_of(v)?)),
            }
        }
        if !hidden_given {
            q.filters.push(Filter::Flag("os_hidden".into(), false));
        }
        q.sort = match sort {
            Some(_) if !sort_keys.is_empty() || !sort_dirs.is_empty() => {
                return Err(bad(
                    "The sort param cannot be combined with sort_key or sort_dir",
                ));
            }
            Some(s) => s
                .split(',')
                .map(|part| {
                    let (key, dir) = part.split_once(':').unwrap_or((part, "desc"));
                    if !SORT_KEYS.contains(&key) {
                        return Err(bad(format!("Invalid sort key: {key}.")));
                    }
                    Ok((key.to_string(), direction(dir)?))
                })
                .collect::<Result<_, _>>()?,
            None if sort_keys.is_empty() => vec![("created_at".into(), true)],
            None => sort_keys
                .into_iter()
                .enumerate()
                .map(|(n, key)| {
                    let desc = sort_dirs
                        .get(n)
                        .or(sort_dirs.last())
                        .copied()
                        .unwrap_or(true);
                    (key, desc)
                })
                .collect(),
        };
        Ok(q)
    }
}

fn direction(v: &str) -> Result<bool, BadQuery> {
    match v {
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(bad(format!("Invalid sort direction: {v}"))),
    }
}

/// `in:a,b,"c,d"`, `eq:x`, or a plain value.
fn one_of(v: &str) -> Result<Vec<String>, BadQuery> {
    if let Some(list) = v.strip_prefix("in:") {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for c in list.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        if quoted {
            return Err(bad("Invalid filter value: the quotes are not closed"));
        }
        out.push(cur);
        return Ok(out);
    }
    Ok(vec![v.strip_prefix("eq:").unwrap_or(v).to_string()])
}

fn time_filter(v: &str) -> Result<(TimeOp, DateTime<Utc>), BadQuery> {
    let (op, rest) = match v.split_once(':') {
        Some((op, rest)) if op.chars().all(|c| c.is_ascii_alphabetic()) => {
            let op = match op {
                "gt" => TimeOp::Gt,
                "gte" => TimeOp::Gte,
                "lt" => TimeOp::Lt,
                "lte" => TimeOp::Lte,
                "eq" => TimeOp::Eq,
                "neq" => TimeOp::Neq,
                _ => return Err(bad(format!("Unable to filter by unknown operator '{op}'."))),
            };
            (op, rest)
        }
        _ => (TimeOp::Eq, v),
    };
    let t = common::clock::parse_timestamp(rest)
        .ok_or_else(|| bad(format!("Unable to filter on a date: {rest}")))?;
    Ok((op, t))
}

/// What the list knows of an image for the caller: its fields as Glance names them.
pub struct Facts<'a> {
    pub image: &'a Image,
    pub visibility: &'static str,
    pub owner: Option<&'a str>,
    pub properties: Vec<(String, String)>,
}

impl Facts<'_> {
    fn field(&self, key: &str) -> Option<String> {
        let i = self.image;
        match key {
            "id" => Some(i.id.clone()),
            "name" => Some(i.name.clone()),
            "status" => Some("active".into()),
            "visibility" => Some(self.visibility.into()),
            "owner" => self.owner.map(str::to_string),
            "container_format" => Some(CONTAINER_FORMAT.into()),
            "disk_format" => Some(DISK_FORMAT.into()),
            _ => self
                .properties
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone()),
        }
    }

    fn matches(&self, f: &Filter) -> bool {
        let created = self.image.created_ms;
        match f {
            Filter::OneOf(key, values) => self.field(key).is_some_and(|v| values.contains(&v)),
            // No image here is hidden or protected.
            Filter::Flag(_, flag) => !flag,
            Filter::Tag(_) => false,
            Filter::SizeMin(n) => SIZE_BYTES >= *n,
            Filter::SizeMax(n) => SIZE_BYTES <= *n,
            Filter::Time(_, op, t) => {
                let ms = t.timestamp_millis();
                let created = created / 1000 * 1000;
                match op {
                    TimeOp::Gt => created > ms,
                    TimeOp::Gte => created >= ms,
                    TimeOp::Lt => created < ms,
                    TimeOp::Lte => created <= ms,
                    TimeOp::Eq => created == ms,
                    TimeOp::Neq => created != ms,
                }
            }
        }
    }
}

/// The page of `images` the query asks for, and whether a next page may follow (the
/// page is full). An unknown marker is Glance's 400.
pub fn list<'a>(images: Vec<Facts<'a>>, q: &ListQuery) -> Result<(Vec<Facts<'a>>, bool), BadQuery> {
    let mut kept: Vec<Facts<'a>> = images
        .into_iter()
        .filter(|i| q.filters.iter().all(|f| i.matches(f)))
        .collect();
    kept.sort_by(|a, b| {
        for (key, desc) in &q.sort {
            let ord = compare(a, b, key);
            if ord != Ordering::Equal {
                return if *desc { ord.reverse() } else { ord };
            }
        }
        // Glance's tie-breaker: id, in the direction of the last key.
        let ord = a.image.id.cmp(&b.image.id);
        if q.sort.last().is_none_or(|(_, desc)| *desc) {
            ord.reverse()
        } else {
            ord
        }
    });
    let start = match &q.marker {
        None => 0,
        Some(m) => {
            kept.iter()
                .position(|i| i.image.id == *m)
                .ok_or_else(|| bad(format!("Invalid marker. Image {m} could not be found.")))?
                + 1
        }
    };
    let page: Vec<Facts<'a>> = kept.into_iter().skip(start).take(q.limit).collect();
    let full = q.limit > 0 && page.len() == q.limit;
    Ok((page, full))
}

fn compare(a: &Facts<'_>, b: &Facts<'_>, key: &str) -> Ordering {
    match key {
        "created_at" | "updated_at" => a.image.created_ms.cmp(&b.image.created_ms),
        "size" => Ordering::Equal,
        _ => a.field(key).cmp(&b.field(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, name: &str, created_ms: i64) -> Image {
        Image {
            id: id.into(),
            name: name.into(),
            min_ram: 512,
            min_disk: 20,
            os_type: "linux".into(),
            os_distro: "ubuntu".into(),
            regions: vec![],
            server: None,
            created_ms,
        }
    }

    fn facts(images: &[Image]) -> Vec<Facts<'_>> {
        images
            .iter()
            .map(|image| Facts {
                image,
                visibility: "public",
                owner: None,
                properties: vec![("os_type".into(), image.os_type.clone())],
            })
            .collect()
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn ids(q: &str, images: &[Image]) -> Result<Vec<String>, BadQuery> {
        let q = ListQuery::parse(&pairs(q))?;
        let (page, _) = list(facts(images), &q)?;
        Ok(page.iter().map(|f| f.image.id.clone()).collect())
    }

    #[test]
    fn newest_first_by_default_and_sortable_by_name() {
        let images = [image("a", "Zed", 1), image("b", "Alpha", 2)];
        assert_eq!(ids("", &images).unwrap(), ["b", "a"]);
        assert_eq!(
            ids("sort_key=name&sort_dir=asc", &images).unwrap(),
            ["b", "a"]
        );
        assert_eq!(ids("sort=name:desc", &images).unwrap(), ["a", "b"]);
    }

    #[test]
    fn filters_by_name_id_lists_and_properties() {
        let images = [image("a", "Ubuntu", 1), image("b", "Debian, 12", 2)];
        assert_eq!(ids("name=Ubuntu", &images).unwrap(), ["a"]);
        assert_eq!(ids("id=in:a,b", &images).unwrap(), ["b", "a"]);
        assert_eq!(ids("name=in:\"Debian, 12\"", &images).unwrap(), ["b"]);
        assert_eq!(ids("os_type=linux&name=eq:Ubuntu", &images).unwrap(), ["a"]);
        assert!(ids("os_type=windows", &images).unwrap().is_empty());
        assert!(ids("tag=x", &images).unwrap().is_empty());
        assert!(ids("os_hidden=True", &images).unwrap().is_empty());
    }

    #[test]
    fn pages_follow_the_marker_and_say_when_full() {
        let images = [image("a", "1", 3), image("b", "2", 2), image("c", "3", 1)];
        let q = ListQuery::parse(&pairs("limit=2")).unwrap();
        let (page, full) = list(facts(&images), &q).unwrap();
        assert_eq!(page.len(), 2);
        assert!(full);
        assert_eq!(ids("limit=2&marker=b", &images).unwrap(), ["c"]);
        assert_eq!(
            ids("marker=nope", &images).unwrap_err().0,
            "Invalid marker. Image nope could not be found."
        );
    }

    #[test]
    fn refuses_what_glance_refuses() {
        for (q, text) in [
            ("limit=x", "limit param must be an integer"),
            ("limit=-1", "limit param must be positive"),
            ("sort_key=flavor", "Invalid sort key: flavor."),
            ("sort_dir=up", "Invalid sort direction: up"),
            ("visibility=everyone", "Invalid visibility value: everyone"),
            (
                "sort=name&sort_key=id",
                "The sort param cannot be combined with sort_key or sort_dir",
            ),
        ] {
            assert_eq!(ListQuery::parse(&pairs(q)).unwrap_err().0, text, "{q}");
        }
    }
}
