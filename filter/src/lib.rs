//! gatepass as an Envoy HTTP filter (proxy-wasm).
//!
//! Glue only: Envoy's headers, body, clock, randomness and shared data go in; every decision
//! comes from `gatepass-core` ([`gatepass_core::gateway`] for enforcement,
//! [`gatepass_core::endpoint`] for the token endpoint); responses and header changes come out.
//!
//! * `on_configure` parses the plugin configuration once ([`FilterConfig::from_json`]); an
//!   error is logged with the field it names and refuses the configuration, so Envoy refuses
//!   it. With a token endpoint, it also checks that the host gives randomness (WASI
//!   `random_get`) and prepares the replay store.
//! * Every request: local token endpoint / JWKS / metadata routes are answered here; everything
//!   else goes through [`Gateway::decide`].

mod host;
mod replay;
mod stats;

use std::cell::RefCell;
use std::rc::Rc;

use gatepass_core::config::{FilterConfig, KeySource};
use gatepass_core::gateway::{Decision, Gateway, LocalRoute};
use gatepass_core::request::{TokenHttpRequest, MAX_BODY_BYTES};
use gatepass_core::response::HttpResponse;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::stats::Stats;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    std::panic::set_hook(Box::new(|info| {
        host::log_error(&format!("gatepass: panic: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Per-VM state shared by the root context and every request.
struct State {
    gateway: RefCell<Gateway>,
    stats: Stats,
}

#[derive(Default)]
struct Root {
    state: Option<Rc<State>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let text = match host::plugin_configuration() {
            Some(t) => t,
            None => {
                host::log_error("gatepass: configuration is missing (set vm_config.configuration)");
                return false;
            }
        };
        let config = match FilterConfig::from_json(&text) {
            Ok(c) => c,
            Err(e) => {
                // The field path leads: `providers.main.issuer: is required`.
                host::log_error(&format!("gatepass: invalid configuration: {e}"));
                return false;
            }
        };
        if let Some((name, _)) = config
            .providers
            .iter()
            .find(|(_, p)| matches!(p.keys, KeySource::Remote(_)))
        {
            host::log_error(&format!(
                "gatepass: invalid configuration: providers.{name}.remote_jwks: not supported by this build yet; use local_jwks"
            ));
            return false;
        }
        if config.token_endpoint.is_some() {
            // Minting needs randomness (jti, RSA blinding): WASI random_get must work here.
            let mut probe = [0u8; 16];
            if getrandom::getrandom(&mut probe).is_err() {
                host::log_error("gatepass: invalid configuration: token_endpoint: the host gives no randomness (WASI random_get)");
                return false;
            }
            if let Err(e) = replay::prepare() {
                host::log_error(&format!("gatepass: cannot prepare the replay store: {e}"));
                return false;
            }
        }
        self.state = Some(Rc::new(State {
            gateway: RefCell::new(Gateway::new(config)),
            stats: Stats::define(),
        }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let state = self.state.clone()?;
        Some(Box::new(Request {
            state,
            token_request: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// The headers of a token request, kept while its body is buffered.
struct PendingTokenRequest {
    method: String,
    content_type: Option<String>,
    authorization: Option<String>,
}

struct Request {
    state: Rc<State>,
    token_request: Option<PendingTokenRequest>,
}

impl Context for Request {}

impl Request {
    fn respond(&self, response: &HttpResponse) -> Action {
        host::send_response(response);
        Action::Pause
    }

    fn answer_token_request(&mut self, body: &[u8]) -> Action {
        let Some(pending) = self.token_request.take() else {
            return Action::Continue;
        };
        let gateway = self.state.gateway.borrow();
        let Some(server) = gateway.config().token_endpoint.as_ref() else {
            return Action::Continue;
        };
        let http = TokenHttpRequest {
            method: &pending.method,
            content_type: pending.content_type.as_deref(),
            authorization: pending.authorization.as_deref(),
            body,
        };
        let now = host::now();
        let mut failed_replay = None;
        let response = gatepass_core::endpoint::token_response(
            server,
            &http,
            |id| server.client(id),
            |key, expires_at| match replay::record(key, expires_at, now) {
                Ok(outcome) => outcome,
                Err(e) => {
                    // Fail closed: a store that cannot answer counts as "already seen".
                    failed_replay = Some(e);
                    gatepass_core::client_auth::ReplayOutcome::AlreadySeen
                }
            },
            now,
            &mut rand_core::OsRng,
        );
        if let Some(e) = failed_replay {
            host::log_error(&format!("gatepass: replay store failed: {e}"));
        }
        let stats = &self.state.stats;
        match response.status {
            200 => stats.tokens_issued.increment(),
            401 => stats.client_auth_failed.increment(),
            _ => stats.token_requests_refused.increment(),
        }
        drop(gateway);
        self.respond(&response)
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let method = host::request_header(":method").unwrap_or_default();
        let path = host::request_header(":path").unwrap_or_default();
        let local = self.state.gateway.borrow().local_route(&path);
        match local {
            Some(LocalRoute::Token) => {
                self.token_request = Some(PendingTokenRequest {
                    method,
                    content_type: host::request_header("content-type"),
                    authorization: host::request_header("authorization"),
                });
                if end_of_stream {
                    return self.answer_token_request(&[]);
                }
                // Wait for the whole form body (on_http_request_body).
                return Action::Pause;
            }
            Some(route) => {
                let response = self.state.gateway.borrow().serve_document(route, &method);
                return match response {
                    Some(r) => self.respond(&r),
                    None => Action::Continue,
                };
            }
            None => {}
        }
        let now = host::now();
        let decision = self.state.gateway.borrow_mut().decide(
            &method,
            &path,
            &|name| host::request_header(name),
            &|_| None,
            now,
        );
        match decision {
            Decision::Respond {
                response, outcome, ..
            } => {
                self.state.stats.record(outcome);
                self.respond(&response)
            }
            Decision::Forward {
                remove,
                set,
                outcome,
            } => {
                self.state.stats.record(outcome);
                for name in &remove {
                    host::remove_request_header(name);
                }
                for (name, value) in &set {
                    host::set_request_header(name, value);
                }
                Action::Continue
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.token_request.is_none() {
            return Action::Continue;
        }
        if body_size > MAX_BODY_BYTES {
            self.token_request = None;
            let response = HttpResponse::json(
                413,
                &gatepass_core::response::error_body("invalid_request", "request body too large"),
            );
            return self.respond(&response);
        }
        if !end_of_stream {
            // Envoy keeps buffering while the filter pauses.
            return Action::Pause;
        }
        let body = host::request_body(body_size);
        self.answer_token_request(&body)
    }
}
