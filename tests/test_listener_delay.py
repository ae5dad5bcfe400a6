"""A listener's own delay in an SDES PRIV item: the exact bytes, the decimals written and read back."""

import re

import pytest

from rtpwire.errors import WireError
from rtpwire.listener_delay import DELAY_PREFIX, delay_item, reported_delay_ms
from rtpwire.rtcp import SDES_CNAME, SDES_NAME, SdesChunk, SourceDescription, parse_compound, priv_item


def chunk(*items: tuple[int, str]) -> SdesChunk:
    """A chunk as the station receives it: through the wire."""
    (sdes,) = parse_compound(bytes(SourceDescription((SdesChunk(1, ((SDES_CNAME, "l@h"), *items)),))))
    return sdes.chunks[0]


def test_the_item_on_the_wire():
    assert bytes(SdesChunk(1, (delay_item(50),)))[4:] == b"\x08\x0d\x0ax-delay-ms50\x00"


@pytest.mark.parametrize("delay_ms, text", [(50, "50"), (50.0, "50"), (-12.5, "-12.5"), (100, "100"),
                                            (0.25, "0.25"), (1234.5678, "1234.568"), (-2000, "-2000"),
                                            (1e12, "1000000000000")])
def test_decimals_without_exponent_or_trailing_zeros(delay_ms, text):
    assert delay_item(delay_ms) == priv_item(DELAY_PREFIX, text)
    assert reported_delay_ms(chunk(delay_item(delay_ms))) == float(text)


def test_no_item_no_delay():
    assert reported_delay_ms(chunk((SDES_NAME, "Kitchen"), priv_item("x-other", "5"))) is None


@pytest.mark.parametrize("value", ["+50", "007", "-0.5"])
def test_decimals_other_writers_may_send_are_read(value):
    assert reported_delay_ms(chunk(priv_item(DELAY_PREFIX, value))) == float(value)


@pytest.mark.parametrize("value", ["", "fifty", "nan", "-inf", "1e3", "5.", ".5", " 5", "5 ms", "1_000", "٥"])
def test_what_is_no_decimal_is_refused(value):
    message = f"RTCP SDES PRIV x-delay-ms value {value!r} is not a decimal number"
    with pytest.raises(WireError, match=f"^{re.escape(message)}$"):
        reported_delay_ms(chunk(priv_item(DELAY_PREFIX, value)))
