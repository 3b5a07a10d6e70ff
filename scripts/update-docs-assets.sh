#!/bin/sh
# Copy Swagger UI's files from the npm package pinned in tests/sdk/package.json
# (swagger-ui-dist; `make sdk-deps` installs it) into docs/, where the module
# serves them from (LLMProxyDocsDir). Run by hand after changing the version.
set -eu
src=tests/sdk/node_modules/swagger-ui-dist
[ -f "$src/swagger-ui-bundle.js" ] || { echo "$src missing: run make sdk-deps" >&2; exit 1; }
cp "$src/swagger-ui-bundle.js" "$src/swagger-ui-bundle.js.LICENSE.txt" \
   "$src/swagger-ui.css" "$src/favicon-32x32.png" docs/
cp "$src/LICENSE" docs/LICENSE.swagger-ui
cp "$src/NOTICE" docs/NOTICE.swagger-ui
echo "docs/: swagger-ui-dist $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$src/package.json")"
