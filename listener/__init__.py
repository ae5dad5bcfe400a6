"""A listener: joins the station's multicast group and plays its RTP stream behind a jitter buffer."""
