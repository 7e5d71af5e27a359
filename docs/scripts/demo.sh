#!/usr/bin/env bash
# `make demo`: the main job on the shipped demo (no private key needed), then the
# full flow with fresh keys in a throw-away project.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$repo/.venv/bin"
export PATH="$bin:$PATH" PYTHON_KEYRING_BACKEND=${PYTHON_KEYRING_BACKEND:-keyring.backends.fail.Keyring}
unset ENVMAN_PROJECT ENVMAN_KEYS_FILE
has() { envman "$1" --help >/dev/null 2>&1; }
run() { printf '\n$ %s\n' "$*"; "$@"; local rc=$?; [ $rc -le 1 ] || { echo "demo: '$*' failed with exit $rc" >&2; exit $rc; }; }

cd "$repo"
echo "== 1. The shipped demo: environments/ in this repository, read with no private key =="
run envman status
run envman show production
run envman history --limit 6
run envman ledger verify
has check && run envman check
has diff && run envman diff staging production
has promote && run envman promote staging production --dry-run
has rollback && run envman rollback production --dry-run
has handoff && run envman handoff production

echo
echo "== 2. A throw-away project with fresh keys: the full flow =="
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENVMAN_ACTOR="demo" ENVMAN_KEYS_FILE="$work/keys.env"
mkdir "$work/app" && cd "$work/app"
run envman init --project-id shop-api --keys-file "$ENVMAN_KEYS_FILE"
printf 'ALLTKN_API_KEY=sk-live-9f8e7d6c5b4a39281706\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\nALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n' > .env.production
sed -e 's/sk-live-9f8e7d6c5b4a39281706/sk-stag-1a2b3c4d5e6f70819203/' .env.production > .env.staging
run envman import .env.production --env production
run envman import .env.staging --env staging
rm .env.production .env.staging
run envman get production ALLTKN_API_KEY
run envman get production ALLTKN_API_KEY --reveal
run envman set staging ALLTKN_DEFAULT_MODEL deepseek-reasoner
printf 'sk-stag-ffffeeeeddddcccc0001' | envman set staging ALLTKN_API_KEY >/dev/null && echo "(secret piped on stdin: never on the command line)"
has diff && run envman diff staging production
has mark-good && run envman mark-good staging --note "smoke test passed"
run envman owner production ALLTKN_API_KEY --owner platform-team --rotation-method "ALLTKN console" --rotation-days 90
printf 'sk-live-0a1b2c3d4e5f60718293' | envman rotate production ALLTKN_API_KEY --method "ALLTKN console" >/dev/null && echo "(production key rotated: the old one is kept as its rollback value)"
run envman mark-good production --note "deploy health check passed"
run envman promote staging production --yes
run envman diff staging production
run envman rollback production --dry-run
run envman rollback production --yes
run envman check production
has export && run envman export production --format dotenv --no-secrets
run envman status
run envman history --limit 5
run envman ledger verify
echo
echo "demo finished"
