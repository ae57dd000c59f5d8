#!/usr/bin/env python3
"""Builds the classifier benchmark set from WordNet 3.0 (Debian package `wordnet-base`).

Each noun synset's gloss (definition and examples) is a text; its label is the synset's
lexicographer file ("supersense"): noun.artifact, noun.person, noun.plant, ... (26 labels).
About 82k short texts, as long as tweets, with a real class imbalance.

Usage: python3 benches/make_classify_data.py [OUT.csv]   (default wordnet-nouns.csv)
Needs: apt-get install wordnet-base   (or WORDNET_DIR pointing at the data.noun file's folder)
"""
import csv
import os
import sys

LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time
verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption
verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession
verb.social verb.stative verb.weather adj.ppl""".split()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "wordnet-nouns.csv"
    src = os.path.join(os.environ.get("WORDNET_DIR", "/usr/share/wordnet"), "data.noun")
    rows = []
    with open(src, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            label = LEXNAMES[int(fields[1])]
            text = gloss.strip()
            if text:
                rows.append((text, label))
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    print(f"{out}: {len(rows)} texts, {len(set(l for _, l in rows))} labels", file=sys.stderr)


if __name__ == "__main__":
    main()
