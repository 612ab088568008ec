//! Which requests need which token (the filter's `rules`, as in Envoy `jwt_authn`): the first
//! rule whose `match` fits the request decides; a request no rule matches needs nothing.

use alloc::string::String;
use alloc::vec::Vec;

/// How a rule matches the request path (the query string is not part of the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path starts with this prefix.
    Prefix(String),
    /// The path is exactly this.
    Exact(String),
}

/// What a matching request must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: the request passes without a token check.
    None,
    /// A valid token from the provider, with every scope listed.
    Token {
        /// Index into [`crate::config::FilterConfig::providers`].
        provider: usize,
        /// Scopes the token must carry.
        scopes: Vec<String>,
    },
    /// No token is fine; a token that is present must be valid (Envoy's `allow_missing`).
    AllowMissing {
        /// Index into [`crate::config::FilterConfig::providers`].
        provider: usize,
    },
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Path condition.
    pub path: PathMatch,
    /// Methods (upper case); empty means any.
    pub methods: Vec<String>,
    /// What a matching request needs.
    pub requirement: Requirement,
}

impl Rule {
    /// Whether the rule applies to `method` and `path` (the `:path` header; its query string
    /// is ignored).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let path_ok = match &self.path {
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::Exact(p) => path == p,
        };
        path_ok
            && (self.methods.is_empty()
                || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }
}

/// The requirement of the first matching rule, or [`Requirement::None`].
pub fn requirement_for<'r>(rules: &'r [Rule], method: &str, path: &str) -> &'r Requirement {
    const NONE: &Requirement = &Requirement::None;
    rules
        .iter()
        .find(|r| r.matches(method, path))
        .map_or(NONE, |r| &r.requirement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: PathMatch, methods: &[&str], requirement: Requirement) -> Rule {
        Rule {
            path,
            methods: methods.iter().map(|m| String::from(*m)).collect(),
            requirement,
        }
    }

    #[test]
    fn first_matching_rule_decides_and_the_query_string_is_ignored() {
        let write = Requirement::Token {
            provider: 0,
            scopes: alloc::vec!["w".into()],
        };
        let read = Requirement::Token {
            provider: 0,
            scopes: alloc::vec!["r".into()],
        };
        let rules = alloc::vec![
            rule(
                PathMatch::Prefix("/orders".into()),
                &["POST"],
                write.clone()
            ),
            rule(PathMatch::Prefix("/orders".into()), &[], read.clone()),
            rule(PathMatch::Exact("/health".into()), &[], Requirement::None),
        ];
        assert_eq!(requirement_for(&rules, "POST", "/orders/1"), &write);
        assert_eq!(requirement_for(&rules, "post", "/orders"), &write);
        assert_eq!(requirement_for(&rules, "GET", "/orders?x=/health"), &read);
        assert_eq!(
            requirement_for(&rules, "GET", "/health"),
            &Requirement::None
        );
        assert_eq!(
            requirement_for(&rules, "GET", "/health/x"),
            &Requirement::None,
            "no rule matches"
        );
        assert_eq!(
            requirement_for(&rules, "GET", "/health?probe=1"),
            &Requirement::None
        );
    }
}
