//! The committed header is what cbindgen makes of the source now.
//! `SEQLINK_BLESS=1 cargo test -p seqlink-ffi --test header` rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = crate_dir.join("include/seqlink.h");
    if std::env::var_os("SEQLINK_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/seqlink.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/seqlink.h is stale: run `SEQLINK_BLESS=1 cargo test -p seqlink-ffi --test header`"
    );
}
