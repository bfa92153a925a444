//! Core errors as the exceptions of `seqlink.errors`: one class per stable code.

use pyo3::prelude::*;
use seqlink_core::{AdmissionError, ConfigError, Error, FailReason, SendError};

/// A core error kind that becomes a Python exception: its stable code and its text.
pub trait Coded {
    /// The stable code (docs/PROTOCOL.md section 9).
    fn code(&self) -> u8;
    /// The message: the core's description with the numbers that failed.
    fn message(&self) -> String;
    /// The peer's code byte and the sequence number, for failures.
    fn details(&self) -> (Option<u8>, Option<u32>) {
        (None, None)
    }
}

macro_rules! coded_by_display {
    ($($kind:ty),*) => {$(
        impl Coded for $kind {
            fn code(&self) -> u8 {
                <$kind>::code(self)
            }
            fn message(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

coded_by_display!(Error, SendError, ConfigError, AdmissionError);

impl Coded for FailReason {
    fn code(&self) -> u8 {
        FailReason::code(self)
    }
    fn message(&self) -> String {
        self.to_string()
    }
    fn details(&self) -> (Option<u8>, Option<u32>) {
        (self.peer_code().map(|c| c.code()), self.seq().map(|s| s.value()))
    }
}

/// The exception of `seqlink.errors` for a core error.
pub fn to_py<E: Coded>(py: Python<'_>, error: &E) -> PyErr {
    let (peer_code, seq) = error.details();
    build(py, error.code(), &error.message(), peer_code, seq)
}

/// A `seqlink.Error` (code 0) for an argument out of its range.
pub fn invalid_argument(py: Python<'_>, message: &str) -> PyErr {
    build(py, 0, message, None, None)
}

fn build(py: Python<'_>, code: u8, message: &str, peer_code: Option<u8>, seq: Option<u32>) -> PyErr {
    let made = py
        .import("seqlink.errors")
        .and_then(|module| module.getattr("_raise_code"))
        .and_then(|make| make.call1((code, message, peer_code, seq)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// Converts core results into Python results.
pub trait OrRaise<T> {
    /// The value, or the error as its `seqlink.errors` exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T, E: Coded> OrRaise<T> for Result<T, E> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}
