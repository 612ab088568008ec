//! Thin wrappers over the proxy-wasm host calls: errors become `None` or are logged, never
//! panics in this crate.

use std::time::UNIX_EPOCH;

use gatepass_core::response::HttpResponse;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType};

pub fn log_error(message: &str) {
    let _ = hostcalls::log(LogLevel::Error, message);
}

pub fn log_warn(message: &str) {
    let _ = hostcalls::log(LogLevel::Warn, message);
}

pub fn plugin_configuration() -> Option<String> {
    let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        .ok()
        .flatten()?;
    String::from_utf8(bytes).ok()
}

pub fn request_header(name: &str) -> Option<String> {
    hostcalls::get_map_value(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

/// All request headers (names are lower case in Envoy).
pub fn request_headers() -> Vec<(String, String)> {
    hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default()
}

pub fn set_request_header(name: &str, value: &str) {
    if hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value)).is_err() {
        log_warn(&format!("could not set request header {name}"));
    }
}

pub fn remove_request_header(name: &str) {
    let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
}

pub fn request_body(size: usize) -> Vec<u8> {
    hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The host's clock in Unix seconds. If the clock cannot be read, the far future: every token
/// is then expired, so a broken clock fails closed instead of accepting expired tokens.
pub fn now() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(u64::MAX, |d| d.as_secs())
}

pub fn send_response(response: &HttpResponse) {
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = (!response.body.is_empty()).then_some(response.body.as_slice());
    if hostcalls::send_http_response(u32::from(response.status), headers, body).is_err() {
        log_error("could not send the local response");
    }
}
