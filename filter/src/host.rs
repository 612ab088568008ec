//! The proxy-wasm host calls this filter makes, declared here and wrapped so that no input can
//! reach a panic (DESIGN.md principle 6).
//!
//! The SDK's own wrappers (`proxy_wasm::hostcalls`) are not used for anything that touches a
//! host value: its string getters `unwrap()` UTF-8 (one Latin-1 header byte traps the VM), its
//! map deserializer indexes slices without bounds checks, and every wrapper `panic!`s on a
//! status it does not expect. Here every call returns the raw status as a `u32` (never
//! transmuted into an enum), every value comes back as bytes, and the serialized header map is
//! parsed with checked arithmetic ([`crate::adapter::parse_header_map`]).
//!
//! The one SDK call left is `dispatch_http_call` (in `jwks.rs`): the SDK's dispatcher must
//! register the callout token, or its `proxy_on_http_call_response` would panic on an unknown
//! token. That wrapper panics only on a status other than Ok, BadArgument and
//! InternalFailure, which are the only ones Envoy's `httpCall` returns; its inputs are the
//! configuration's cluster and URL, checked at load time, never request bytes.

// The only module of the workspace with unsafe code: raw host calls, each with its SAFETY note.
#![allow(unsafe_code)]

use std::ptr::{null, null_mut};
use std::time::Duration;

use gatepass_core::response::HttpResponse;

use crate::adapter;

/// proxy-wasm ABI 0.2.1 values (the `proxy_wasm::types` enums, as plain numbers).
const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const CAS_MISMATCH: u32 = 8;

const LOG_WARN: u32 = 3;
const LOG_ERROR: u32 = 4;

pub const MAP_REQUEST_HEADERS: u32 = 0;
pub const MAP_HTTP_CALL_RESPONSE_HEADERS: u32 = 6;

pub const BUFFER_REQUEST_BODY: u32 = 0;
pub const BUFFER_HTTP_CALL_RESPONSE_BODY: u32 = 4;
const BUFFER_PLUGIN_CONFIGURATION: u32 = 7;

const STREAM_HTTP_REQUEST: u32 = 0;
const METRIC_COUNTER: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
}

/// Takes ownership of a buffer the host allocated through the SDK's
/// `proxy_on_memory_allocate` (a boxed slice of exactly `size` bytes).
///
/// # Safety
/// `data` is null or was returned by the host with `size` for this call.
unsafe fn take(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        Vec::from_raw_parts(data, size, size)
    }
}

fn log(level: u32, message: &str) {
    // SAFETY: a valid slice for the duration of the call.
    unsafe {
        proxy_log(level, message.as_ptr(), message.len());
    }
}

pub fn log_error(message: &str) {
    log(LOG_ERROR, message);
}

pub fn log_warn(message: &str) {
    log(LOG_WARN, message);
}

/// The host's clock in Unix seconds. If the clock cannot be read, the far future: every token
/// is then expired, so a broken clock fails closed instead of accepting expired tokens.
pub fn now() -> u64 {
    let mut nanos = 0u64;
    // SAFETY: a valid out-pointer.
    let status = unsafe { proxy_get_current_time_nanoseconds(&mut nanos) };
    if status == OK {
        nanos / 1_000_000_000
    } else {
        u64::MAX
    }
}

pub fn set_tick_period(period: Duration) -> bool {
    let ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: no pointers.
    unsafe { proxy_set_tick_period_milliseconds(ms) == OK }
}

/// Up to `max` bytes of a buffer (`None` when the host has none or refuses).
pub fn buffer(buffer_type: u32, max: usize) -> Option<Vec<u8>> {
    let mut data = null_mut();
    let mut size = 0usize;
    // SAFETY: valid out-pointers; the returned buffer is taken over exactly once.
    unsafe {
        if proxy_get_buffer_bytes(buffer_type, 0, max, &mut data, &mut size) != OK {
            return None;
        }
        Some(take(data, size))
    }
}

/// The plugin configuration as bytes (core parses it and decides whether it is text).
pub fn plugin_configuration() -> Option<Vec<u8>> {
    buffer(BUFFER_PLUGIN_CONFIGURATION, usize::MAX)
}

/// A whole header map, serialized as the host gives it; parse with
/// [`adapter::parse_header_map`]. Empty when the host has none.
pub fn header_map(map_type: u32) -> Vec<u8> {
    let mut data = null_mut();
    let mut size = 0usize;
    // SAFETY: valid out-pointers; the returned buffer is taken over exactly once.
    unsafe {
        if proxy_get_header_map_pairs(map_type, &mut data, &mut size) != OK {
            return Vec::new();
        }
        take(data, size)
    }
}

/// One header's value as bytes.
pub fn header_value(map_type: u32, name: &str) -> Option<Vec<u8>> {
    let mut data = null_mut();
    let mut size = 0usize;
    // SAFETY: valid slice and out-pointers; the returned buffer is taken over exactly once.
    unsafe {
        if proxy_get_header_map_value(map_type, name.as_ptr(), name.len(), &mut data, &mut size)
            != OK
        {
            return None;
        }
        Some(take(data, size))
    }
}

pub fn set_request_header(name: &str, value: &str) {
    // SAFETY: valid slices for the duration of the call.
    let status = unsafe {
        proxy_replace_header_map_value(
            MAP_REQUEST_HEADERS,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    if status != OK {
        log_warn(&format!("could not set request header {name}"));
    }
}

pub fn remove_request_header(name: &str) {
    // SAFETY: a valid slice for the duration of the call.
    unsafe {
        proxy_remove_header_map_value(MAP_REQUEST_HEADERS, name.as_ptr(), name.len());
    }
}

/// A shared-data entry and its CAS (`Ok((None, None))` when the key does not exist).
pub fn get_shared_data(key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), u32> {
    let mut data = null_mut();
    let mut size = 0usize;
    let mut cas = 0u32;
    // SAFETY: valid slice and out-pointers; the returned buffer is taken over exactly once.
    let status =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match status {
        OK => {
            // SAFETY: the host returned this buffer for this call.
            let value = (!data.is_null()).then(|| unsafe { take(data, size) });
            Ok((value, (cas != 0).then_some(cas)))
        }
        NOT_FOUND => Ok((None, None)),
        other => Err(other),
    }
}

/// Why a shared-data write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError {
    /// The entry changed since its CAS was read.
    CasMismatch,
    /// Any other status.
    Status(u32),
}

pub fn set_shared_data(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
    // SAFETY: valid slices for the duration of the call.
    let status = unsafe {
        proxy_set_shared_data(
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            cas.unwrap_or(0),
        )
    };
    match status {
        OK => Ok(()),
        CAS_MISMATCH => Err(SetError::CasMismatch),
        other => Err(SetError::Status(other)),
    }
}

pub fn send_response(response: &HttpResponse) {
    let headers: Vec<(&[u8], &[u8])> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    let headers = adapter::serialize_header_map(&headers);
    let body = response.body.as_slice();
    // SAFETY: valid slices for the duration of the call.
    let status = unsafe {
        proxy_send_local_response(
            u32::from(response.status),
            null(),
            0,
            if body.is_empty() {
                null()
            } else {
                body.as_ptr()
            },
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    };
    if status != OK {
        log_error("could not send the local response");
    }
}

pub fn set_effective_context(context_id: u32) -> bool {
    // SAFETY: no pointers.
    unsafe { proxy_set_effective_context(context_id) == OK }
}

pub fn resume_http_request() {
    // SAFETY: no pointers.
    unsafe {
        proxy_continue_stream(STREAM_HTTP_REQUEST);
    }
}

pub fn define_counter(name: &str) -> Option<u32> {
    let mut id = 0u32;
    // SAFETY: a valid slice and out-pointer.
    let status = unsafe { proxy_define_metric(METRIC_COUNTER, name.as_ptr(), name.len(), &mut id) };
    (status == OK).then_some(id)
}

pub fn increment_counter(id: u32) {
    // SAFETY: no pointers.
    unsafe {
        proxy_increment_metric(id, 1);
    }
}
