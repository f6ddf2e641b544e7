//! Semantic behaviours: Mimic's model of "on this event, for requests that look like
//! this, do that", shared by every mock that declares events.
//!
//! A mock declares an [`Event`] (identity `auth`, compute `creation`, ...) with the names
//! of its criteria and behaviours. Tests register `{"criteria": [...], "name": ...,
//! "parameters": {...}}`; criteria are regexes anchored at the start (Python's
//! `re.match`), or maps of literal key to regex (`metadata`); the first registered
//! behaviour whose criteria all match wins; `sequence` cycles through its members with
//! one cursor per registration, shared by every request that matches it. Registrations
//! live in the store, scoped (per tenant and region for Nova, globally for Identity).

use std::collections::HashMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{Scope, Store, StoreError, Table};

/// What a mock declares about one event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub name: &'static str,
    /// Criteria whose value is one regex (`username`, `server_name`).
    pub text_criteria: &'static [&'static str],
    /// Criteria whose value is a map of key to regex (`metadata`).
    pub map_criteria: &'static [&'static str],
    /// Behaviour names besides `sequence` and `default`.
    pub behaviors: &'static [&'static str],
}

/// A registered behaviour, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    pub id: String,
    pub event: String,
    pub criteria: Vec<(String, CriterionValue)>,
    pub name: String,
    pub parameters: Value,
    /// Next member of a `sequence`.
    pub cursor: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CriterionValue {
    Text(String),
    Map(HashMap<String, String>),
}

/// What the request looks like, criterion by criterion.
#[derive(Debug, Clone)]
pub enum Attribute<'a> {
    Text(&'a str),
    Map(&'a HashMap<String, String>),
    /// The request has no such attribute (auth without a tenant): never matches.
    Absent,
}

/// The behaviour to apply: a name other than `default` with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub registration: String,
    pub name: String,
    pub parameters: Value,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("{0}")]
    Invalid(String),
}

/// The registrations of every event of one mock.
#[derive(Clone)]
pub struct Behaviors {
    table: Table<Registration>,
}

impl Behaviors {
    pub fn new(store: &Store) -> Behaviors {
        Behaviors {
            table: store.table("behaviors"),
        }
    }

    /// Validates and stores a registration; returns its id.
    pub async fn register(
        &self,
        scope: &Scope,
        event: &Event,
        body: &Value,
    ) -> Result<String, RegistrationError> {
        let reg = parse_registration(event, body)?;
        let id = reg.id.clone();
        self.table
            .insert(scope, &id, reg)
            .await
            .map_err(|e| RegistrationError::Invalid(e.to_string()))?;
        Ok(id)
    }

    /// Removes a registration; false when there was none with that id for that event.
    pub async fn delete(&self, scope: &Scope, event: &Event, id: &str) -> Result<bool, StoreError> {
        self.table
            .transact(scope, |rows| {
                if rows.get(id).is_some_and(|r| r.event == event.name) {
                    rows.remove(id);
                    true
                } else {
                    false
                }
            })
            .await
    }

    /// The behaviour for a request, or `None` for the default. Advances a sequence.
    pub async fn choose<'a>(
        &self,
        scope: &Scope,
        event: &Event,
        attribute: impl Fn(&str) -> Attribute<'a>,
    ) -> Result<Option<Chosen>, StoreError> {
        // Most requests meet no registration at all: answer those without the write lock.
        if self.table.count(scope).await? == 0 {
            return Ok(None);
        }
        self.table
            .transact(scope, |rows| {
                let (id, _) = rows.iter().find(|(_, r)| {
                    r.event == event.name
                        && r.criteria.iter().all(|(k, v)| matches(v, &attribute(k)))
                })?;
                let id = id.to_string();
                let reg = rows.get_mut(&id)?;
                let (name, parameters) = if reg.name == "sequence" {
                    let members = reg.parameters["behaviors"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if members.is_empty() {
                        return None;
                    }
                    let m = &members[reg.cursor % members.len()];
                    reg.cursor = (reg.cursor + 1) % members.len();
                    (
                        m["name"].as_str().unwrap_or("default").to_string(),
                        m.get("parameters")
                            .cloned()
                            .unwrap_or(Value::Object(Default::default())),
                    )
                } else {
                    (reg.name.clone(), reg.parameters.clone())
                };
                (name != "default").then_some(Chosen {
                    registration: id,
                    name,
                    parameters,
                })
            })
            .await
    }
}

fn matches(criterion: &CriterionValue, attr: &Attribute<'_>) -> bool {
    match (criterion, attr) {
        (CriterionValue::Text(pattern), Attribute::Text(value)) => anchored_match(pattern, value),
        (CriterionValue::Map(patterns), Attribute::Map(values)) => patterns
            .iter()
            .all(|(k, p)| anchored_match(p, values.get(k).map(String::as_str).unwrap_or(""))),
        _ => false,
    }
}

/// Python's `re.match`: anchored at the start, not at the end.
fn anchored_match(pattern: &str, value: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})"))
        .map(|re| re.is_match(value))
        .unwrap_or(false)
}

fn parse_registration(event: &Event, body: &Value) -> Result<Registration, RegistrationError> {
    let invalid = |m: &str| RegistrationError::Invalid(m.to_string());
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("body must be an object"))?;
    let criteria = obj
        .get("criteria")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("criteria must be a list"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("name is required"))?;
    let parameters = obj
        .get("parameters")
        .filter(|p| p.is_object())
        .ok_or_else(|| invalid("parameters must be an object"))?;
    let mut parsed = Vec::new();
    for c in criteria {
        let c = c
            .as_object()
            .filter(|c| c.len() == 1)
            .ok_or_else(|| invalid("each criterion is an object with one key"))?;
        for (k, v) in c {
            let value = if event.text_criteria.contains(&k.as_str()) {
                let p = v
                    .as_str()
                    .ok_or_else(|| invalid("criterion value must be a string"))?;
                check_regex(p)?;
                CriterionValue::Text(p.to_string())
            } else if event.map_criteria.contains(&k.as_str()) {
                let m = v
                    .as_object()
                    .ok_or_else(|| invalid("criterion value must be an object"))?;
                let mut map = HashMap::new();
                for (mk, mv) in m {
                    let p = mv
                        .as_str()
                        .ok_or_else(|| invalid("criterion value must be a string"))?;
                    check_regex(p)?;
                    map.insert(mk.clone(), p.to_string());
                }
                CriterionValue::Map(map)
            } else {
                return Err(invalid(&format!("unknown criterion {k}")));
            };
            parsed.push((k.clone(), value));
        }
    }
    if name == "sequence" {
        let members = parameters
            .get("behaviors")
            .and_then(Value::as_array)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| invalid("sequence needs a non-empty behaviors list"))?;
        for m in members {
            let mname = m
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("sequence member needs a name"))?;
            if mname != "default" {
                if !event.behaviors.contains(&mname) {
                    return Err(invalid(&format!("unknown behavior {mname}")));
                }
                match m.get("parameters") {
                    Some(p) if p.is_object() => check_parameters(p)?,
                    _ => return Err(invalid("sequence member needs parameters")),
                }
            }
        }
    } else if name != "default" && !event.behaviors.contains(&name) {
        return Err(invalid(&format!("unknown behavior {name}")));
    } else {
        check_parameters(parameters)?;
    }
    Ok(Registration {
        id: uuid::Uuid::new_v4().to_string(),
        event: event.name.to_string(),
        criteria: parsed,
        name: name.to_string(),
        parameters: parameters.clone(),
        cursor: 0,
    })
}

/// The parameters Mimic's behaviours share, checked before anything is registered: a
/// `code` is an HTTP status, a `message` and a `type` are text, a `duration` is a number
/// of seconds. A registration that breaks one would make a later request fail with
/// garbage.
fn check_parameters(p: &Value) -> Result<(), RegistrationError> {
    let invalid = |m: &str| Err(RegistrationError::Invalid(m.to_string()));
    if let Some(code) = p.get("code") {
        if !code.as_u64().is_some_and(|c| (100..=599).contains(&c)) {
            return invalid("parameters.code must be an HTTP status code (100 to 599)");
        }
    }
    for key in ["message", "type"] {
        if p.get(key).is_some_and(|v| !v.is_string()) {
            return invalid(&format!("parameters.{key} must be a string"));
        }
    }
    if let Some(d) = p.get("duration") {
        if !d
            .as_f64()
            .is_some_and(|d| d.is_finite() && (0.0..=1e11).contains(&d))
        {
            return invalid("parameters.duration must be a number of seconds, 0 or more");
        }
    }
    Ok(())
}

fn check_regex(p: &str) -> Result<(), RegistrationError> {
    Regex::new(p)
        .map(|_| ())
        .map_err(|e| RegistrationError::Invalid(format!("bad regex {p:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTH: Event = Event {
        name: "auth",
        text_criteria: &["username", "tenant_id"],
        map_criteria: &[],
        behaviors: &["fail"],
    };
    const CREATE: Event = Event {
        name: "creation",
        text_criteria: &["server_name"],
        map_criteria: &["metadata"],
        behaviors: &["fail", "build"],
    };

    fn user<'a>(name: &'a str) -> impl Fn(&str) -> Attribute<'a> + 'a {
        move |k| match k {
            "username" => Attribute::Text(name),
            _ => Attribute::Absent,
        }
    }

    #[tokio::test]
    async fn a_sequence_cycles_with_one_cursor() {
        let b = Behaviors::new(&Store::memory());
        let s = Scope::global();
        b.register(
            &s,
            &AUTH,
            &json!({"criteria": [{"username": "bob.*"}], "name": "sequence",
            "parameters": {"behaviors": [
                {"name": "fail", "parameters": {"code": 500}},
                {"name": "fail", "parameters": {"code": 401}},
                {"name": "default"}]}}),
        )
        .await
        .unwrap();
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(
                b.choose(&s, &AUTH, user("bobby"))
                    .await
                    .unwrap()
                    .map(|c| c.parameters["code"].clone()),
            );
        }
        assert_eq!(
            got,
            vec![Some(json!(500)), Some(json!(401)), None, Some(json!(500))]
        );
        assert_eq!(
            b.choose(&s, &AUTH, user("alice")).await.unwrap(),
            None,
            "criteria are anchored"
        );
    }

    #[tokio::test]
    async fn an_absent_attribute_never_matches_and_never_fails() {
        let b = Behaviors::new(&Store::memory());
        let s = Scope::global();
        b.register(
            &s,
            &AUTH,
            &json!({"criteria": [{"tenant_id": "1.*"}], "name": "fail", "parameters": {}}),
        )
        .await
        .unwrap();
        assert_eq!(b.choose(&s, &AUTH, user("x")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn metadata_criteria_treat_a_missing_key_as_empty() {
        let b = Behaviors::new(&Store::memory());
        let s = Scope::new("t", "ORD");
        b.register(&s, &CREATE, &json!({"criteria": [{"metadata": {"k": "v.*"}}], "name": "build", "parameters": {"duration": 5}}))
            .await
            .unwrap();
        let md: HashMap<String, String> = [("k".to_string(), "value".to_string())].into();
        let empty = HashMap::new();
        fn with<'a>(m: &'a HashMap<String, String>) -> impl Fn(&str) -> Attribute<'a> + 'a {
            move |k| {
                if k == "metadata" {
                    Attribute::Map(m)
                } else {
                    Attribute::Absent
                }
            }
        }
        assert!(b.choose(&s, &CREATE, with(&md)).await.unwrap().is_some());
        assert!(b.choose(&s, &CREATE, with(&empty)).await.unwrap().is_none());
        assert!(
            b.choose(&Scope::new("t", "DFW"), &CREATE, with(&md))
                .await
                .unwrap()
                .is_none(),
            "scoped to a region"
        );
    }

    #[tokio::test]
    async fn the_first_registration_that_matches_wins_and_delete_restores_default() {
        let b = Behaviors::new(&Store::memory());
        let s = Scope::global();
        let first = b
            .register(
                &s,
                &AUTH,
                &json!({"criteria": [], "name": "fail", "parameters": {"code": 501}}),
            )
            .await
            .unwrap();
        b.register(
            &s,
            &AUTH,
            &json!({"criteria": [], "name": "fail", "parameters": {"code": 502}}),
        )
        .await
        .unwrap();
        assert_eq!(
            b.choose(&s, &AUTH, user("x"))
                .await
                .unwrap()
                .unwrap()
                .parameters["code"],
            501
        );
        assert!(b.delete(&s, &AUTH, &first).await.unwrap());
        assert!(!b.delete(&s, &AUTH, &first).await.unwrap());
        assert_eq!(
            b.choose(&s, &AUTH, user("x"))
                .await
                .unwrap()
                .unwrap()
                .parameters["code"],
            502
        );
    }

    #[test]
    fn malformed_registrations_are_refused() {
        let cases = [
            (json!([]), "not an object"),
            (json!({"name": "fail", "parameters": {}}), "no criteria"),
            (json!({"criteria": [], "parameters": {}}), "no name"),
            (json!({"criteria": [], "name": "fail"}), "no parameters"),
            (
                json!({"criteria": [], "name": "explode", "parameters": {}}),
                "unknown behaviour",
            ),
            (
                json!({"criteria": [{"colour": "x"}], "name": "fail", "parameters": {}}),
                "unknown criterion",
            ),
            (
                json!({"criteria": [{"username": "("}], "name": "fail", "parameters": {}}),
                "bad regex",
            ),
            (
                json!({"criteria": [], "name": "sequence", "parameters": {"behaviors": [{"name": "fail"}]}}),
                "member without parameters",
            ),
            (
                json!({"criteria": [], "name": "fail", "parameters": {"code": "500"}}),
                "a code as a string",
            ),
            (
                json!({"criteria": [], "name": "fail", "parameters": {"code": -1}}),
                "a negative code",
            ),
            (
                json!({"criteria": [], "name": "fail", "parameters": {"code": 1e30}}),
                "a code beyond any status",
            ),
            (
                json!({"criteria": [], "name": "fail", "parameters": {"code": 500, "message": 7}}),
                "a message as a number",
            ),
            (
                json!({"criteria": [], "name": "sequence", "parameters": {"behaviors": [
                    {"name": "default"}, {"name": "fail", "parameters": {"code": "x"}}]}}),
                "a bad code inside a sequence",
            ),
        ];
        for (body, why) in cases {
            assert!(
                parse_registration(&AUTH, &body).is_err(),
                "{why} should be refused"
            );
        }
    }
}
