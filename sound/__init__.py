"""What touches sound and time itself, shared by the station and the listener: devices, and clocks (a sound card's
DAC time, drift between clocks, the wall clock's offset from the monotonic one)."""
