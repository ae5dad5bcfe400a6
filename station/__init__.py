"""The broadcaster: music files (or later a capture device) to RTP on an IP multicast group, in real time."""
