"""What the chaos writers were told and what the nodes say, and the checks
over them (tests/chaos/chaos.py). A writer's value for a key is v<seq>,
seq growing with every write of that writer, so "its value or a later one"
is a comparison of numbers."""

import re

ROLE = re.compile(r"\[role\] (\w+) -> primary epoch (\d+)")
FO_ROLE = re.compile(r"failover: \w+ -> primary in epoch (\d+)")
STAMP = re.compile(r"^(\d\d:\d\d:\d\d\.\d\d\d) ")
DIVERGENCE = re.compile(r"^\[divergence\] epoch (\d+) new_primary (\S+) "
                        r"nkeys \d+(.*)$")


class Acks:
    """One writer's acknowledged writes, in order: (key, seq, node) where
    node is the incarnation that answered."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.list = []
        self.writes = 0  # every write tried

    def lost(self, final):
        """The acknowledged writes whose key holds neither their value nor
        a later one in final (key -> seq, from the primary's dump)."""
        return [(k, s, n) for k, s, n in self.list if final.get(k, -1) < s]


def parse_dump(answer):
    """The `dump P` answer as key -> seq (values are v<seq>)."""
    out = {}
    for part in answer.split()[1:]:
        k, _, v = part.partition("=")
        if v.startswith("v") and v[1:].isdigit():
            out[k] = max(out.get(k, -1), int(v[1:]))
    return out


class Incarnation:
    """One process of a node slot: its node id and its log."""

    def __init__(self, slot, node, node_id, wiped):
        self.slot = slot
        self.node = node
        self.id = node_id
        self.wiped = False  # its data was later removed
        self.started_wiped = wiped

    def name(self):
        return "node %d (%s)" % (self.slot, self.id[:8])


def primaries_by_epoch(incs):
    """epoch -> {node id: [(incarnation name, time of the log line)]},
    from the role lines in every log."""
    out = {}
    for inc in incs:
        for line in inc.node.logs().splitlines():
            m = ROLE.search(line) or FO_ROLE.search(line)
            if not m:
                continue
            e = int(m.group(m.lastindex))
            t = STAMP.match(line)
            out.setdefault(e, {}).setdefault(inc.id, []).append(
                (inc.name(), t.group(1) if t else "?"))
    return out


def epoch_violations(incs):
    """Epochs in which more than one node id became primary."""
    return {e: ids for e, ids in primaries_by_epoch(incs).items()
            if len(ids) > 1}


def divergences(incs):
    """Every divergence event in every log: (incarnation, epoch, keys set,
    complete)."""
    out = []
    for inc in incs:
        for line in inc.node.logs().splitlines():
            m = DIVERGENCE.match(line)
            if not m:
                continue
            keys, complete = set(), True
            for ev in m.group(3).split():
                rng, nw, comp, ks = ev.split("/", 3)
                complete = complete and comp == "complete"
                if ks != "-":
                    keys |= set(ks.split(","))
            out.append((inc, int(m.group(1)), keys, complete))
    return out


def classify_lost(lost, incs):
    """Splits the writes acknowledged without a majority and then lost:
    reported (the key is in a divergence event), wiped (no report, but the
    node that acknowledged it lost its files since), partial (a node's
    event did not list all its keys) and unexplained."""
    divs = divergences(incs)
    keys = set()
    partial = set()
    for inc, _, ks, complete in divs:
        keys |= ks
        if not complete:
            partial.add(inc.slot)
    out = {"reported": [], "wiped": [], "partial": [], "unexplained": []}
    for k, s, inc in lost:
        if k in keys:
            out["reported"].append((k, s, inc))
        elif inc.wiped:
            out["wiped"].append((k, s, inc))
        elif inc.slot in partial:
            out["partial"].append((k, s, inc))
        else:
            out["unexplained"].append((k, s, inc))
    return out, len(divs)
