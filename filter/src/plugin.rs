//! The proxy-wasm contexts (see the crate docs).
//!
//! * `on_configure` parses the plugin configuration once ([`FilterConfig::from_json`]); an
//!   error is logged with the field it names and refuses the configuration, so Envoy refuses
//!   it. With a token endpoint, it also checks that the host gives randomness (WASI
//!   `random_get`) and prepares the replay store; with remote JWKS, the shared fetch state.
//! * Every request: core routes it ([`Gateway::route`]): the token endpoint (answered when the
//!   request ends, with its last body chunk or with its trailers; it never continues), the
//!   JWKS and metadata (answered at once), or enforcement ([`Gateway::decide`]). A request
//!   that needs a remote key set that was never loaded waits (paused) for the first fetch, up
//!   to the fetch timeout.
//! * `on_tick` adopts key sets other workers fetched and starts due fetches.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::{FilterConfig, KeySource, ReplayStoreConfig};
use gatepass_core::etcd::{EtcdInsert, EtcdNext, EtcdStep, LeaseCache};
use gatepass_core::exchange::{self, Advanced, HostCrypto, TokenExchange};
use gatepass_core::gateway::{Decision, Gateway, Outcome, RequestHead, Route, TokenRequestHead};
use gatepass_core::response::HttpResponse;
use gatepass_core::routes;
use gatepass_core::stats::Stat;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::adapter;
use crate::host;
use crate::jwks::{self, RemoteProvider};
use crate::replay;
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
    /// The etcd leases this VM granted for replay keys (`replay_store.etcd`).
    leases: RefCell<LeaseCache>,
    stats: Stats,
}

impl State {
    /// Decides the current request (the effective context) and applies the decision. Returns
    /// `None` when the request must wait for a first key set.
    fn handle_request(&self, head: &RequestHead<'_>, may_wait: bool) -> Option<Action> {
        let now = host::now();
        let decide = || {
            let remote = self.remote.borrow();
            let keys = |i: usize| {
                remote
                    .iter()
                    .find(|r| r.index == i)
                    .and_then(|r| r.keys.as_ref())
            };
            self.gateway.borrow_mut().decide(head, &keys, now)
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
                for stat in outcome.stats() {
                    self.stats.increment(*stat);
                }
                if let Some(i) = unknown_kid_of_provider {
                    if let Some(r) = self.remote.borrow().iter().find(|r| r.index == i) {
                        if r.request_refetch(now) {
                            self.stats.increment(Stat::JwksKidMissRefetch);
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
                for stat in outcome.stats() {
                    self.stats.increment(*stat);
                }
                // Core names only headers that are present: one host call each.
                for name in &remove {
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
            if !host::set_effective_context(w.context_id) {
                continue; // the request is gone
            }
            let may_wait = now < w.deadline;
            let map = host::header_map(host::MAP_REQUEST_HEADERS);
            let Some(pairs) = adapter::parse_header_map(&map) else {
                host_broke_its_format();
                continue;
            };
            match self.handle_request(&RequestHead::from_pairs(&pairs), may_wait) {
                None => still.push(w),
                Some(Action::Continue) => host::resume_http_request(),
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
                        state.stats.increment(Stat::JwksFetchOk);
                        got_keys = true;
                    }
                    Err(e) => {
                        state.stats.increment(Stat::JwksFetchFailed);
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
        let Ok(text) = String::from_utf8(text) else {
            host::log_error("invalid configuration: the configuration is not UTF-8 text");
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
        if let Some(server) = &config.token_endpoint {
            // Minting needs randomness (jti, RSA blinding): WASI random_get must work here.
            let mut probe = [0u8; 16];
            if getrandom::getrandom(&mut probe).is_err() {
                host::log_error("invalid configuration: token_endpoint: the host gives no randomness (WASI random_get)");
                return false;
            }
            if server.replay_store == ReplayStoreConfig::SharedData {
                if let Err(e) = replay::prepare() {
                    host::log_error(&format!("cannot prepare the replay store: {e}"));
                    return false;
                }
            }
        }
        let mut remote = Vec::new();
        for (index, (name, provider)) in config.providers.iter().enumerate() {
            if let KeySource::Remote(source) = &provider.keys {
                if let Err(e) = jwks::prepare(name, source) {
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
        if !remote.is_empty() && !host::set_tick_period(TICK) {
            host::log_error("cannot start the JWKS timer");
            return false;
        }
        self.state = Some(Rc::new(State {
            gateway: RefCell::new(Gateway::new(config)),
            remote: RefCell::new(remote),
            waiting: RefCell::new(Vec::new()),
            leases: RefCell::new(LeaseCache::new()),
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
            etcd: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// A request the host broke its own serialization format for: fail closed.
fn host_broke_its_format() -> Action {
    host::log_error("the host's request header map does not parse; refusing the request");
    host::send_response(&routes::internal_error());
    Action::Pause
}

struct Request {
    context_id: u32,
    state: Rc<State>,
    /// A token request's headers, kept until the request ends.
    token_request: Option<TokenRequestHead>,
    /// A token request waiting for etcd (`replay_store.etcd`): the exchange, the insert, and
    /// the dispatch token of the call in flight.
    etcd: Option<(TokenExchange, EtcdInsert, u32)>,
}

/// Core's signatures: the filter has no crypto of its own.
const CORE_CRYPTO: HostCrypto<'static> = HostCrypto {
    verify: &|c| c.verify_builtin(),
    sign: &|_, _, _| None,
};

impl Context for Request {
    /// etcd's answer to a replay-store call (or Envoy's report that none came: no `:status`).
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some((exchange, insert, token)) = self.etcd.take() else {
            return;
        };
        if token != token_id {
            self.etcd = Some((exchange, insert, token));
            return;
        }
        let answer = replay::etcd_answer(body_size);
        // A token request never continues upstream: `drive` answers it, or pauses it again for
        // the next call.
        let _ = self.drive(exchange, Some((insert, EtcdNext::Answer(answer))));
    }
}

impl Request {
    fn respond(&self, response: &HttpResponse) -> Action {
        host::send_response(response);
        Action::Pause
    }

    /// The end of a token request, however it ended (last body chunk, or trailers): answer it
    /// here. It never continues upstream.
    fn answer_token_request(&mut self, body: &[u8]) -> Action {
        let Some(pending) = self.token_request.take() else {
            return Action::Continue;
        };
        let gateway = self.state.gateway.borrow();
        let Some(server) = gateway.config().token_endpoint.as_ref() else {
            // Routed here only when a token endpoint is configured.
            return self.respond(&routes::internal_error());
        };
        let mut jti = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut jti);
        let exchange = pending.exchange(server, body, host::now(), jti);
        drop(gateway);
        self.drive(exchange, None)
    }

    /// Runs core's token exchange: the configuration's clients, core's signatures, and the
    /// replay store — Envoy shared data at once, or etcd through HTTP calls, between which the
    /// request pauses (`etcd` resumes an insert in progress). Answers the request when the
    /// exchange is over.
    fn drive(
        &mut self,
        mut exchange: TokenExchange,
        mut etcd: Option<(EtcdInsert, EtcdNext)>,
    ) -> Action {
        let state = self.state.clone();
        let gateway = state.gateway.borrow();
        let Some(server) = gateway.config().token_endpoint.as_ref() else {
            return self.respond(&routes::internal_error());
        };
        let now = host::now();
        loop {
            if let Some((mut insert, next)) = etcd.take() {
                match insert.resume(&mut state.leases.borrow_mut(), next, now) {
                    EtcdStep::Done(outcome) => exchange.replay_recorded(server, outcome),
                    EtcdStep::Send(call) => {
                        match replay::dispatch_etcd(&server.replay_store, &call) {
                            Ok(token) => {
                                self.etcd = Some((exchange, insert, token));
                                return Action::Pause;
                            }
                            Err(e) => {
                                host::log_warn(&format!("replay store (etcd): {e}"));
                                etcd = Some((insert, EtcdNext::Answer(None)));
                                continue;
                            }
                        }
                    }
                }
            }
            let find = |id: &str| server.client(id);
            match exchange::advance(
                &mut exchange,
                server,
                find,
                &CORE_CRYPTO,
                &mut rand_core::OsRng,
            ) {
                Advanced::Over(done) => {
                    state.stats.increment(done.tally().stat());
                    return self.respond(&done.response);
                }
                Advanced::RecordReplay { key, expires_at } => match &server.replay_store {
                    ReplayStoreConfig::SharedData => {
                        let outcome = replay::record(&key, expires_at, now).unwrap_or_else(|e| {
                            host::log_error(&format!("replay store failed: {e}"));
                            ReplayOutcome::Unavailable
                        });
                        exchange.replay_recorded(server, outcome);
                    }
                    ReplayStoreConfig::Etcd(config) => {
                        let (insert, call) = EtcdInsert::begin(
                            config,
                            &state.leases.borrow(),
                            &key,
                            expires_at,
                            now,
                            &mut rand_core::OsRng,
                        );
                        etcd = Some((insert, EtcdNext::Send(call)));
                    }
                },
            }
        }
    }

    fn too_large(&mut self) -> Action {
        self.token_request = None;
        self.state.stats.increment(Stat::TokenRefused);
        self.respond(&routes::too_large())
    }

    /// The token endpoint's body limit (`token_endpoint.max_body_bytes`).
    fn max_body_bytes(&self) -> usize {
        let gateway = self.state.gateway.borrow();
        gateway
            .config()
            .token_endpoint
            .as_ref()
            .map_or(0, |server| server.max_body_bytes)
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let map = host::header_map(host::MAP_REQUEST_HEADERS);
        let Some(pairs) = adapter::parse_header_map(&map) else {
            return host_broke_its_format();
        };
        let head = RequestHead::from_pairs(&pairs);
        // One host call for all request headers: each host call crosses the V8 boundary.
        let route = self.state.gateway.borrow().route(&head);
        match route {
            Route::TokenEndpoint { remove, request } => {
                self.token_request = Some(request);
                if end_of_stream {
                    return self.answer_token_request(&[]);
                }
                // Envoy delivers no body to a filter that pauses at the headers (proxy-wasm
                // turns that into StopAllIteration), so the headers continue and the body is
                // buffered in on_http_request_body (trailers: on_http_request_trailers). The
                // client credentials never go further: the Authorization header and the
                // filter's own headers are removed here, and Envoy's buffer filter placed after
                // this one holds the request back from the router until the request is
                // complete, by which time this filter has answered (envoy/token-endpoint.yaml).
                for name in &remove {
                    host::remove_request_header(name);
                }
                return Action::Continue;
            }
            Route::Respond(response) => return self.respond(&response),
            Route::Enforce => {}
        }
        match self.state.handle_request(&head, true) {
            Some(action) => action,
            None => {
                // No key set was ever loaded for the provider: wait for the first fetch.
                let timeout = self
                    .state
                    .remote
                    .borrow()
                    .iter()
                    .map(|r| r.policy.first_fetch_wait_seconds())
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
        if body_size > self.max_body_bytes() {
            return self.too_large();
        }
        if !end_of_stream {
            // Envoy keeps buffering while the filter pauses; the request ends with a last
            // chunk or with trailers.
            return Action::Pause;
        }
        let body = host::buffer(host::BUFFER_REQUEST_BODY, body_size).unwrap_or_default();
        self.answer_token_request(&body)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.token_request.is_none() {
            return Action::Continue;
        }
        // The request ended with trailers (HTTP/2, or HTTP/1.1 chunked): the body buffered so
        // far is the whole body. Trailers carry nothing the token endpoint reads (RFC 6749
        // §4.4.2: the parameters are in the body), so they are not looked at.
        let limit = self.max_body_bytes();
        let body = host::buffer(host::BUFFER_REQUEST_BODY, limit + 1).unwrap_or_default();
        if body.len() > limit {
            return self.too_large();
        }
        self.answer_token_request(&body)
    }
}
