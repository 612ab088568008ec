//! Envoy stats through proxy-wasm metrics (exposed by Envoy as `wasmcustom.gatepass.*`): core's
//! counters ([`Stat`]), one metric each.

use gatepass_core::stats::Stat;

use crate::host;

/// The metric id of each counter (`None`: the host refused to define it; counted nowhere).
pub struct Stats([Option<u32>; Stat::ALL.len()]);

impl Stats {
    pub fn define() -> Self {
        Stats(Stat::ALL.map(|s| host::define_counter(s.name())))
    }

    pub fn increment(&self, stat: Stat) {
        if let Some(Some(id)) = self.0.get(stat.index()) {
            host::increment_counter(*id);
        }
    }
}
