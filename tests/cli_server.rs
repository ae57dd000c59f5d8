//! `wordvec serve` as a process: the CLI as its client gives the same output as local mode,
//! the Python example client works (when Python with grpcio is installed), and SIGTERM stops the
//! daemon cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

use crate::common;

struct Daemon {
    child: Child,
    url: String,
    addr: String,
}

fn start(args: &[&str]) -> Daemon {
    let mut child = Command::cargo_bin("wordvec")
        .unwrap()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("wordvec serving")))
        .expect("serving line");
    if args.contains(&"--classifier") {
        assert!(line.contains(" and classifiers "), "{line}");
    }
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    // Keep draining stderr so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Daemon {
        child,
        url: format!("http://{addr}"),
        addr,
    }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("wordvec")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn client_mode_prints_what_local_mode_prints_and_sigterm_stops_cleanly() {
    // A classifier trained by the CLI, served next to the default vectors.
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "tone.csv", 600, 2, false);
    let model = dir.path().join("tone.wvcls");
    let (ok, _, err) = run(&[
        "classify",
        "train",
        data.to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
        "--min-count",
        "2",
        "--lr",
        "0.02",
    ]);
    assert!(ok, "{err}");
    let classifier = format!("tone={}", model.display());
    let mut d = start(&["--classifier", &classifier]);
    for args in [
        vec!["nn", "king", "queen", "-k", "5"],
        vec!["nn", "king", "--negative", "man", "--json"],
        vec!["analogy", "man", "king", "woman", "-k", "3"],
        vec!["analogy", "man", "king", "woman", "--cosmul", "--json"],
        vec!["similarity", "king", "queen"],
        vec!["doesnt-match", "red", "green", "blue", "computer"],
        vec!["embed", "the king and the queen", "water"],
        vec!["embed", "--unit", "--json", "Paris, France zzqx"],
    ] {
        let local = run(&args);
        let mut remote_args = args.clone();
        remote_args.extend(["--server", &d.url]);
        let remote = run(&remote_args);
        assert!(local.0 && remote.0, "{args:?}: {} / {}", local.2, remote.2);
        assert_eq!(local.1, remote.1, "{args:?}");
    }
    let (ok, _, err) = run(&["nn", "zzyzx", "--server", &d.url]);
    assert!(
        !ok && err.contains("word not in the vocabulary: \"zzyzx\""),
        "{err}"
    );

    // The Python example, where Python and grpcio are installed.
    let has_grpc = Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if has_grpc {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python_client.py");
        let out = Command::new("python3")
            .arg(script)
            .args([
                d.addr.as_str(),
                "king",
                "so happy, love it",
                "awful and sad",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("\"name\": \"default\"")
                && text.contains("\"answers\": [\"")
                && text.contains("NOT_FOUND")
                && text.contains("\"classifier\": \"tone\"")
                && text.contains("\"predictions\": [\"pos\", \"neg\"]"),
            "{text}"
        );
    } else {
        eprintln!(
            "python3 with grpcio and grpcio-tools not found: the Python example client was not run"
        );
    }

    // A stock client that knows nothing of wordvec: grpcio's reflection client (v1alpha) finds
    // the services and the message types, and MostSimilar is called with messages built from the
    // reflected descriptors only.
    let has_reflection = Command::new("python3")
        .args([
            "-c",
            "import grpc, grpc_reflection.v1alpha.proto_reflection_descriptor_database",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if has_reflection {
        let out = Command::new("python3")
            .args(["-c", REFLECTION_CLIENT, d.addr.as_str()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let local = run(&["nn", "king", "-k", "3", "--json"]).1;
        assert!(text.contains("wordvec.v1.Embeddings"), "{text}");
        assert!(text.contains("wordvec.v1.Classifier"), "{text}");
        let words = text.lines().last().unwrap_or_default();
        for w in words.split(',') {
            assert!(local.contains(&format!("\"{w}\"")), "{w} not in {local}");
        }
    } else {
        eprintln!(
            "python3 with grpcio-reflection not found: the v1alpha reflection client was not run"
        );
    }

    // SIGTERM: stop accepting, finish, exit 0.
    let pid = d.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = d.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_bad_configuration() {
    let (ok, _, err) = run(&["serve", "--vectors", "x"]);
    assert!(!ok && err.contains("expected NAME=PATH"), "{err}");
    let (ok, _, err) = run(&[
        "serve",
        "--vectors",
        "a=/nonexistent.bin",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok && err.contains("nonexistent.bin"), "{err}");
    let (ok, _, err) = run(&[
        "serve",
        "--classifier",
        "c=/nonexistent.wvcls",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(
        !ok && err.contains("--classifier c") && err.contains("nonexistent.wvcls"),
        "{err}"
    );
    let (ok, _, err) = run(&["serve", "--tls-cert", "/x.pem", "--listen", "127.0.0.1:0"]);
    assert!(!ok && err.contains("TLS needs both"), "{err}");
}

/// grpcio's reflection client (v1alpha): lists the services, then builds MostSimilarRequest from
/// the reflected descriptors and prints the answer's words, comma-separated, on the last line.
const REFLECTION_CLIENT: &str = r#"
import sys, grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

channel = grpc.insecure_channel(sys.argv[1])
db = ProtoReflectionDescriptorDatabase(channel)
print(" ".join(sorted(db.get_services())))
pool = descriptor_pool.DescriptorPool(db)
method = pool.FindServiceByName("wordvec.v1.Embeddings").FindMethodByName("MostSimilar")
Request = message_factory.GetMessageClass(method.input_type)
Response = message_factory.GetMessageClass(method.output_type)
request = Request(top_k=3)
request.positive.add(word="king")
call = channel.unary_unary(
    "/wordvec.v1.Embeddings/MostSimilar",
    request_serializer=Request.SerializeToString,
    response_deserializer=Response.FromString,
)
print(",".join(n.word for n in call(request, timeout=10).neighbors))
"#;

/// Every port may be port 0: the daemon binds them all before serving and says where each one
/// is, the metrics port included, so nobody picks a free port and hopes it stays free.
#[test]
fn every_port_of_0_is_bound_and_reported() {
    use std::io::{Read, Write};
    let mut child = Command::cargo_bin("wordvec")
        .unwrap()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (mut http, mut metrics) = (None, None);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for l in lines.by_ref().map_while(Result::ok) {
        let addr = l.rsplit(' ').next().unwrap().to_owned();
        if l.starts_with("wordvec HTTP/JSON on ") {
            http = Some(addr);
        } else if l.starts_with("wordvec metrics on ") {
            metrics = Some(addr);
        } else if l.starts_with("wordvec serving ") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let ask = |addr: &str, request: &str| {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer
    };
    let (http, metrics) = (http.expect("HTTP line"), metrics.expect("metrics line"));
    let listed = ask(
        &http,
        "POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    // The port said is this daemon's: it counted the request just made.
    let body = ask(&metrics, "GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        body.contains(
            "wordvec_requests_total{code=\"Ok\",method=\"/wordvec.v1.Embeddings/ListModels\"} 1"
        ),
        "{body}"
    );
}
