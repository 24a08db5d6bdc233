//! The classic consumer-group coordinator (filled in by the group APIs).

/// Every group's membership and generation.
#[derive(Default)]
pub(crate) struct Coordinator {}
