//! `gatepass`: create what a gatepass configuration needs, without writing code, and look
//! inside tokens when debugging.
//!
//! ```text
//! gatepass keygen [--alg EdDSA|ES256|ES384|ES512|RS256|PS256] [--kid KID]
//!     a private signing JWK (stdout) — put it in token_endpoint.signing_keys
//! gatepass jwks < private-jwks-or-jwk.json
//!     the public JWKS of private JWKs — what providers put in local_jwks
//! gatepass client secret --id ID [--method client_secret_basic|client_secret_post] [SETTINGS]
//!     a new 256-bit secret (shown once, on stderr) and the client entry with its hash (stdout)
//! gatepass client jwt --id ID --jwks FILE [SETTINGS]
//!     a private_key_jwt client entry from the client's public JWKS
//!   SETTINGS: [--scope "a b"] [--audience URI]... [--token-ttl SECONDS] [--claim NAME=VALUE]...
//!             [--introspection] [--disabled]
//! gatepass hash-secret < secret
//!     the sha256: hash of a secret
//! gatepass assertion --key PRIVATE_JWK_FILE --client ID --aud ISSUER [--ttl SECONDS]
//!     a private_key_jwt client assertion (RFC 7523), for testing a token endpoint
//! gatepass decode TOKEN
//!     header and claims of a JWS, unverified (for debugging only)
//! gatepass verify --provider FILE TOKEN
//!     verify a token against a provider config (the same checks as the Envoy filter)
//! ```

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use gatepass_core::client_assertion::ClientAssertion;
use gatepass_core::config::{KeySource, Provider};
use gatepass_core::jwk::SigningJwk;
use gatepass_core::secret::{self, SecretHash};
use gatepass_core::{jws, verify};
use rand_core::OsRng;
use serde_json::{json, Value};

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  gatepass keygen [--alg ALG] [--kid KID]\n  gatepass jwks < private.json\n  gatepass client secret --id ID [--method M] [SETTINGS]\n  gatepass client jwt --id ID --jwks FILE [SETTINGS]\n    SETTINGS: [--scope S] [--audience URI]... [--token-ttl SECONDS] [--claim NAME=VALUE]... [--introspection] [--disabled]\n  gatepass hash-secret < secret\n  gatepass assertion --key FILE --client ID --aud ISSUER [--ttl S]\n  gatepass decode TOKEN\n  gatepass verify --provider FILE TOKEN"
    );
    ExitCode::from(2)
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn stdin_text() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    Ok(text)
}

fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn keygen(args: &[String]) -> Result<(), String> {
    let alg = flag(args, "--alg").unwrap_or_else(|| "EdDSA".into());
    // The error names the argument (`alg: ...`), here its flag.
    let key = SigningJwk::generate_named(&alg, flag(args, "--kid").as_deref(), &mut OsRng)
        .map_err(|e| format!("--{e}"))?;
    print(&key.to_private_json());
    Ok(())
}

fn jwks() -> Result<(), String> {
    let text = stdin_text()?;
    let set = gatepass_core::jwk::public_set_of_private(text.as_bytes())
        .map_err(|e| format!("stdin: {e}"))?;
    print(&set);
    Ok(())
}

fn flags(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

/// The settings every client entry may carry (README, "Client settings"): `--scope`,
/// `--audience` (repeat), `--token-ttl`, `--claim NAME=VALUE` (repeat; VALUE is JSON when it
/// parses as JSON, else a string), `--introspection`, `--disabled`.
fn client_settings(args: &[String], entry: &mut Value) -> Result<(), String> {
    if let Some(s) = flag(args, "--scope") {
        entry["scope"] = s.into();
    }
    let audiences = flags(args, "--audience");
    if !audiences.is_empty() {
        entry["audiences"] = audiences.into();
    }
    if let Some(ttl) = flag(args, "--token-ttl") {
        entry["token_ttl"] = match ttl.parse::<u64>() {
            Ok(seconds) => seconds.into(),
            Err(_) => ttl.into(),
        };
    }
    let mut claims = serde_json::Map::new();
    for claim in flags(args, "--claim") {
        let (name, value) = claim
            .split_once('=')
            .ok_or_else(|| format!("--claim {claim}: NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        claims.insert(name.into(), value);
    }
    if !claims.is_empty() {
        entry["claims"] = Value::Object(claims);
    }
    if args.iter().any(|a| a == "--introspection") {
        entry["introspection"] = true.into();
    }
    if args.iter().any(|a| a == "--disabled") {
        entry["disabled"] = true.into();
    }
    // Checked the way the server will (an audience-less entry gets the server's
    // default_audiences, stood in for here).
    let raw: gatepass_core::config::RawClient =
        serde_json::from_value(entry.clone()).map_err(|e| e.to_string())?;
    raw.into_record(&["https://placeholder.invalid".into()])
        .map_err(|e| format!("client entry: {e}"))?;
    Ok(())
}

fn client(args: &[String]) -> Result<(), String> {
    let id = flag(args, "--id").ok_or("--id is required")?;
    match args.first().map(String::as_str) {
        Some("secret") => {
            let method = flag(args, "--method").unwrap_or_else(|| "client_secret_basic".into());
            if method != "client_secret_basic" && method != "client_secret_post" {
                return Err("--method: client_secret_basic or client_secret_post".into());
            }
            let secret = secret::generate_secret(&mut OsRng);
            let mut entry = json!({
                "client_id": id,
                "token_endpoint_auth_method": method,
                "client_secret_hash": SecretHash::of(&secret).to_stored(),
            });
            client_settings(args, &mut entry)?;
            eprintln!("client_secret for {id} (shown once, give it to the client): {secret}");
            print(&entry);
            Ok(())
        }
        Some("jwt") => {
            let path = flag(args, "--jwks").ok_or("--jwks is required")?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("--jwks {path}: {e}"))?;
            let set: Value =
                serde_json::from_str(&text).map_err(|e| format!("--jwks {path}: {e}"))?;
            let mut entry = json!({
                "client_id": id,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": set,
            });
            client_settings(args, &mut entry)?;
            print(&entry);
            Ok(())
        }
        _ => Err("client secret|jwt".into()),
    }
}

fn now() -> Result<u64, String> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs())
}

fn assertion(args: &[String]) -> Result<(), String> {
    let path = flag(args, "--key").ok_or("--key PRIVATE_JWK_FILE is required")?;
    let client = flag(args, "--client").ok_or("--client ID is required")?;
    let aud = flag(args, "--aud").ok_or("--aud ISSUER is required")?;
    let ttl: u64 = flag(args, "--ttl")
        .map(|t| t.parse().map_err(|_| "--ttl: seconds"))
        .transpose()?
        .unwrap_or(60);
    let text = std::fs::read(&path).map_err(|e| format!("--key {path}: {e}"))?;
    let key = SigningJwk::from_json(&text).map_err(|e| format!("--key {path}: {e}"))?;
    let jti = secret::random_string(&mut OsRng, 16);
    let assertion = ClientAssertion::new(client, aud, now()?, ttl, jti)
        .sign(&key, &mut OsRng)
        .map_err(|e| e.to_string())?;
    println!("{assertion}");
    Ok(())
}

fn decode(args: &[String]) -> Result<(), String> {
    let token = args.first().ok_or("TOKEN is required")?;
    let parsed =
        jws::parse_compact(token, jws::DEFAULT_MAX_TOKEN_BYTES).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&parsed.payload).unwrap_or(Value::Null);
    print(&json!({
        "header": parsed.header_json,
        "claims": claims,
        "signature_bytes": parsed.signature.len(),
        "note": "not verified; use `gatepass verify` to check it",
    }));
    Ok(())
}

fn verify_cmd(args: &[String]) -> Result<(), String> {
    let path = flag(args, "--provider").ok_or("--provider FILE is required")?;
    let token = args.last().ok_or("TOKEN is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let provider = Provider::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let KeySource::Local(keys) = &provider.keys else {
        return Err("the provider must use local_jwks here".into());
    };
    match verify::verify_access_token(token, &provider.policy, keys, now()?) {
        Ok(v) => {
            print(&json!({"valid": true, "claims": v.claims}));
            Ok(())
        }
        Err(e) => Err(format!("invalid: {e}")),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("keygen") => keygen(args),
        Some("jwks") => jwks(),
        Some("client") => client(args.get(1..).unwrap_or_default()),
        Some("hash-secret") => {
            let secret = stdin_text()?;
            println!(
                "{}",
                SecretHash::of(secret.trim_end_matches(['\n', '\r'])).to_stored()
            );
            Ok(())
        }
        Some("assertion") => assertion(args.get(1..).unwrap_or_default()),
        Some("decode") => decode(args.get(1..).unwrap_or_default()),
        Some("verify") => verify_cmd(args.get(1..).unwrap_or_default()),
        _ => Err(String::new()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_empty() => usage(),
        Err(e) => {
            eprintln!("gatepass: {e}");
            ExitCode::FAILURE
        }
    }
}
