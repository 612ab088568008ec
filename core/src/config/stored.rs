//! The stored client record: what a client store (memory, KV, Durable Objects, Redis) keeps
//! for a client registered through RFC 7591, written by [`ClientRecord::to_json`] and read back
//! by [`ServerConfig::stored_client`].
//!
//! This is the store's format, not configuration. Records outlive the version that wrote them,
//! so the format changes only together with a way to read what was written before; the
//! configuration format ([`RawClient`]) may change on its own. Today both hold the same
//! members under the same names and a stored record is checked by the same rules as a
//! configured client ([`RawClient::into_record`]); a member only one of them has is handled in
//! its own conversion.

use super::*;

/// A client record as a client store keeps it (JSON; members in this order, absent ones
/// left out).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStoredClient {
    /// `client_id`.
    pub client_id: String,
    /// The authentication method (RFC 7591 `token_endpoint_auth_method`); records written by
    /// this crate always carry it, `client_secret_basic` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// `sha256:<base64url>` of the secret (basic and post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    /// The secret itself, only for `client_secret_jwt` (it is the HMAC key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The client's public keys, only for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// The only assertion algorithm accepted, if registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// Grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Registered scopes, space-separated (cut to today's `allowed_scope` at every load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Registered audiences (cut to today's `default_audiences` at every load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Secret expiry (Unix seconds, 0 = never), RFC 7591 `client_secret_expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// Registration time, RFC 7591 `client_id_issued_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<u64>,
    /// `sha256:<base64url>` of the RFC 7592 registration access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token_hash: Option<String>,
    /// Informational metadata (`client_name`, `contacts`, ...), kept for RFC 7592 reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// The issuer of the server that registered the client: only that server loads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// This client's access token lifetime, seconds (cut to today's `max_token_ttl` at every
    /// load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<RawDuration>,
    /// Static claims added to this client's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// Disabled by the operator (or by the client itself, where the server allows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// May call the introspection endpoint (set by the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection: Option<bool>,
}

impl RawStoredClient {
    /// Converts to a typed record, with the rules of a configured client; `default_audiences`
    /// fill in a missing `audiences`.
    pub fn into_record(self, default_audiences: &[String]) -> Result<ClientRecord, ConfigError> {
        // Every member named, so a member added to either format does not compile until this
        // conversion says what becomes of it.
        let RawStoredClient {
            client_id,
            token_endpoint_auth_method,
            client_secret_hash,
            client_secret,
            jwks,
            token_endpoint_auth_signing_alg,
            grant_types,
            scope,
            audiences,
            client_secret_expires_at,
            client_id_issued_at,
            registration_access_token_hash,
            metadata,
            issuer,
            token_ttl,
            claims,
            disabled,
            introspection,
        } = self;
        RawClient {
            client_id,
            token_endpoint_auth_method,
            client_secret_hash,
            client_secret,
            jwks,
            token_endpoint_auth_signing_alg,
            grant_types,
            scope,
            audiences,
            client_secret_expires_at,
            client_id_issued_at,
            registration_access_token_hash,
            metadata,
            issuer,
            token_ttl,
            claims,
            disabled,
            introspection,
        }
        .into_record(default_audiences)
    }

    /// Parses and converts a stored record (JSON), without the checks of
    /// [`ServerConfig::stored_client`] (issuer, today's scopes and audiences).
    pub fn record_from_json(
        text: &str,
        default_audiences: &[String],
    ) -> Result<ClientRecord, ConfigError> {
        parse_json::<RawStoredClient>(text)?.into_record(default_audiences)
    }
}

impl From<&ClientRecord> for RawStoredClient {
    fn from(record: &ClientRecord) -> Self {
        let (client_secret_hash, client_secret, jwks) = match &record.credential {
            ClientCredential::SecretHash(h) => (Some(h.to_stored()), None, None),
            ClientCredential::Secret(s) => (None, Some(String::from(s.as_str())), None),
            ClientCredential::Jwks(set) => (None, None, Some(set.to_public_json())),
        };
        RawStoredClient {
            client_id: record.client_id.clone(),
            token_endpoint_auth_method: Some(record.auth_method.name().into()),
            client_secret_hash,
            client_secret,
            jwks,
            token_endpoint_auth_signing_alg: record.signing_alg.map(|a| a.name().into()),
            grant_types: Some(record.grant_types.clone()),
            scope: Some(record.scopes.join(" ")),
            audiences: Some(record.audiences.clone()),
            client_secret_expires_at: record.secret_expires_at,
            client_id_issued_at: record.client_id_issued_at,
            registration_access_token_hash: record
                .registration_access_token_hash
                .as_ref()
                .map(SecretHash::to_stored),
            metadata: if record.metadata.is_empty() {
                None
            } else {
                Some(record.metadata.clone())
            },
            issuer: record.issuer.clone(),
            token_ttl: record.token_ttl.map(RawDuration::Seconds),
            claims: Some(record.claims.clone()).filter(|c| !c.is_empty()),
            disabled: record.disabled.then_some(true),
            introspection: record.introspection.then_some(true),
        }
    }
}

impl ClientRecord {
    /// The stored form (what a client store keeps), from which
    /// [`RawStoredClient::into_record`] rebuilds the record.
    pub fn to_stored(&self) -> RawStoredClient {
        RawStoredClient::from(self)
    }

    /// The stored form as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_stored()).unwrap_or_default()
    }
}

/// What clients loaded from a client store may hold today: registration's current
/// `allowed_scope` and audiences. A stored record is cut down to them at every load, so
/// narrowing the policy narrows existing clients too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClientPolicy {
    /// Scopes a stored client may keep.
    pub allowed_scopes: BTreeSet<String>,
    /// Audiences a stored client may keep.
    pub audiences: Vec<String>,
    /// A stored client's `token_ttl` is cut to this.
    pub max_token_ttl: u64,
}

impl ServerConfig {
    /// A client record read from a client store (the JSON [`ClientRecord::to_json`] wrote),
    /// as this server may use it today: refused unless this issuer registered it (a store
    /// shared by two servers does not lend one's clients to the other), and its scopes and
    /// audiences cut to the current [`StoredClientPolicy`]. `None` for a record that is
    /// malformed, another issuer's, left without an audience, or when the configuration has
    /// no `registration` section: the host answers as for an unknown client.
    pub fn stored_client(&self, text: &str) -> Option<ClientRecord> {
        let policy = self.stored_clients.as_ref()?;
        let mut record = RawStoredClient::record_from_json(text, &self.default_audiences).ok()?;
        if record.issuer.as_deref() != Some(self.issuer.as_str()) {
            return None;
        }
        record.scopes.retain(|s| policy.allowed_scopes.contains(s));
        record.audiences.retain(|a| policy.audiences.contains(a));
        if record.audiences.is_empty() {
            return None;
        }
        record.token_ttl = record.token_ttl.map(|t| t.min(policy.max_token_ttl));
        Some(record)
    }
}

/// An operator's change to a stored client (the npm package's `updateClient`): the settings
/// only the operator sets. Absent members are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientChange {
    /// Disable (`true`) or enable (`false`) the client.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Allow or forbid introspection.
    #[serde(default)]
    pub introspection: Option<bool>,
    /// Replace the static claims (`{}` removes them).
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
    /// Set the client's token lifetime, seconds (at most `max_token_ttl`).
    #[serde(default)]
    pub token_ttl: Option<u64>,
}

impl ServerConfig {
    /// Applies an operator's [`ClientChange`] (JSON) to a stored record (JSON), with every rule
    /// of a configured client; the error names the field. Returns the record to store.
    pub fn change_stored_client(&self, text: &str, change: &str) -> Result<String, ConfigError> {
        let change: ClientChange = parse_json(change)?;
        let mut raw: RawStoredClient = parse_json(text).map_err(|e| e.within("record"))?;
        if change.disabled.is_some() {
            raw.disabled = change.disabled.filter(|d| *d);
        }
        if change.introspection.is_some() {
            raw.introspection = change.introspection.filter(|i| *i);
        }
        if let Some(claims) = change.claims {
            raw.claims = Some(claims).filter(|c| !c.is_empty());
        }
        if let Some(ttl) = change.token_ttl {
            raw.token_ttl = Some(RawDuration::Seconds(ttl));
        }
        // The rules of a configured client, `max_token_ttl` included.
        let record = raw.into_record(&self.default_audiences)?;
        client_token_ttl_within(&record, self.max_token_ttl)?;
        Ok(record.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "sha256:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564";

    /// A record as this crate has written it since stored records carry their issuer: every
    /// member a registered `client_secret_basic` client has, in the order they are written.
    fn written_before() -> String {
        alloc::format!(
            concat!(
                r#"{{"client_id":"r1","token_endpoint_auth_method":"client_secret_basic","#,
                r#""client_secret_hash":"{hash}","grant_types":["client_credentials"],"#,
                r#""scope":"a b","audiences":["https://api.example"],"#,
                r#""client_secret_expires_at":0,"client_id_issued_at":1900000000,"#,
                r#""registration_access_token_hash":"{hash}","#,
                r#""metadata":{{"client_name":"x","contacts":["ops@example.com"]}},"#,
                r#""issuer":"https://as.example"}}"#
            ),
            hash = HASH
        )
    }

    #[test]
    fn a_record_written_before_reads_back_and_writes_out_byte_for_byte() {
        let text = written_before();
        let record = RawStoredClient::record_from_json(&text, &[]).unwrap();
        assert_eq!(record.client_id, "r1");
        assert_eq!(record.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(record.scopes, ["a", "b"]);
        assert_eq!(record.client_id_issued_at, Some(1_900_000_000));
        assert_eq!(record.issuer.as_deref(), Some("https://as.example"));
        assert_eq!(record.metadata["client_name"], "x");
        assert_eq!(record.to_json(), text);
    }

    #[test]
    fn absent_members_are_left_out_and_an_unknown_member_is_refused() {
        let minimal =
            alloc::format!(r#"{{"client_id":"o","client_secret_hash":"{HASH}","issuer":"i"}}"#);
        let record =
            RawStoredClient::record_from_json(&minimal, &["https://api.example".into()]).unwrap();
        assert_eq!(record.audiences, ["https://api.example"]);
        assert_eq!(
            record.to_json(),
            alloc::format!(
                r#"{{"client_id":"o","token_endpoint_auth_method":"client_secret_basic","client_secret_hash":"{HASH}","grant_types":["client_credentials"],"scope":"","audiences":["https://api.example"],"issuer":"i"}}"#
            )
        );
        let unknown = minimal.replace(r#""issuer""#, r#""bogus":1,"issuer""#);
        let err = RawStoredClient::record_from_json(&unknown, &["https://api.example".into()])
            .unwrap_err();
        assert_eq!(err.field, "bogus");
    }

    #[test]
    fn the_store_format_and_the_configuration_format_agree_today() {
        // The same JSON is a valid configured client and a valid stored record, and both
        // become the same record: nothing written to a store was ever read differently.
        let text = written_before();
        let stored: RawStoredClient = serde_json::from_str(&text).unwrap();
        let configured: RawClient = serde_json::from_str(&text).unwrap();
        let from_store = stored.into_record(&[]).unwrap().to_json();
        let from_config = configured.into_record(&[]).unwrap().to_json();
        assert_eq!(from_store, from_config);
    }
}
