#!/usr/bin/env bash
# ctest's explore_browser: the pinned npm packages (installed when missing), then the test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/ensure_node_modules.sh"
exec node "$HERE/browser_test.js" "$@"
