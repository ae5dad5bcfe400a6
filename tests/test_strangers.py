"""Other senders on the group: remembered for the report, a bounded few, however many come."""

from listener.strangers import REMEMBERED, Strangers


def test_none_heard():
    assert (Strangers().count, Strangers().describe()) == (0, "")


def test_one_stranger_described_with_its_address():
    strangers = Strangers()
    strangers.note(0xABCD, ("10.0.0.9", 4000))
    strangers.note(0xABCD, ("10.0.0.9", 4000))
    assert strangers.count == 1
    assert strangers.describe() == "ignoring SSRC 0000abcd from 10.0.0.9:4000"


def test_same_ssrc_from_another_address_is_another_sender():
    strangers = Strangers()
    strangers.note(1, ("10.0.0.9", 4000))
    strangers.note(1, ("10.0.0.10", 4000))
    strangers.note(2, None)
    assert strangers.describe() == "ignoring SSRC 00000001 from 10.0.0.9:4000 and 2 more"


def test_a_flood_is_counted_up_to_a_bound():
    strangers = Strangers()
    for ssrc in range(10 * REMEMBERED):
        strangers.note(ssrc, ("10.0.0.9", ssrc))
    assert strangers.count == REMEMBERED
    assert strangers.describe().endswith(f"and {REMEMBERED - 1}+ more")
