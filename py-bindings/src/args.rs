//! Checks of Python arguments: an integer out of its field's range is a
//! `seqlink.Error`, not an `OverflowError`.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyInt, PyString};

use crate::errors::invalid_argument;

/// `value` as an integer in `0..=max`; `name` says which argument it is.
pub fn in_range(value: &Bound<'_, PyAny>, name: &str, max: u64) -> PyResult<u64> {
    let py = value.py();
    let out_of_range = || invalid_argument(py, &format!("{name} must be an integer in 0..={max}, got {value}"));
    if !value.is_instance_of::<PyInt>() {
        // not an int: the usual TypeError (bool is an int and passes)
        return value.extract::<u64>();
    }
    match value.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(out_of_range()),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => Err(out_of_range()),
        Err(e) => Err(e),
    }
}

/// `value` as a `u32`.
pub fn u32_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u32> {
    in_range(value, name, u64::from(u32::MAX)).map(|v| v as u32)
}

/// `value` as a `u16`.
pub fn u16_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u16> {
    in_range(value, name, u64::from(u16::MAX)).map(|v| v as u16)
}

/// `value` as a `u8`.
pub fn u8_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u8> {
    in_range(value, name, u64::from(u8::MAX)).map(|v| v as u8)
}

/// `value` as a `u64`.
pub fn u64_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    in_range(value, name, u64::MAX)
}

/// `value` through `convert` (one of the `*_arg` checks above), or `default` when absent.
pub fn or_default<T>(
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
    convert: fn(&Bound<'_, PyAny>, &str) -> PyResult<T>,
    default: T,
) -> PyResult<T> {
    value.map_or(Ok(default), |v| convert(v, name))
}

/// `value` as bytes: `bytes`, `bytearray`, or a sequence of ints in 0..=255
/// (`extension` is the only such argument).
pub fn bytes_arg(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = value.extract::<PyBackedBytes>() {
        return Ok(bytes.to_vec());
    }
    if value.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("extension must be bytes, got str {value}")));
    }
    value.extract::<Vec<u8>>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(value.py()) {
            invalid_argument(value.py(), &format!("extension must be bytes (each byte in 0..=255), got {value}"))
        } else {
            e
        }
    })
}
