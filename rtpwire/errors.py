"""The single exception for bad input from the network."""


class WireError(ValueError):
    """A datagram that is not a valid packet of the expected kind; the message says exactly what is wrong."""
