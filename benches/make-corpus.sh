#!/bin/bash
# Builds a ~11.6M-word English training corpus (text8-style: lowercase a-z words, 1000 words a line)
# from public dictionaries in Debian's packages (GCIDE, WordNet, FOLDOC, Jargon File) and the text
# samples in gensim's test data, plus questions-words.txt and wordsim353.tsv for evaluation.
# Usage: benches/make-corpus.sh [OUT_DIR]   (default ./corpus-data); needs root for apt-get, and pip.
set -eu
OUT=${1:-corpus-data}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
apt-get update -qq && apt-get install -y -q dict-gcide dict-wn dict-foldoc dict-jargon >/dev/null
python3 -m pip download -q --no-deps gensim==4.4.0 -d "$TMP"
(cd "$TMP" && unzip -o -q gensim-4.4.0-*.whl 'gensim/test/test_data/*')
T=$TMP/gensim/test/test_data
cp "$T/questions-words.txt" "$T/wordsim353.tsv" "$OUT/"
{ for f in gcide wn foldoc jargon; do zcat /usr/share/dictd/$f.dict.dz; done
  bzcat "$T"/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2
  cat "$T/head500.noblanks.cor" "$T/lee_background.cor"; } | python3 -c "
import sys, re
d = sys.stdin.buffer.read().decode('utf-8', 'ignore').lower()
w = re.sub(r'[^a-z]+', ' ', re.sub(r'<[^>]*>', ' ', d)).split()
sys.stdout.write(''.join(' '.join(w[i:i + 1000]) + '\n' for i in range(0, len(w), 1000)))" > "$OUT/corpus.txt"
echo "$OUT/corpus.txt: $(wc -w < "$OUT/corpus.txt") words"
