"""What touches sound itself, shared by the station and the listener: devices, and clock drift."""
