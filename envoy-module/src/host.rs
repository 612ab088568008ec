//! Safe wrappers over the ABI calls ([`crate::abi`]): every value from Envoy is read as bytes
//! (never assumed UTF-8), every length is checked, and nothing here can panic.

#![allow(unsafe_code)]

use std::ffi::c_void;

use gatepass_core::response::HttpResponse;

use crate::abi::{self, EnvoyBuffer, EnvoyHeader, ModuleBuffer, ModuleHeader};

/// Logs `message` at `level` (`abi::LOG_*`) through Envoy's logger.
pub fn log(level: u32, message: &str) {
    // SAFETY: the buffer points at `message`, alive for the call.
    unsafe { abi::envoy_dynamic_module_callback_log(level, ModuleBuffer::of(message.as_bytes())) }
}

/// Bytes Envoy handed over, as a slice valid for the current hook.
///
/// # Safety
/// `ptr` must point at `len` readable bytes for the lifetime `'a` (or `len` must be 0).
unsafe fn envoy_bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// One HTTP stream's filter in Envoy.
#[derive(Debug, Clone, Copy)]
pub struct Stream(pub abi::FilterEnvoyPtr);

impl Stream {
    /// The request headers as Envoy holds them (pseudo-headers included), valid until this
    /// hook returns or a header is changed.
    pub fn request_headers(&self) -> Vec<(&[u8], &[u8])> {
        // SAFETY: the filter pointer is Envoy's for this hook; sizes come from Envoy.
        let n = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers_size(self.0, abi::REQUEST_HEADER)
        };
        let mut raw = vec![
            EnvoyHeader {
                key_ptr: std::ptr::null(),
                key_length: 0,
                value_ptr: std::ptr::null(),
                value_length: 0,
            };
            n
        ];
        // SAFETY: `raw` has room for the `n` headers Envoy said it has.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers(
                self.0,
                abi::REQUEST_HEADER,
                raw.as_mut_ptr(),
            )
        };
        if !ok {
            return Vec::new();
        }
        raw.iter()
            .map(|h| {
                // SAFETY: Envoy's header map owns these bytes for the hook's duration.
                unsafe {
                    (
                        envoy_bytes(h.key_ptr, h.key_length),
                        envoy_bytes(h.value_ptr, h.value_length),
                    )
                }
            })
            .collect()
    }

    /// Sets request header `name` to `value` (replacing every value).
    pub fn set_request_header(&self, name: &str, value: &str) {
        // SAFETY: both buffers are alive for the call.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.0,
                abi::REQUEST_HEADER,
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            );
        }
    }

    /// Removes request header `name` (every value).
    pub fn remove_request_header(&self, name: &str) {
        // SAFETY: a null value pointer asks Envoy to remove the header.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.0,
                abi::REQUEST_HEADER,
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer {
                    ptr: std::ptr::null(),
                    length: 0,
                },
            );
        }
    }

    /// Answers the request locally with `response`.
    pub fn send_response(&self, response: &HttpResponse) {
        let mut headers: Vec<ModuleHeader> = response
            .headers
            .iter()
            .map(|(n, v)| ModuleHeader {
                key_ptr: n.as_ptr(),
                key_length: n.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect();
        // SAFETY: the header and body buffers are alive for the call.
        unsafe {
            abi::envoy_dynamic_module_callback_http_send_response(
                self.0,
                u32::from(response.status),
                headers.as_mut_ptr(),
                headers.len(),
                ModuleBuffer::of(&response.body),
                ModuleBuffer::of(b"gatepass"),
            );
        }
    }

    /// The request body Envoy buffered so far followed by the chunk this hook received
    /// (`with_received`), or `None` when it is longer than `limit` bytes (nothing is copied
    /// then).
    pub fn request_body(&self, with_received: bool, limit: usize) -> Option<Vec<u8>> {
        let kinds: &[u32] = if with_received {
            &[abi::BUFFERED_REQUEST_BODY, abi::RECEIVED_REQUEST_BODY]
        } else {
            &[abi::BUFFERED_REQUEST_BODY]
        };
        let mut total = 0usize;
        for kind in kinds {
            // SAFETY: a size query on Envoy's own buffer.
            let size =
                unsafe { abi::envoy_dynamic_module_callback_http_get_body_size(self.0, *kind) };
            total = total.checked_add(size)?;
        }
        if total > limit {
            return None;
        }
        let mut body = Vec::with_capacity(total);
        for kind in kinds {
            // SAFETY: `chunks` has room for the number of chunks Envoy said it has.
            unsafe {
                let n = abi::envoy_dynamic_module_callback_http_get_body_chunks_size(self.0, *kind);
                let mut chunks = vec![
                    EnvoyBuffer {
                        ptr: std::ptr::null(),
                        length: 0,
                    };
                    n
                ];
                if n > 0
                    && abi::envoy_dynamic_module_callback_http_get_body_chunks(
                        self.0,
                        *kind,
                        chunks.as_mut_ptr(),
                    )
                {
                    for c in &chunks {
                        body.extend_from_slice(envoy_bytes(c.ptr, c.length));
                    }
                }
            }
        }
        // A body that grew between the size query and the copy is over the limit too.
        (body.len() <= limit).then_some(body)
    }

    /// Resumes a request held by `HEADERS_STOP_ALL_AND_BUFFER`.
    pub fn continue_decoding(&self) {
        // SAFETY: the filter pointer is Envoy's for this hook.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_continue_decoding(self.0) }
    }

    /// Adds one to counter `id`.
    pub fn increment(&self, id: usize) {
        // SAFETY: no label buffers are passed.
        unsafe {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter(
                self.0,
                id,
                std::ptr::null_mut(),
                0,
                1,
            );
        }
    }
}

/// Defines counter `name` on filter config `config`; `None` when Envoy refuses.
pub fn define_counter(config: *mut c_void, name: &str) -> Option<usize> {
    let mut id = 0usize;
    // SAFETY: the name buffer and the id out-parameter are alive for the call.
    let result = unsafe {
        abi::envoy_dynamic_module_callback_http_filter_config_define_counter(
            config,
            ModuleBuffer::of(name.as_bytes()),
            std::ptr::null_mut(),
            0,
            &mut id,
        )
    };
    (result == abi::METRICS_SUCCESS).then_some(id)
}

/// The bytes of a buffer Envoy handed to a hook.
///
/// # Safety
/// `buffer` must describe bytes valid for the lifetime `'a`.
pub unsafe fn buffer_bytes<'a>(buffer: EnvoyBuffer) -> &'a [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { envoy_bytes(buffer.ptr, buffer.length) }
}

/// Adds one to counter `id` of filter config `config` (outside any stream).
pub fn config_increment(config: abi::ConfigEnvoyPtr, id: usize) {
    // SAFETY: no label buffers are passed; `config` is Envoy's for the current hook.
    unsafe {
        abi::envoy_dynamic_module_callback_http_filter_config_increment_counter(
            config,
            id,
            std::ptr::null_mut(),
            0,
            1,
        );
    }
}

/// One HTTP request a callout sends.
#[derive(Debug, Clone, Copy)]
pub struct Callout<'a> {
    /// The Envoy cluster.
    pub cluster: &'a str,
    /// `:method`.
    pub method: &'a str,
    /// `:path`.
    pub path: &'a str,
    /// `:authority`.
    pub authority: &'a str,
    /// The body (`content-type: application/json` when not empty).
    pub body: &'a [u8],
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
}

impl Callout<'_> {
    /// Its headers, pointing into `self`'s strings.
    fn headers(&self) -> Vec<ModuleHeader> {
        let mut pairs: Vec<(&str, &str)> = vec![
            (":method", self.method),
            (":path", self.path),
            (":authority", self.authority),
            ("accept", "application/json"),
        ];
        if !self.body.is_empty() {
            pairs.push(("content-type", "application/json"));
        }
        pairs
            .iter()
            .map(|(k, v)| ModuleHeader {
                key_ptr: k.as_ptr(),
                key_length: k.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect()
    }
}

impl Callout<'_> {
    /// Starts this callout with `start` (one of the ABI's callout functions, bound to its
    /// owner); the id Envoy gave it, or `None` when Envoy refused to start it.
    fn start(
        &self,
        start: impl FnOnce(*mut u64, ModuleBuffer, *mut ModuleHeader, usize, ModuleBuffer, u64) -> u32,
    ) -> Option<u64> {
        let mut headers = self.headers();
        let mut id = 0u64;
        let result = start(
            &mut id,
            ModuleBuffer::of(self.cluster.as_bytes()),
            headers.as_mut_ptr(),
            headers.len(),
            ModuleBuffer::of(self.body),
            self.timeout_ms,
        );
        (result == abi::CALLOUT_INIT_SUCCESS).then_some(id)
    }
}

/// Starts `callout` outside any stream (on the main thread); the answer comes to
/// `on_http_filter_config_http_callout_done` with the returned id. `None`: Envoy refused to
/// start it (no such cluster, for one).
pub fn config_callout(config: abi::ConfigEnvoyPtr, callout: &Callout<'_>) -> Option<u64> {
    callout.start(|id, cluster, headers, n, body, timeout| {
        // SAFETY: every buffer and the header array are alive for the call (`start` holds
        // them); Envoy copies them. `config` is Envoy's for the current hook.
        unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_http_callout(
                config, id, cluster, headers, n, body, timeout,
            )
        }
    })
}

impl Stream {
    /// Starts `callout` for this stream; the answer comes to `on_http_filter_http_callout_done`
    /// on this stream's worker with the returned id. `None`: Envoy refused to start it (no such
    /// cluster, or no healthy host to send it to).
    pub fn callout(&self, callout: &Callout<'_>) -> Option<u64> {
        callout.start(|id, cluster, headers, n, body, timeout| {
            // SAFETY: as in `config_callout`; the filter pointer is Envoy's for the current hook.
            unsafe {
                abi::envoy_dynamic_module_callback_http_filter_http_callout(
                    self.0, id, cluster, headers, n, body, timeout,
                )
            }
        })
    }
}

/// The headers of a callout's answer, as bytes.
///
/// # Safety
/// `headers` must point at `n` headers valid for the lifetime `'a` (or be null).
pub unsafe fn envoy_headers<'a>(
    headers: *const EnvoyHeader,
    n: usize,
) -> Vec<(&'a [u8], &'a [u8])> {
    if headers.is_null() || n == 0 {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    let headers = unsafe { std::slice::from_raw_parts(headers, n) };
    headers
        .iter()
        // SAFETY: each header's buffers are Envoy's, valid as long as the array.
        .map(|h| unsafe {
            (
                envoy_bytes(h.key_ptr, h.key_length),
                envoy_bytes(h.value_ptr, h.value_length),
            )
        })
        .collect()
}

/// The body chunks of a callout's answer joined, or `Err(size)` when they hold more than
/// `limit` bytes (nothing is copied then).
///
/// # Safety
/// `chunks` must point at `n` buffers valid for the call (or be null).
pub unsafe fn envoy_body(
    chunks: *const EnvoyBuffer,
    n: usize,
    limit: usize,
) -> Result<Vec<u8>, usize> {
    if chunks.is_null() || n == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: guaranteed by the caller.
    let chunks = unsafe { std::slice::from_raw_parts(chunks, n) };
    let size = chunks
        .iter()
        .fold(0usize, |sum, c| sum.saturating_add(c.length));
    if size > limit {
        return Err(size);
    }
    let mut body = Vec::with_capacity(size);
    for c in chunks {
        // SAFETY: each chunk is Envoy's, valid for the call.
        body.extend_from_slice(unsafe { envoy_bytes(c.ptr, c.length) });
    }
    Ok(body)
}

/// A scheduler for events on the main thread (`on_http_filter_config_scheduled`), deleted when
/// dropped.
#[derive(Debug)]
pub struct ConfigScheduler(abi::ConfigSchedulerPtr);

// SAFETY: Envoy's config scheduler may be committed to from any thread (the ABI's contract);
// it is deleted once, by Drop.
unsafe impl Send for ConfigScheduler {}
// SAFETY: as above; `commit` takes `&self` and Envoy synchronises it.
unsafe impl Sync for ConfigScheduler {}

impl ConfigScheduler {
    /// A scheduler for filter config `config` (`None` if Envoy gives none).
    pub fn new(config: abi::ConfigEnvoyPtr) -> Option<Self> {
        // SAFETY: `config` is Envoy's for the current hook.
        let ptr =
            unsafe { abi::envoy_dynamic_module_callback_http_filter_config_scheduler_new(config) };
        (!ptr.is_null()).then_some(ConfigScheduler(ptr))
    }

    /// Runs `on_http_filter_config_scheduled(event)` on the main thread, soon.
    pub fn commit(&self, event: u64) {
        // SAFETY: the scheduler is alive until Drop.
        unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_scheduler_commit(self.0, event)
        }
    }
}

impl Drop for ConfigScheduler {
    fn drop(&mut self) {
        // SAFETY: made by scheduler_new, deleted once.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_config_scheduler_delete(self.0) }
    }
}

/// A scheduler for events on one stream's worker thread (`on_http_filter_scheduled`), deleted
/// when dropped. An event committed after the stream ended is dropped by Envoy.
#[derive(Debug)]
pub struct StreamScheduler(abi::StreamSchedulerPtr);

// SAFETY: Envoy's stream scheduler may be committed to from any thread (the ABI's contract);
// it is deleted once, by Drop.
unsafe impl Send for StreamScheduler {}
// SAFETY: as above.
unsafe impl Sync for StreamScheduler {}

impl StreamScheduler {
    /// A scheduler for `stream` (`None` if Envoy gives none).
    pub fn new(stream: Stream) -> Option<Self> {
        // SAFETY: the filter pointer is Envoy's for the current hook.
        let ptr = unsafe { abi::envoy_dynamic_module_callback_http_filter_scheduler_new(stream.0) };
        (!ptr.is_null()).then_some(StreamScheduler(ptr))
    }

    /// Runs `on_http_filter_scheduled(event)` on the stream's worker thread, soon.
    pub fn commit(&self, event: u64) {
        // SAFETY: the scheduler is alive until Drop.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_scheduler_commit(self.0, event) }
    }
}

impl Drop for StreamScheduler {
    fn drop(&mut self) {
        // SAFETY: made by scheduler_new, deleted once.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_scheduler_delete(self.0) }
    }
}
