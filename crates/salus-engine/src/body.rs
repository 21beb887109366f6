//! The stored JSON of a version. A resource is serialized once, before the write transaction,
//! into the parts the server does not set; inside the transaction, where the version number and
//! `lastUpdated` are decided, the parts are joined around them. Serializing there held the
//! single writer for about a tenth of its time in a bulk load.
//!
//! The result is what serializing the stamped resource would give: `resourceType`, `id` and
//! `meta` first (where readers look), `meta` starting with `versionId` and `lastUpdated` and
//! keeping the client's other meta (profiles, tags, security labels), then every other member
//! in the client's order.

use crate::clock;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A resource's members other than those the server sets, serialized.
#[derive(Debug, Clone)]
pub(crate) struct BodyParts {
    resource_type: String,
    /// The members of `meta` other than `versionId` and `lastUpdated`: `"k":v,...`, no braces.
    meta: Vec<u8>,
    /// The members other than `resourceType`, `id` and `meta`, the same way.
    rest: Vec<u8>,
}

impl BodyParts {
    /// The parts of a resource (a JSON object; anything else has no members to keep) and the SHA-256 of its JSON as `serde_json` writes it (members in
    /// the client's order): the content hash that recognises an update changing nothing, so
    /// it must stay what hashing `serde_json::to_vec(resource)` gives (stored versions carry
    /// it). Each member is serialized once and serves both; serializing the resource a second
    /// time, into the hasher, was a twelfth of a bulk load's preparation.
    pub(crate) fn hashed(resource: &Value) -> Result<(BodyParts, [u8; 32]), serde_json::Error> {
        let Value::Object(object) = resource else {
            let hash = Sha256::digest(serde_json::to_vec(resource)?).into();
            return Ok((BodyParts { resource_type: String::new(), meta: Vec::new(), rest: Vec::new() }, hash));
        };
        let resource_type = object.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut hasher = Sha256::new();
        let (mut meta, mut rest, mut member) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (key, value)) in object.iter().enumerate() {
            member.clear();
            serde_json::to_writer(&mut member, key)?;
            member.push(b':');
            serde_json::to_writer(&mut member, value)?;
            hasher.update(if i == 0 { b"{" } else { b"," });
            hasher.update(&member);
            match (key.as_str(), value) {
                ("resourceType" | "id", _) => {}
                ("meta", Value::Object(m)) => meta = members(m, &["versionId", "lastUpdated"])?,
                ("meta", _) => {}
                _ => {
                    if !rest.is_empty() {
                        rest.push(b',');
                    }
                    rest.extend_from_slice(&member);
                }
            }
        }
        hasher.update(if object.is_empty() { b"{}".as_slice() } else { b"}".as_slice() });
        Ok((BodyParts { resource_type, meta, rest }, hasher.finalize().into()))
    }

    /// The stored JSON of the version `version` of resource `id`, last updated at `last_updated_ms`.
    pub(crate) fn stamped(&self, id: &str, version: u64, last_updated_ms: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rest.len() + self.meta.len() + self.resource_type.len() + id.len() + 96);
        out.extend_from_slice(b"{\"resourceType\":");
        write_string(&mut out, &self.resource_type);
        out.extend_from_slice(b",\"id\":");
        write_string(&mut out, id);
        out.extend_from_slice(b",\"meta\":{\"versionId\":");
        write_string(&mut out, &version.to_string());
        out.extend_from_slice(b",\"lastUpdated\":");
        write_string(&mut out, &clock::format_instant(last_updated_ms));
        if !self.meta.is_empty() {
            out.push(b',');
            out.extend_from_slice(&self.meta);
        }
        out.push(b'}');
        if !self.rest.is_empty() {
            out.push(b',');
            out.extend_from_slice(&self.rest);
        }
        out.push(b'}');
        out
    }
}

/// The members of `object` except `skip`, as they appear inside its braces.
fn members(object: &Map<String, Value>, skip: &[&str]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    for (key, value) in object {
        if skip.contains(&key.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut out, value)?;
    }
    Ok(out)
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Removes what the server owns in `meta` (`versionId`, `lastUpdated`); an emptied `meta` goes.
pub(crate) fn strip_server_meta(resource: &mut Value) {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.shift_remove("versionId");
        meta.shift_remove("lastUpdated");
        if meta.is_empty()
            && let Some(obj) = resource.as_object_mut()
        {
            obj.shift_remove("meta");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The parts as the members of the resource and of its `meta`, each serialized alone: what
    /// one pass must give.
    fn parts_alone(resource: &Value) -> (String, Vec<u8>, Vec<u8>) {
        let empty = Map::new();
        let object = resource.as_object().unwrap_or(&empty);
        let resource_type = object.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_string();
        let meta = match object.get("meta") {
            Some(Value::Object(meta)) => members(meta, &["versionId", "lastUpdated"]).expect("meta"),
            _ => Vec::new(),
        };
        (resource_type, meta, members(object, &["resourceType", "id", "meta"]).expect("members"))
    }

    fn parts(resource: &Value) -> BodyParts {
        BodyParts::hashed(resource).expect("parts").0
    }

    fn stamped(resource: Value, id: &str, version: u64) -> Value {
        let body = parts(&resource).stamped(id, version, 0);
        serde_json::from_slice(&body).expect("the stamped body is JSON")
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    #[test]
    fn stamping_puts_type_id_and_meta_first_and_keeps_client_tags() {
        let r = stamped(json!({"gender": "female", "resourceType": "Patient", "meta": {"tag": [{"code": "x"}]}}), "p1", 2);
        assert_eq!(keys(&r), ["resourceType", "id", "meta", "gender"]);
        assert_eq!(r["meta"]["versionId"], "2");
        assert_eq!(r["meta"]["lastUpdated"], "1970-01-01T00:00:00.000Z");
        assert_eq!(r["meta"]["tag"][0]["code"], "x");
    }

    #[test]
    fn stamping_replaces_a_late_id_and_server_meta() {
        let r = stamped(
            json!({"resourceType": "Patient", "active": true, "id": "old",
                "meta": {"profile": ["p"], "versionId": "9", "lastUpdated": "2000-01-01T00:00:00Z"}}),
            "p1",
            3,
        );
        assert_eq!(keys(&r), ["resourceType", "id", "meta", "active"]);
        assert_eq!(r["id"], "p1");
        assert_eq!(keys(&r["meta"]), ["versionId", "lastUpdated", "profile"]);
        assert_eq!(r["meta"]["versionId"], "3");
    }

    #[test]
    fn the_stamped_body_is_what_serializing_the_stamped_resource_gives() {
        let r = json!({"resourceType": "Observation", "status": "final", "meta": {"tag": [{"code": "a\"b"}]},
            "valueString": "é \\ \n", "code": {"text": "x"}});
        let body = parts(&r).stamped("o-1", 1, 0);
        let expected = json!({"resourceType": "Observation", "id": "o-1",
            "meta": {"versionId": "1", "lastUpdated": "1970-01-01T00:00:00.000Z", "tag": [{"code": "a\"b"}]},
            "status": "final", "valueString": "é \\ \n", "code": {"text": "x"}});
        assert_eq!(body, serde_json::to_vec(&expected).expect("json"));
        let bare = parts(&json!({"resourceType": "Basic"})).stamped("b", 1, 0);
        assert_eq!(bare, br#"{"resourceType":"Basic","id":"b","meta":{"versionId":"1","lastUpdated":"1970-01-01T00:00:00.000Z"}}"#);
    }

    /// The parts and hash made in one pass equal the parts made alone and the hash of the whole
    /// serialized resource, on hand-made edge cases and every resource of one Synthea bundle.
    #[test]
    fn one_pass_gives_the_parts_and_the_hash_of_the_serialized_resource() {
        let mut cases = vec![
            json!({}),
            json!({"resourceType": "Basic"}),
            json!({"id": "x", "resourceType": "Patient", "meta": {"tag": [{"code": "t"}]}, "name": [{"family": "Zoë \\ \" é"}]}),
            json!({"resourceType": "Patient", "meta": "not an object", "active": true}),
            json!({"resourceType": "Observation", "valueQuantity": {"value": 1.50, "unit": "\u{7}"}, "meta": {}}),
            json!([1, 2]),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
        let bundle = std::fs::read_dir(&dir).expect("Synthea data").flatten().map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json")).expect("a bundle");
        let bundle: Value = serde_json::from_slice(&std::fs::read(bundle).expect("read")).expect("json");
        cases.extend(bundle["entry"].as_array().expect("entries").iter().map(|e| e["resource"].clone()));
        assert!(cases.len() > 20);
        for r in &cases {
            let (parts, hash) = BodyParts::hashed(r).expect("parts");
            let expected: [u8; 32] = Sha256::digest(serde_json::to_vec(r).expect("json")).into();
            assert_eq!(hash, expected, "{r}");
            assert_eq!((parts.resource_type, parts.meta, parts.rest), parts_alone(r), "{r}");
        }
    }

    #[test]
    fn server_meta_is_stripped_before_hashing() {
        let mut r = json!({"resourceType": "Patient", "meta": {"versionId": "7", "lastUpdated": "2020-01-01T00:00:00Z"}});
        strip_server_meta(&mut r);
        assert_eq!(r, json!({"resourceType": "Patient"}));
    }
}
