#!/bin/sh
# `make demo`: the module in front of the repository's mock gateway (the
# one the tests use: every provider family, t/mock/upstream.py), both on
# loopback, so that every endpoint, /docs, the SDKs, Claude Code and Codex
# can be tried without a real gateway. Prints the settings of each client;
# Ctrl-C stops the module and the mock.
set -eu
B=${B:-build}
PORT=${PORT:-8000}
MOCK_PORT=${DEMO_MOCK_PORT:-$((PORT + 1))}
top=$(pwd)
demo=$top/$B/demo
token="demo-gateway-token"        # what the mock gateway expects (not a secret)
base="http://127.0.0.1:$PORT"

mkdir -p "$demo/codex"
python3 t/mock/upstream.py --port "$MOCK_PORT" --token "$token" > "$demo/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; wait $mock 2>/dev/null; echo "demo stopped"' EXIT
trap 'exit 130' INT TERM
i=0
until curl -s -o /dev/null "http://127.0.0.1:$MOCK_PORT/__mock/stats"; do
  i=$((i+1))
  if [ $i -ge 50 ] || ! kill -0 $mock 2>/dev/null; then
    cat "$demo/mock.log"; echo "the mock gateway did not start on port $MOCK_PORT (DEMO_MOCK_PORT=...)" >&2; exit 1
  fi
  sleep 0.1
done

# Codex reads its configuration from $CODEX_HOME
cat > "$demo/codex/config.toml" <<TOML
model = "claude-3-7-sonnet-20250219"
model_provider = "llmproxy"

[model_providers.llmproxy]
name = "mod_llmproxy demo"
base_url = "$base/v1"
wire_api = "responses"
env_key = "LLMPROXY_KEY"
request_max_retries = 1

[analytics]
enabled = false
TOML

cat <<TXT
==============================================================================
 mod_llmproxy demo: the module on $base, in front of the mock gateway
 on 127.0.0.1:$MOCK_PORT (canned answers; models of every family:
 gpt-4o-mini, claude-3-7-sonnet-20250219, gemini-2.0-flash, command-r-plus,
 text-embedding-3-small, dall-e-3, ideogram-v3, recraftv3, ...).

 In a browser:  $base/docs/        (try every endpoint)
 The API:       $base/openapi.json

 curl:
   curl $base/v1/models
   curl $base/v1/chat/completions -H 'Content-Type: application/json' \\
        -d '{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Hello!"}]}'

 OpenAI SDKs (Python, Node), the Agents SDK, the AI SDK:
   export OPENAI_BASE_URL=$base/v1
   export OPENAI_API_KEY=demo            # any value: the demo checks no key

 Anthropic SDKs and Claude Code:
   export ANTHROPIC_BASE_URL=$base       # no /v1
   export ANTHROPIC_AUTH_TOKEN=demo
   export ANTHROPIC_MODEL=claude-sonnet-4-5
   export ANTHROPIC_SMALL_FAST_MODEL=claude-3-5-haiku-20241022
   export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
   claude -p "hello"

 Codex CLI:
   export CODEX_HOME=$demo/codex   # config.toml written there
   export LLMPROXY_KEY=demo
   codex exec "hello"

 Stop: Ctrl-C
==============================================================================
TXT

MODEL_LIST_URL="http://127.0.0.1:$MOCK_PORT/models" \
MODEL_LIST_AUTH_TOKEN="$token" PORT=$PORT B=$B sh scripts/run.sh
