# shellcheck shell=bash
# Sourced by tests/bench/run when BENCH_NET=veth: the load generator in a
# network namespace of its own, reaching the hubs over a veth pair whose two
# ends receive in threaded NAPI, each end's kernel thread pinned to its side's
# CPU.
#
# Why: on loopback a socket's receive runs in the softirq of the sender's
# send, so every frame a hub writes to the load generator is received (TCP,
# the wake-up) on the servers' CPU, and the load generator's frames on its
# own. Over this pair each side pays for its own receive, as it would with
# the clients on another machine: the hubs' end (VETH_HOST, CPU 0) takes the
# load generator's frames and ACKs, its thread counted with the servers; the
# far end (VETH_PEER, CPU 1) takes the hubs' frames. What it showed
# (RESULTS.md): the ACKs cost the servers what the clients' receive did.
# Needs root (CAP_NET_ADMIN) and ethtool (GRO on is what puts a veth in NAPI
# mode, TSO off what lets TCP use it).

VETH_NS=chathub-bench
VETH_HOST=chbench0
VETH_PEER=chbench1
VETH_NET=10.201.0 # a /24: the hubs on .1, the load generator's sources above
VETH_HUB_ADDR=$VETH_NET.1
VETH_SRC_FIRST=2 VETH_SRC_LAST=20
# shellcheck disable=SC2034 # read by tests/bench/run
VETH_SRC="$VETH_NET.$VETH_SRC_FIRST-$VETH_NET.$VETH_SRC_LAST" # loadgen --src

veth_in_ns() { ip netns exec "$VETH_NS" "$@"; }

# The kernel thread of one end's NAPI ("napi/<dev>-<id>"): its pid.
veth_napi_pid() {
    pgrep -x "napi/$1-[0-9]*" | head -1
}

veth_down() {
    ip link del "$VETH_HOST" 2>/dev/null || true
    ip netns del "$VETH_NS" 2>/dev/null || true
}

# veth_up CPU_HOST CPU_PEER: the pair, addresses, NAPI threads pinned.
veth_up() {
    local cpu_host=$1 cpu_peer=$2 i
    if [ "$(id -u)" != 0 ] || ! command -v ethtool >/dev/null; then
        echo "BENCH_NET=veth needs root and ethtool" >&2
        return 1
    fi
    veth_down
    ip netns add "$VETH_NS"
    ip link add "$VETH_HOST" type veth peer name "$VETH_PEER" netns "$VETH_NS"
    ip addr add "$VETH_HUB_ADDR/24" dev "$VETH_HOST"
    for i in $(seq "$VETH_SRC_FIRST" "$VETH_SRC_LAST"); do
        veth_in_ns ip addr add "$VETH_NET.$i/24" dev "$VETH_PEER"
    done
    ip link set "$VETH_HOST" up
    veth_in_ns ip link set lo up
    veth_in_ns ip link set "$VETH_PEER" up
    # A veth hands a TCP segment to the peer's NAPI only when the sending end
    # has no TSO (veth_skb_is_eligible_for_gro): segments are small here anyway.
    ethtool -K "$VETH_HOST" gro on tso off >/dev/null
    veth_in_ns ethtool -K "$VETH_PEER" gro on tso off >/dev/null
    # A burst bigger than the peer's ring (256) is dropped with no queue (a
    # veth's default), to come back by retransmission 200 ms later; with one
    # the sender waits for room instead, as behind a NIC.
    tc qdisc replace dev "$VETH_HOST" root pfifo limit 100000
    veth_in_ns tc qdisc replace dev "$VETH_PEER" root pfifo limit 100000
    echo 1 >"/sys/class/net/$VETH_HOST/threaded"
    veth_in_ns sh -c "echo 1 >/sys/class/net/$VETH_PEER/threaded"
    local host_pid peer_pid
    host_pid=$(veth_napi_pid "$VETH_HOST")
    peer_pid=$(veth_napi_pid "$VETH_PEER")
    if [ -z "$host_pid" ] || [ -z "$peer_pid" ]; then
        echo "veth: no threaded NAPI on this kernel" >&2
        return 1
    fi
    taskset -pc "$cpu_host" "$host_pid" >/dev/null
    taskset -pc "$cpu_peer" "$peer_pid" >/dev/null
    # shellcheck disable=SC2034 # read by tests/bench/run, which sources this
    VETH_HOST_NAPI_PID=$host_pid
}
