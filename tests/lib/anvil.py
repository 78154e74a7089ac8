#!/usr/bin/env python3
"""The scenarios' side of a local anvil chain, over raw JSON-RPC (no package beyond Python).

  anvil.py adapt TABLE_IN OUT                 the table `parley eth deploy` printed, made
                                              ready for the scenarios (no key_file, fast polls)
  anvil.py node-table TABLE KEY_FILE OUT      TABLE with this node's key file
  anvil.py block URL                          the latest block number
  anvil.py plus-gas URL ADDRESS BLOCK AMOUNT  AMOUNT + what ADDRESS paid in gas up to BLOCK
  anvil.py transactions URL ADDRESS           the transactions ADDRESS sent, oldest first, one
                                              word each: the function called (by selector),
                                              with "(reverted)" appended if it reverted

The contracts are deployed by `parley eth deploy` (see anvil.sh).
"""

import json
import re
import sys
import tomllib
import urllib.request

# Nodes poll the chain this often, so that a peer's deposit or registration is seen within a
# fraction of a second.
POLL_INTERVAL = "poll_interval_ms = 200"


def rpc(url, method, params=()):
    return batch(url, [(method, list(params))])[0]


def batch(url, calls):
    """Sends calls [(method, params)] as one JSON-RPC batch; returns their results in order."""
    if not calls:
        return []
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answers = {a["id"]: a for a in json.load(response)}
    results = []
    for i, (method, _) in enumerate(calls):
        answer = answers[i]
        if "error" in answer:
            sys.exit(f"anvil.py: {method}: {answer['error'].get('message')}")
        results.append(answer["result"])
    return results


def adapt(table_in, out):
    """Takes the table `parley eth deploy` printed, as printed, less its key_file (each node
    gets its own) and with the scenarios' poll interval."""
    with open(table_in) as f:
        text = f.read()
    with open(table_in, "rb") as f:
        chain = tomllib.load(f).get("chain", {})
    tokens = chain.get("erc20") or []
    if chain.get("plugin") != "ethereum" or "eth_holder" not in chain or not tokens:
        sys.exit(f"anvil.py: {table_in} is not an ethereum [chain] table with ETH and a token")
    if tokens[0]["name"] != "TOK":
        sys.exit(f"anvil.py: {table_in} names its token {tokens[0]['name']}, not TOK")
    text, n = re.subn(r"(?m)^key_file\s*=.*\n", "", text)
    if n != 1:
        sys.exit(f"anvil.py: {table_in} has no key_file line")
    head, sep, rest = text.partition("[[chain.erc20]]")
    with open(out, "w") as f:
        f.write(head.rstrip("\n") + "\n" + POLL_INTERVAL + "\n" + sep + rest)


def node_table(table, key_file, out):
    with open(table) as f:
        text = f.read()
    # key_file goes among the [chain] keys, before the first [[chain.erc20]].
    head, sep, rest = text.partition("\n[[chain.erc20]]")
    with open(out, "w") as f:
        f.write(head.rstrip("\n") + f'\nkey_file = "{key_file}"\n' + sep + rest)


def plus_gas(url, address, block, amount):
    """AMOUNT + the fees ADDRESS's transactions paid in blocks 0..=BLOCK (gasUsed times the
    effective gas price: the whole fee on anvil, which has no L1 data fee)."""
    address = address.lower()
    blocks = batch(url, [("eth_getBlockByNumber", [hex(n), True]) for n in range(block + 1)])
    sent = [tx["hash"] for b in blocks for tx in b["transactions"] if tx["from"].lower() == address]
    receipts = batch(url, [("eth_getTransactionReceipt", [h]) for h in sent])
    spent = sum(int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16) for r in receipts)
    return int(amount) + spent


# The functions a node calls, by selector (contracts/README.md lists them).
FUNCTIONS = {
    "1de26e16": "deposit",
    "095ea7b3": "approve",
    "e9aa7e02": "register",
    "4c8a2c90": "progress",
    "e7c01d05": "conclude",
    "75a87223": "concludeFinal",
    "fca0f778": "withdraw",
}


def transactions(url, address):
    """The transactions ADDRESS sent, oldest first: the function each called (its selector if
    unknown), "(reverted)" appended for a transaction that reverted."""
    address = address.lower()
    head = int(rpc(url, "eth_blockNumber"), 16)
    blocks = batch(url, [("eth_getBlockByNumber", [hex(n), True]) for n in range(head + 1)])
    sent = [tx for b in blocks for tx in b["transactions"] if tx["from"].lower() == address]
    receipts = batch(url, [("eth_getTransactionReceipt", [tx["hash"]]) for tx in sent])
    words = []
    for tx, receipt in zip(sent, receipts):
        selector = tx["input"][2:10]
        word = FUNCTIONS.get(selector, "0x" + selector)
        if int(receipt["status"], 16) != 1:
            word += "(reverted)"
        words.append(word)
    return " ".join(words)


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "adapt":
        adapt(*args)
    elif command == "node-table":
        node_table(*args)
    elif command == "block":
        print(int(rpc(args[0], "eth_blockNumber"), 16))
    elif command == "plus-gas":
        print(plus_gas(args[0], args[1], int(args[2]), args[3]))
    elif command == "transactions":
        print(transactions(args[0], args[1]))
    else:
        sys.exit(f"anvil.py: unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
