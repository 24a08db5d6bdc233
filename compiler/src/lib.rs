//! The .flow language compiler.
