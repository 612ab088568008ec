//! The Envoy filter's plugin configuration.

use super::*;

/// A rule's `match`, with the names and meanings of Envoy's `config.route.v3.RouteMatch`:
/// exactly one of `prefix`, `path` and `path_separated_prefix`, and `case_sensitive`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Path prefix, a plain string prefix (`/public` also matches `/public-internal`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Exact path (`/admin` does not match `/admin/`).
    #[serde(default)]
    pub path: Option<String>,
    /// The path or anything below it (`/api` matches `/api`, `/api/` and `/api/x`, not
    /// `/apix`); must not end with `/`.
    #[serde(default)]
    pub path_separated_prefix: Option<String>,
    /// Whether the path comparison is case-sensitive (default true; false compares ASCII
    /// letters without case).
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    /// Methods (any when absent).
    #[serde(default)]
    pub methods: Option<Vec<String>>,
}

/// A rule's `requires`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequires {
    /// Provider that must have issued the token.
    pub provider_name: String,
    /// Scopes the token must carry.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Claim values the token must carry: `{"tenant": "acme"}` needs a `tenant` claim equal to
    /// `"acme"`, or an array claim holding it (`{"groups": "billing"}`).
    #[serde(default)]
    pub claims: Map<String, Value>,
}

/// A rule's `allow_missing`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowMissing {
    /// Provider that must have issued a token, if one is present.
    pub provider_name: String,
}

/// A rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Which requests.
    #[serde(rename = "match")]
    pub match_: RawMatch,
    /// A valid token with scopes.
    #[serde(default)]
    pub requires: Option<RawRequires>,
    /// A token is optional but checked when present.
    #[serde(default)]
    pub allow_missing: Option<RawAllowMissing>,
}

/// The filter's plugin configuration as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilterConfig {
    /// Token issuers, by name.
    #[serde(default)]
    pub providers: alloc::collections::BTreeMap<String, RawProvider>,
    /// Which requests need which token, first match wins.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// `realm` of the `WWW-Authenticate: Bearer` challenge (default `gatepass`).
    #[serde(default)]
    pub realm: Option<String>,
    /// Verified tokens kept per worker (default 1000; 0 disables the cache).
    #[serde(default)]
    pub jwt_cache_size: Option<usize>,
    /// Serve a token endpoint, JWKS and metadata from this Envoy.
    #[serde(default)]
    pub token_endpoint: Option<RawServerConfig>,
}

/// The typed filter configuration.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// Providers in name order; rules refer to them by index.
    pub providers: Vec<(String, Provider)>,
    /// Rules.
    pub rules: Vec<crate::rules::Rule>,
    /// Bearer realm.
    pub realm: String,
    /// Cache capacity.
    pub jwt_cache_size: usize,
    /// Token endpoint, if served.
    pub token_endpoint: Option<ServerConfig>,
}

/// A rule's path condition: exactly one of the three Envoy path specifiers, checked as Envoy
/// checks them (`RouteMatch`: `path_separated_prefix` has no `?` or `#` and does not end with
/// `/`), plus what makes a rule unable to ever match here.
fn rule_path(m: &RawMatch) -> Result<crate::rules::PathMatch, ConfigError> {
    use crate::rules::PathMatch;
    let set = [
        ("prefix", &m.prefix),
        ("path", &m.path),
        ("path_separated_prefix", &m.path_separated_prefix),
    ];
    let mut chosen = set.iter().filter_map(|(f, v)| v.as_ref().map(|v| (*f, v)));
    let (field, value) = match (chosen.next(), chosen.next()) {
        (Some(one), None) => one,
        (None, _) => {
            return Err(ConfigError::new(
                "",
                "set one of prefix, path or path_separated_prefix",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "",
                "set only one of prefix, path and path_separated_prefix",
            ))
        }
    };
    if !value.starts_with('/') {
        return Err(ConfigError::new(field, "paths start with /"));
    }
    // The query string and fragment are not part of the path the rules compare, so a rule
    // containing them could never match.
    if value.contains(['?', '#']) {
        return Err(ConfigError::new(
            field,
            "must not contain ? or # (the query string is not part of the path)",
        ));
    }
    // A request whose path has parameters is refused when removing them changes its rule
    // (rules.rs), so a rule that names a parameter could only ever refuse.
    if value.contains(';') || value.to_ascii_lowercase().contains("%3b") {
        return Err(ConfigError::new(
            field,
            "must not contain ; or %3B (path parameters are not matched, RFC 3986 §3.3)",
        ));
    }
    Ok(match field {
        "prefix" => PathMatch::Prefix(value.clone()),
        "path" => PathMatch::Exact(value.clone()),
        _ => {
            // As in Envoy, where the field's pattern is `^[^?#]+[^?#/]$`.
            if value.ends_with('/') {
                return Err(ConfigError::new(
                    field,
                    "must not end with / (/api already matches /api/ and /api/x; for every path use prefix \"/\")",
                ));
            }
            PathMatch::PathSeparatedPrefix(value.clone())
        }
    })
}

/// Most claim values one rule may require.
pub const MAX_REQUIRED_CLAIMS: usize = 16;

/// `requires.claims`: at most [`MAX_REQUIRED_CLAIMS`] claim names (1 to 64 visible ASCII
/// characters) with a value each (1 to 256 bytes). The registered claims that the token checks
/// already decide (`iss`, `aud`, `exp`, `nbf`, `iat`) cannot be required here.
fn required_claims(
    field: &str,
    claims: &Map<String, Value>,
) -> Result<Vec<(String, String)>, ConfigError> {
    if claims.len() > MAX_REQUIRED_CLAIMS {
        return Err(ConfigError::new(field, "at most 16 claims"));
    }
    let mut out = Vec::with_capacity(claims.len());
    for (name, value) in claims {
        let at = alloc::format!("{field}.{name}");
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                at,
                "must be a claim name of 1 to 64 visible ASCII characters",
            ));
        }
        if ["iss", "aud", "exp", "nbf", "iat"].contains(&name.as_str()) {
            return Err(ConfigError::new(
                at,
                "is checked by the provider (issuer, audiences, times), not by a rule",
            ));
        }
        match value.as_str() {
            Some(v) if !v.is_empty() && v.len() <= 256 => out.push((name.clone(), String::from(v))),
            _ => return Err(ConfigError::new(at, "must be a string of 1 to 256 bytes")),
        }
    }
    Ok(out)
}

impl TryFrom<RawFilterConfig> for FilterConfig {
    type Error = ConfigError;

    fn try_from(raw: RawFilterConfig) -> Result<Self, ConfigError> {
        use crate::rules::{Requirement, Rule};
        let mut providers = Vec::with_capacity(raw.providers.len());
        for (name, p) in raw.providers {
            let field = alloc::format!("providers.{name}");
            providers.push((name, Provider::try_from(p).map_err(|e| e.within(&field))?));
        }
        let index = |field: &str, name: &str| {
            providers
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| {
                    ConfigError::new(field, alloc::format!("no provider named \"{name}\""))
                })
        };
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.iter().enumerate() {
            let at = |f: &str| alloc::format!("rules[{i}].{f}");
            let path = rule_path(&r.match_).map_err(|e| e.within(&at("match")))?;
            let methods: Vec<String> = r
                .match_
                .methods
                .clone()
                .unwrap_or_default()
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            let requirement = match (&r.requires, &r.allow_missing) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        at("requires"),
                        "set requires or allow_missing, not both",
                    ))
                }
                (Some(req), None) => {
                    for (j, s) in req.scopes.iter().enumerate() {
                        if parse_scope(s).is_none_or(|v| v.len() != 1) {
                            return Err(ConfigError::new(
                                alloc::format!("rules[{i}].requires.scopes[{j}]"),
                                "must be one scope token (RFC 6749 §3.3)",
                            ));
                        }
                    }
                    Requirement::Token {
                        provider: index(&at("requires.provider_name"), &req.provider_name)?,
                        scopes: req.scopes.clone(),
                        claims: required_claims(&at("requires.claims"), &req.claims)?,
                    }
                }
                (None, Some(allow)) => Requirement::AllowMissing {
                    provider: index(&at("allow_missing.provider_name"), &allow.provider_name)?,
                },
                (None, None) => Requirement::None,
            };
            rules.push(Rule {
                path,
                case_sensitive: r.match_.case_sensitive.unwrap_or(true),
                methods,
                requirement,
            });
        }
        let realm = raw.realm.unwrap_or_else(|| String::from("gatepass"));
        if realm.is_empty() || realm.contains('"') || realm.contains('\\') {
            return Err(ConfigError::new(
                "realm",
                "must be non-empty without quotes or backslashes",
            ));
        }
        let token_endpoint = match raw.token_endpoint {
            None => None,
            Some(t) => Some(ServerConfig::try_from(t).map_err(|e| e.within("token_endpoint"))?),
        };
        if providers.is_empty() && token_endpoint.is_none() {
            return Err(ConfigError::new(
                "providers",
                "configure at least one provider or a token_endpoint",
            ));
        }
        Ok(FilterConfig {
            providers,
            rules,
            realm,
            jwt_cache_size: raw.jwt_cache_size.unwrap_or(1000),
            token_endpoint,
        })
    }
}

impl FilterConfig {
    /// Parses and checks the plugin configuration (JSON).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::try_from(parse_json::<RawFilterConfig>(text)?)
    }
}

#[cfg(test)]
mod rule_config_tests {
    use super::*;
    use crate::rules::PathMatch;
    use serde_json::json;

    /// A filter configuration with one provider and `rules`.
    fn filter(rules: serde_json::Value) -> Result<FilterConfig, ConfigError> {
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "EdDSA",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]});
        FilterConfig::from_json(
            &json!({
                "providers": {"main": {
                    "issuer": "https://as.example",
                    "audiences": ["https://api.example"],
                    "local_jwks": {"inline_string": jwks.to_string()},
                }},
                "rules": rules,
            })
            .to_string(),
        )
    }

    #[test]
    fn each_envoy_path_specifier_becomes_its_rule() {
        let config = filter(json!([
            {"match": {"prefix": "/public"}},
            {"match": {"path": "/health"}},
            {"match": {"path_separated_prefix": "/orders", "methods": ["put"]},
             "requires": {"provider_name": "main"}},
            {"match": {"path_separated_prefix": "/admin", "case_sensitive": false},
             "requires": {"provider_name": "main"}},
        ]))
        .unwrap();
        let paths: Vec<_> = config
            .rules
            .iter()
            .map(|r| (r.path.clone(), r.case_sensitive))
            .collect();
        assert_eq!(
            paths,
            [
                (PathMatch::Prefix("/public".into()), true),
                (PathMatch::Exact("/health".into()), true),
                (PathMatch::PathSeparatedPrefix("/orders".into()), true),
                (PathMatch::PathSeparatedPrefix("/admin".into()), false),
            ]
        );
        assert_eq!(config.rules[2].methods, ["PUT"]);
    }

    #[test]
    fn bad_rule_matches_are_refused_naming_the_field() {
        for (name, m, field) in [
            (
                "two specifiers",
                json!({"prefix": "/a", "path": "/a"}),
                "rules[0].match",
            ),
            (
                "three specifiers",
                json!({"prefix": "/a", "path": "/a", "path_separated_prefix": "/a"}),
                "rules[0].match",
            ),
            (
                "prefix and path_separated_prefix",
                json!({"prefix": "/a", "path_separated_prefix": "/a"}),
                "rules[0].match",
            ),
            (
                "no specifier",
                json!({"methods": ["GET"]}),
                "rules[0].match",
            ),
            (
                "trailing slash on path_separated_prefix",
                json!({"path_separated_prefix": "/api/"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "path_separated_prefix of only /",
                json!({"path_separated_prefix": "/"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "relative path",
                json!({"path": "admin"}),
                "rules[0].match.path",
            ),
            (
                "query string in a prefix",
                json!({"prefix": "/a?x"}),
                "rules[0].match.prefix",
            ),
            (
                "fragment in a path_separated_prefix",
                json!({"path_separated_prefix": "/a#x"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "path parameter in a path",
                json!({"path": "/admin;x"}),
                "rules[0].match.path",
            ),
            (
                "encoded path parameter in a prefix",
                json!({"prefix": "/admin%3bx"}),
                "rules[0].match.prefix",
            ),
            (
                "case_sensitive not a boolean",
                json!({"prefix": "/a", "case_sensitive": "false"}),
                "rules[0].match.case_sensitive",
            ),
            (
                "unknown field",
                json!({"prefix": "/a", "path_seperated_prefix": "/b"}),
                "rules[0].match.path_seperated_prefix",
            ),
        ] {
            let rules = json!([{"match": m, "requires": {"provider_name": "main"}}]);
            let err = filter(rules)
                .err()
                .unwrap_or_else(|| panic!("{name}: accepted"));
            assert_eq!(err.field, field, "{name}: {err}");
        }
        let err = filter(json!([{"match": {"path_separated_prefix": "/api/"}}])).unwrap_err();
        assert!(err.message.contains("must not end with /"), "{err}");
        let err = filter(json!([{"match": {"prefix": "/a", "path": "/a"}}])).unwrap_err();
        assert!(err.message.contains("only one of"), "{err}");
        let err = filter(json!([{"match": {"prefx": "/a"}}])).unwrap_err();
        assert!(err.message.contains("unknown field `prefx`"), "{err}");
    }

    #[test]
    fn required_claims_become_the_rules_requirement_and_bad_ones_name_the_field() {
        use crate::rules::Requirement;
        let config = filter(
            json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "main",
            "scopes": ["read"], "claims": {"tenant": "acme", "groups": "billing"}}}]),
        )
        .unwrap();
        assert_eq!(
            config.rules[0].requirement,
            Requirement::Token {
                provider: 0,
                scopes: alloc::vec!["read".into()],
                claims: alloc::vec![
                    ("groups".into(), "billing".into()),
                    ("tenant".into(), "acme".into())
                ],
            }
        );
        let many: serde_json::Map<String, serde_json::Value> = (0..17)
            .map(|i| (alloc::format!("c{i}"), json!("v")))
            .collect();
        for (claims, field) in [
            (json!({"": "x"}), "rules[0].requires.claims."),
            (json!({"a b": "x"}), "rules[0].requires.claims.a b"),
            (json!({"tenant": ""}), "rules[0].requires.claims.tenant"),
            (
                json!({"tenant": "x".repeat(257)}),
                "rules[0].requires.claims.tenant",
            ),
            (json!({"aud": "x"}), "rules[0].requires.claims.aud"),
            (json!({"exp": "1"}), "rules[0].requires.claims.exp"),
            (json!({"tenant": 1}), "rules[0].requires.claims.tenant"),
            (json!(many), "rules[0].requires.claims"),
        ] {
            let rules = json!([{"match": {"prefix": "/"},
                "requires": {"provider_name": "main", "claims": claims}}]);
            let err = filter(rules).unwrap_err();
            assert_eq!(err.field, field, "{claims}: {err}");
        }
    }
}
