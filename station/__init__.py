"""The broadcaster: music files or a capture device to RTP on an IP multicast group, in real time."""
