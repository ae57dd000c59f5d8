//! Compiles proto/ into Rust (prost messages, tonic clients and servers) with protox, a protobuf
//! compiler written in Rust, so building needs no `protoc` on the machine. The encoded descriptor
//! set is saved too, for gRPC server reflection.
//!
//! Only the `server` feature needs the generated code; without it nothing is compiled, and the
//! library builds without protox, prost or tonic.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "server")]
    compile_proto()?;
    Ok(())
}

#[cfg(feature = "server")]
fn compile_proto() -> Result<(), Box<dyn std::error::Error>> {
    use std::path::PathBuf;

    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["wordvec/v1/wordvec.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor = prost::Message::encode_to_vec(&fds);
    std::fs::write(out.join("wordvec_descriptor.bin"), &descriptor)?;
    // serde for every message, following the proto's JSON mapping with the proto's own field
    // names, for the HTTP/JSON gateway. Every field is written, also at its default value (a
    // score of 0.0, `found: false`): the mapping may omit those, but clients that read
    // `n.score` then find nothing (the explorer threw on "king - king").
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor)?
        .preserve_proto_field_names()
        .emit_fields()
        .build(&[".wordvec.v1"])?;
    // The services decode with the server's codec: a malformed message is INVALID_ARGUMENT,
    // not tonic's INTERNAL (see src/server/status.rs).
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::server::status::Codec")
        .compile_fds(fds)?;
    Ok(())
}
