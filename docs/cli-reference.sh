#!/usr/bin/env bash
# Regenerates the CLI reference in README.md (between the cli-reference markers) from the
# commands' own --help, so the README never drifts from the code.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp)"
for c in train server worker evaluate gradcheck explain bench submit; do
  if ! help="$("$root/gradflow" "$c" --help 2>/dev/null)"; then
    continue
  fi
  {
    echo "<details><summary><code>gradflow $c</code></summary>"
    echo
    echo '```'
    echo "$help"
    echo '```'
    echo
    echo "</details>"
    echo
  } >>"$out"
done
python3 - "$root/README.md" "$out" <<'PY'
import sys
readme, block = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- cli-reference:begin -->\n", "<!-- cli-reference:end -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:i] + block + text[j:])
PY
rm -f "$out"
