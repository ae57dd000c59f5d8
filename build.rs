//! Compiles proto/ into Rust (prost messages, tonic clients and servers) with protox, a protobuf
//! compiler written in Rust, so building needs no `protoc` on the machine. The encoded descriptor
//! set is saved too, for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["wordvec/v1/wordvec.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("wordvec_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
