"""`python -m station`'s own run, up to going on the air: what stops it before (parse_args is
tests/test_station_config.py's)."""

from station.app import EXIT_SDP_FILE, main


def test_sdp_file_that_cannot_be_written_stops_the_station(tmp_path, capsys):
    """Before it goes on the air: a station whose description went nowhere would be one nobody can find."""
    assert main(["--sdp", str(tmp_path / "no" / "such" / "dir.sdp"), "--no-realtime"]) == EXIT_SDP_FILE
    assert f"cannot write the SDP to {tmp_path}/no/such/dir.sdp: No such file or directory" in capsys.readouterr().err
