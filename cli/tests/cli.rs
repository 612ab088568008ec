//! The CLI's outputs are what a configuration needs: a key, its JWKS, client entries and an
//! assertion that the core accepts, all checked through the core's own config loading.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use gatepass_core::client_auth::{self, ReplayOutcome};
use gatepass_core::config::{FilterConfig, ServerConfig};
use serde_json::{json, Value};

fn gatepass(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatepass"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json_out(args: &[&str], stdin: Option<&str>) -> Value {
    let out = gatepass(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn keygen_jwks_and_client_entries_make_a_working_configuration() {
    let dir = std::env::temp_dir().join(format!("gatepass-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server_key = json_out(&["keygen", "--alg", "EdDSA", "--kid", "k1"], None);
    assert_eq!(server_key["kid"], "k1");
    assert!(server_key.get("d").is_some(), "a private JWK");
    let jwks = json_out(&["jwks"], Some(&server_key.to_string()));
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "the JWKS is public only"
    );

    let secret_out = gatepass(
        &[
            "client",
            "secret",
            "--id",
            "billing",
            "--scope",
            "orders:read",
        ],
        None,
    );
    assert!(secret_out.status.success());
    let stderr = String::from_utf8_lossy(&secret_out.stderr);
    let secret = stderr.rsplit(": ").next().unwrap().trim().to_string();
    assert_eq!(secret.len(), 43, "a 256-bit base64url secret, shown once");
    let billing: Value = serde_json::from_slice(&secret_out.stdout).unwrap();
    assert!(
        !String::from_utf8_lossy(&secret_out.stdout).contains(&secret),
        "stdout holds only the hash"
    );

    let worker_key = json_out(&["keygen", "--alg", "ES256"], None);
    let worker_key_path = dir.join("worker.jwk.json");
    std::fs::write(&worker_key_path, worker_key.to_string()).unwrap();
    let worker_jwks_path = dir.join("worker.jwks.json");
    std::fs::write(
        &worker_jwks_path,
        json_out(&["jwks"], Some(&worker_key.to_string())).to_string(),
    )
    .unwrap();
    let worker = json_out(
        &[
            "client",
            "jwt",
            "--id",
            "worker",
            "--jwks",
            worker_jwks_path.to_str().unwrap(),
        ],
        None,
    );

    let filter = json!({
        "providers": {"main": {"issuer": "https://as.example", "audiences": ["https://api.example"],
                               "local_jwks": {"inline_string": jwks.to_string()}}},
        "token_endpoint": {"issuer": "https://as.example", "signing_keys": [server_key],
                           "default_audiences": ["https://api.example"], "clients": [billing, worker]},
    });
    let config = FilterConfig::from_json(&filter.to_string()).unwrap();
    let server: &ServerConfig = config.token_endpoint.as_ref().unwrap();

    // The assertion the CLI makes is accepted for the worker, once.
    let assertion = gatepass(
        &[
            "assertion",
            "--key",
            worker_key_path.to_str().unwrap(),
            "--client",
            "worker",
            "--aud",
            "https://as.example",
        ],
        None,
    );
    assert!(assertion.status.success());
    let assertion = String::from_utf8(assertion.stdout).unwrap();
    let pending = client_auth::begin_assertion(
        assertion.trim(),
        server.client("worker").unwrap(),
        &server.assertion,
    )
    .unwrap()
    .finish_builtin(
        &server.assertion,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!(pending.finish(ReplayOutcome::Recorded).is_ok());

    // decode shows the header; verify refuses a token for another audience.
    let decoded = json_out(&["decode", assertion.trim()], None);
    assert_eq!(decoded["header"]["typ"], "client-authentication+jwt");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failure_status() {
    let out = gatepass(&["keygen", "--alg", "HS256"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--alg"));
    let out = gatepass(&["keygen", "--alg", "ES256", "--kid", ""], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kid: must not be empty"));
    let out = gatepass(&["jwks"], Some("{\"kty\":\"EC\"}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keys[0]"));
    let out = gatepass(&["nonsense"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn client_entries_carry_the_client_settings_and_the_server_uses_them() {
    let key = json_out(&["keygen", "--alg", "ES256", "--kid", "k1"], None);
    let entry = json_out(
        &[
            "client",
            "secret",
            "--id",
            "reports",
            "--scope",
            "orders:read",
            "--audience",
            "https://orders.example",
            "--audience",
            "https://billing.example",
            "--token-ttl",
            "600",
            "--claim",
            "tenant=acme",
            "--claim",
            "tier=2",
            "--claim",
            r#"groups=["billing","ops"]"#,
            "--introspection",
            "--disabled",
        ],
        None,
    );
    assert_eq!(
        entry["audiences"],
        json!(["https://orders.example", "https://billing.example"])
    );
    assert_eq!(entry["token_ttl"], 600);
    assert_eq!(
        entry["claims"],
        json!({"tenant": "acme", "tier": 2, "groups": ["billing", "ops"]})
    );
    assert_eq!(entry["introspection"], true);
    assert_eq!(entry["disabled"], true);
    let server = ServerConfig::from_json(
        &json!({"issuer": "https://as.example", "signing_keys": [key], "clients": [entry]})
            .to_string(),
    )
    .unwrap();
    let record = server.client("reports").unwrap();
    assert_eq!(record.token_ttl, Some(600));
    assert!(record.disabled && record.introspection);
    assert_eq!(record.claims["tenant"], "acme");

    // A registered claim name, a lifetime over 24 h: refused before any secret is made.
    for (args, says) in [
        (vec!["--claim", "iss=x"], "claims.iss"),
        (vec!["--token-ttl", "90000"], "token_ttl"),
        (vec!["--audience", "not a uri"], "audiences[0]"),
    ] {
        let mut all = vec!["client", "secret", "--id", "x"];
        all.extend(args);
        let out = gatepass(&all, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{all:?}");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
        assert!(!stderr.contains("client_secret for"), "{all:?}: {stderr}");
    }
}
