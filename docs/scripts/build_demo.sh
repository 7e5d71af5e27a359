#!/usr/bin/env bash
# Rebuild the shipped demo (envman.toml + environments/ at the repository root)
# from scratch, through the real CLI. The private keys live only in a temporary
# folder and are destroyed at the end: the demo's secrets are placeholders
# nobody can decrypt, which is the point (no key is ever committed).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
envman=${ENVMAN:-$repo/.venv/bin/envman}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENVMAN_ACTOR="demo@envman" ENVMAN_KEYS_FILE="$work/keys.env" PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
mkdir "$work/demo" && cd "$work/demo"

"$envman" init --project-id envman-demo --keys-file "$ENVMAN_KEYS_FILE" >/dev/null
cat >> envman.toml <<'TOML'

[variables.ALLTKN_API_KEY]
type = "secret"
required = true
description = "Server-side key for the OpenAI-compatible API; distinct per environment"
owner = "platform-team"
rotation_method = "issue a new key in the ALLTKN console, `envman rotate`, deploy, revoke the old key"
rotation_days = 90

[variables.ALLTKN_BASE_URL]
type = "url"
required = true
description = "API root (not the web site, no /chat/completions)"

[variables.ALLTKN_DEFAULT_MODEL]
type = "model"
required = true

[variables.AI_REQUEST_TIMEOUT_MS]
type = "duration_ms"
required = true

[variables.AI_LOG_LEVEL]
type = "log_level"
required = true
pin = ["test"]

[probe]
base_url_var = "ALLTKN_BASE_URL"
api_key_var = "ALLTKN_API_KEY"
model_var = "ALLTKN_DEFAULT_MODEL"
timeout_var = "AI_REQUEST_TIMEOUT_MS"
models_route = "/models"
chat_route = "/chat/completions"
TOML
for env in test staging production; do
  case $env in
    test) key=sk-test-0f3a9c2e7b1d4a6f8e5c0b9d; level=debug ;;
    staging) key=sk-stag-7c4e1a9f3b2d8e6a0c5f1b7d; level=info ;;
    production) key=sk-prod-2b8d6f0a4c9e1b7d3f5a8c2e; level=info ;;
  esac
  cat > ".env.$env" <<ENV
ALLTKN_API_KEY=$key
ALLTKN_BASE_URL=https://api.alltkn.com/api/v1
ALLTKN_DEFAULT_MODEL=deepseek-chat
AI_REQUEST_TIMEOUT_MS=60000
AI_LOG_LEVEL=$level
ENV
  "$envman" import ".env.$env" --env "$env" >/dev/null
  rm ".env.$env"
done
"$envman" set test ALLTKN_DEFAULT_MODEL deepseek-reasoner >/dev/null
"$envman" set staging AI_REQUEST_TIMEOUT_MS 45000 >/dev/null
# A history worth reading: known-good marks, a rotation (which records the
# rollback value the go-live gate asks for), then a bad change in production.
"$envman" mark-good test --note "unit tests green" >/dev/null
"$envman" mark-good staging --note "smoke test passed after timeout change" >/dev/null
printf 'sk-prod-5e1c9a7f3d2b8e4a6c0f9d1b' | "$envman" rotate production ALLTKN_API_KEY --method "ALLTKN console" >/dev/null
"$envman" mark-good production --note "deploy health check passed" >/dev/null
"$envman" set production AI_LOG_LEVEL debug >/dev/null
"$envman" ledger verify >/dev/null

rm -rf "$repo/environments"
cp -r environments "$repo/environments"
rm -f "$repo/environments/.lock"
cp envman.toml "$repo/envman.toml"
echo "demo rebuilt: $(grep -c . "$repo/environments/ledger.jsonl") ledger entries"
