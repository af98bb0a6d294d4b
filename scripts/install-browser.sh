#!/usr/bin/env bash
# Installs what the browser check of the HTML report needs, if not already there:
#
#   scripts/install-browser.sh
#
#   1. Debian's Chromium (/usr/bin/chromium), with apt-get, when it is missing
#      (needs root: CI and the project's machines run as root);
#   2. playwright-core, pinned in tests/browser/package.json and
#      package-lock.json, with `npm ci`, when tests/browser/node_modules lacks
#      it or holds another version. playwright-core downloads no browser.
#
# Idempotent: a second run does nothing but print what it found. Run by
# .ci/run before the tests; exits non-zero if anything is missing or fails.
# The check itself: node tests/browser/check_report.mjs REPORT.html SHOT.png
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -x /usr/bin/chromium ]]; then
    echo "install-browser: chromium present"
elif [[ $(id -u) -eq 0 ]]; then
    echo "install-browser: installing Debian chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
else
    echo "install-browser: /usr/bin/chromium missing; run as root or: apt-get install chromium" >&2
    exit 1
fi
# Debian's launcher script prints a harmless '[: unexpected operator' on stderr here.
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null)"

command -v node >/dev/null || { echo "install-browser: node not found" >&2; exit 1; }
# Version pinned in the lockfile vs. the one installed (empty if none).
wanted=$(node -p 'require("./tests/browser/package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch { "" }')
if [[ $have == "$wanted" ]]; then
    echo "install-browser: playwright-core $have present"
else
    echo "install-browser: npm ci in tests/browser (playwright-core $wanted)"
    npm ci --prefix tests/browser --no-audit --no-fund
fi
