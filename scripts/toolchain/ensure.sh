#!/usr/bin/env bash
# Installs the Terraform toolchain the tests and static checks need (and
# OpenTofu, and the Lambda runtime emulator and client), into a cache outside
# the repo, then writes <cache>/toolchain/env.sh to source.
#
#   scripts/toolchain/ensure.sh [--force-tofu] [--offline-providers]
#   . "${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/toolchain/env.sh"
#
#   --force-tofu         select OpenTofu as TERRAFORM_BINARY even if terraform
#                        is on PATH (it is built, or found on PATH, either way)
#   --offline-providers  build the providers into a filesystem mirror even if
#                        registry.terraform.io answers
#
# Idempotent: each tool has a stamp holding its pin; a warm run only checks
# stamps. See README.md next to this script for what and why.
set -euo pipefail

# ---- Pinned versions: change them here only. --------------------------------
# hashicorp/aws v6 tags are not Go versions (module path has no /v6), so the
# provider is built from a commit on main the Go proxy serves. That commit is
# 5f2286d6d836 (2026-06-02), whose CHANGELOG heads "6.48.0
# (Unreleased)": 6.47.0 plus main-branch commits. It is labelled 6.47.0 because
# a prerelease label would not satisfy ">= 6.0" constraints.
AWS_PROVIDER_VERSION=6.47.0
AWS_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-aws
AWS_PROVIDER_GO_VERSION=v1.60.1-0.20260602190131-5f2286d6d836
# Mirror builds register only these service packages (of 265): what the module,
# its sub-modules and examples use. A resource type outside them fails
# scripts/toolchain/check-provider-types.sh, which lists the one to add here.
# s3control defines no type the module uses, but aws_s3_bucket reads and
# writes its tags through the S3 Control client, which panics unregistered.
AWS_PROVIDER_SERVICES="appautoscaling cloudwatch dynamodb events iam kms lambda logs meta s3 s3control scheduler sfn sns sqs sts"
# The newest archive provider the Go proxy serves: v2 tags are not Go versions
# either, and no v2 commit was found on it. 1.3.0 lacks output_file_mode.
ARCHIVE_PROVIDER_VERSION=1.3.0
ARCHIVE_PROVIDER_MODULE=github.com/terraform-providers/terraform-provider-archive
ARCHIVE_PROVIDER_GO_VERSION=v1.3.0
OPENTOFU_VERSION=v1.10.6
# The Lambda Runtime Interface Emulator: the proxy serves no tagged release
# (v1.23.0 is not served), only this pseudo-version of the main branch.
AWS_LAMBDA_RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
AWS_LAMBDA_RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
# The Node.js Runtime Interface Client (npm), with its native part built by node-gyp.
AWS_LAMBDA_RIC_VERSION=4.0.2
TFLINT_VERSION=v0.64.0
TERRAFORM_DOCS_VERSION=v0.20.0
CHECKOV_VERSION=3.3.30
MOTO_VERSION=5.2.5
# ------------------------------------------------------------------------------

REGISTRY_PROBE_URL=https://registry.terraform.io/.well-known/terraform.json
REGISTRY_PROBE_SECONDS=5

force_tofu=0
offline_providers=0
for arg in "$@"; do
  case "$arg" in
    --force-tofu) force_tofu=1 ;;
    --offline-providers) offline_providers=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "ensure.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root="${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/toolchain"
bin="$root/bin"
stamps="$root/stamps"
logs="$root/logs"
results="$root/results"
providers="$root/providers"
mkdir -p "$bin" "$stamps" "$logs" "$results" "$providers"
# Test packages may call this at the same time: the second waits for the first.
exec 9>"$root/.lock"
flock 9
rm -f "$results"/*

# The builds must use the Go on PATH: a go.mod asking for a newer toolchain
# should fail here rather than fetch one.
export GOTOOLCHAIN=local
export GOFLAGS="-trimpath -buildvcs=false"

die() { echo "ensure.sh: $*" >&2; exit 1; }

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH; $2"
}

is_current() { # <tool> <pin> <file>...
  local tool=$1 pin=$2; shift 2
  [[ -f "$stamps/$tool" && "$(cat "$stamps/$tool")" == "$pin" ]] || return 1
  local f; for f in "$@"; do [[ -e "$f" ]] || return 1; done
}

# Runs one install step with its output in logs/<tool>.log, times it, stamps
# it, and leaves a one-line result for the summary. Never exits the script:
# failures are collected so that parallel lanes all finish and all report.
run_step() { # <tool> <label> <pin> <function> [args...]
  local tool=$1 label=$2 pin=$3 fn=$4; shift 4
  local log="$logs/$tool.log" start rc=0
  start=$(date +%s)
  # errexit is ignored inside any tested command (if, ||), so test $? instead.
  set +e
  ( set -euo pipefail; "$fn" "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    echo "$pin" >"$stamps/$tool"
    echo "$label: built in $(( $(date +%s) - start ))s" >"$results/$tool"
  else
    rm -f "$stamps/$tool"
    {
      echo "$label: FAILED (exit $rc) after $(( $(date +%s) - start ))s; log: $log"
      tail -n 15 "$log" | sed 's/^/    /'
    } >"$results/$tool.failed"
  fi
}

cached() { # <tool> <label>
  echo "$2: cached" >"$results/$1"
}

# Builds <pkg> of <module>@<version> in the module's own directory in GOMODCACHE,
# so that its go.sum and replace directives apply exactly as upstream intends
# (`go install pkg@version` ignores replace directives, and also asks the
# proxy for @v/list, which this proxy refuses).
go_build_module() { # <module> <version> <pkg> <out> <ldflags> [go build flags...]
  local module=$1 version=$2 pkg=$3 out=$4 ldflags=$5; shift 5
  local dir
  dir=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -d "$dir" ]] || { echo "go mod download $module@$version gave no directory"; return 1; }
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && go mod download && /usr/bin/time -v go build "$@" -o "$out.tmp" -ldflags "-s -w $ldflags" "$pkg")
  mv "$out.tmp" "$out"
}

# ---- Terraform CLI and OpenTofu ---------------------------------------------------
# Both are always there: TERRAFORM_BINARY runs every layer, TOFU_BINARY runs
# validate and the plan tests again (scripts/opentofu-test.sh). Looked up
# without our own bin directory, so that a tofu built here earlier (on PATH
# once env.sh is sourced) is still checked against its pin.
path_outside_cache=$(tr ':' '\n' <<<"$PATH" | grep -v -x -F "$bin" | paste -sd: -)
if PATH=$path_outside_cache command -v tofu >/dev/null 2>&1; then
  tofu_binary=$(PATH=$path_outside_cache command -v tofu)
  need_tofu_build=0
else
  tofu_binary=$bin/tofu
  need_tofu_build=1
fi
if [[ $force_tofu -eq 0 ]] && PATH=$path_outside_cache command -v terraform >/dev/null 2>&1; then
  terraform_binary=terraform
else
  terraform_binary=tofu
fi

# ---- Providers: from the registry if it answers, else a local mirror -----------
provider_mode=registry
if [[ $offline_providers -eq 1 ]] || ! curl -fsS -o /dev/null --max-time "$REGISTRY_PROBE_SECONDS" "$REGISTRY_PROBE_URL" 2>/dev/null; then
  provider_mode=mirror
fi

aws_dir="$providers/registry.terraform.io/hashicorp/aws/$AWS_PROVIDER_VERSION/linux_amd64"
aws_bin="$aws_dir/terraform-provider-aws_v${AWS_PROVIDER_VERSION}_x5"
archive_dir="$providers/registry.terraform.io/hashicorp/archive/$ARCHIVE_PROVIDER_VERSION/linux_amd64"
# Plugin SDK v1 speaks protocol 5 like SDK v2; the _x4 suffix is only the name
# HashiCorp's own 1.x release archives used.
archive_bin="$archive_dir/terraform-provider-archive_v${ARCHIVE_PROVIDER_VERSION}_x4"

# The pin of the trimmed build: its Go version and its service list.
aws_provider_pin="$AWS_PROVIDER_GO_VERSION services=$AWS_PROVIDER_SERVICES clients=called"

# Builds the pinned provider source with only $AWS_PROVIDER_SERVICES registered
# in its generated service list. The full build compiles 265 service packages
# (about an hour and 9 GiB on 2 cores); the module needs about fifteen.
build_aws_provider() {
  local src="$root/src/terraform-provider-aws" dir gen keep
  dir=$(go mod download -json "$AWS_PROVIDER_MODULE@$AWS_PROVIDER_GO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -d "$dir" ]] || { echo "go mod download $AWS_PROVIDER_MODULE@$AWS_PROVIDER_GO_VERSION gave no directory"; return 1; }
  rm -rf "$src"
  mkdir -p "$(dirname "$src")"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  gen="$src/internal/provider/sdkv2/service_packages_gen.go"
  keep=$(tr ' ' '|' <<<"$AWS_PROVIDER_SERVICES")
  local svc
  for svc in $AWS_PROVIDER_SERVICES; do
    [[ -d "$src/internal/service/$svc" ]] || { echo "service package '$svc' is not in the provider source"; return 1; }
  done
  # Drop every import and registration line of a service package not kept.
  grep -Ev "^\s+\"github.com/hashicorp/terraform-provider-aws/internal/service/|^\s+[a-z0-9]+\.ServicePackage\(ctx\),$" "$gen" >"$gen.head"
  {
    sed -n '1,/^import (/p' "$gen.head"
    for svc in $AWS_PROVIDER_SERVICES; do
      printf '\t"github.com/hashicorp/terraform-provider-aws/internal/service/%s"\n' "$svc"
    done
    sed -n '/^import (/,/v := \[\]conns.ServicePackage{/p' "$gen.head" | sed '1d'
    for svc in $AWS_PROVIDER_SERVICES; do
      printf '\t\t%s.ServicePackage(ctx),\n' "$svc"
    done
    sed -n '/v := \[\]conns.ServicePackage{/,$p' "$gen.head" | sed '1d'
  } >"$gen"
  rm -f "$gen.head"
  grep -Eq "^\s+($keep)\.ServicePackage\(ctx\),$" "$gen" || { echo "trimming $gen failed"; return 1; }
  (cd "$src" && go mod download)
  trim_aws_clients "$src"
  mkdir -p "$(dirname "$aws_bin")"
  (cd "$src" && /usr/bin/time -v go build -o "$aws_bin.tmp" \
    -ldflags "-s -w -X $AWS_PROVIDER_MODULE/version.ProviderVersion=$AWS_PROVIDER_VERSION" .)
  mv "$aws_bin.tmp" "$aws_bin"
  # The copy is 300 MiB of source nothing reads again.
  rm -rf "$src"
}

# internal/conns/awsclient_gen.go has a client getter for every one of the 264
# aws-sdk-go-v2 services, so each of their packages would be compiled whatever
# is registered. Keep only the getters that the provider's own packages left
# after the service trim call (18 for the list above): the SDK packages compiled
# drop from 860 to 80. The provider packages are listed with the full file in
# place, which changes nothing: SDK packages import none of them.
trim_aws_clients() { # <provider source dir>
  local src=$1 gen=$1/internal/conns/awsclient_gen.go files called keep pkgs m
  files=$(cd "$src" && go list -deps -f \
    '{{if .Module}}{{if eq .Module.Path "'"$AWS_PROVIDER_MODULE"'"}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}' . |
    grep -v '/internal/conns/awsclient_gen\.go$')
  [[ -n "$files" ]] || { echo "go list found no provider source files"; return 1; }
  called=$(xargs cat <<<"$files" | grep -oE '\.[A-Za-z0-9]+Client\b' | tr -d . | sort -u)
  keep=$(grep -oE '^func \(c \*AWSClient\) [A-Za-z0-9]+Client\(' "$gen" | sed 's/^func (c \*AWSClient) //; s/($//' | sort -u | comm -12 - <(echo "$called") | tr '\n' ' ')
  [[ -n "$keep" ]] || { echo "no client getter of $gen is called: trimming it failed"; return 1; }
  pkgs=$(for m in $keep; do sed -n "s/^func (c \*AWSClient) $m(ctx context.Context) \*\([a-z0-9]*\)\.Client {$/\1/p" "$gen"; done | tr '\n' ' ')
  echo "client getters kept: $keep"
  awk -v keep="$keep" -v pkgs="$pkgs" '
    BEGIN {
      n = split(keep, k, " "); for (i = 1; i <= n; i++) method[k[i]] = 1
      n = split(pkgs, p, " "); for (i = 1; i <= n; i++) sdk["\"github.com/aws/aws-sdk-go-v2/service/" p[i] "\""] = 1
    }
    /^\t"github.com\/aws\/aws-sdk-go-v2\/service\// { if ($1 in sdk) print; next }
    /^func \(c \*AWSClient\) / { m = $4; sub(/\(.*/, "", m); skip = !(m in method) }
    skip { if ($0 == "}") { skip = 0; blank = 1 }; next }
    blank && $0 == "" { blank = 0; next }
    { blank = 0; print }
  ' "$gen" >"$gen.trimmed"
  mv "$gen.trimmed" "$gen"
  gofmt -w "$gen"
}

build_archive_provider() {
  # v1.3.0 predates the go directive and ships a stale vendor/ directory.
  go_build_module "$ARCHIVE_PROVIDER_MODULE" "$ARCHIVE_PROVIDER_GO_VERSION" . "$archive_bin" "" -mod=mod
}

build_tofu() {
  go_build_module github.com/opentofu/opentofu "$OPENTOFU_VERSION" ./cmd/tofu "$bin/tofu" \
    "-X github.com/opentofu/opentofu/version.dev=no"
}

build_rie() {
  go_build_module "$AWS_LAMBDA_RIE_MODULE" "$AWS_LAMBDA_RIE_VERSION" ./cmd/aws-lambda-rie "$bin/aws-lambda-rie" ""
}

# The pin of the client: its version and the Node.js ABI its native part was
# built for.
node_abi=$(node -p process.versions.modules 2>/dev/null || echo none)
ric_pin="$AWS_LAMBDA_RIC_VERSION node-abi=$node_abi"
ric_dir="$root/node/aws-lambda-ric"
ric_bin="$ric_dir/node_modules/aws-lambda-ric/index.mjs"

# npm install into a directory of its own: its preinstall script builds curl
# and aws-lambda-cpp from archives inside the package (cmake, make, a C++
# compiler), and node-gyp links the addon against the headers of the Node.js
# on PATH (nodedir), never downloaded ones.
install_ric() {
  rm -rf "$ric_dir"
  mkdir -p "$ric_dir"
  echo '{"name":"dynamo-replicator-toolchain-ric","version":"0.0.0","private":true}' >"$ric_dir/package.json"
  local nodedir_args=()
  local configured
  configured=$(npm config get nodedir 2>/dev/null || true)
  if [[ -z "$configured" || "$configured" == undefined || "$configured" == null ]] && [[ -f /usr/include/node/node_api.h ]]; then
    nodedir_args=(--nodedir=/usr)
  fi
  # The package asks for Node.js >= 22 but runs on 20 (checked by test/runtime); npm only warns.
  (cd "$ric_dir" && /usr/bin/time -v npm install --no-audit --no-fund --foreground-scripts "${nodedir_args[@]}" "aws-lambda-ric@$AWS_LAMBDA_RIC_VERSION")
  ln -sf "$ric_bin" "$bin/aws-lambda-ric"
  test -f "$ric_dir/node_modules/aws-lambda-ric/rapid-client.node"
}

build_tflint() {
  go_build_module github.com/terraform-linters/tflint "$TFLINT_VERSION" . "$bin/tflint" ""
}

build_terraform_docs() {
  go_build_module github.com/terraform-docs/terraform-docs "$TERRAFORM_DOCS_VERSION" . "$bin/terraform-docs" ""
}

python_venv() { # <name> <requirement>
  local venv="$root/venvs/$1"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$2"
}

install_checkov() {
  python_venv checkov "checkov==$CHECKOV_VERSION"
  ln -sf "$root/venvs/checkov/bin/checkov" "$bin/checkov"
  "$bin/checkov" --version
}

install_moto() {
  python_venv moto "moto[server]==$MOTO_VERSION"
  ln -sf "$root/venvs/moto/bin/moto_server" "$bin/moto_server"
  "$root/venvs/moto/bin/python" -c 'import moto; print(moto.__version__)'
}

# ---- Check prerequisites only for the work actually left --------------------------
need_go=0
[[ $provider_mode == mirror ]] && ! is_current aws-provider "$aws_provider_pin" "$aws_bin" && need_go=1
[[ $provider_mode == mirror ]] && ! is_current archive-provider "$ARCHIVE_PROVIDER_GO_VERSION" "$archive_bin" && need_go=1
[[ $need_tofu_build -eq 1 ]] && ! is_current tofu "$OPENTOFU_VERSION" "$bin/tofu" && need_go=1
! is_current aws-lambda-rie "$AWS_LAMBDA_RIE_VERSION" "$bin/aws-lambda-rie" && need_go=1
! is_current tflint "$TFLINT_VERSION" "$bin/tflint" && need_go=1
! is_current terraform-docs "$TERRAFORM_DOCS_VERSION" "$bin/terraform-docs" && need_go=1
if [[ $need_go -eq 1 ]]; then
  require go "install Go >= 1.26 (tflint and the AWS provider need it), or let its proxy be reachable"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing; install the 'time' package (apt-get install time)"
fi
if ! is_current aws-lambda-ric "$ric_pin" "$ric_bin" "$bin/aws-lambda-ric"; then
  require npm "install Node.js 20+ with npm (aws-lambda-ric comes from the npm registry)"
  require cmake "aws-lambda-ric builds aws-lambda-cpp with it (apt-get install cmake)"
  require make "aws-lambda-ric builds curl and its addon with it (apt-get install build-essential)"
  require g++ "aws-lambda-ric builds its addon with it (apt-get install build-essential)"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing; install the 'time' package (apt-get install time)"
fi

# ---- Run: four lanes on two cores -------------------------------------------------
# Lane 1 is the AWS provider alone (the long pole: ~1 core for most of an hour),
# lane 2 the other Go builds of the Terraform checks one after another, lane 3
# the Python venvs, which mostly wait on the network, lane 4 OpenTofu and the
# Lambda runtime (emulator, then the Node.js client).
lane_aws() {
  if [[ $provider_mode == registry ]]; then
    echo "aws provider: from registry.terraform.io" >"$results/aws-provider"
  elif is_current aws-provider "$aws_provider_pin" "$aws_bin"; then
    cached aws-provider "aws provider $AWS_PROVIDER_VERSION (trimmed)"
  else
    run_step aws-provider "aws provider $AWS_PROVIDER_VERSION (trimmed)" "$aws_provider_pin" build_aws_provider
  fi
}

lane_go() {
  if [[ $provider_mode == registry ]]; then
    echo "archive provider: from registry.terraform.io" >"$results/archive-provider"
  elif is_current archive-provider "$ARCHIVE_PROVIDER_GO_VERSION" "$archive_bin"; then
    cached archive-provider "archive provider $ARCHIVE_PROVIDER_VERSION"
  else
    run_step archive-provider "archive provider $ARCHIVE_PROVIDER_VERSION" "$ARCHIVE_PROVIDER_GO_VERSION" build_archive_provider
  fi
  if is_current tflint "$TFLINT_VERSION" "$bin/tflint"; then
    cached tflint "tflint $TFLINT_VERSION"
  else
    run_step tflint "tflint $TFLINT_VERSION" "$TFLINT_VERSION" build_tflint
  fi
  if is_current terraform-docs "$TERRAFORM_DOCS_VERSION" "$bin/terraform-docs"; then
    cached terraform-docs "terraform-docs $TERRAFORM_DOCS_VERSION"
  else
    run_step terraform-docs "terraform-docs $TERRAFORM_DOCS_VERSION" "$TERRAFORM_DOCS_VERSION" build_terraform_docs
  fi
  if [[ $terraform_binary == terraform ]]; then
    echo "terraform: $(PATH=$path_outside_cache command -v terraform) (on PATH)" >"$results/terraform"
  fi
}

lane_runtime() {
  if [[ $need_tofu_build -eq 0 ]]; then
    echo "tofu: $tofu_binary (on PATH)" >"$results/tofu"
  elif is_current tofu "$OPENTOFU_VERSION" "$bin/tofu"; then
    cached tofu "opentofu $OPENTOFU_VERSION"
  else
    run_step tofu "opentofu $OPENTOFU_VERSION" "$OPENTOFU_VERSION" build_tofu
  fi
  if is_current aws-lambda-rie "$AWS_LAMBDA_RIE_VERSION" "$bin/aws-lambda-rie"; then
    cached aws-lambda-rie "aws-lambda-rie $AWS_LAMBDA_RIE_VERSION"
  else
    run_step aws-lambda-rie "aws-lambda-rie $AWS_LAMBDA_RIE_VERSION" "$AWS_LAMBDA_RIE_VERSION" build_rie
  fi
  if is_current aws-lambda-ric "$ric_pin" "$ric_bin" "$bin/aws-lambda-ric"; then
    cached aws-lambda-ric "aws-lambda-ric $AWS_LAMBDA_RIC_VERSION"
  else
    run_step aws-lambda-ric "aws-lambda-ric $AWS_LAMBDA_RIC_VERSION" "$ric_pin" install_ric
  fi
}

lane_python() {
  if ! is_current checkov "$CHECKOV_VERSION" "$bin/checkov" || ! is_current moto "$MOTO_VERSION" "$bin/moto_server"; then
    if [[ $(python3 -c 'import sys, venv; print(sys.version_info >= (3, 9))' 2>/dev/null) != True ]]; then
      echo "checkov/moto: FAILED: python3 >= 3.9 with the venv module is needed on PATH" >"$results/python.failed"
      return
    fi
  fi
  if is_current checkov "$CHECKOV_VERSION" "$bin/checkov"; then
    cached checkov "checkov $CHECKOV_VERSION"
  else
    run_step checkov "checkov $CHECKOV_VERSION" "$CHECKOV_VERSION" install_checkov
  fi
  if is_current moto "$MOTO_VERSION" "$bin/moto_server"; then
    cached moto "moto_server $MOTO_VERSION"
  else
    run_step moto "moto_server $MOTO_VERSION" "$MOTO_VERSION" install_moto
  fi
}

lane_aws & aws_pid=$!
lane_go & go_pid=$!
lane_python & python_pid=$!
lane_runtime & runtime_pid=$!
wait "$aws_pid" "$go_pid" "$python_pid" "$runtime_pid"

# ---- Report ------------------------------------------------------------------------
for tool in terraform tofu aws-provider archive-provider tflint terraform-docs checkov moto python aws-lambda-rie aws-lambda-ric; do
  for f in "$results/$tool" "$results/$tool.failed"; do
    [[ -f "$f" ]] || continue
    line=$(head -n 1 "$f")
    # Peak memory is in the build log when /usr/bin/time measured it.
    if [[ $line == *"built in"* && -f "$logs/$tool.log" ]]; then
      rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$logs/$tool.log" | sort -n | tail -n 1)
      [[ -n "$rss" ]] && line="$line (peak RSS $(( rss / 1024 )) MiB)"
    fi
    echo "$line"
    tail -n +2 "$f"
  done
done
if compgen -G "$results/*.failed" >/dev/null; then
  die "some tools could not be installed (see above); fix the cause and re-run $0. Builds need the Go module proxy, venvs need PyPI."
fi

# ---- CLI config and env.sh ---------------------------------------------------------
cli_config="$root/terraformrc"
if [[ $provider_mode == mirror ]]; then
  # OpenTofu resolves hashicorp/aws to registry.opentofu.org, so the mirror holds
  # the same binaries under that host too (hard links: no extra disk).
  for host_dir in "$aws_dir" "$archive_dir"; do
    twin="${host_dir/registry.terraform.io/registry.opentofu.org}"
    mkdir -p "$twin"
    for f in "$host_dir"/*; do
      ln -f "$f" "$twin/$(basename "$f")" 2>/dev/null || cp -f "$f" "$twin/"
    done
  done
  cat >"$cli_config" <<EOF
# Written by scripts/toolchain/ensure.sh: registry.terraform.io was unreachable,
# so hashicorp providers come from a local filesystem mirror of builds.
provider_installation {
  filesystem_mirror {
    path    = "$providers"
    include = ["registry.terraform.io/hashicorp/*", "registry.opentofu.org/hashicorp/*"]
  }
}
EOF
else
  cat >"$cli_config" <<EOF
# Written by scripts/toolchain/ensure.sh: registry.terraform.io answers, so
# providers come from it (cached in TF_PLUGIN_CACHE_DIR).
EOF
fi

{
  echo "# Written by $script_dir/ensure.sh; re-run it rather than editing this file."
  echo "export PATH=\"$bin:\$PATH\""
  echo "export TF_CLI_CONFIG_FILE=\"$cli_config\""
  if [[ $provider_mode == registry ]]; then
    mkdir -p "$root/plugin-cache"
    echo "export TF_PLUGIN_CACHE_DIR=\"$root/plugin-cache\""
  else
    # A plugin cache would only copy the mirror's binaries a second time.
    echo "unset TF_PLUGIN_CACHE_DIR"
  fi
  echo "export TERRAFORM_BINARY=\"$terraform_binary\""
  echo "export TOFU_BINARY=\"$tofu_binary\""
  echo "export AWS_LAMBDA_RIE_BIN=\"$bin/aws-lambda-rie\""
  echo "export AWS_LAMBDA_RIC_BIN=\"$bin/aws-lambda-ric\""
  echo "export TFLINT_CONFIG_FILE=\"$script_dir/tflint.hcl\""
  echo "export CHECKOV_BIN=\"$bin/checkov\""
  echo "export MOTO_SERVER_BIN=\"$bin/moto_server\""
  echo "export CHECKPOINT_DISABLE=1"
} >"$root/env.sh"

echo "providers: $provider_mode; TERRAFORM_BINARY=$terraform_binary; TOFU_BINARY=$tofu_binary"
echo "source $root/env.sh"
