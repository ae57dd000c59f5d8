#!/usr/bin/env python3
"""A Python client for `wordvec serve`, generated from proto/ at run time.

    pip install grpcio grpcio-tools
    wordvec serve &                                   # embedded default model on 127.0.0.1:50051
    python3 examples/python_client.py 127.0.0.1:50051 king

Prints the server's models, the nearest neighbours of the word, and an analogy, as JSON lines.
"""
import json
import os
import sys
import tempfile

from grpc_tools import protoc
import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_stubs():
    """Compiles proto/wordvec/v1/wordvec.proto into a temporary module folder and imports it."""
    out = tempfile.mkdtemp(prefix="wordvec-py-")
    proto_dir = os.path.join(ROOT, "proto")
    rc = protoc.main(["grpc_tools.protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                      os.path.join(proto_dir, "wordvec", "v1", "wordvec.proto")])
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")
    sys.path.insert(0, out)
    from wordvec.v1 import wordvec_pb2, wordvec_pb2_grpc  # noqa: E402
    return wordvec_pb2, wordvec_pb2_grpc


def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    word = sys.argv[2] if len(sys.argv) > 2 else "king"
    pb, rpc = load_stubs()
    with grpc.insecure_channel(addr) as channel:
        stub = rpc.EmbeddingsStub(channel)
        models = stub.ListModels(pb.ListModelsRequest())
        print(json.dumps({"models": [{"name": m.name, "words": m.words, "dims": m.dims} for m in models.models]}))
        r = stub.MostSimilar(pb.MostSimilarRequest(positive=[pb.Term(word=word)], top_k=5), timeout=10)
        print(json.dumps({"query": word, "neighbors": [[n.word, round(n.score, 6)] for n in r.neighbors]}))
        r = stub.Analogy(pb.AnalogyRequest(a="man", b="king", c="woman", top_k=3), timeout=10)
        print(json.dumps({"analogy": "man:king::woman:?", "answers": [n.word for n in r.neighbors]}))
        try:
            stub.MostSimilar(pb.MostSimilarRequest(positive=[pb.Term(word="zzyzx-not-a-word")]), timeout=10)
        except grpc.RpcError as e:
            print(json.dumps({"unknown_word_status": e.code().name, "message": e.details()}))
        # Text classification, when the daemon runs with --classifier NAME=MODEL.
        classifier = rpc.ClassifierStub(channel)
        for m in classifier.ListModels(pb.ListClassifiersRequest()).models:
            texts = sys.argv[3:] or ["what a lovely day"]
            r = classifier.Predict(pb.PredictRequest(model=m.name, texts=texts), timeout=10)
            print(json.dumps({"classifier": m.name, "labels": list(m.labels),
                              "predictions": [p.label for p in r.predictions],
                              "probabilities": [[round(s.probability, 4) for s in p.scores]
                                                for p in r.predictions]}))


if __name__ == "__main__":
    main()
