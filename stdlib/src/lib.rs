//! flowc's standard library: the connector catalogue (signatures) and, later, their implementations.
