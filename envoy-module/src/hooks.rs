//! The hooks Envoy looks up in the module (every HTTP-filter hook Envoy 1.40 requires; the
//! ones gatepass has no use for answer "continue" or do nothing).
//!
//! Every hook body runs in [`guard`]: a panic is caught before it reaches the `extern "C"`
//! boundary, logged, counted (`gatepass.native.panic_caught`) and, for a request, answered
//! with core's 500 (fail closed). The module is built with `panic = "unwind"` so that
//! `catch_unwind` can do this.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::{FilterConfig, ReplayStoreConfig};
use gatepass_core::etcd::{EtcdInsert, EtcdNext, EtcdStep, LeaseCache, MAX_ANSWER_BYTES};
use gatepass_core::exchange::{self, Advanced, TokenExchange};
use gatepass_core::gateway::{Decision, Enforcer, Outcome, RequestHead, Route, TokenRequestHead};
use gatepass_core::routes;
use gatepass_core::stats::Stat;
use rand_core::OsRng;

use crate::abi::{self, ConfigEnvoyPtr, EnvoyBuffer, EnvoyHeader, FilterEnvoyPtr};
use crate::host::{self, Callout, Stream, StreamScheduler};
use crate::remote::{self, Answer, Remotes};
use crate::state::{lock, CacheHandle, ReplayStore, SharedCache};

/// The ABI version this module was written against (Envoy 1.40 reports `v0.2.0`).
static ABI_VERSION: &[u8] = b"v0.2.0\0";

/// The filter name that turns on the test-only panic path (`tests/envoy`): a request to
/// [`TEST_PANIC_PATH`] panics inside the module, to prove the guard. No other name does.
const TEST_PANIC_FILTER_NAME: &[u8] = b"gatepass-test-panic";
const TEST_PANIC_PATH: &[u8] = b"/gatepass-test-panic";

/// Live keys the replay store holds at most (about 100 MB at the worst); past it, assertions
/// are refused with a 503 (`temporarily_unavailable`) until keys expire.
const REPLAY_CAPACITY: usize = 1_000_000;

/// One filter configuration, shared by every worker.
struct Config {
    enforcer: Enforcer,
    /// The token endpoint's signing keys for `ring` (empty without a token endpoint).
    signers: crate::crypto::Signers,
    cache: SharedCache,
    replay: ReplayStore,
    /// The etcd leases granted for replay keys (`replay_store.etcd`), for every worker.
    leases: Mutex<LeaseCache>,
    /// Remote key sets, fetched on the main thread and read by every worker without a lock.
    remote: Remotes,
    counters: Vec<Option<usize>>,
    panic_counter: Option<usize>,
    test_panic: bool,
}

impl Config {
    fn count(&self, stream: Stream, stat: Stat) {
        if let Some(Some(id)) = self.counters.get(stat.index()) {
            stream.increment(*id);
        }
    }

    /// Counts outside any stream (the main thread's fetches).
    fn count_config(&self, envoy_config: ConfigEnvoyPtr, stat: Stat) {
        if let Some(Some(id)) = self.counters.get(stat.index()) {
            host::config_increment(envoy_config, *id);
        }
    }
}

/// One HTTP stream.
struct StreamState {
    config: *const Config,
    /// A token request's headers, kept until its body has arrived.
    token_request: Option<TokenRequestHead>,
    /// Set while the request waits for a first remote key set.
    waiting: Option<Waiting>,
    /// Set while a token request waits for etcd (`replay_store.etcd`).
    etcd: Option<EtcdWait>,
}

/// A token request waiting for the answer to an etcd call.
struct EtcdWait {
    exchange: TokenExchange,
    insert: EtcdInsert,
    callout: u64,
}

/// Sets [`STARTING_CALLOUT`] for its life, and clears it on the way out, a panic included.
struct Starting;

impl Starting {
    fn new() -> Self {
        STARTING_CALLOUT.set(true);
        Starting
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        STARTING_CALLOUT.set(false);
    }
}

thread_local! {
    /// Set while this worker starts a callout: Envoy may answer a callout that fails at once
    /// (a local "no healthy upstream" reply) inside the call that starts it, which would enter
    /// the module again for a stream whose state the caller holds. Such an answer is not read
    /// (the start then reports failure, which counts as no answer).
    static STARTING_CALLOUT: Cell<bool> = const { Cell::new(false) };
}

/// A request held until a first remote key set arrives or `deadline` (Unix seconds) passes.
struct Waiting {
    id: u64,
    deadline: u64,
    scheduler: Arc<StreamScheduler>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `body`; a panic becomes `fallback()` after a log line.
fn guard<T>(body: impl FnOnce() -> T, fallback: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            host::log(
                abi::LOG_ERROR,
                "gatepass: a panic was caught in the module; failing closed",
            );
            fallback()
        }
    }
}

/// A request hook: on a panic, count it and answer 500 (fail closed).
///
/// # Safety
/// `state` must be a pointer made by [`envoy_dynamic_module_on_http_filter_new`] or null.
unsafe fn request_hook(
    filter: FilterEnvoyPtr,
    state: *const c_void,
    stopped: u32,
    body: impl FnOnce(Stream, &mut StreamState, &Config) -> u32,
) -> u32 {
    let stream = Stream(filter);
    let state = state.cast_mut().cast::<StreamState>();
    // SAFETY: Envoy passes back the pointer filter_new made, and calls one hook at a time per
    // stream; the configuration outlives its streams.
    let Some(state) = (unsafe { state.as_mut() }) else {
        return abi::HEADERS_CONTINUE;
    };
    // SAFETY: as above.
    let Some(config) = (unsafe { state.config.as_ref() }) else {
        return abi::HEADERS_CONTINUE;
    };
    guard(
        || body(stream, state, config),
        || {
            if let Some(id) = config.panic_counter {
                stream.increment(id);
            }
            stream.send_response(&routes::internal_error());
            stopped
        },
    )
}

/// Loads the module: panics are reported through Envoy's log (by [`guard`]'s caller, with the
/// message here) instead of the default hook's stderr backtrace.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    std::panic::set_hook(Box::new(|info| {
        host::log(abi::LOG_ERROR, &format!("gatepass: panic: {info}"));
    }));
    ABI_VERSION.as_ptr().cast()
}

/// Loads the plugin JSON (the proxy-wasm filter's format, checked by core); null refuses it.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    envoy_config: ConfigEnvoyPtr,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    guard(
        || {
            // SAFETY: Envoy's buffers, valid during this hook.
            let (name, text) = unsafe { (host::buffer_bytes(name), host::buffer_bytes(config)) };
            match load(envoy_config, name, text) {
                Ok(config) => Box::into_raw(Box::new(config)).cast_const().cast(),
                Err(e) => {
                    host::log(
                        abi::LOG_ERROR,
                        &format!("gatepass: invalid configuration: {e}"),
                    );
                    std::ptr::null()
                }
            }
        },
        std::ptr::null,
    )
}

fn load(envoy_config: ConfigEnvoyPtr, name: &[u8], text: &[u8]) -> Result<Config, String> {
    let text = std::str::from_utf8(text).map_err(|_| "the configuration is not UTF-8 text")?;
    let config = FilterConfig::from_json(text).map_err(|e| e.to_string())?;
    let counters = Stat::ALL
        .iter()
        .map(|s| host::define_counter(envoy_config, s.name()))
        .collect();
    Ok(Config {
        remote: Remotes::new(envoy_config, &config)?,
        cache: SharedCache::new(config.jwt_cache_size),
        replay: ReplayStore::new(REPLAY_CAPACITY),
        leases: Mutex::new(LeaseCache::new()),
        counters,
        panic_counter: host::define_counter(envoy_config, "gatepass.native.panic_caught"),
        test_panic: name == TEST_PANIC_FILTER_NAME,
        signers: crate::crypto::Signers::new(
            config
                .token_endpoint
                .as_ref()
                .map_or(&[][..], |server| server.signing_keys.keys()),
        ),
        enforcer: Enforcer::new(config),
    })
}

/// Frees a configuration `Box::into_raw` made for Envoy, inside the panic guard (a stream's
/// state is freed by its destroy hook); null is nothing to free.
///
/// # Safety
/// `ptr` is null or came from `Box::<T>::into_raw`, and Envoy hands it back once.
unsafe fn destroy<T>(ptr: *const c_void) {
    guard(
        || {
            if !ptr.is_null() {
                // SAFETY: the caller's contract.
                drop(unsafe { Box::from_raw(ptr.cast_mut().cast::<T>()) });
            }
        },
        || (),
    )
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *const c_void) {
    // SAFETY: made by Box::into_raw in config_new; Envoy destroys it once.
    unsafe { destroy::<Config>(config) }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(
    _name: EnvoyBuffer,
    _config: EnvoyBuffer,
) -> *const c_void {
    // No per-route configuration: rules live in the plugin JSON.
    host::log(
        abi::LOG_ERROR,
        "gatepass: per-route configuration is not supported; put rules in the filter configuration",
    );
    std::ptr::null()
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(
    _config: *const c_void,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *const c_void,
    _filter: FilterEnvoyPtr,
) -> *const c_void {
    guard(
        || {
            let state = StreamState {
                config: config.cast::<Config>(),
                token_request: None,
                waiting: None,
                etcd: None,
            };
            Box::into_raw(Box::new(state)).cast_const().cast()
        },
        std::ptr::null,
    )
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(state: *const c_void) {
    guard(
        || {
            if state.is_null() {
                return;
            }
            // SAFETY: made by Box::into_raw in filter_new; Envoy destroys it once.
            let stream = unsafe { Box::from_raw(state.cast_mut().cast::<StreamState>()) };
            // SAFETY: the configuration outlives its streams.
            if let (Some(w), Some(config)) = (&stream.waiting, unsafe { stream.config.as_ref() }) {
                // Out of the wake list before its scheduler goes (with `stream`).
                config.remote.waiters.remove(w.id);
            }
        },
        || (),
    )
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter: FilterEnvoyPtr,
    state: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream.
    unsafe {
        request_hook(
            filter,
            state,
            abi::HEADERS_STOP_ITERATION,
            |stream, state, config| on_request_headers(stream, state, config, end_of_stream),
        )
    }
}

fn on_request_headers(
    stream: Stream,
    state: &mut StreamState,
    config: &Config,
    end_of_stream: bool,
) -> u32 {
    if cfg!(feature = "bench-noop") {
        return abi::HEADERS_CONTINUE; // see Cargo.toml: the bench's baseline, never shipped
    }
    let now = now();
    // Read, then decide, then change headers: the header bytes are Envoy's and are not used
    // once a header changes.
    let decision = {
        let pairs = stream.request_headers();
        let head = RequestHead::from_pairs(&pairs);
        if config.test_panic && head.path == TEST_PANIC_PATH {
            test_panic();
        }
        match config.enforcer.route(&head) {
            Route::TokenEndpoint {
                remove,
                request: kept,
            } => {
                drop(pairs);
                for name in &remove {
                    stream.remove_request_header(name);
                }
                if end_of_stream {
                    answer_token_request(stream, state, config, &kept, &[], now);
                } else {
                    state.token_request = Some(kept);
                }
                return abi::HEADERS_STOP_ITERATION;
            }
            Route::Respond(response) => {
                stream.send_response(&response);
                return abi::HEADERS_STOP_ITERATION;
            }
            Route::Enforce => enforce(config, &head, now),
        }
    };
    apply(stream, state, config, decision, now, true)
}

/// Core's decision on `head`, with the remote key sets as they are now.
fn enforce(config: &Config, head: &RequestHead<'_>, now: u64) -> Decision {
    // One guard per remote provider for the decision's length (none without remote keys).
    let held: Vec<_> = config.remote.providers.iter().map(|r| r.keys()).collect();
    let keys = |index: usize| {
        config
            .remote
            .providers
            .iter()
            .position(|r| r.index == index)
            .and_then(|p| held.get(p))
            .and_then(|k| k.as_deref())
    };
    config.enforcer.decide(
        head,
        &keys,
        now,
        &mut CacheHandle(&config.cache),
        &crate::crypto::check,
    )
}

/// Applies an enforcement decision, or holds the request for a first key set: the hook's
/// answer (`HEADERS_CONTINUE` when the request goes on).
fn apply(
    stream: Stream,
    state: &mut StreamState,
    config: &Config,
    decision: Decision,
    now: u64,
    may_wait: bool,
) -> u32 {
    match decision {
        Decision::Respond {
            outcome: Outcome::DeniedNoKeys,
            ..
        } if may_wait && config.remote.first_fetch_pending(now) => {
            if state.waiting.is_none() {
                let Some(scheduler) = StreamScheduler::new(stream) else {
                    stream.send_response(&routes::internal_error());
                    return abi::HEADERS_STOP_ITERATION;
                };
                let waiting = Waiting {
                    id: config.remote.waiters.stream_id(),
                    deadline: now.saturating_add(config.remote.first_fetch_wait()),
                    scheduler: Arc::new(scheduler),
                };
                config
                    .remote
                    .waiters
                    .add(waiting.id, Arc::clone(&waiting.scheduler));
                state.waiting = Some(waiting);
            }
            abi::HEADERS_STOP_ALL_AND_BUFFER
        }
        Decision::Respond {
            response,
            outcome,
            unknown_kid_of_provider,
        } => {
            for stat in outcome.stats() {
                config.count(stream, *stat);
            }
            if let Some(r) = unknown_kid_of_provider.and_then(|i| config.remote.provider(i)) {
                if r.kid_miss(now) {
                    config.count(stream, Stat::JwksKidMissRefetch);
                    config.remote.nudge();
                }
            }
            stream.send_response(&response);
            abi::HEADERS_STOP_ITERATION
        }
        Decision::Forward {
            remove,
            set,
            outcome,
        } => {
            for stat in outcome.stats() {
                config.count(stream, *stat);
            }
            for name in &remove {
                stream.remove_request_header(name);
            }
            for (name, value) in &set {
                stream.set_request_header(name, value);
            }
            abi::HEADERS_CONTINUE
        }
    }
}

/// A waiting request is decided again (a tick, or a fetch ended): it goes on, is answered, or
/// keeps waiting until its deadline.
fn wake(stream: Stream, state: &mut StreamState, config: &Config) {
    let Some(deadline) = state.waiting.as_ref().map(|w| w.deadline) else {
        return;
    };
    let now = now();
    let decision = {
        let pairs = stream.request_headers();
        enforce(config, &RequestHead::from_pairs(&pairs), now)
    };
    let answer = apply(stream, state, config, decision, now, now < deadline);
    if answer == abi::HEADERS_STOP_ALL_AND_BUFFER {
        return; // still waiting
    }
    if let Some(w) = state.waiting.take() {
        config.remote.waiters.remove(w.id);
    }
    if answer == abi::HEADERS_CONTINUE {
        stream.continue_decoding();
    }
}

/// The test-only panic (see [`TEST_PANIC_FILTER_NAME`]).
#[allow(clippy::panic)]
fn test_panic() {
    panic!("gatepass test panic (filter name {TEST_PANIC_FILTER_NAME:?})");
}

/// The token endpoint's limit on the body.
fn max_body_bytes(config: &Config) -> usize {
    config
        .enforcer
        .config()
        .token_endpoint
        .as_ref()
        .map_or(0, |server| server.max_body_bytes)
}

/// Answers a complete token request with core's exchange (see [`drive`]).
fn answer_token_request(
    stream: Stream,
    state: &mut StreamState,
    config: &Config,
    kept: &TokenRequestHead,
    body: &[u8],
    now: u64,
) {
    let Some(server) = config.enforcer.config().token_endpoint.as_ref() else {
        stream.send_response(&routes::internal_error());
        return;
    };
    let mut jti = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut jti);
    let exchange = kept.exchange(server, body, now, jti);
    drive(stream, state, config, exchange, None);
}

/// Runs core's token exchange: the configuration's clients, `ring` for client assertions and
/// access tokens, and the replay store — the module's own at once, or etcd through callouts,
/// between which the request stays stopped (`etcd`: an insert in progress). Answers the request
/// when the exchange is over.
fn drive(
    stream: Stream,
    state: &mut StreamState,
    config: &Config,
    mut exchange: TokenExchange,
    mut etcd: Option<(EtcdInsert, EtcdNext)>,
) {
    let Some(server) = config.enforcer.config().token_endpoint.as_ref() else {
        stream.send_response(&routes::internal_error());
        return;
    };
    let host = exchange::HostCrypto {
        verify: &crate::crypto::check,
        sign: &|alg, kid, input| config.signers.sign(alg, kid, input),
    };
    let now = now();
    loop {
        if let Some((mut insert, next)) = etcd.take() {
            let step = insert.resume(&mut lock(&config.leases), next, now);
            match (step, &server.replay_store) {
                (EtcdStep::Done(outcome), _) => exchange.replay_recorded(server, outcome),
                (EtcdStep::Send(call), ReplayStoreConfig::Etcd(etcd_config)) => {
                    let callout = Callout {
                        cluster: &etcd_config.cluster,
                        method: "POST",
                        path: call.path,
                        authority: &etcd_config.authority,
                        body: call.body.as_bytes(),
                        timeout_ms: etcd_config.timeout_ms,
                    };
                    let started = {
                        let _starting = Starting::new();
                        stream.callout(&callout)
                    };
                    match started {
                        Some(id) => {
                            state.etcd = Some(EtcdWait {
                                exchange,
                                insert,
                                callout: id,
                            });
                            return;
                        }
                        None => {
                            host::log(
                                abi::LOG_WARN,
                                &format!(
                                    "gatepass: replay store (etcd): cannot call cluster {}",
                                    etcd_config.cluster
                                ),
                            );
                            etcd = Some((insert, EtcdNext::Answer(None)));
                        }
                    }
                }
                (EtcdStep::Send(_), ReplayStoreConfig::SharedData) => {
                    exchange.replay_recorded(server, ReplayOutcome::Unavailable)
                }
            }
            continue;
        }
        let find = |id: &str| server.client(id);
        match exchange::advance(&mut exchange, server, find, &host, &mut OsRng) {
            Advanced::Over(done) => {
                config.count(stream, done.tally().stat());
                stream.send_response(&done.response);
                return;
            }
            Advanced::RecordReplay { key, expires_at } => match &server.replay_store {
                ReplayStoreConfig::SharedData => {
                    let outcome = config.replay.record(&key, expires_at, now);
                    exchange.replay_recorded(server, outcome);
                }
                ReplayStoreConfig::Etcd(etcd_config) => {
                    let (insert, call) = EtcdInsert::begin(
                        etcd_config,
                        &lock(&config.leases),
                        &key,
                        expires_at,
                        now,
                        &mut OsRng,
                    );
                    etcd = Some((insert, EtcdNext::Send(call)));
                }
            },
        }
    }
}

fn too_large(stream: Stream, state: &mut StreamState, config: &Config) {
    state.token_request = None;
    config.count(stream, Stat::TokenRefused);
    stream.send_response(&routes::too_large());
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    filter: FilterEnvoyPtr,
    state: *const c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream.
    unsafe {
        request_hook(
            filter,
            state,
            abi::BODY_STOP_AND_BUFFER,
            |stream, state, config| {
                let Some(kept) = state.token_request.as_ref() else {
                    return abi::BODY_CONTINUE;
                };
                let limit = max_body_bytes(config);
                if !end_of_stream {
                    // Keep buffering, unless the body is already over the limit.
                    if stream.request_body(true, limit).is_none() {
                        too_large(stream, state, config);
                    }
                    return abi::BODY_STOP_AND_BUFFER;
                }
                match stream.request_body(true, limit) {
                    Some(body) => {
                        let kept = kept.clone();
                        state.token_request = None;
                        answer_token_request(stream, state, config, &kept, &body, now());
                    }
                    None => too_large(stream, state, config),
                }
                abi::BODY_STOP_AND_BUFFER
            },
        )
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    filter: FilterEnvoyPtr,
    state: *const c_void,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream.
    unsafe {
        request_hook(
            filter,
            state,
            abi::TRAILERS_STOP,
            |stream, state, config| {
                // The request ended with trailers: the buffered body is the whole body. Trailers
                // carry nothing the token endpoint reads (RFC 6749 §4.4.2).
                let Some(kept) = state.token_request.take() else {
                    return abi::TRAILERS_CONTINUE;
                };
                match stream.request_body(false, max_body_bytes(config)) {
                    Some(body) => answer_token_request(stream, state, config, &kept, &body, now()),
                    None => too_large(stream, state, config),
                }
                abi::TRAILERS_STOP
            },
        )
    }
}

// The hooks below have nothing to do for gatepass; Envoy requires them.

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    0
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    0
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
) -> u32 {
    0
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_local_reply(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _response_code: u32,
    _details: EnvoyBuffer,
    _reset_imminent: bool,
) -> u32 {
    abi::LOCAL_REPLY_CONTINUE
}

/// An etcd call of a token request ended (the stream's worker).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    filter: FilterEnvoyPtr,
    state: *const c_void,
    callout_id: u64,
    result: u32,
    headers: *mut EnvoyHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    if STARTING_CALLOUT.get() {
        return; // answered inside the call that starts it: see STARTING_CALLOUT
    }
    // SAFETY: Envoy's pointers for this stream (its worker thread).
    unsafe {
        request_hook(filter, state, 0, |stream, state, config| {
            let Some(wait) = state.etcd.take_if(|w| w.callout == callout_id) else {
                return 0;
            };
            // SAFETY: Envoy's arrays, valid during this hook (null when there was no response).
            let answer = (result == abi::CALLOUT_SUCCESS).then(|| {
                let headers = host::envoy_headers(headers, headers_size);
                let status = headers
                    .iter()
                    .find(|(name, _)| *name == b":status")
                    .and_then(|(_, v)| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<u16>().ok());
                // Longer than core reads: not an answer it asked for, the same as none.
                let body = host::envoy_body(body_chunks, body_chunks_size, MAX_ANSWER_BYTES).ok();
                status.zip(body)
            });
            let next = EtcdNext::Answer(answer.flatten());
            drive(
                stream,
                state,
                config,
                wait.exchange,
                Some((wait.insert, next)),
            );
            0
        });
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _stream_id: u64,
    _headers: *mut EnvoyHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _stream_id: u64,
    _data: *const EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _stream_id: u64,
    _trailers: *mut EnvoyHeader,
    _trailers_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _stream_id: u64,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
    _stream_id: u64,
    _reason: u32,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    filter: FilterEnvoyPtr,
    state: *const c_void,
    event_id: u64,
) {
    if event_id != remote::EVENT_WAKE {
        return;
    }
    // SAFETY: Envoy's pointers for this stream (its worker thread).
    unsafe {
        request_hook(filter, state, 0, |stream, state, config| {
            wake(stream, state, config);
            0
        });
    }
}

/// The main thread's tick (see `remote`): due fetches start, waiting requests are woken.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_scheduled(
    envoy_config: ConfigEnvoyPtr,
    config: *const c_void,
    event_id: u64,
) {
    guard(
        || {
            // SAFETY: the pointer config_new made; Envoy calls this on the main thread while
            // the configuration is alive.
            let Some(config) = (unsafe { config.cast::<Config>().as_ref() }) else {
                return;
            };
            if event_id == remote::EVENT_TICK {
                config.remote.on_tick(envoy_config, now());
            }
        },
        || (),
    );
}

/// A remote key-set fetch ended (main thread).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_callout_done(
    envoy_config: ConfigEnvoyPtr,
    config: *const c_void,
    callout_id: u64,
    result: u32,
    headers: *mut EnvoyHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    guard(
        || {
            // SAFETY: as in config_scheduled.
            let Some(config) = (unsafe { config.cast::<Config>().as_ref() }) else {
                return;
            };
            // SAFETY: Envoy's arrays, valid during this hook (null when there was no response).
            let (headers, body) = unsafe {
                (
                    host::envoy_headers(headers, headers_size),
                    host::envoy_body(body_chunks, body_chunks_size, remote::BODY_LIMIT),
                )
            };
            // The answer's bytes are the issuer's, untrusted: core checks them as bytes.
            let answer = if result == abi::CALLOUT_SUCCESS {
                let status = headers
                    .iter()
                    .find(|(name, _)| *name == b":status")
                    .map_or(&b""[..], |(_, value)| value);
                Answer::Response { status, body }
            } else {
                Answer::Failed
            };
            match config.remote.on_answer(callout_id, &answer, now()) {
                Some((_, Ok(()))) => config.count_config(envoy_config, Stat::JwksFetchOk),
                Some((name, Err(e))) => {
                    config.count_config(envoy_config, Stat::JwksFetchFailed);
                    host::log(
                        abi::LOG_WARN,
                        &format!(
                            "gatepass: JWKS fetch for provider {name} failed ({e}); keeping the last good key set"
                        ),
                    );
                }
                None => {}
            }
        },
        || (),
    );
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _filter: FilterEnvoyPtr,
    _state: *const c_void,
) {
}
