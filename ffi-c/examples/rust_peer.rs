//! Placeholder: the Rust peer of the C examples comes in a later step.
fn main() {}
