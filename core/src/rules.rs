//! Which requests need which token (the filter's `rules`, as in Envoy `jwt_authn`): the first
//! rule whose `match` fits the request decides; a request no rule matches needs nothing.
//!
//! Rules sit beside Envoy routes, so a `match` means what the same fields mean in Envoy's
//! `config.route.v3.RouteMatch`: `prefix`, exact `path`, `path_separated_prefix` and
//! `case_sensitive`, compared against `:path` without its query string.
//!
//! Path parameters (`;`, RFC 3986 §3.3) are where a rule and an upstream can disagree: Envoy's
//! route matcher (and so these rules) treats `/admin;x=1` as a path of its own, while Tomcat,
//! Jetty, Spring and others remove `;…` from every segment and serve `/admin`. When a path has
//! parameters, [`requirement_for`] therefore also finds the rule for the path as such an upstream
//! reads it, and refuses the request when the two rules differ
//! ([`RuleError::AmbiguousPathParameters`]).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{BearerError, BearerErrorCode};

/// How a rule matches the request path (the query string is not part of the path). The names
/// and meanings are Envoy's `RouteMatch` path specifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// `prefix`: the path starts with this string (`/public` also matches `/public-internal`).
    Prefix(String),
    /// `path`: the path is exactly this (`/admin` does not match `/admin/`).
    Exact(String),
    /// `path_separated_prefix`: the path is this, or starts with this followed by `/`
    /// (`/api` matches `/api`, `/api/` and `/api/x`, not `/apix`). Never ends with `/`.
    PathSeparatedPrefix(String),
}

/// What a matching request must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: the request passes without a token check.
    None,
    /// A valid token from the provider, with every scope listed and every claim value.
    Token {
        /// Index into [`crate::config::FilterConfig::providers`].
        provider: usize,
        /// Scopes the token must carry.
        scopes: Vec<String>,
        /// Claim values the token must carry (`requires.claims`): a string claim equal to the
        /// value, or an array claim holding it.
        claims: Vec<(String, String)>,
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
    /// Whether the path comparison is case-sensitive (Envoy's `case_sensitive`, default true);
    /// when false, ASCII letters compare without case.
    pub case_sensitive: bool,
    /// Methods (upper case); empty means any.
    pub methods: Vec<String>,
    /// What a matching request needs.
    pub requirement: Requirement,
}

/// Why the rules cannot decide a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// The path has path parameters (`;`, or `%3B`) and removing them changes which rule
    /// applies: Envoy routes on the path as sent, many upstreams on the path without them.
    AmbiguousPathParameters,
}

impl RuleError {
    /// A short description for the `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            RuleError::AmbiguousPathParameters => "path parameters change which rule applies",
        }
    }
}

/// RFC 6750 §3.1: a request the rules cannot place is malformed, `400 invalid_request`.
impl From<RuleError> for BearerError {
    fn from(e: RuleError) -> Self {
        BearerError::new(BearerErrorCode::InvalidRequest, e.description())
    }
}

impl Rule {
    /// Whether the rule applies to `method` and `path` (the `:path` header; its query string
    /// and fragment are ignored). This is the plain Envoy comparison; [`requirement_for`] adds
    /// the path-parameter check.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.matches_path(without_query(path).as_bytes()) && self.matches_method(method)
    }

    fn matches_method(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// The path comparison, on bytes (a path is attacker-controlled and need not be UTF-8
    /// friendly at any index). Each arm costs at most the length of the rule's own string.
    fn matches_path(&self, path: &[u8]) -> bool {
        let same = |a: &[u8], b: &[u8]| {
            if self.case_sensitive {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        let starts_with = |p: &[u8]| path.get(..p.len()).is_some_and(|head| same(head, p));
        match &self.path {
            PathMatch::Prefix(p) => starts_with(p.as_bytes()),
            PathMatch::Exact(p) => same(path, p.as_bytes()),
            // Envoy: the path "must either exactly match the path_separated_prefix or have it
            // as a prefix, followed by /".
            PathMatch::PathSeparatedPrefix(p) => {
                let p = p.as_bytes();
                starts_with(p) && matches!(path.get(p.len()), None | Some(b'/'))
            }
        }
    }
}

/// The `:path` without its query string or fragment.
pub(crate) fn without_query(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or("")
}

/// The index of the first rule for `method` and `path` (query already removed).
fn first_match(rules: &[Rule], method: &str, path: &[u8]) -> Option<usize> {
    rules
        .iter()
        .position(|r| r.matches_path(path) && r.matches_method(method))
}

/// Where the path parameter of `segment` starts: at its first `;`, or at its first `%3B`.
///
/// Envoy's `normalize_path` decodes only unreserved characters (RFC 3986 §2.3), so `%3B`
/// reaches the filter and the upstream still encoded. Upstreams differ on it: some decode
/// before they split off parameters (and then read `%3B` as `;`), others keep it as a literal
/// character. The check takes the reading that finds more parameters, so `%3B` and `%3b`
/// count as `;`.
fn parameter_start(segment: &[u8]) -> Option<usize> {
    (0..segment.len()).find(|&i| match segment.get(i) {
        Some(b';') => true,
        Some(b'%') => segment
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.eq_ignore_ascii_case(b"3b")),
        _ => false,
    })
}

/// `segment` up to its path parameter.
fn before_parameter(segment: &[u8]) -> &[u8] {
    match parameter_start(segment) {
        Some(i) => segment.get(..i).unwrap_or(segment),
        None => segment,
    }
}

/// The path as an upstream that strips path parameters reads it: `;…` (and `%3B…`) removed
/// from every segment (RFC 3986 §3.3: "/name;v=1.1/" parameters belong to one segment), then
/// the dot-segments and empty segments that this leaves behind resolved as RFC 3986 §5.2.4
/// `remove_dot_segments` would (and as `merge_slashes` does): `/public/..;/admin` becomes
/// `/admin` there (the Tomcat reading). Envoy's `normalize_path` resolves a literal `..;` itself,
/// but `/public/%2e%2e;/admin` reaches the filter as `/public/..;/admin` (it decodes `%2e`, an
/// unreserved character, without resolving the result again; checked with Envoy 1.40). A
/// trailing `/` is kept (`/admin/;x` → `/admin/`).
///
/// Linear in the path: one pass over the segments, and `..` pops a recorded offset.
fn without_path_parameters(path: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    // Offsets in `out` of the `/` that starts each kept segment.
    let mut starts: Vec<usize> = Vec::new();
    let mut pieces = path.split(|b| *b == b'/');
    // What comes before the first `/` (nothing, for an origin-form path).
    let head = pieces.next().unwrap_or(&[]);
    out.extend_from_slice(before_parameter(head));
    let mut trailing_slash = false;
    for segment in pieces {
        match before_parameter(segment) {
            b"" | b"." => trailing_slash = true,
            b".." => {
                if let Some(start) = starts.pop() {
                    out.truncate(start);
                }
                trailing_slash = true;
            }
            segment => {
                starts.push(out.len());
                out.push(b'/');
                out.extend_from_slice(segment);
                trailing_slash = false;
            }
        }
    }
    if trailing_slash {
        out.push(b'/');
    }
    out
}

/// The requirement of the first matching rule ([`Requirement::None`] when none matches), or
/// an error when the path's parameters make the choice ambiguous (see the module docs): when
/// the path (before `?`) has a `;` or `%3B`, the rule for the path with every segment's
/// parameters removed must be the same rule (or no rule on both readings), else the request is
/// refused. Linear in the path length for a given configuration.
pub fn requirement_for<'r>(
    rules: &'r [Rule],
    method: &str,
    path: &str,
) -> Result<&'r Requirement, RuleError> {
    const NONE: &Requirement = &Requirement::None;
    let path = without_query(path).as_bytes();
    let chosen = first_match(rules, method, path);
    if parameter_start(path).is_some() {
        let stripped = without_path_parameters(path);
        if first_match(rules, method, &stripped) != chosen {
            return Err(RuleError::AmbiguousPathParameters);
        }
    }
    Ok(chosen
        .and_then(|i| rules.get(i))
        .map_or(NONE, |r| &r.requirement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn rule(path: PathMatch, methods: &[&str], requirement: Requirement) -> Rule {
        Rule {
            path,
            case_sensitive: true,
            methods: methods.iter().map(|m| String::from(*m)).collect(),
            requirement,
        }
    }

    fn token(scope: &str) -> Requirement {
        Requirement::Token {
            provider: 0,
            scopes: vec![scope.into()],
            claims: vec![],
        }
    }

    fn prefix(p: &str) -> PathMatch {
        PathMatch::Prefix(p.into())
    }

    fn exact(p: &str) -> PathMatch {
        PathMatch::Exact(p.into())
    }

    fn separated(p: &str) -> PathMatch {
        PathMatch::PathSeparatedPrefix(p.into())
    }

    /// Rows of (path, whether the rule matches), checked against one rule.
    fn check(rule: &Rule, rows: &[(&str, bool)]) {
        for (path, expected) in rows {
            assert_eq!(
                rule.matches("GET", path),
                *expected,
                "{:?} on {path:?}",
                rule.path
            );
        }
    }

    #[test]
    fn first_matching_rule_decides_and_the_query_string_is_ignored() {
        let write = token("w");
        let read = token("r");
        let rules = vec![
            rule(prefix("/orders"), &["POST"], write.clone()),
            rule(prefix("/orders"), &[], read.clone()),
            rule(exact("/health"), &[], Requirement::None),
        ];
        let get = |method, path| requirement_for(&rules, method, path).unwrap();
        assert_eq!(get("POST", "/orders/1"), &write);
        assert_eq!(get("post", "/orders"), &write);
        assert_eq!(get("GET", "/orders?x=/health"), &read);
        assert_eq!(get("GET", "/health"), &Requirement::None);
        assert_eq!(
            get("GET", "/health/x"),
            &Requirement::None,
            "no rule matches"
        );
        assert_eq!(get("GET", "/health?probe=1"), &Requirement::None);
        assert_eq!(get("GET", "/health#frag"), &Requirement::None);
    }

    #[test]
    fn prefix_is_a_plain_string_prefix_as_in_envoy() {
        check(
            &rule(prefix("/public"), &[], Requirement::None),
            &[
                ("/public", true),
                ("/public/", true),
                ("/public/x", true),
                ("/public?q=1", true),
                ("/public-internal", true),
                ("/publi", false),
                ("/Public", false),
                ("/x/public", false),
            ],
        );
    }

    #[test]
    fn exact_path_matches_only_itself_without_the_query_string() {
        check(
            &rule(exact("/admin"), &[], Requirement::None),
            &[
                ("/admin", true),
                ("/admin?x=1", true),
                ("/admin#f", true),
                ("/admin/", false),
                ("/admin/x", false),
                ("/admin;x=1", false),
                ("/ADMIN", false),
                ("/adminx", false),
            ],
        );
    }

    #[test]
    fn path_separated_prefix_matches_the_path_and_what_is_below_it_only() {
        // Envoy's own examples: /api/dev matches /api/dev, /api/dev/, /api/dev/v1 and
        // /api/dev?param=true, not /api/developer.
        check(
            &rule(separated("/api/dev"), &[], Requirement::None),
            &[
                ("/api/dev", true),
                ("/api/dev/", true),
                ("/api/dev/v1", true),
                ("/api/dev?param=true", true),
                ("/api/developer", false),
                ("/api/de", false),
                ("/api/dev;x", false),
                ("/API/dev", false),
            ],
        );
    }

    #[test]
    fn case_insensitive_rules_compare_ascii_letters_without_case() {
        let mut r = rule(exact("/Admin"), &[], Requirement::None);
        r.case_sensitive = false;
        check(
            &r,
            &[("/admin", true), ("/ADMIN", true), ("/ADMIN/", false)],
        );
        r.path = separated("/admin");
        check(
            &r,
            &[("/ADMIN", true), ("/AdMiN/users", true), ("/ADMINX", false)],
        );
        r.path = prefix("/admin");
        check(&r, &[("/ADMINX", true), ("/ADMI", false)]);
        // Only ASCII folds: a non-ASCII byte is compared as is.
        r.path = exact("/caf\u{e9}");
        check(&r, &[("/CAF\u{e9}", true), ("/CAF\u{c9}", false)]);
    }

    #[test]
    fn methods_match_without_case_and_empty_means_any() {
        let r = rule(prefix("/"), &["PUT", "DELETE"], Requirement::None);
        assert!(r.matches("put", "/x"));
        assert!(r.matches("DELETE", "/x"));
        assert!(!r.matches("GET", "/x"));
        assert!(rule(prefix("/"), &[], Requirement::None).matches("PATCH", "/x"));
    }

    /// The admin tree protected, the rest of the API readable, a public tree, and a catch-all.
    fn protected_admin() -> Vec<Rule> {
        vec![
            rule(separated("/admin"), &[], token("admin")),
            rule(exact("/status"), &[], token("status")),
            rule(separated("/public"), &[], Requirement::None),
            rule(prefix("/"), &[], token("read")),
        ]
    }

    #[test]
    fn path_parameters_that_change_the_rule_are_refused() {
        let rules = protected_admin();
        for path in [
            // Tomcat/Spring/Jetty serve these as /admin or /admin/users; Envoy's matcher does
            // not see /admin in them.
            "/admin;x=1",
            "/admin;",
            "/admin;x/users",
            "/status;jsessionid=1",
            // Dot-segments hidden behind a parameter (Envoy turns `/public/%2e%2e;/admin` into
            // this): an upstream that strips parameters reads `/public/../admin` = `/admin`.
            "/public/..;/admin",
            "/public/..;x=1/admin/users",
            "/public/.;/../admin",
            // %3B is treated as ; (Envoy leaves it encoded; some upstreams decode it first).
            "/admin%3Bx=1",
            "/admin%3bx=1/users",
            "/public/..%3B/admin",
        ] {
            assert_eq!(
                requirement_for(&rules, "GET", path),
                Err(RuleError::AmbiguousPathParameters),
                "{path}"
            );
        }
        // With case_sensitive false, /ADMIN;x is ambiguous too.
        let mut insensitive = protected_admin();
        insensitive[0].case_sensitive = false;
        assert_eq!(
            requirement_for(&insensitive, "GET", "/ADMIN;x"),
            Err(RuleError::AmbiguousPathParameters)
        );
        let e = BearerError::from(RuleError::AmbiguousPathParameters);
        assert_eq!((e.status(), e.code_str()), (400, Some("invalid_request")));
        assert_eq!(e.description, "path parameters change which rule applies");
    }

    #[test]
    fn path_parameters_are_harmless_when_the_rule_is_the_same() {
        let rules = protected_admin();
        for (path, expected) in [
            ("/admin/users;x=1", token("admin")),
            ("/admin/a;b/c", token("admin")),
            ("/admin/;x", token("admin")),
            ("/orders;x=1/7", token("read")),
            ("/public/a;b", Requirement::None),
            ("/public/a/..;/b", Requirement::None),
            ("/other%3Bx", token("read")),
            // The admin rule is case-sensitive: /ADMIN is the catch-all's on both readings.
            ("/ADMIN;x", token("read")),
            // A ; in the query string is not a path parameter.
            ("/admin?a=1;b=2", token("admin")),
            ("/public/x?;/../admin", Requirement::None),
        ] {
            assert_eq!(
                requirement_for(&rules, "GET", path),
                Ok(&expected),
                "{path}"
            );
        }
        // No rule on either reading: no requirement, not an error.
        let only_admin = vec![rule(separated("/admin"), &[], token("admin"))];
        assert_eq!(
            requirement_for(&only_admin, "GET", "/public;x"),
            Ok(&Requirement::None)
        );
        // ... but a rule on one reading only is ambiguous.
        assert_eq!(
            requirement_for(&only_admin, "GET", "/admin;x"),
            Err(RuleError::AmbiguousPathParameters)
        );
    }

    #[test]
    fn percent_3b_counts_as_a_path_parameter_and_other_escapes_do_not() {
        for (segment, start) in [
            (&b"a;b"[..], Some(1)),
            (b"a%3Bb", Some(1)),
            (b"a%3bb", Some(1)),
            (b"%3B", Some(0)),
            (b"a%3", None),
            (b"a%3C", None),
            (b"a%2F", None),
            (b"a%", None),
            (b"plain", None),
        ] {
            assert_eq!(parameter_start(segment), start, "{segment:?}");
        }
    }

    #[test]
    fn removing_path_parameters_reads_the_path_as_a_stripping_upstream_does() {
        for (path, expected) in [
            ("/admin;x=1", "/admin"),
            ("/admin;x/users;y", "/admin/users"),
            ("/admin/;x", "/admin/"),
            ("/;x/admin", "/admin"),
            ("/a;x//b", "/a/b"),
            ("/public/..;/admin", "/admin"),
            ("/public/.;/x", "/public/x"),
            ("/a/b/..;", "/a/"),
            ("/..;/..;/admin", "/admin"),
            ("/a%3Bb/c", "/a/c"),
            ("/", "/"),
            ("", ""),
            ("*", "*"),
        ] {
            assert_eq!(
                without_path_parameters(path.as_bytes()),
                expected.as_bytes(),
                "{path}"
            );
        }
    }

    #[test]
    fn matching_stays_linear_on_long_hostile_paths() {
        // A path of many `;` and `..;` segments is decided in one pass per reading: this would
        // take far longer than the test timeout if either reading were quadratic.
        let rules = protected_admin();
        let mut path = String::from("/public");
        for _ in 0..200_000 {
            path.push_str("/a;b/..;");
        }
        assert_eq!(
            requirement_for(&rules, "GET", &path),
            Ok(&Requirement::None)
        );
        let deep = "/..;".repeat(200_000) + "/admin";
        assert_eq!(
            requirement_for(&rules, "GET", &deep),
            Err(RuleError::AmbiguousPathParameters)
        );
    }
}
