"""What crosses the wire, shared by the station and the listeners so nothing is written twice.

Sans-IO but for `net`: packet formats (RTP, RTCP, SAP, the time-sync exchange, now-playing), SDP, SRTP, the L16
audio format, RTCP's report timing, and all sequence/timestamp wraparound arithmetic (`seqnum`). `net` is the one
I/O edge both sides share: the sockets datagrams cross the wire through, which stay on the chosen interface.
"""
