#!/usr/bin/env bash
# Every Terraform layer of the module, in order, each one fatal:
#   fmt, init + validate (root, sub-modules, examples, fixtures), provider
#   types (every resource/data type served by the installed providers),
#   tflint, checkov, terraform-docs (README blocks current), terratest (plan
#   and apply tests against moto).
# Called by `npm test`; exits non-zero on the first failure and skips nothing.
#
#   scripts/terraform-test.sh [go test args, e.g. -run TestPlan]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bash scripts/toolchain/ensure.sh
# shellcheck source=/dev/null
source "${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/toolchain/env.sh"
tf=${TERRAFORM_BINARY:-terraform}

# Every init (one per root here, one per test copy in terratest) links the
# providers from one cache instead of copying the AWS provider, hundreds of MB,
# into each root. No lock file is committed for the examples or the temp
# copies, hence the second variable.
export TF_PLUGIN_CACHE_DIR="${TF_PLUGIN_CACHE_DIR:-${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/terraform-plugin-cache}"
export TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true
mkdir -p "$TF_PLUGIN_CACHE_DIR"

started=$SECONDS
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

# The zip the module builds at plan time comes from the committed bundle.
test -s dist/lambda/index.mjs || { echo "dist/lambda/index.mjs is missing: build the bundle first" >&2; exit 1; }

# Every root Terraform runs; the sub-modules are validated through them, and
# linted on their own.
roots=(. examples/* test/terraform/fixtures/*)
modules=(modules/*)

step "$tf fmt"
"$tf" fmt -check -recursive -diff .

step "$tf init + validate"
for root in "${roots[@]}"; do
  echo "-- $root"
  (cd "$root" && "$tf" init -upgrade -backend=false -input=false -no-color >/dev/null && "$tf" validate -no-color)
done

step "provider types"
# The offline AWS provider serves only the service packages ensure.sh lists.
bash scripts/toolchain/check-provider-types.sh .

step "README usage example"
# The first hcl block of the README is a complete root; validate it as written, with the module taken from here.
readme_root=$(mktemp -d)
trap 'rm -rf "$readme_root"' EXIT
awk '/^```hcl$/ { inside = 1; next } /^```$/ { if (inside) exit } inside' README.md |
  sed "s|source = \"github.com/<owner>/dynamo-replicator\"|source = \"$repo\"|" >"$readme_root/main.tf"
grep -q "source = \"$repo\"" "$readme_root/main.tf" || { echo "README.md: the first hcl block is not the module usage example" >&2; exit 1; }
(cd "$readme_root" && "$tf" init -backend=false -input=false -no-color >/dev/null && "$tf" validate -no-color)

step "tflint"
tflint --version
# Root by root rather than --recursive, which would walk node_modules.
for root in "${roots[@]}" "${modules[@]}"; do
  tflint --chdir "$root" --config "$repo/.tflint.hcl" --format compact
done

step "checkov"
"${CHECKOV_BIN:-checkov}" --config-file .checkov.yaml

step "terraform-docs"
for dir in . "${modules[@]}" examples/*; do
  terraform-docs --config .terraform-docs.yml --output-check "$dir"
done

step "terratest"
(cd test/terraform && go test -count=1 -timeout 30m -parallel 4 -v "$@" ./...)

step "all Terraform layers passed"
