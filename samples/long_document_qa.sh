#!/usr/bin/env bash
# Long-document Q&A with the `mnemo` CLI, end to end: writes a long synthetic
# document (a ship's log with a few facts planted early on), ingests it once into a
# store, lists the store, and asks about the facts — answers come from the stored
# bounded state, not from re-reading the document.
#
#   samples/long_document_qa.sh MODEL.gguf [BYTES] [WORK_DIR]
#
# BYTES (default 2000000) sets the document's length. MNEMO=path/to/mnemo overrides
# the CLI (default: build/tools/mnemo, then `mnemo` on PATH). With a random test
# model the answers are gibberish; the plumbing is the same.
set -euo pipefail
model=${1:?usage: long_document_qa.sh MODEL.gguf [BYTES] [WORK_DIR]}
bytes=${2:-2000000}
work=${3:-out/long-document-qa}
root=$(cd "$(dirname "$0")/.." && pwd)
mnemo=${MNEMO:-$root/build/tools/mnemo}
[[ -x "$mnemo" ]] || mnemo=$(command -v mnemo)
mkdir -p "$work"
doc="$work/ships-log.txt"
db="$work/store.db"

# The document: three facts, then a long, varied log.
awk -v bytes="$bytes" 'BEGIN {
  print "The ship'"'"'s log of the Halcyon, kept by Captain Ilse Marrow."
  print "The ship'"'"'s cat is called Pepper. The cargo is forty barrels of cloves."
  print "The first mate, Tomas Reyes, was born in Valparaiso.\n"
  split("north east south west", dir, " ")
  split("calm fair squally foggy stormy clear", sky, " ")
  n = 0; day = 1
  srand(7)
  while (n < bytes) {
    line = sprintf("Day %d: wind from the %s, sky %s, %d knots, %d miles made good. ", day, dir[int(rand()*4)+1], sky[int(rand()*6)+1], int(rand()*20)+1, int(rand()*180)+20)
    if (rand() < 0.3) line = line sprintf("Sighted %d gulls and a %s sail. ", int(rand()*50), dir[int(rand()*4)+1])
    if (rand() < 0.2) line = line "Mended the foresail. "
    print line
    n += length(line) + 1; day++
  }
}' >"$doc"
echo "document: $doc ($(wc -c <"$doc") bytes)"

rm -f "$db" "$db-wal" "$db-shm"
"$mnemo" ingest --db "$db" "$doc" --title "Ship's log" --model "$model"
"$mnemo" docs --db "$db"
for q in "What is the ship's cat called?" "What is the cargo?" "Where was the first mate born?"; do
  echo "Q: $q"
  printf 'A:'
  "$mnemo" ask --db "$db" "Ship's log" "$q" --max-tokens 32 --no-stream
done
