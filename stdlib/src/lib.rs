//! flowc's standard library: the connector catalogue (signatures) and the connectors `flowc run` runs ([`connectors`]).
//!
//! [`registry`] is the one source of truth for every connector's parameters, types, defaults, docs and
//! delivery guarantee: `flowc check`, the language server and the generated reference
//! (`docs/connectors.md`, see [`reference::reference_markdown`]) all read it.

pub mod catalogue;
pub mod connectors;
pub mod reference;

use flowc_compiler::builtins::Registry;

/// The builtins registry: every connector, topic option, parse format and function flowc knows.
pub fn registry() -> &'static Registry {
    &catalogue::REGISTRY
}
