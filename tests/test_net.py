"""Multicast and unicast sockets, on loopback only (127.0.0.1, TTL 1): nothing here ever leaves the machine."""

import random
import select
import socket
import time

import pytest

from rtpwire.net import (RECEIVE_BUFFER_BYTES, NetworkError, check_group, drain, interface_address,
                         open_receiver, open_sender, open_unicast_client, open_unicast_server)

LOOPBACK = "127.0.0.1"
NOT_HERE = "192.0.2.123"  # TEST-NET-1 (RFC 5737): never assigned to this machine; nothing is sent to it
TIMEOUT_S = 2.0


@pytest.fixture
def sockets():
    """Collects every socket a test opens and closes them all afterwards, whatever happens."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def group_port():
    """A random local-use group in 239.255.0.0/16 and a random high port, so parallel runs do not meet."""
    rng = random.Random()
    return f"239.255.{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.randrange(20000, 61000)


@pytest.fixture
def track_sockets(monkeypatch):
    """Records every socket.socket created while the test runs, to check none is left open."""
    created: list[socket.socket] = []
    real_socket = socket.socket

    class Tracking(real_socket):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(socket, "socket", Tracking)
    yield created
    for sock in created:
        sock.close()


def receive(sock: socket.socket) -> bytes:
    sock.settimeout(TIMEOUT_S)
    data, _ = sock.recvfrom(65536)
    return data


# --- check_group ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["239.255.0.1", "224.0.0.251", "239.255.255.255", "230.1.2.3"])
def test_check_group_accepts_multicast(group):
    assert check_group(group) == group


@pytest.mark.parametrize("group", ["10.0.0.1", "127.0.0.1", "192.0.2.1", "240.0.0.1", "255.255.255.255"])
def test_check_group_rejects_unicast(group):
    with pytest.raises(ValueError, match=rf"^{group.replace('.', r'[.]')} is not a multicast address \(224\.0\.0\.0/4"):
        check_group(group)


def test_check_group_message_suggests_local_range():
    with pytest.raises(ValueError, match=r"239\.255\.0\.0/16 is for local use"):
        check_group("10.0.0.1")


@pytest.mark.parametrize("group", ["nonsense", "", "239.255.0.256", "239.255.0", "ff02::1", " 239.255.0.1"])
def test_check_group_rejects_non_addresses(group):
    with pytest.raises(ValueError, match=rf"^{repr(group).replace('.', r'[.]')} is not an IPv4 address$"):
        check_group(group)


# --- loopback delivery ---------------------------------------------------------------------------------------


def test_datagram_delivered_on_loopback(sockets, group_port):
    group, port = group_port
    receiver = open_receiver(group, port, LOOPBACK)
    sockets.append(receiver)
    sender = open_sender(group, port, LOOPBACK, ttl=1)
    sockets.append(sender)
    payload = random.randbytes(200)
    sender.send(payload)
    assert receive(receiver) == payload


def test_receiver_is_non_blocking_and_bound_to_group(sockets, group_port):
    group, port = group_port
    receiver = open_receiver(group, port, LOOPBACK)
    sockets.append(receiver)
    assert receiver.getblocking() is False
    assert receiver.getsockname() == (group, port)
    assert receiver.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
    # Linux caps the size asked for at net.core.rmem_max, then doubles it for its own bookkeeping.
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    assert receiver.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * min(RECEIVE_BUFFER_BYTES, rmem_max)
    with pytest.raises(BlockingIOError):
        receiver.recv(100)  # nothing sent: returns at once instead of blocking


def test_sender_options(sockets, group_port):
    group, port = group_port
    sender = open_sender(group, port, LOOPBACK, ttl=1)
    sockets.append(sender)
    assert sender.getpeername() == (group, port)
    assert sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 1
    assert sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1


def test_every_listener_on_the_port_gets_every_datagram(sockets, group_port):
    group, port = group_port
    receivers = [open_receiver(group, port, LOOPBACK) for _ in range(3)]
    sockets.extend(receivers)
    sender = open_sender(group, port, LOOPBACK, ttl=1)
    sockets.append(sender)
    for i in range(3):
        sender.send(b"packet %d" % i)
    for receiver in receivers:
        assert [receive(receiver) for _ in range(3)] == [b"packet 0", b"packet 1", b"packet 2"]


def test_receiver_ignores_other_groups_on_the_same_port(sockets, group_port):
    group, port = group_port
    last = int(group.rsplit(".", 1)[1])
    other = group.rsplit(".", 1)[0] + f".{last % 254 + 1}"
    assert other != group
    receiver = open_receiver(group, port, LOOPBACK)
    sockets.append(receiver)
    other_receiver = open_receiver(other, port, LOOPBACK)
    sockets.append(other_receiver)
    to_other = open_sender(other, port, LOOPBACK, ttl=1)
    sockets.append(to_other)
    to_group = open_sender(group, port, LOOPBACK, ttl=1)
    sockets.append(to_group)
    to_other.send(b"for the other group")
    to_group.send(b"for this group")
    # Loopback keeps order: had the first datagram reached `receiver`, it would come out first.
    assert receive(receiver) == b"for this group"
    assert receive(other_receiver) == b"for the other group"


# --- failures ------------------------------------------------------------------------------------------------


def unknown_interface_name() -> str:
    while True:
        name = f"nosuch{random.randrange(10 ** 8)}"  # at most 14 characters, the kernel's limit is 15
        try:
            socket.if_nametoindex(name)
        except OSError:
            return name


def test_unknown_interface_name_receiver(group_port, track_sockets):
    group, port = group_port
    name = unknown_interface_name()
    with pytest.raises(NetworkError, match=rf"^no network interface named '{name}' \(give its name or IPv4 address\)$"):
        open_receiver(group, port, name)
    assert track_sockets and all(s.fileno() == -1 for s in track_sockets)  # closed on the way out


def test_unknown_interface_name_sender(group_port, track_sockets):
    group, port = group_port
    name = unknown_interface_name()
    with pytest.raises(NetworkError, match=rf"no network interface named '{name}'"):
        open_sender(group, port, name, ttl=1)
    assert track_sockets and all(s.fileno() == -1 for s in track_sockets)


@pytest.fixture
def address_not_here():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((NOT_HERE, 0))  # binding sends nothing; it only succeeds if the address is ours
    except OSError:
        return NOT_HERE
    finally:
        probe.close()
    pytest.skip(f"{NOT_HERE} is an address of this machine")


def test_join_on_address_not_on_this_machine(group_port, address_not_here, track_sockets):
    group, port = group_port
    with pytest.raises(NetworkError) as caught:
        open_receiver(group, port, address_not_here)
    message = str(caught.value)
    assert message.startswith(f"cannot join {group}:{port} on {address_not_here}: ")
    assert "cannot join" in message and group in message
    assert len(message) > len(f"cannot join {group}:{port} on {address_not_here}: ")  # says why, too
    assert track_sockets and all(s.fileno() == -1 for s in track_sockets)


def test_send_on_address_not_on_this_machine(group_port, address_not_here, track_sockets):
    # Only sets the sending interface and connects (UDP: no datagram); nothing is ever sent.
    group, port = group_port
    with pytest.raises(NetworkError, match=rf"^cannot send to {group}:{port} on {address_not_here}: .+"):
        open_sender(group, port, address_not_here, ttl=1)
    assert track_sockets and all(s.fileno() == -1 for s in track_sockets)


def test_network_error_is_not_a_wire_error():
    from rtpwire.errors import WireError
    assert not issubclass(NetworkError, WireError)
    assert issubclass(NetworkError, Exception)


# --- unicast, and arrival times --------------------------------------------------------------------------------


def wait_readable(sock: socket.socket) -> None:
    assert select.select([sock], [], [], TIMEOUT_S)[0], "nothing arrived"


def test_interface_address_of_an_address_is_itself():
    assert interface_address("127.0.0.1") == "127.0.0.1"


def test_interface_address_of_the_loopback_by_name():
    assert interface_address("lo") == "127.0.0.1"


def test_interface_address_of_an_unknown_name():
    name = unknown_interface_name()
    with pytest.raises(NetworkError, match=rf"^no IPv4 address on a network interface named '{name}': "):
        interface_address(name)


def test_unicast_exchange_with_arrival_times_and_senders(sockets, group_port):
    _, port = group_port
    server = open_unicast_server("lo", port)
    sockets.append(server)
    assert server.getsockname() == (LOOPBACK, port)  # the interface's address only, not every address
    client = open_unicast_client("localhost", port)
    sockets.append(client)
    before_s = time.monotonic()
    client.send(b"what time is it?")
    wait_readable(server)
    [(data, arrival_s, sender)] = list(drain(server))
    assert data == b"what time is it?" and sender == client.getsockname()
    assert before_s <= arrival_s <= time.monotonic()  # the kernel's stamp, on the monotonic clock
    server.sendto(b"answer", sender)
    wait_readable(client)
    assert [(data, sender) for data, _, sender in drain(client)] == [(b"answer", (LOOPBACK, port))]
    assert list(drain(client)) == []  # drained: nothing waits, and it does not block


def test_drain_gives_every_datagram_waiting_in_order(sockets, group_port):
    _, port = group_port
    server, client = open_unicast_server(LOOPBACK, port), open_unicast_client(LOOPBACK, port)
    sockets += [server, client]
    for i in range(5):
        client.send(bytes([i]))
    deadline = time.monotonic() + TIMEOUT_S
    got = []
    while len(got) < 5 and time.monotonic() < deadline:
        wait_readable(server)
        got += list(drain(server))
    assert [data for data, _, _ in got] == [bytes([i]) for i in range(5)]
    assert [t for _, t, _ in got] == sorted(t for _, t, _ in got)


def test_a_refused_peer_ends_draining_quietly(sockets, group_port):
    """ICMP port unreachable from a peer that is not there: no exception, nothing drained."""
    _, port = group_port
    client = open_unicast_client(LOOPBACK, port)
    sockets.append(client)
    client.send(b"anyone?")
    time.sleep(0.05)  # lets the kernel's ICMP answer come back
    assert list(drain(client)) == []


def test_a_unicast_port_taken_is_an_error_saying_where(sockets, group_port, track_sockets):
    _, port = group_port
    sockets.append(open_unicast_server(LOOPBACK, port))
    with pytest.raises(NetworkError, match=rf"^cannot listen on 127\.0\.0\.1:{port} \(UDP\): .+"):
        open_unicast_server(LOOPBACK, port)
    assert track_sockets[-1].fileno() == -1


def test_a_host_that_cannot_be_found(track_sockets):
    with pytest.raises(NetworkError, match="^cannot find no-such-host.invalid: "):
        open_unicast_client("no-such-host.invalid", 5006)
    assert not track_sockets
