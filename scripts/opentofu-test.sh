#!/usr/bin/env bash
# The module under OpenTofu: `tofu init` + `tofu validate` of every root
# (the module, examples, fixtures, the README's usage example), then the plan
# tests (go test -run TestPlan in test/terraform) with TERRAFORM_BINARY set to
# OpenTofu. Terraform runs every layer in scripts/terraform-test.sh; this
# repeats the two that say whether OpenTofu accepts and plans the module.
# Called by `npm test`; exits non-zero on the first failure.
#
#   scripts/opentofu-test.sh [go test args]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bash scripts/toolchain/ensure.sh >/dev/null
# shellcheck source=/dev/null
source "${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/toolchain/env.sh"
tofu=${TOFU_BINARY:?ensure.sh wrote no TOFU_BINARY}
"$tofu" version | head -n 1

# As in terraform-test.sh: one plugin cache for every init (with the mirror,
# init links the mirror's binaries instead), no committed lock files.
export TF_PLUGIN_CACHE_DIR="${TF_PLUGIN_CACHE_DIR:-${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/terraform-plugin-cache}"
export TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true
mkdir -p "$TF_PLUGIN_CACHE_DIR"

started=$SECONDS
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

# The roots are validated in one copy of the repo's files, so that OpenTofu's
# .terraform dirs and lock files never meet Terraform's in the checkout.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy="$work/repo"
mkdir -p "$copy"
tar -C "$repo" --exclude=./node_modules --exclude=./.git --exclude=.terraform --exclude=.terraform.lock.hcl \
  --exclude=./coverage --exclude=./bench --exclude=./test/terraform/.test-data -cf - . | tar -C "$copy" -xf -

step "tofu init + validate"
roots=(. examples/* test/terraform/fixtures/*)
for root in "${roots[@]}"; do
  echo "-- $root"
  (cd "$copy/$root" && "$tofu" init -backend=false -input=false -no-color >/dev/null && "$tofu" validate -no-color)
done
echo "-- README.md usage example"
readme_root="$work/readme"
mkdir -p "$readme_root"
awk '/^```hcl$/ { inside = 1; next } /^```$/ { if (inside) exit } inside' README.md |
  sed "s|source = \"github.com/<owner>/dynamo-replicator\"|source = \"$copy\"|" >"$readme_root/main.tf"
grep -q "source = \"$copy\"" "$readme_root/main.tf" || { echo "README.md: the first hcl block is not the module usage example" >&2; exit 1; }
(cd "$readme_root" && "$tofu" init -backend=false -input=false -no-color >/dev/null && "$tofu" validate -no-color)

step "plan tests (terratest) with OpenTofu"
(cd test/terraform && TERRAFORM_BINARY=$tofu go test -count=1 -timeout 20m -parallel 4 -run '^TestPlan' -v "$@" ./...)

step "OpenTofu layers passed"
