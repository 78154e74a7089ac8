#!/usr/bin/env bash
# `parley run` serves the JSON-RPC API: the bound address is in data/api.addr, every call needs
# the bearer token from data/api.token, the node answers node_info, peer_add/peer_list,
# balance and channel_get, refuses bad input by the JSON-RPC rules (an address it cannot dial,
# amounts as JSON numbers, object ids, oversized bodies), and a clean shutdown removes
# api.addr. The token is never printed.
source "$(dirname "$0")/../lib/common.sh"

step "parley init a node and run it until the API listens"
"$PARLEY" init "$SCRATCH/alice" --ledger "$SCRATCH/ledger" >"$SCRATCH/init.out" 2>&1 \
  || { cat "$SCRATCH/init.out" >&2; fail "parley init failed"; }
node_id=$(grep -o 'node id: *0x[0-9a-f]*' "$SCRATCH/init.out" | grep -o '0x[0-9a-f]*')
[ -n "$node_id" ] || fail "parley init does not print the node id"
start_bg run "$PARLEY" run --config "$SCRATCH/alice/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/run.log" "API listening address="
data="$SCRATCH/alice/data"
[ -s "$data/api.addr" ] || fail "no api.addr after the API is listening"
[ -s "$data/api.token" ] || fail "no api.token"

# rpc OUT METHOD PARAMS_JSON [auth|noauth]: POSTs one call; writes "<http status>\n<body>" to OUT.
rpc() {
  python3 - "$data" "$1" "$2" "$3" "${4:-auth}" <<'PY'
import json, sys, urllib.request, urllib.error
data, out, method, params, auth = sys.argv[1:6]
addr = open(data + "/api.addr").read().strip()
body = {"jsonrpc": "2.0", "id": 1, "method": method}
if params:
    body["params"] = json.loads(params)
request = urllib.request.Request("http://" + addr, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
if auth == "auth":
    token = open(data + "/api.token").read().strip()
    request.add_header("Authorization", "Bearer " + token)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        status, text = response.status, response.read().decode()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read().decode()
with open(out, "w") as f:
    f.write(f"{status}\n{text}\n")
PY
}

# field OUT PYTHON_EXPR: evaluates EXPR on the JSON body of OUT (bound as `r`).
field() {
  python3 - "$1" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n", 1)
r = json.loads(lines[1])
print(eval(sys.argv[2]))
PY
}

step "a call without the token is refused with HTTP 401"
rpc "$SCRATCH/noauth.out" node_info "" noauth || fail "the unauthenticated call did not complete"
[ "$(head -n 1 "$SCRATCH/noauth.out")" = "401" ] || { cat "$SCRATCH/noauth.out" >&2; fail "no 401 without the token"; }

step "node_info returns the id init printed"
rpc "$SCRATCH/info.out" node_info "" || fail "node_info failed"
[ "$(head -n 1 "$SCRATCH/info.out")" = "200" ] || { cat "$SCRATCH/info.out" >&2; fail "node_info not HTTP 200"; }
[ "$(field "$SCRATCH/info.out" 'r["result"]["node_id"]')" = "$node_id" ] \
  || { cat "$SCRATCH/info.out" >&2; fail "node_info gives another node id"; }
[ -n "$(field "$SCRATCH/info.out" 'r["result"]["listen_address"]')" ] || fail "node_info has no listen address"

step "peer_add, then peer_list shows the peer"
# 1·G and 2·G of secp256k1: valid node ids of nobody running here.
peer_id="0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
other_id="0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
rpc "$SCRATCH/add.out" peer_add "{\"alias\":\"bob\",\"node_id\":\"$peer_id\",\"transport_address\":\"127.0.0.1:4999\"}" \
  || fail "peer_add failed"
[ "$(field "$SCRATCH/add.out" 'r.get("result", {}).get("alias")')" = "bob" ] \
  || { cat "$SCRATCH/add.out" >&2; fail "peer_add did not return the peer"; }
rpc "$SCRATCH/list.out" peer_list "" || fail "peer_list failed"
[ "$(field "$SCRATCH/list.out" '[(p["alias"], p["node_id"], p["transport_address"]) for p in r["result"]] == [("bob", "'"$peer_id"'", "127.0.0.1:4999")]')" = "True" ] \
  || { cat "$SCRATCH/list.out" >&2; fail "peer_list does not show bob"; }
rpc "$SCRATCH/dup.out" peer_add "{\"alias\":\"bob\",\"node_id\":\"$other_id\",\"transport_address\":\"127.0.0.1:4998\"}" \
  || fail "the second peer_add did not complete"
[ "$(field "$SCRATCH/dup.out" 'r["error"]["code"]')" = "1005" ] || { cat "$SCRATCH/dup.out" >&2; fail "an alias taken by another node is not a conflict"; }
rpc "$SCRATCH/self.out" peer_add "{\"alias\":\"me\",\"node_id\":\"$node_id\",\"transport_address\":\"127.0.0.1:4998\"}" \
  || fail "peer_add of our own id did not complete"
[ "$(field "$SCRATCH/self.out" 'r["error"]["code"]')" = "1001" ] || { cat "$SCRATCH/self.out" >&2; fail "our own id is accepted as a peer"; }
rpc "$SCRATCH/list2.out" peer_list "" || fail "peer_list failed"
[ "$(field "$SCRATCH/list2.out" 'len(r["result"])')" = "1" ] || { cat "$SCRATCH/list2.out" >&2; fail "a refused peer_add changed the peers"; }

step "balance returns decimal amounts"
rpc "$SCRATCH/balance.out" balance '{"asset":"ETH"}' || fail "balance failed"
[ "$(field "$SCRATCH/balance.out" 'all(b["amount"].isdigit() for b in r["result"]) and [b["asset"] for b in r["result"]] == ["ETH"]')" = "True" ] \
  || { cat "$SCRATCH/balance.out" >&2; fail "balance is not a decimal ETH amount"; }
rpc "$SCRATCH/badasset.out" balance '{"asset":"NOPE"}' || fail "balance of an unknown asset did not complete"
[ "$(field "$SCRATCH/badasset.out" 'r["error"]["code"]')" = "1001" ] \
  || { cat "$SCRATCH/badasset.out" >&2; fail "an unknown asset is not invalid_argument"; }

step "channel_get of an unknown channel is not_found (1002); channel_open to an unreachable peer is unavailable (1006)"
rpc "$SCRATCH/get.out" channel_get "{\"id\":\"0x$(printf 'ab%.0s' $(seq 32))\"}" || fail "channel_get failed"
[ "$(field "$SCRATCH/get.out" 'r["error"]["code"]')" = "1002" ] \
  || { cat "$SCRATCH/get.out" >&2; fail "channel_get of an unknown id is not 1002"; }
rpc "$SCRATCH/list-ch.out" channel_list "" || fail "channel_list failed"
[ "$(field "$SCRATCH/list-ch.out" 'r["result"]')" = "[]" ] || { cat "$SCRATCH/list-ch.out" >&2; fail "a fresh node has channels"; }
rpc "$SCRATCH/open.out" channel_open '{"peer":"bob","mine":"1","theirs":"1"}' || fail "channel_open did not complete"
[ "$(field "$SCRATCH/open.out" 'r["error"]["code"]')" = "1006" ] \
  || { cat "$SCRATCH/open.out" >&2; fail "channel_open to an unreachable peer is not unavailable"; }

step "peer_add refuses an address it could never dial, and amounts must be decimal strings"
rpc "$SCRATCH/badaddr.out" peer_add "{\"alias\":\"carol\",\"node_id\":\"$other_id\",\"transport_address\":\"not an address\"}" \
  || fail "peer_add with a bad address did not complete"
[ "$(field "$SCRATCH/badaddr.out" 'r["error"]["code"], r["error"]["data"]["details"]["param"]')" = "(1001, 'transport_address')" ] \
  || { cat "$SCRATCH/badaddr.out" >&2; fail "peer_add accepts \"not an address\""; }
rpc "$SCRATCH/port0.out" peer_add "{\"alias\":\"carol\",\"node_id\":\"$other_id\",\"transport_address\":\"127.0.0.1:0\"}" \
  || fail "peer_add with port 0 did not complete"
[ "$(field "$SCRATCH/port0.out" 'r["error"]["code"], "port 0" in r["error"]["message"]')" = "(1001, True)" ] \
  || { cat "$SCRATCH/port0.out" >&2; fail "peer_add accepts port 0"; }
rpc "$SCRATCH/list3.out" peer_list "" || fail "peer_list failed"
[ "$(field "$SCRATCH/list3.out" 'len(r["result"])')" = "1" ] || { cat "$SCRATCH/list3.out" >&2; fail "a refused peer_add stored a peer"; }
rpc "$SCRATCH/number.out" channel_open '{"peer":"bob","mine":100,"theirs":"0"}' || fail "channel_open did not complete"
[ "$(field "$SCRATCH/number.out" 'r["error"]["code"], r["error"]["data"]["details"]["param"], "decimal strings" in r["error"]["message"]')" = "(1001, 'mine', True)" ] \
  || { cat "$SCRATCH/number.out" >&2; fail "an amount sent as a JSON number is accepted"; }

# raw OUT KIND: sends a request jsonrpc cannot express through rpc(); writes "<status>\n<body>".
raw() {
  python3 - "$data" "$1" "$2" <<'PY'
import http.client, json, sys
data, out, kind = sys.argv[1:4]
host, port = open(data + "/api.addr").read().strip().rsplit(":", 1)
headers = {"Content-Type": "application/json",
           "Authorization": "Bearer " + open(data + "/api.token").read().strip()}
connection = http.client.HTTPConnection(host, int(port), timeout=10)
try:
    if kind == "object_id":
        body = json.dumps({"jsonrpc": "2.0", "id": {"n": 1}, "method": "node_info"})
        connection.request("POST", "/", body=body, headers=headers)
    else:  # a chunked body of 1 MiB + 1 byte
        call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "node_info"}).encode()
        body = call + b" " * (1024 * 1024 + 1 - len(call))
        chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
        connection.request("POST", "/", body=chunks, headers=headers, encode_chunked=True)
except (BrokenPipeError, ConnectionResetError):
    pass  # the server may answer before it has read everything
response = connection.getresponse()
with open(out, "w") as f:
    f.write(f"{response.status}\n{response.read().decode()}\n")
PY
}

step "an id that is an object is an Invalid Request (-32600, id null); a chunked body over 1 MiB is 413"
raw "$SCRATCH/objectid.out" object_id || fail "the call with an object id did not complete"
[ "$(head -n 1 "$SCRATCH/objectid.out")" = "200" ] || { cat "$SCRATCH/objectid.out" >&2; fail "object id: not HTTP 200"; }
[ "$(field "$SCRATCH/objectid.out" 'r["error"]["code"], r["id"]')" = "(-32600, None)" ] \
  || { cat "$SCRATCH/objectid.out" >&2; fail "an object id is not an Invalid Request with id null"; }
raw "$SCRATCH/chunked.out" chunked_oversized || fail "the oversized chunked call did not complete"
[ "$(head -n 1 "$SCRATCH/chunked.out")" = "413" ] || { cat "$SCRATCH/chunked.out" >&2; fail "an oversized chunked body is not 413"; }

step "GET /health answers without the token; /metrics and calls need it"
python3 - "$data" >"$SCRATCH/health.out" <<'PY' || fail "GET /health failed"
import json, sys, urllib.request
addr = open(sys.argv[1] + "/api.addr").read().strip()
with urllib.request.urlopen("http://" + addr + "/health", timeout=10) as response:
    body = json.loads(response.read())
    assert response.status == 200, response.status
    assert body["status"] == "ok", body
    assert set(body) == {"status", "version"}, body
print("ok")
PY
python3 - "$data" >"$SCRATCH/metrics.out" <<'PY' || fail "GET /metrics failed"
import sys, urllib.request, urllib.error
data = sys.argv[1]
addr = open(data + "/api.addr").read().strip()
token = open(data + "/api.token").read().strip()
try:
    urllib.request.urlopen("http://" + addr + "/metrics", timeout=10)
    raise SystemExit("GET /metrics without the token was answered")
except urllib.error.HTTPError as error:
    assert error.code == 401, error.code
request = urllib.request.Request("http://" + addr + "/metrics",
                                 headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(request, timeout=10) as response:
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    text = response.read().decode()
for series in ("parley_payments_total{outcome=\"completed\"} 0", "parley_peers_connected 0",
               "# TYPE parley_payment_seconds histogram", "parley_store_commits_total"):
    assert series in text, series + " missing:\n" + text
print("ok")
PY
rpc "$SCRATCH/health-rpc" node_info "" noauth
[ "$(head -n 1 "$SCRATCH/health-rpc")" = 401 ] || fail "a call without the token was not refused: $(cat "$SCRATCH/health-rpc")"

step "SIGTERM stops it with exit 0 and removes api.addr; the token is in no output"
kill -TERM "$pid"
wait "$pid" || fail "parley run exited with $? after SIGTERM"
assert_contains "$SCRATCH/run.log" "SIGTERM received, shutting down"
assert_contains "$SCRATCH/run.log" "stopped"
[ ! -e "$data/api.addr" ] || fail "api.addr is still there after a clean shutdown"
token=$(tr -d '\n' <"$data/api.token")
for f in "$SCRATCH"/*.log "$SCRATCH"/*.out; do
  if grep -qF -- "$token" "$f"; then fail "the API token appears in $(basename "$f")"; fi
done
echo "api: ok"
