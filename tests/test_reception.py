from listener.reception import DUPLICATE_WINDOW, ReceptionStats


def feed(stats: ReceptionStats, sequences: list[int], spacing_s: float = 0.005) -> list[int | None]:
    return [stats.on_packet(seq, i * 220, i * spacing_s, 880) for i, seq in enumerate(sequences)]


def test_loss_is_expected_minus_received():
    stats = ReceptionStats(44100)
    feed(stats, [10, 11, 13, 16])
    assert stats.expected == 7
    assert stats.received == 4
    assert stats.lost == 3


def test_reordering_is_not_loss():
    stats = ReceptionStats(44100)
    feed(stats, [10, 12, 11, 13])
    assert stats.lost == 0
    assert stats.received == 4


def test_duplicates_counted_not_received_twice():
    stats = ReceptionStats(44100)
    result = feed(stats, [10, 11, 11, 12, 10])
    assert result[2] is None and result[4] is None
    assert stats.duplicates == 2
    assert stats.received == 3
    assert stats.payload_bytes == 3 * 880


def test_seq_wraparound():
    stats = ReceptionStats(44100)
    result = feed(stats, [65534, 65535, 0, 1])
    assert result == [65534, 65535, 65536, 65537]
    assert stats.lost == 0


def test_packet_older_than_the_window_is_ignored():
    stats = ReceptionStats(44100)
    feed(stats, list(range(0, DUPLICATE_WINDOW + 10)))
    assert stats.on_packet(0, 0, 100.0, 880) is None
    assert stats.too_old == 1


def test_jitter_zero_for_steady_arrivals_and_grows_with_variation():
    steady = ReceptionStats(44100)
    for i in range(200):
        steady.on_packet(i, i * 220, i * 220 / 44100 + 0.002, 880)
    assert steady.jitter_s < 1e-9
    shaky = ReceptionStats(44100)
    for i in range(200):
        shaky.on_packet(i, i * 220, i * 220 / 44100 + (0.004 if i % 2 else 0.0), 880)
    assert 0.003 < shaky.jitter_s < 0.005  # RFC 3550 estimate converges to the mean |D| = 4 ms


def test_fraction_lost_is_per_report_interval():
    stats = ReceptionStats(44100)
    feed(stats, [0, 1, 2, 3])
    assert stats.fraction_lost_since_last() == 0
    feed(stats, [5, 7, 8])  # 4 to 8 expected since: 5 packets, 3 of them received
    assert stats.fraction_lost_since_last() == (2 << 8) // 5


def test_no_fraction_when_nothing_arrived_since_the_last_report():
    stats = ReceptionStats(44100)
    assert stats.fraction_lost_since_last() is None
    feed(stats, [0, 1])
    stats.fraction_lost_since_last()
    assert stats.fraction_lost_since_last() is None


def test_a_late_packet_filling_a_gap_is_no_loss_in_its_interval():
    stats = ReceptionStats(44100)
    feed(stats, [0, 2])
    assert stats.fraction_lost_since_last() == (1 << 8) // 3
    stats.on_packet(1, 220, 1.0, 880)  # arrives after the report: one more received, none more expected
    assert stats.fraction_lost_since_last() == 0
    assert stats.lost == 0


def test_total_loss_of_an_interval_is_just_under_one():
    stats = ReceptionStats(44100)
    feed(stats, [0])
    stats.fraction_lost_since_last()
    feed(stats, [1000])
    assert stats.fraction_lost_since_last() == (999 << 8) // 1000 < 256


def test_jitter_samples_is_jitter_in_timestamp_units():
    stats = ReceptionStats(44100)
    for i in range(200):
        stats.on_packet(i, i * 220, i * 220 / 44100 + (0.004 if i % 2 else 0.0), 880)
    assert stats.jitter_samples == stats.jitter_s * 44100


def test_a_stray_far_ahead_moves_nothing():
    stats = ReceptionStats(44100)
    feed(stats, list(range(100)))
    assert stats.on_packet(100 + 5 * DUPLICATE_WINDOW, 0, 1.0, 880) is None
    assert [stats.on_packet(seq, seq * 220, 1.0, 880) for seq in (100, 101)] == [100, 101]
    assert stats.highest_sequence == 101 and stats.received == 102 and stats.lost == 0


def test_a_jump_far_ahead_is_believed_when_the_next_packet_follows_it():
    """As after a long outage: the packets missed are lost, the first one back did arrive."""
    stats = ReceptionStats(44100)
    feed(stats, list(range(100)))
    back = 100 + 3 * DUPLICATE_WINDOW
    assert stats.on_packet(back, 0, 20.0, 880) is None
    assert stats.on_packet(back + 1, 220, 20.005, 880) == back + 1
    assert stats.received == 102 and stats.lost == back - 100 and stats.payload_bytes == 102 * 880
    assert stats.on_packet(back, 0, 20.01, 880) is None and stats.duplicates == 1


def test_rebuilt_packet_is_recovered_not_received():
    """FEC's packets keep loss the wire's (RFC 3550): lost 1, recovered 1, unrecovered 0."""
    stats = ReceptionStats(44100)
    feed(stats, [10, 11, 13])
    assert stats.on_recovered(12) == 12
    assert (stats.received, stats.lost, stats.recovered, stats.unrecovered) == (3, 1, 1, 0)
    assert stats.on_recovered(12) is None and stats.on_recovered(11) is None  # rebuilt, or received, already
    assert stats.recovered == 1


def test_rebuilt_then_received_late_is_received():
    stats = ReceptionStats(44100)
    feed(stats, [10, 11, 13])
    stats.on_recovered(12)
    stats.on_packet(12, 2 * 220, 0.1, 880)
    assert (stats.received, stats.lost, stats.recovered, stats.unrecovered) == (4, 0, 0, 0)


def test_rebuilt_from_before_the_first_received_is_no_loss_of_this_listener():
    """A listener that joined mid-block rebuilds packets sent before it joined: neither lost nor recovered."""
    stats = ReceptionStats(44100)
    feed(stats, [11, 12])
    assert stats.on_recovered(10) is None
    assert (stats.expected, stats.lost, stats.recovered, stats.unrecovered) == (2, 0, 0, 0)


def test_fraction_unrecovered_since_last_report():
    stats = ReceptionStats(44100)
    feed(stats, [0])
    stats.fraction_lost_since_last()
    feed(stats, [1, 2, 3, 6, 7, 8, 9, 10])  # 4 and 5 lost
    stats.on_recovered(4)
    assert stats.fraction_lost_since_last() == (2 << 8) // 10
    assert stats.fraction_unrecovered == (1 << 8) // 10
