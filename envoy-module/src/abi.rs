//! The part of Envoy's dynamic-module C ABI (Envoy 1.40, ABI `v0.2.0`) this module uses,
//! declared here (no SDK, no bindgen). Every callback named here must be exported by the pinned
//! Envoy binary: `scripts/check-native-symbols.sh` compares the `.so`'s undefined `envoy_*`
//! symbols with `nm -D` of that binary in CI.
//!
//! Enums cross the boundary as their C representation (`u32`); the values are the positions in
//! the header's enum declarations.

use std::ffi::c_void;

/// Envoy's `DynamicModuleHttpFilterConfig`.
pub type ConfigEnvoyPtr = *mut c_void;
/// Envoy's `DynamicModuleHttpFilter` (one per stream).
pub type FilterEnvoyPtr = *mut c_void;
/// A scheduler on the main thread (config level).
pub type ConfigSchedulerPtr = *mut c_void;
/// A scheduler on one stream's worker thread.
pub type StreamSchedulerPtr = *mut c_void;

/// Bytes owned by Envoy, valid for the duration of the hook or callback that hands them over.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EnvoyBuffer {
    pub ptr: *const u8,
    pub length: usize,
}

/// Bytes owned by this module, valid for the duration of the callback they are passed to.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleBuffer {
    pub ptr: *const u8,
    pub length: usize,
}

impl ModuleBuffer {
    pub fn of(bytes: &[u8]) -> Self {
        ModuleBuffer {
            ptr: bytes.as_ptr(),
            length: bytes.len(),
        }
    }
}

/// A header owned by Envoy.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EnvoyHeader {
    pub key_ptr: *const u8,
    pub key_length: usize,
    pub value_ptr: *const u8,
    pub value_length: usize,
}

/// A header owned by this module.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleHeader {
    pub key_ptr: *const u8,
    pub key_length: usize,
    pub value_ptr: *const u8,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_http_header_type`.
pub const REQUEST_HEADER: u32 = 0;
/// `envoy_dynamic_module_type_http_body_type`: the request body buffered so far.
pub const BUFFERED_REQUEST_BODY: u32 = 1;
/// The chunk of request body this hook received.
pub const RECEIVED_REQUEST_BODY: u32 = 0;

/// `envoy_dynamic_module_type_log_level`.
pub const LOG_INFO: u32 = 2;
pub const LOG_WARN: u32 = 3;
pub const LOG_ERROR: u32 = 4;

/// `envoy_dynamic_module_type_on_http_filter_request_headers_status`.
pub const HEADERS_CONTINUE: u32 = 0;
pub const HEADERS_STOP_ITERATION: u32 = 1;
/// Holds the request, body and trailers included (Envoy buffers them), until
/// `continue_decoding`: a request waiting for a first key set.
pub const HEADERS_STOP_ALL_AND_BUFFER: u32 = 3;
/// `..._request_body_status`.
pub const BODY_CONTINUE: u32 = 0;
pub const BODY_STOP_AND_BUFFER: u32 = 1;
/// `..._request_trailers_status`.
pub const TRAILERS_CONTINUE: u32 = 0;
pub const TRAILERS_STOP: u32 = 1;
/// `envoy_dynamic_module_type_on_http_filter_local_reply_status`: send the local reply.
pub const LOCAL_REPLY_CONTINUE: u32 = 0;
/// `envoy_dynamic_module_type_metrics_result`: success.
pub const METRICS_SUCCESS: u32 = 0;
/// `envoy_dynamic_module_type_http_callout_init_result`: the callout started.
pub const CALLOUT_INIT_SUCCESS: u32 = 0;
/// `envoy_dynamic_module_type_http_callout_result`: a response arrived (any status).
pub const CALLOUT_SUCCESS: u32 = 0;

extern "C" {
    pub fn envoy_dynamic_module_callback_log(level: u32, message: ModuleBuffer);
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter: FilterEnvoyPtr,
        header_type: u32,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter: FilterEnvoyPtr,
        header_type: u32,
        result_headers: *mut EnvoyHeader,
    ) -> bool;
    /// Sets a header; a null value pointer removes it.
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter: FilterEnvoyPtr,
        header_type: u32,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_send_response(
        filter: FilterEnvoyPtr,
        status_code: u32,
        headers: *mut ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );
    pub fn envoy_dynamic_module_callback_http_get_body_size(
        filter: FilterEnvoyPtr,
        body_type: u32,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter: FilterEnvoyPtr,
        body_type: u32,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter: FilterEnvoyPtr,
        body_type: u32,
        result: *mut EnvoyBuffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        config: ConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        counter_id: *mut usize,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter: FilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_config_increment_counter(
        config: ConfigEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    /// An HTTP request to `cluster_name` for this stream; answered by
    /// `envoy_dynamic_module_on_http_filter_http_callout_done` on the stream's worker.
    pub fn envoy_dynamic_module_callback_http_filter_http_callout(
        filter: FilterEnvoyPtr,
        callout_id_out: *mut u64,
        cluster_name: ModuleBuffer,
        headers: *mut ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        timeout_milliseconds: u64,
    ) -> u32;
    /// An HTTP request to `cluster_name`, outside any stream; answered by
    /// `envoy_dynamic_module_on_http_filter_config_http_callout_done` on the main thread.
    pub fn envoy_dynamic_module_callback_http_filter_config_http_callout(
        config: ConfigEnvoyPtr,
        callout_id_out: *mut u64,
        cluster_name: ModuleBuffer,
        headers: *mut ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        timeout_milliseconds: u64,
    ) -> u32;
    /// A scheduler whose events run `envoy_dynamic_module_on_http_filter_config_scheduled` on
    /// the main thread; committing is allowed from any thread.
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_new(
        config: ConfigEnvoyPtr,
    ) -> ConfigSchedulerPtr;
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_commit(
        scheduler: ConfigSchedulerPtr,
        event_id: u64,
    );
    pub fn envoy_dynamic_module_callback_http_filter_config_scheduler_delete(
        scheduler: ConfigSchedulerPtr,
    );
    /// A scheduler whose events run `envoy_dynamic_module_on_http_filter_scheduled` on the
    /// stream's worker thread; committing is allowed from any thread.
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_new(
        filter: FilterEnvoyPtr,
    ) -> StreamSchedulerPtr;
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_commit(
        scheduler: StreamSchedulerPtr,
        event_id: u64,
    );
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_delete(
        scheduler: StreamSchedulerPtr,
    );
    /// Resumes a request whose headers hook returned `HEADERS_STOP_ITERATION`.
    pub fn envoy_dynamic_module_callback_http_filter_continue_decoding(filter: FilterEnvoyPtr);
}
