"""What the programs (station, listener, relay, throughput batch) share on their command lines: where the stream
is (group, port, interface), ranged numbers, and the SRTP key file."""
