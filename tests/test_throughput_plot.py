"""The batch's plot: a PNG, whatever the rounds measured."""

from test_throughput_figures import a_round, client

from throughput_testing.figures import Missing, Round
from throughput_testing.plot import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_a_png_of_rounds_met_degraded_and_unmeasured(tmp_path):
    rounds = [a_round([client(1)]),
              a_round([client(i, lost=100) for i in range(1, 6)], busy=99.0),
              a_round([], missing=[Missing(1, "exited")], asked=10),
              Round(clients=20, seconds=20.0, listeners=(client(),), missing=(), station=None, busy_percent=20.0,
                    cores=2)]
    path = tmp_path / "throughput.png"
    plot(rounds, path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert path.stat().st_size > 10_000  # three panels drawn, not an empty canvas
