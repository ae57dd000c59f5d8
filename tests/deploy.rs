//! The replica recipe (deploy/): the Kubernetes manifests and the container file agree with
//! `wordvec serve` and with each other: flags it takes, ports it listens on, probes on the gRPC
//! port, Services and the autoscaler pointing at the Deployment.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use yaml_rust2::{Yaml, YamlLoader};

fn manifests() -> Vec<Yaml> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        docs.extend(YamlLoader::load_from_str(&text).unwrap());
    }
    docs
}

fn kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn port_of(addr: &str) -> i64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} not given"));
    &args[i + 1]
}

/// `wordvec serve` with `args` (addresses moved to free loopback ports, model paths to the
/// fixture, the log folder and the token to a temporary folder) starts serving: the flags are
/// real and their values valid.
fn serves_with(args: &[String]) {
    let fixture = common::data("w2vc-sg-d32.bin");
    let tmp = tempfile::tempdir().unwrap();
    let token = common::server::token_file(tmp.path());
    let wal = tmp.path().join("wal");
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.starts_with("0.0.0.0:") {
                "127.0.0.1:0".to_owned()
            } else if let Some((name, _)) = a.split_once("=/models/") {
                format!("{name}={}", fixture.display())
            } else if a == "/wal" {
                wal.display().to_string()
            } else if a.starts_with("/secrets/") {
                token.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wordvec"))
        .args(&args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("wordvec serving"))
        .collect();
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(running, "wordvec {args:?} did not start: {lines:?}");
}

#[test]
fn manifests_match_the_daemon_and_each_other() {
    let docs = manifests();
    let deployments = kind(&docs, "Deployment");
    assert_eq!(deployments.len(), 1);
    let d = deployments[0];
    let name = d["metadata"]["name"].as_str().unwrap();
    let labels = &d["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&d["spec"]["selector"]["matchLabels"], labels);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = c["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(args[0], "serve");
    // Every flag is one `wordvec serve` documents, and the whole command line starts a server.
    let help = Command::new(env!("CARGO_BIN_EXE_wordvec"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for a in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(&format!("{a} ")),
            "{a} is not a flag of wordvec serve"
        );
    }
    serves_with(&args);
    // Named container ports are the ports the flags listen on.
    let ports: BTreeMap<&str, i64> = c["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports["grpc"], port_of(flag(&args, "--listen")));
    assert_eq!(ports["http"], port_of(flag(&args, "--http-listen")));
    assert_eq!(ports["metrics"], port_of(flag(&args, "--metrics-listen")));
    // Readiness and liveness ask the gRPC health service on the gRPC port.
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            c[probe]["grpc"]["port"].as_i64(),
            Some(ports["grpc"]),
            "{probe}"
        );
    }
    // The model volume is mounted where the --vectors paths point, read-only.
    let mount = &c["volumeMounts"][0];
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let root = mount["mountPath"].as_str().unwrap();
    assert!(flag(&args, "--vectors").contains(&format!("={root}/")));
    assert!(c["resources"]["requests"]["memory"].as_str().is_some());
    // Every Service selects the pods of one workload (the readers' Deployment or the writer's
    // StatefulSet) and targets ports its container names; two of them the readers'.
    let services = kind(&docs, "Service");
    let mut workloads = deployments.clone();
    workloads.extend(kind(&docs, "StatefulSet"));
    let mut readers = 0;
    for s in services {
        let selects = |w: &Yaml| {
            let labels = &w["spec"]["template"]["metadata"]["labels"];
            s["spec"]["selector"]
                .as_hash()
                .unwrap()
                .iter()
                .all(|(k, v)| &labels[k.as_str().unwrap()] == v)
        };
        let w = workloads
            .iter()
            .find(|w| selects(w))
            .unwrap_or_else(|| panic!("{:?} selects no workload", s["metadata"]["name"]));
        readers += usize::from(std::ptr::eq(*w, d));
        let names: Vec<&str> = w["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in s["spec"]["ports"].as_vec().unwrap() {
            let target = p["targetPort"].as_str().unwrap();
            assert!(names.contains(&target), "{target}");
        }
    }
    assert_eq!(readers, 2);
    assert!(ports.contains_key("grpc"));
    // The autoscaler scales this Deployment.
    let hpa = kind(&docs, "HorizontalPodAutoscaler");
    assert_eq!(
        hpa[0]["spec"]["scaleTargetRef"]["name"].as_str(),
        Some(name)
    );
    assert!(hpa[0]["spec"]["minReplicas"].as_i64().unwrap() >= 2);
}

fn args_of(w: &Yaml) -> Vec<String> {
    w["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// The volume mounted at `path` in `w`'s container: (its claim, read-only).
fn mount_at(w: &Yaml, path: &str) -> (String, bool) {
    let spec = &w["spec"]["template"]["spec"];
    let m = spec["containers"][0]["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(path))
        .unwrap_or_else(|| panic!("nothing mounted at {path}"));
    let name = m["name"].as_str().unwrap();
    let v = spec["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap();
    let claim = v["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a claim"));
    (claim.to_owned(), m["readOnly"].as_bool() == Some(true))
}

/// One writer (a StatefulSet of one replica, its log on a claim it mounts read-write, writes
/// behind a token), and readers that mount the same claim read-only and follow it: the
/// Deployment's replicas take no writes of their own.
#[test]
fn one_writer_and_readers_that_follow_it() {
    let docs = manifests();
    let writers = kind(&docs, "StatefulSet");
    assert_eq!(writers.len(), 1);
    let w = writers[0];
    assert_eq!(w["spec"]["replicas"].as_i64(), Some(1));
    let wargs = args_of(w);
    let wal = flag(&wargs, "--wal-dir");
    flag(&wargs, "--auth-token-file");
    let (claim, read_only) = mount_at(w, wal);
    assert!(!read_only, "the writer writes its log");
    serves_with(&wargs);
    let d = kind(&docs, "Deployment")[0];
    let dargs = args_of(d);
    assert!(
        !dargs.iter().any(|a| a == "--wal-dir"),
        "readers must not write"
    );
    let follow = flag(&dargs, "--follow-dir");
    assert_eq!(mount_at(d, follow), (claim.clone(), true));
    assert_eq!(flag(&dargs, "--vectors"), flag(&wargs, "--vectors"));
    let claims = kind(&docs, "PersistentVolumeClaim");
    let c = claims
        .iter()
        .find(|c| c["metadata"]["name"].as_str() == Some(&claim))
        .expect("the log's claim is in the recipe");
    let modes = c["spec"]["accessModes"].as_vec().unwrap();
    assert!(modes.iter().any(|m| m.as_str() == Some("ReadWriteMany")));
    // The autoscaler scales the readers, never the writer.
    let hpa = kind(&docs, "HorizontalPodAutoscaler");
    assert_ne!(
        hpa[0]["spec"]["scaleTargetRef"]["name"].as_str(),
        w["metadata"]["name"].as_str()
    );
}

#[test]
fn the_container_file_runs_the_daemon_it_builds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Containerfile");
    let text = std::fs::read_to_string(path).unwrap();
    let line = |word: &str| {
        text.lines()
            .find(|l| l.starts_with(word))
            .unwrap_or_else(|| panic!("no {word}"))
            .to_owned()
    };
    let json = |l: String, word: &str| -> Vec<String> {
        serde_json::from_str(l.trim_start_matches(word).trim()).unwrap()
    };
    let entry = json(line("ENTRYPOINT"), "ENTRYPOINT");
    let cmd = json(line("CMD"), "CMD");
    assert!(line("COPY --from=build").ends_with(&entry[0]));
    assert!(line("RUN cargo build").contains("--locked"));
    serves_with(&cmd);
    let exposed: Vec<i64> = line("EXPOSE")
        .split_whitespace()
        .skip(1)
        .map(|p| p.parse().unwrap())
        .collect();
    for f in ["--listen", "--http-listen", "--metrics-listen"] {
        assert!(exposed.contains(&port_of(flag(&cmd, f))), "{f}");
    }
}
