#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the operator viewer's browser tests; print its path.
#
#   XSCREEN_CHROMIUM="$(bash .ci/chromium.sh)"   # then: pytest tests/viewer (no longer skipped)
#
# Installs the 'chromium' package with apt-get when it is missing (CI runs as root). The tests
# drive it through Playwright's Python package with executable_path, so 'playwright install' (a
# download of another browser) is never needed. Safe to run again: an installed one is reused.
set -euo pipefail

path="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$path" ]; then
    echo "chromium.sh: installing chromium with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    path="$(command -v chromium)"
fi
echo "chromium.sh: $("$path" --version 2>/dev/null || echo "$path")" >&2
echo "$path"
