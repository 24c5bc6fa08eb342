#!/usr/bin/env bash
# Lighthouse (performance, accessibility, best practices, SEO) on home, a procedure and a lesson,
# phone and desktop, against the production-settings server of README.md here (port 8765).
# Lighthouse is not a project dependency: `npm install --prefix /tmp/lh lighthouse` once.
# Usage: bash docs/checks/lighthouse.sh [SESSION_COOKIE_HEADER]   (the lesson needs a log-in:
# pass "sessionid=..." of a learner enrolled on IR Bites, e.g. copied from the browser)
set -euo pipefail
BASE=${BASE:-http://localhost:8765}
LH=${LH:-/tmp/lh/node_modules/.bin/lighthouse}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
cookie=${1:-}
for page in "home /" "procedure /procedures/nephrostomy/" \
            "lesson /learn/ir-bites/gastrointestinal/gastrostomy-and-why-rig/"; do
  set -- $page
  for form in mobile desktop; do
    args=(--quiet --output=json --output-path="/tmp/lh-$1-$form.json"
          --chrome-flags="--headless --no-sandbox --disable-gpu"
          --only-categories=performance,accessibility,best-practices,seo)
    [ "$form" = desktop ] && args+=(--preset=desktop)
    [ -n "$cookie" ] && args+=(--extra-headers="{\"Cookie\": \"$cookie\"}")
    "$LH" "$BASE$2" "${args[@]}" >/dev/null 2>&1
    python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(sys.argv[2], d['finalDisplayedUrl'], {k: round(v['score'] * 100) for k, v in d['categories'].items()})" "/tmp/lh-$1-$form.json" "$1 $form"
  done
done
