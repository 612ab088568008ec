#!/usr/bin/env bash
# Worst-case work per request before authentication (issue 11 item 1; a benchmark, not a test).
#
# For every parser an unauthenticated request reaches (token request form, Basic header, client
# assertion, access token, registration JSON, remote JWK set), an adversarial input of the
# largest accepted size is timed side by side with a benign input of the same byte size, and
# the ratio adversarial / benign is printed per parser and shell. Target: at most 3×.
#
#   benign       a well-formed request a real client could send, of the same size, through the
#                same code path: a valid client_secret_basic token request padded with one
#                ignored parameter (RFC 6749 §3.2); a valid Basic header of a client whose secret
#                is that long; a valid client_secret_jwt assertion padded with one long claim; a
#                valid access token padded with one long claim; a valid private_key_jwt
#                registration padded with one unknown member (RFC 7591 §2); a JWK set of three
#                keys, one with a long x5c.
#   adversarial  the same size, just under every cap (so it is parsed in full), built for the
#                most work per byte: 64 form parameters with long common-prefix names, 256
#                distinct scope tokens with a long common prefix, 16 resource URIs, escapes,
#                ~65,000 empty & segments; an 8 KiB Basic header of escapes; assertions and
#                access tokens at their JSON value budgets (64 per part; 1024 for an access
#                token's payload) with common-prefix names, \u escapes, long numbers, nesting to
#                the depth limit; a registration at every cap (64 members, 256 values, 256
#                scopes, 16 contacts, 10 RSA-4096 or RSA-8192 keys); a JWK set of 100 keys.
#                Token requests name a known client with a wrong secret or a forged assertion,
#                access tokens carry the right kid and a signature by another key: what an
#                unauthenticated attacker can send (the answer is 401). The adversarial
#                registration is accepted (201). Variants: `worst_case describe`.
#
# Shells (each interleaves adversarial and benign batches, A B / B A, and reports medians):
#   core   core/examples/worst_case.rs, release build: "whole" = what the host spends before
#          it answers (endpoint::token_response, verify_access_token + scope check,
#          registration::register, JwkSet::from_json), "parse" = the parser alone
#          (parse_token_request, UntrustedToken::parse, json::parse_object); wall time.
#   npm    node-binding/bench/worst-case.mjs: AuthorizationServer.handle(new Request(..)) and
#          verifyAccessToken in Node; wall time per request.
#   envoy  bench/worst_case_envoy.py: real Envoy 1.40 with the proxy-wasm filter, the token
#          endpoint and the enforcement path; Envoy's CPU time per request.
#
#   bash bench/worst-case.sh                     # everything (builds what it needs), ~3-4 min
#   bash bench/worst-case.sh --quick             # smoke run, ~1 min after the builds
#   bash bench/worst-case.sh --shells core,npm   # a subset
#   bash bench/worst-case.sh --markdown          # the summary as the README's table
#   bash bench/worst-case.sh --instructions      # also the core's instruction counts per
#                                                # request (valgrind callgrind; deterministic,
#                                                # so independent of the machine's load), ~30 s
#
# Results: target/worst-case/{cases,core,npm,envoy}.json. Numbers depend on the machine and on
# whatever else runs on it; the ratios are what to compare.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=()
shells="core,npm,envoy"
markdown=()
instructions=0
while (($#)); do
  case "$1" in
    --quick) quick=(--quick) ;;
    --shells)
      shells="${2:?--shells needs a list}"
      shift
      ;;
    --markdown) markdown=(--markdown) ;;
    --instructions) instructions=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "worst-case.sh: unknown argument $1 (--quick, --shells LIST, --markdown, --instructions)" >&2
      exit 2
      ;;
  esac
  shift
done
want() { [[ ",$shells," == *",$1,"* ]]; }

out="$root/target/worst-case"
rm -rf "$out"
mkdir -p "$out"

# One cargo build at a time.
cargo build -q --release -p gatepass-core --example worst_case
bin="$root/target/release/examples/worst_case"
now="$(date +%s)"
"$bin" write "$out" --now "$now" >/dev/null

if want core; then
  echo
  "$bin" bench "${quick[@]}" --now "$now" --json "$out/core.json"
fi

if ((instructions)); then
  bash scripts/install-deb.sh valgrind
  n=10
  mkdir -p "$out/callgrind"
  echo "$n" >"$out/callgrind/n"
  cp "$out/cases.json" "$out/callgrind/cases.json"
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind/cg.out" \
    --toggle-collect='worst_case::measured' --dump-after='worst_case::measured' \
    "$bin" count "$n" >"$out/callgrind/order.txt" 2>"$out/callgrind/valgrind.log"
  echo
  echo "core (native, release): instructions per request (valgrind callgrind, $n calls each)"
  printf '%-17s %-16s %-6s %13s %13s %8s\n' parser variant stage adversarial benign ratio
  python3 bench/worst_case_report.py --callgrind "$out/callgrind" "$out/core-instr.json"
fi

if want npm; then
  bash node-binding/build.sh >/dev/null
  echo
  node node-binding/bench/worst-case.mjs "$out/cases.json" "${quick[@]}" --json "$out/npm.json"
fi

if want envoy; then
  bash scripts/envoy.sh
  bash scripts/build-filter.sh >/dev/null
  echo
  "$root/.venv/bin/python" bench/worst_case_envoy.py "$out/cases.json" "${quick[@]}" --json "$out/envoy.json"
fi

python3 bench/worst_case_report.py "$out"/core.json "$out"/core-instr.json "$out"/npm.json "$out"/envoy.json "${markdown[@]}"
