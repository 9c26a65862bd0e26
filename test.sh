#!/usr/bin/env bash
# The test command of the README, and what CI (.ci/run) runs: every module's tests, then the jar.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec mvn -B -ntp verify "$@"
