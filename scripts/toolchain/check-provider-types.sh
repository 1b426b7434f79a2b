#!/usr/bin/env bash
# Fails when a resource or data source type that the Terraform code uses is not
# in the schema of the providers installed for a root. The offline AWS provider
# is built with only the service packages listed in AWS_PROVIDER_SERVICES
# (ensure.sh), so a type from another package would otherwise surface as
# "The provider hashicorp/aws does not support resource type ..." in the middle
# of a test run.
#
#   scripts/toolchain/check-provider-types.sh <initialised root> [dir...]
#
# dir... defaults to the module root, its sub-modules, the examples and the
# test fixtures; each is scanned for `resource "<type>"` and `data "<type>"`
# blocks in its own *.tf files (not in sub-directories).
set -euo pipefail
cd "$(dirname "$0")/../.."
tf=${TERRAFORM_BINARY:-terraform}

root=${1:?usage: $0 <initialised root> [dir...]}
shift
dirs=("$@")
[[ ${#dirs[@]} -gt 0 ]] || dirs=(. modules/* examples/* test/terraform/fixtures/*)

[[ -d "$root/.terraform" ]] || { echo "check-provider-types.sh: $root is not initialised: run $tf init in it first" >&2; exit 2; }

# type<TAB>file:line for every block, from the files as written.
used=$(
  for dir in "${dirs[@]}"; do
    for f in "$dir"/*.tf; do
      [[ -e "$f" ]] || continue
      awk -v file="${f#./}" '
        match($0, /^[[:space:]]*(resource|data)[[:space:]]+"[^"]+"/) {
          block = substr($0, RSTART, RLENGTH)
          split(block, parts, "\"")
          kind = (block ~ /^[[:space:]]*data/) ? "data source" : "resource"
          printf "%s\t%s\t%s:%d\n", kind, parts[2], file, FNR
        }' "$f"
    done
  done | sort -u
)
[[ -n "$used" ]] || { echo "check-provider-types.sh: no resource or data block found in ${dirs[*]}" >&2; exit 2; }

# Every type each installed provider serves, as "resource<TAB>type" and
# "data source<TAB>type".
schema=$(cd "$root" && "$tf" providers schema -json)
known=$(jq -r '
  .provider_schemas[] |
  ((.resource_schemas // {} | keys[] | "resource\t" + .),
   (.data_source_schemas // {} | keys[] | "data source\t" + .))' <<<"$schema" | sort -u)
[[ -n "$known" ]] || { echo "check-provider-types.sh: the providers of $root report no types" >&2; exit 2; }

# Where the pinned AWS provider source is in the module cache, the package
# that defines a type is named in the message.
provider_src=""
if command -v go >/dev/null 2>&1; then
  aws_go_version=$(sed -n 's/^AWS_PROVIDER_GO_VERSION=//p' scripts/toolchain/ensure.sh)
  candidate="$(go env GOMODCACHE)/github.com/hashicorp/terraform-provider-aws@$aws_go_version/internal/service"
  [[ -d "$candidate" ]] && provider_src=$candidate
fi

missing=0
while IFS=$'\t' read -r kind type where; do
  if grep -qxF "$kind"$'\t'"$type" <<<"$known"; then
    continue
  fi
  missing=$((missing + 1))
  package=""
  if [[ -n "$provider_src" && $type == aws_* ]]; then
    package=$(grep -lF "TypeName: \"$type\"," "$provider_src"/*/service_package_gen.go 2>/dev/null | head -n 1 | xargs -r dirname | xargs -r basename)
  fi
  if [[ $type != aws_* ]]; then
    echo "$where: $kind type $type is served by none of the providers installed for $root: add its provider to required_providers, and to the mirror in scripts/toolchain/ensure.sh." >&2
  elif [[ -n "$package" ]]; then
    echo "$where: $kind type $type is not in the installed AWS provider's schema: add \"$package\" to AWS_PROVIDER_SERVICES in scripts/toolchain/ensure.sh (it rebuilds the provider)." >&2
  else
    echo "$where: $kind type $type is not in the installed AWS provider's schema: add the service package that defines it (the directory under internal/service/ of the provider source whose service_package_gen.go names it) to AWS_PROVIDER_SERVICES in scripts/toolchain/ensure.sh (it rebuilds the provider)." >&2
  fi
done <<<"$used"

count=$(wc -l <<<"$used")
if [[ $missing -gt 0 ]]; then
  echo "check-provider-types.sh: $missing of $count resource/data blocks use a type the providers of $root do not serve." >&2
  exit 1
fi
echo "check-provider-types.sh: the $count resource/data blocks of ${dirs[*]} use only types the providers of $root serve."
