//! gatepass as an Envoy HTTP filter (proxy-wasm).
//!
//! Glue only: Envoy's headers, body, clock, randomness and shared data go in; every decision
//! comes from `gatepass-core` ([`gatepass_core::gateway`] for enforcement,
//! [`gatepass_core::endpoint`] for the token endpoint); responses and header changes come out.
//!
//! * `on_configure` parses the plugin configuration once ([`FilterConfig::from_json`]); an
//!   error is logged with the field it names and refuses the configuration, so Envoy refuses
//!   it. With a token endpoint, it also checks that the host gives randomness (WASI
//!   `random_get`) and prepares the replay store; with remote JWKS, the shared fetch state.
//! * Every request: local token endpoint / JWKS / metadata routes are answered here; everything
//!   else goes through [`Gateway::decide`]. A request that needs a remote key set that was never
//!   loaded waits (paused) for the first fetch, up to the fetch timeout.
//! * `on_tick` adopts key sets other workers fetched and starts due fetches.

mod host;
mod jwks;
mod replay;
mod stats;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gatepass_core::config::{FilterConfig, KeySource};
use gatepass_core::gateway::{Decision, Gateway, LocalRoute, Outcome};
use gatepass_core::request::{TokenHttpRequest, MAX_BODY_BYTES};
use gatepass_core::response::HttpResponse;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::jwks::RemoteProvider;
use crate::stats::Stats;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    std::panic::set_hook(Box::new(|info| {
        host::log_error(&format!("panic: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// How often each VM looks at the shared key sets and starts due fetches.
const TICK: Duration = Duration::from_millis(250);

/// A request paused until its provider's first key set arrives.
struct Waiter {
    context_id: u32,
    deadline: u64,
}

/// Per-VM state shared by the root context and every request.
struct State {
    gateway: RefCell<Gateway>,
    remote: RefCell<Vec<RemoteProvider>>,
    waiting: RefCell<Vec<Waiter>>,
    stats: Stats,
}

impl State {
    /// Decides the current request (the effective context) and applies the decision. Returns
    /// `None` when the request must wait for a first key set.
    fn handle_request(&self, may_wait: bool) -> Option<Action> {
        // One host call for all request headers: each host call crosses the V8 boundary.
        let headers = host::request_headers();
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let method = find(":method").unwrap_or_default();
        let path = find(":path").unwrap_or_default();
        let now = host::now();
        let decide = || {
            let remote = self.remote.borrow();
            let keys = |i: usize| {
                remote
                    .iter()
                    .find(|r| r.index == i)
                    .and_then(|r| r.keys.as_ref())
            };
            self.gateway
                .borrow_mut()
                .decide(&method, &path, &find, &keys, now)
        };
        let mut decision = decide();
        // VMs adopt a newer shared key set on their tick. A request that meets no keys, or an
        // unknown kid, between another VM's fetch and this VM's next tick looks at the shared
        // set now and is decided again if it changed (only on these denials: no cost on the
        // hot path).
        let retry = match &decision {
            Decision::Respond {
                outcome: Outcome::DeniedNoKeys,
                ..
            } => self
                .remote
                .borrow_mut()
                .iter_mut()
                .filter(|r| r.keys.is_none())
                .fold(false, |changed, r| r.adopt_shared() | changed),
            Decision::Respond {
                unknown_kid_of_provider: Some(i),
                ..
            } => self
                .remote
                .borrow_mut()
                .iter_mut()
                .find(|r| r.index == *i)
                .is_some_and(|r| r.adopt_shared()),
            _ => false,
        };
        if retry {
            decision = decide();
        }
        match decision {
            Decision::Respond {
                outcome: Outcome::DeniedNoKeys,
                ..
            } if may_wait
                && self
                    .remote
                    .borrow()
                    .iter()
                    .any(|r| r.first_fetch_pending(now)) =>
            {
                None
            }
            Decision::Respond {
                response,
                outcome,
                unknown_kid_of_provider,
            } => {
                self.stats.record(outcome);
                if let Some(i) = unknown_kid_of_provider {
                    if let Some(r) = self.remote.borrow().iter().find(|r| r.index == i) {
                        if r.request_refetch(now) {
                            self.stats.jwks_kid_miss_refetch.increment();
                        }
                    }
                }
                host::send_response(&response);
                Some(Action::Pause)
            }
            Decision::Forward {
                remove,
                set,
                outcome,
            } => {
                self.stats.record(outcome);
                // Only headers that are present need a host call to remove.
                for name in remove
                    .iter()
                    .filter(|n| headers.iter().any(|(h, _)| h == *n))
                {
                    host::remove_request_header(name);
                }
                for (name, value) in &set {
                    host::set_request_header(name, value);
                }
                Some(Action::Continue)
            }
        }
    }

    /// Resumes waiting requests whose keys arrived, and answers those past their deadline.
    fn resume_waiters(&self, now: u64) {
        let waiters: Vec<Waiter> = std::mem::take(&mut *self.waiting.borrow_mut());
        let mut still = Vec::new();
        for w in waiters {
            if hostcalls::set_effective_context(w.context_id).is_err() {
                continue; // the request is gone
            }
            let may_wait = now < w.deadline;
            match self.handle_request(may_wait) {
                None => still.push(w),
                Some(Action::Continue) => {
                    let _ = hostcalls::resume_http_request();
                }
                Some(_) => {}
            }
        }
        self.waiting.borrow_mut().extend(still);
    }
}

#[derive(Default)]
struct Root {
    state: Option<Rc<State>>,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let now = host::now();
        let mut got_keys = false;
        for r in state.remote.borrow_mut().iter_mut() {
            if r.in_flight == Some(token_id) {
                match r.on_response(body_size, now) {
                    Ok(()) => {
                        state.stats.jwks_fetch_ok.increment();
                        got_keys = true;
                    }
                    Err(e) => {
                        state.stats.jwks_fetch_failed.increment();
                        host::log_warn(&format!(
                            "JWKS fetch for provider {} failed ({e}); keeping the last good key set",
                            r.name
                        ));
                    }
                }
            }
        }
        if got_keys {
            state.resume_waiters(now);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let Some(text) = host::plugin_configuration() else {
            host::log_error(
                "configuration is missing (set the Wasm filter's config.configuration)",
            );
            return false;
        };
        let config = match FilterConfig::from_json(&text) {
            Ok(c) => c,
            Err(e) => {
                // The field path leads: `providers.main.issuer: is required`.
                host::log_error(&format!("invalid configuration: {e}"));
                return false;
            }
        };
        if config.token_endpoint.is_some() {
            // Minting needs randomness (jti, RSA blinding): WASI random_get must work here.
            let mut probe = [0u8; 16];
            if getrandom::getrandom(&mut probe).is_err() {
                host::log_error("invalid configuration: token_endpoint: the host gives no randomness (WASI random_get)");
                return false;
            }
            if let Err(e) = replay::prepare() {
                host::log_error(&format!("cannot prepare the replay store: {e}"));
                return false;
            }
        }
        let mut remote = Vec::new();
        for (index, (name, provider)) in config.providers.iter().enumerate() {
            if let KeySource::Remote(source) = &provider.keys {
                if let Err(e) = jwks::prepare(name) {
                    host::log_error(&format!(
                        "cannot prepare the JWKS state of provider {name}: {e}"
                    ));
                    return false;
                }
                let mut r = RemoteProvider::new(index, name.clone(), source.clone());
                r.adopt_shared();
                remote.push(r);
            }
        }
        if !remote.is_empty() && hostcalls::set_tick_period(TICK).is_err() {
            host::log_error("cannot start the JWKS timer");
            return false;
        }
        self.state = Some(Rc::new(State {
            gateway: RefCell::new(Gateway::new(config)),
            remote: RefCell::new(remote),
            waiting: RefCell::new(Vec::new()),
            stats: Stats::define(),
        }));
        true
    }

    fn on_tick(&mut self) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let now = host::now();
        let mut new_keys = false;
        for r in state.remote.borrow_mut().iter_mut() {
            new_keys |= r.adopt_shared();
            r.maybe_fetch(now);
        }
        if new_keys || !state.waiting.borrow().is_empty() {
            state.resume_waiters(now);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let state = self.state.clone()?;
        Some(Box::new(Request {
            context_id,
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
    context_id: u32,
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
            host::log_error(&format!("replay store failed: {e}"));
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
        let path = host::request_header(":path").unwrap_or_default();
        let local = self.state.gateway.borrow().local_route(&path);
        match local {
            Some(LocalRoute::Token) => {
                self.token_request = Some(PendingTokenRequest {
                    method: host::request_header(":method").unwrap_or_default(),
                    content_type: host::request_header("content-type"),
                    authorization: host::request_header("authorization"),
                });
                if end_of_stream {
                    return self.answer_token_request(&[]);
                }
                // Envoy delivers no body to a filter that pauses at the headers (proxy-wasm
                // turns that into StopAllIteration), so the headers continue and the body is
                // buffered in on_http_request_body. The client credentials never go further:
                // the Authorization header is removed here, and Envoy's buffer filter placed
                // after this one holds the request back from the router until the body is
                // complete, by which time this filter has answered (see envoy/token-endpoint.yaml).
                host::remove_request_header("authorization");
                return Action::Continue;
            }
            Some(route) => {
                let method = host::request_header(":method").unwrap_or_default();
                let response = self.state.gateway.borrow().serve_document(route, &method);
                return match response {
                    Some(r) => self.respond(&r),
                    None => Action::Continue,
                };
            }
            None => {}
        }
        match self.state.handle_request(true) {
            Some(action) => action,
            None => {
                // No key set was ever loaded for the provider: wait for the first fetch.
                let timeout = self
                    .state
                    .remote
                    .borrow()
                    .iter()
                    .map(|r| r.source.timeout_ms.div_ceil(1000) + 1)
                    .max()
                    .unwrap_or(1);
                self.state.waiting.borrow_mut().push(Waiter {
                    context_id: self.context_id,
                    deadline: host::now().saturating_add(timeout),
                });
                Action::Pause
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
