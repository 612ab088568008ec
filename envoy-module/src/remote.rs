//! Remote JWKS for the native module: one fetch state and one key set per provider for the
//! whole Envoy process (one shared library per process), so every worker uses the same set and
//! an unknown `kid` or a stale set costs one fetch, not one per worker.
//!
//! * Workers read the set without a lock: it is an atomically swapped `Arc` ([`ArcSwapOption`]);
//!   publishing a new set never blocks a request.
//! * The fetch itself is Envoy's config-level HTTP callout, which runs on the main thread: a
//!   ticker thread of this module commits an event to the config's main-thread scheduler every
//!   [`TICK`] (HTTP filters have no timers of their own), and on that event
//!   ([`Remotes::on_tick`]) every provider whose fetch is due starts one.
//! * Every rule (when a fetch is due, the kid-miss cooldown, the first-fetch wait, what answer
//!   is taken) is core's [`RefreshPolicy`]; this file keeps its state and does the host calls.
//! * A request that meets no key set while the first fetch is still to come waits (its stream
//!   is held with `StopAllIterationAndBuffer`) and is decided again on each tick and when a
//!   fetch ends, until the keys arrive or its deadline passes ([`Waiters`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use gatepass_core::config::{FilterConfig, KeySource, RemoteJwks};
use gatepass_core::jwk::JwkSet;
use gatepass_core::jwks_refresh::{FetchError, FetchState, RefreshPolicy, MAX_JWKS_BYTES};

use crate::host::{self, ConfigScheduler, StreamScheduler};

/// How often the main thread looks for due fetches and waiting requests (the proxy-wasm
/// filter's tick).
pub const TICK: Duration = Duration::from_millis(250);

/// The config scheduler's event: a tick.
pub const EVENT_TICK: u64 = 1;
/// The stream scheduler's event: decide the waiting request again.
pub const EVENT_WAKE: u64 = 1;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One provider's remote key set, shared by every worker.
#[derive(Debug)]
pub struct RemoteProvider {
    /// Provider index in the filter config.
    pub index: usize,
    pub name: String,
    source: RemoteJwks,
    policy: RefreshPolicy,
    /// The last good set; workers load it without a lock.
    keys: ArcSwapOption<JwkSet>,
    /// When the set in `keys` was fetched (Unix seconds).
    fetched_at: AtomicU64,
    /// The fetch lock, the last attempt and the kid-miss state, as core's policy keeps them.
    state: Mutex<FetchState>,
    /// The fetch in flight.
    in_flight: Mutex<InFlight>,
}

/// A provider's fetch, as far as the callout goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Idle,
    /// Being started: Envoy may answer a callout before it returns its id (an immediate
    /// failure), and that answer is this fetch's.
    Starting,
    Sent(u64),
}

impl RemoteProvider {
    fn new(index: usize, name: String, source: RemoteJwks) -> Self {
        RemoteProvider {
            index,
            name,
            policy: RefreshPolicy::of(&source),
            source,
            keys: ArcSwapOption::empty(),
            fetched_at: AtomicU64::new(0),
            state: Mutex::new(FetchState::default()),
            in_flight: Mutex::new(InFlight::Idle),
        }
    }

    /// The current key set, lock-free and without touching the set's reference count (a
    /// guard that workers hold for one decision).
    pub fn keys(&self) -> arc_swap::Guard<Option<Arc<JwkSet>>> {
        self.keys.load()
    }

    fn held(&self) -> Option<u64> {
        self.keys
            .load()
            .is_some()
            .then(|| self.fetched_at.load(Ordering::Acquire))
    }

    /// Starts a fetch if core's policy says one is due (main thread).
    fn maybe_fetch(&self, envoy_config: crate::abi::ConfigEnvoyPtr, now: u64) {
        {
            let mut in_flight = lock(&self.in_flight);
            if *in_flight != InFlight::Idle {
                return;
            }
            let mut state = lock(&self.state);
            match self.policy.take_fetch(*state, self.held(), now) {
                Some(next) => *state = next,
                None => return,
            }
            *in_flight = InFlight::Starting;
        }
        // No lock is held across the call: Envoy may call the answer hook before it returns.
        let sent = host::config_callout(
            envoy_config,
            &host::Callout {
                cluster: &self.source.cluster,
                method: "GET",
                path: &self.source.path,
                authority: &self.source.authority,
                body: &[],
                timeout_ms: self.source.timeout_ms.max(1),
            },
        );
        let mut in_flight = lock(&self.in_flight);
        if *in_flight != InFlight::Starting {
            return; // answered already
        }
        match sent {
            Some(id) => *in_flight = InFlight::Sent(id),
            None => {
                *in_flight = InFlight::Idle;
                drop(in_flight);
                host::log(
                    crate::abi::LOG_WARN,
                    &format!(
                        "gatepass: JWKS fetch for provider {} could not start (cluster {})",
                        self.name, self.source.cluster
                    ),
                );
                self.release();
            }
        }
    }

    fn release(&self) {
        let mut state = lock(&self.state);
        *state = RefreshPolicy::release(*state);
    }

    /// Whether callout `id` is this provider's fetch in flight; if so, it is no longer in
    /// flight.
    fn take_in_flight(&self, id: u64) -> bool {
        let mut in_flight = lock(&self.in_flight);
        let mine = matches!(*in_flight, InFlight::Starting) || *in_flight == InFlight::Sent(id);
        if mine {
            *in_flight = InFlight::Idle;
        }
        mine
    }

    /// The end of this provider's fetch: a usable set is published, anything else keeps the
    /// last good one; the fetch lock is released either way.
    fn finish(&self, answer: &Answer<'_>, now: u64) -> Result<(), FetchError> {
        let result = answer.check().map(|set| {
            self.keys.store(Some(Arc::new(set)));
            self.fetched_at.store(now, Ordering::Release);
        });
        self.release();
        result
    }

    /// An unknown `kid` was seen: ask for a refetch, at most once per cooldown for the whole
    /// process. True when this call asked for it.
    pub fn kid_miss(&self, now: u64) -> bool {
        let mut state = lock(&self.state);
        match self.policy.kid_miss(*state, now) {
            Some(next) => {
                *state = next;
                true
            }
            None => false,
        }
    }

    /// Whether the first fetch is still to come or in flight.
    fn first_fetch_pending(&self, now: u64) -> bool {
        RefreshPolicy::first_fetch_pending(*lock(&self.state), self.held().is_some(), now)
    }
}

/// A fetch's answer as Envoy handed it over.
#[derive(Debug)]
pub enum Answer<'a> {
    /// No response: reset, timeout, or over Envoy's buffer limit.
    Failed,
    /// A response: its `:status` and body (or the body's size when it is over the limit).
    Response {
        status: &'a [u8],
        body: Result<Vec<u8>, usize>,
    },
}

impl Answer<'_> {
    /// Core's judgement of the answer: a usable set or why not.
    fn check(&self) -> Result<JwkSet, FetchError> {
        match self {
            Answer::Failed => Err(FetchError::Status(String::from("no response"))),
            Answer::Response { status, body } => {
                let size = match body {
                    Ok(b) => b.len(),
                    Err(size) => *size,
                };
                RefreshPolicy::check_head(status, size)?;
                match body {
                    Ok(b) => RefreshPolicy::accept(b),
                    Err(size) => Err(FetchError::TooLarge(*size)),
                }
            }
        }
    }
}

/// The largest body read from a fetch answer (core refuses more).
pub const BODY_LIMIT: usize = MAX_JWKS_BYTES;

/// A request waiting for a first key set.
#[derive(Debug)]
struct Waiter {
    stream: u64,
    scheduler: Arc<StreamScheduler>,
}

/// The requests waiting for a first key set, woken on each tick and when a fetch ends.
#[derive(Debug, Default)]
pub struct Waiters {
    list: Mutex<Vec<Waiter>>,
    next_id: AtomicU64,
}

impl Waiters {
    /// An id for a stream that may wait.
    pub fn stream_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds `stream` (once).
    pub fn add(&self, stream: u64, scheduler: Arc<StreamScheduler>) {
        let mut list = lock(&self.list);
        if !list.iter().any(|w| w.stream == stream) {
            list.push(Waiter { stream, scheduler });
        }
    }

    /// Removes `stream` (it was decided, or it ended).
    pub fn remove(&self, stream: u64) {
        lock(&self.list).retain(|w| w.stream != stream);
    }

    /// Asks every waiting request to be decided again (on its worker thread).
    fn wake_all(&self) {
        for w in lock(&self.list).iter() {
            w.scheduler.commit(EVENT_WAKE);
        }
    }
}

/// Stops the ticker thread and joins it when dropped.
#[derive(Debug)]
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The remote key sets of one filter configuration.
#[derive(Debug)]
pub struct Remotes {
    pub providers: Vec<RemoteProvider>,
    pub waiters: Waiters,
    // Dropped in this order: the ticker stops before its scheduler is deleted.
    _ticker: Option<Ticker>,
    scheduler: Option<Arc<ConfigScheduler>>,
}

impl Remotes {
    /// The remote providers of `config`; with any, a main-thread scheduler and a ticker thread
    /// that commits [`EVENT_TICK`] to it every [`TICK`] (the first at once, so the first fetch
    /// starts as soon as Envoy runs its main loop).
    pub fn new(
        envoy_config: crate::abi::ConfigEnvoyPtr,
        config: &FilterConfig,
    ) -> Result<Self, String> {
        let providers: Vec<RemoteProvider> = config
            .providers
            .iter()
            .enumerate()
            .filter_map(|(index, (name, p))| match &p.keys {
                KeySource::Remote(source) => {
                    Some(RemoteProvider::new(index, name.clone(), source.clone()))
                }
                KeySource::Local(_) => None,
            })
            .collect();
        if providers.is_empty() {
            return Ok(Remotes {
                providers,
                waiters: Waiters::default(),
                _ticker: None,
                scheduler: None,
            });
        }
        let scheduler = Arc::new(
            ConfigScheduler::new(envoy_config)
                .ok_or("remote_jwks: Envoy gave no main-thread scheduler")?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (scheduler, stop) = (Arc::clone(&scheduler), Arc::clone(&stop));
            std::thread::Builder::new()
                .name(String::from("gatepass-jwks"))
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        scheduler.commit(EVENT_TICK);
                        std::thread::park_timeout(TICK);
                    }
                })
                .map_err(|e| format!("remote_jwks: cannot start the refresh thread: {e}"))?
        };
        Ok(Remotes {
            providers,
            waiters: Waiters::default(),
            _ticker: Some(Ticker {
                stop,
                thread: Some(thread),
            }),
            scheduler: Some(scheduler),
        })
    }

    /// The provider at `index`, if remote.
    pub fn provider(&self, index: usize) -> Option<&RemoteProvider> {
        self.providers.iter().find(|r| r.index == index)
    }

    /// Whether a request without keys may still wait for a first set.
    pub fn first_fetch_pending(&self, now: u64) -> bool {
        self.providers.iter().any(|r| r.first_fetch_pending(now))
    }

    /// How long a request may wait for a first set (core's policy; the longest of the
    /// providers').
    pub fn first_fetch_wait(&self) -> u64 {
        self.providers
            .iter()
            .map(|r| r.policy.first_fetch_wait_seconds())
            .max()
            .unwrap_or(0)
    }

    /// Asks for a tick now (from any thread): an unknown `kid` asked for a refetch.
    pub fn nudge(&self) {
        if let Some(scheduler) = &self.scheduler {
            scheduler.commit(EVENT_TICK);
        }
    }

    /// The main thread's tick: due fetches start, waiting requests are decided again.
    pub fn on_tick(&self, envoy_config: crate::abi::ConfigEnvoyPtr, now: u64) {
        for r in &self.providers {
            r.maybe_fetch(envoy_config, now);
        }
        self.waiters.wake_all();
    }

    /// A fetch ended (main thread). Returns the provider's name and core's judgement, or
    /// `None` for a callout that is not a fetch in flight.
    pub fn on_answer(
        &self,
        id: u64,
        answer: &Answer<'_>,
        now: u64,
    ) -> Option<(&str, Result<(), FetchError>)> {
        let provider = self.providers.iter().find(|r| r.take_in_flight(id))?;
        let result = provider.finish(answer, now);
        self.waiters.wake_all();
        Some((provider.name.as_str(), result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> RemoteProvider {
        let source = RemoteJwks {
            uri: String::from("https://issuer.example/jwks.json"),
            authority: String::from("issuer.example"),
            path: String::from("/jwks.json"),
            cluster: String::from("issuer"),
            timeout_ms: 1000,
            cache_duration: 600,
            kid_miss_cooldown: 30,
        };
        RemoteProvider::new(0, String::from("main"), source)
    }

    const SET: &[u8] = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    #[test]
    fn a_good_answer_is_published_to_every_reader_and_a_bad_one_keeps_the_last_good_set() {
        let p = provider();
        *lock(&p.in_flight) = InFlight::Sent(7);
        assert!(
            p.first_fetch_pending(100),
            "never attempted: worth waiting for"
        );
        // Another callout's answer is not this provider's.
        assert!(!p.take_in_flight(8));
        assert!(p.take_in_flight(7));
        let good = Answer::Response {
            status: b"200",
            body: Ok(SET.to_vec()),
        };
        assert!(p.finish(&good, 100).is_ok());
        let before = Option::clone(&p.keys()).expect("published");
        assert_eq!(p.held(), Some(100));
        assert!(!p.first_fetch_pending(100));
        for bad in [
            Answer::Failed,
            Answer::Response {
                status: b"500",
                body: Ok(SET.to_vec()),
            },
            Answer::Response {
                status: b"200",
                body: Err(MAX_JWKS_BYTES + 1),
            },
            Answer::Response {
                status: b"200",
                body: Ok(b"{\"keys\":\"nope\"}".to_vec()),
            },
        ] {
            assert!(p.finish(&bad, 200).is_err(), "{bad:?}");
            let after = Option::clone(&p.keys()).expect("still there");
            assert!(Arc::ptr_eq(&before, &after), "{bad:?} replaced the set");
            assert_eq!(p.held(), Some(100));
        }
    }

    #[test]
    fn an_answer_during_the_start_of_its_callout_is_that_fetch_s() {
        let p = provider();
        *lock(&p.in_flight) = InFlight::Starting;
        // Envoy may answer before it returns the callout's id.
        assert!(p.take_in_flight(42));
        assert_eq!(*lock(&p.in_flight), InFlight::Idle);
    }

    #[test]
    fn unknown_kids_ask_for_one_refetch_per_cooldown() {
        let p = provider();
        assert!(p.kid_miss(1000));
        assert!(!p.kid_miss(1001));
        assert!(!p.kid_miss(1029));
        assert!(p.kid_miss(1030));
    }
}
