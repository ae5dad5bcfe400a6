"""What crosses the wire, shared by the station and the listeners so nothing is written twice.

Sans-IO except `net`: packet formats (RTP, RTCP), sequence/timestamp wraparound arithmetic and the L16 audio
format. `net` is the one I/O edge both sides share: opening multicast sockets that stay on the chosen interface.
"""
