"""Sound devices without a sound server: a fake PyAudio and fake `pactl` behind find_device, list_devices,
pulse_names and CallbackStream, and quiet_stderr giving fd 2 back."""

import os
import subprocess
import threading
from types import SimpleNamespace

import pytest

import sound.devices as devices
from rtpwire.audio import L16_STEREO
from sound.devices import (CallbackStream, Device, DeviceError, find_device, list_devices, pulse_names,
                           quiet_stderr)

ADVICE = "see --list-devices"
PA_INT16 = 8  # pyaudio.paInt16

# A laptop's PortAudio view: the card (both ways), its HDMI output, a USB microphone, and the ALSA pulse and
# default devices of a PulseAudio server.
CARD = "HDA Intel PCH: ALC3246 Analog (hw:0,0)"
HDMI = "HDA Intel PCH: HDMI 0 (hw:0,3)"
USB_MIC = "USB Audio Device: Mic (hw:1,0)"
LAPTOP = [
    (CARD, 2, 2, 44100.0),
    (HDMI, 0, 8, 44100.0),
    (USB_MIC, 1, 0, 48000.0),
    ("pulse", 32, 32, 44100.0),
    ("default", 32, 32, 44100.0),
]
PULSE, DEFAULT = 3, 4
NO_PULSE = [row if row[0] != "pulse" else ("dmix", 0, 2, 48000.0) for row in LAPTOP]  # no PulseAudio


class FakePyAudio:
    """What sound.devices asks of pyaudio.PyAudio: the devices as (name, inputs, outputs, rate), the default
    indexes (None: PortAudio has none and raises as PyAudio does), and open() recording its keyword arguments
    and the PulseAudio variables as they are while the stream opens, or raising `open_error`."""

    def __init__(self, table=LAPTOP, default_output=DEFAULT, default_input=DEFAULT, open_error=None):
        self.table = table
        self.default_output = default_output
        self.default_input = default_input
        self.open_error = open_error
        self.opens = []
        self.terminated = 0

    def get_device_count(self):
        return len(self.table)

    def get_device_info_by_index(self, index):
        name, inputs, outputs, rate = self.table[index]
        return {"index": index, "name": name, "maxInputChannels": inputs, "maxOutputChannels": outputs,
                "defaultSampleRate": rate}

    def get_default_output_device_info(self):
        if self.default_output is None:
            raise OSError("No Default Output Device Available")
        return self.get_device_info_by_index(self.default_output)

    def get_default_input_device_info(self):
        if self.default_input is None:
            raise OSError("No Default Input Device Available")
        return self.get_device_info_by_index(self.default_input)

    def open(self, **kwargs):
        self.opens.append(dict(kwargs, PULSE_SINK=os.environ.get("PULSE_SINK"),
                               PULSE_SOURCE=os.environ.get("PULSE_SOURCE")))
        if self.open_error is not None:
            raise self.open_error
        return "stream"

    def terminate(self):
        self.terminated += 1


@pytest.fixture
def audio(monkeypatch):
    """The fake PyAudio find_device and list_devices get, and a PulseAudio server with sinks `null` and `s`
    and sources `null.monitor` and `mic`."""
    fake = FakePyAudio()
    monkeypatch.setattr(devices, "open_pyaudio", lambda: fake)
    monkeypatch.setattr(devices, "pulse_names",
                        lambda direction: ["null", "s"] if direction == "output" else ["null.monitor", "mic"])
    return fake


def _callback(in_data, frame_count, time_info, status):
    return None, 0


def _error(spec, direction="output"):
    with pytest.raises(DeviceError) as info:
        find_device(spec, direction, ADVICE)
    return str(info.value)


# --- find_device: the default -------------------------------------------------------------------------------

def test_default_output(audio):
    assert find_device(None, "output", ADVICE) == Device(DEFAULT, "default", 32, 44100)
    assert audio.terminated == 1
    assert audio.opens == []


def test_default_input(audio):
    audio.default_input = 2
    assert find_device(None, "input", ADVICE) == Device(2, USB_MIC, 1, 48000)


@pytest.mark.parametrize("direction", ["output", "input"])
def test_no_default_device_says_none_exists_and_advises(audio, direction):
    audio.table = []
    audio.default_output = audio.default_input = None
    message = _error(None, direction)
    assert message.startswith(f"no audio {direction} device")
    assert "sound server" in message
    assert message.endswith(f"; {ADVICE}")
    assert audio.terminated == 1


def test_default_of_the_other_direction_only_is_no_default(audio):
    audio.default_input = 1  # an output-only device: PortAudio would not say so, but never take it as input
    assert "no audio input device" in _error(None, "input")


# --- find_device: by index ----------------------------------------------------------------------------------

def test_index(audio):
    assert find_device("0", "output", ADVICE) == Device(0, CARD, 2, 44100)
    assert find_device("1", "output", ADVICE) == Device(1, HDMI, 8, 44100)
    assert find_device("2", "input", ADVICE) == Device(2, USB_MIC, 1, 48000)


def test_nonexistent_index(audio):
    assert _error("99") == f"no audio output device #99; {ADVICE}"


def test_output_only_index_is_no_input_and_never_opened(audio):
    """PortAudio crashes on an input index that is not an input device: refused before anything is opened."""
    assert _error("1", "input") == f"no audio input device #1; {ADVICE}"
    assert _error("2", "output") == f"no audio output device #2; {ADVICE}"
    assert audio.opens == []
    assert audio.terminated == 2


def test_index_wins_over_a_name_of_digits(audio):
    audio.table = LAPTOP + [("0", 2, 2, 44100.0)]
    assert find_device("0", "output", ADVICE).name == CARD


def test_superscript_digit_is_an_error_not_a_crash(audio):
    _error("²")


# --- find_device: by name -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [HDMI, HDMI.lower(), HDMI.upper()])
def test_exact_name_case_insensitively(audio, spec):
    assert find_device(spec, "output", ADVICE).index == 1


def test_exact_name_wins_over_partial_of_others(audio):
    audio.table = LAPTOP + [("pulse monitor", 2, 2, 44100.0)]
    assert find_device("PULSE", "output", ADVICE) == Device(PULSE, "pulse", 32, 44100)


def test_exact_portaudio_name_wins_over_a_pulseaudio_name(audio, monkeypatch):
    monkeypatch.setattr(devices, "pulse_names", lambda direction: ["default"])
    assert find_device("default", "output", ADVICE).pulse_name is None


@pytest.mark.parametrize("direction, name", [("output", "null"), ("input", "null.monitor"), ("input", "mic")])
def test_pulseaudio_name(audio, direction, name):
    assert find_device(name, direction, ADVICE) == Device(PULSE, "pulse", 32, 44100, pulse_name=name)


def test_pulseaudio_name_is_case_sensitive(audio):
    assert "no audio output device 'NULL'" in _error("NULL")


def test_pulseaudio_name_wins_over_a_partial_portaudio_name(audio):
    """'s' is a part of 'pulse' alone, but the PulseAudio sink 's' is what was meant."""
    assert find_device("s", "output", ADVICE).pulse_name == "s"


def test_pulseaudio_name_wins_over_an_ambiguous_partial(audio):
    # 'mic' is a part of the USB microphone's name only; 's' of it and of 'pulse'
    assert find_device("mic", "input", ADVICE).pulse_name == "mic"


def test_pulseaudio_names_of_the_direction_only(audio):
    assert "no audio input device 'null'" in _error("null", "input")
    assert "no audio output device 'mic'" in _error("mic", "output")


def test_pulseaudio_names_only_through_a_pulse_device(audio, monkeypatch):
    asked = []
    monkeypatch.setattr(devices, "pulse_names", lambda direction: asked.append(direction) or ["null"])
    audio.table = NO_PULSE
    assert _error("null") == f"no audio output device 'null'; {ADVICE}"
    assert asked == []


def test_unique_partial_name(audio):
    assert find_device("hdmi", "output", ADVICE).index == 1
    assert find_device("usb", "input", ADVICE).index == 2
    assert find_device("puls", "output", ADVICE) == Device(PULSE, "pulse", 32, 44100)


def test_ambiguous_partial_name_lists_candidates(audio):
    message = _error("hda")
    assert message == f"audio output device 'hda' is ambiguous ({CARD}, {HDMI}); {ADVICE}"


def test_partial_name_of_the_direction_only(audio):
    # 'hda' is ambiguous for output, but only the card records
    assert find_device("hda", "input", ADVICE).index == 0


def test_unknown_name(audio):
    assert _error("speakers") == f"no audio output device 'speakers'; {ADVICE}"
    assert audio.opens == []


# --- Device.describe ----------------------------------------------------------------------------------------

def test_describe_portaudio_device():
    assert Device(1, HDMI, 8, 44100).describe() == f"{HDMI} (#1)"


def test_describe_pulseaudio_device():
    assert Device(PULSE, "pulse", 32, 44100, pulse_name="null.monitor").describe() == "PulseAudio null.monitor"


# --- list_devices -------------------------------------------------------------------------------------------

def test_list_output_devices(audio):
    assert list_devices("output") == "\n".join([
        "audio output devices (--device INDEX or NAME):",
        f"    0  {CARD}  2 ch, 44100 Hz",
        f"    1  {HDMI}  8 ch, 44100 Hz",
        "    3  pulse  32 ch, 44100 Hz",
        "    4  default  32 ch, 44100 Hz  (default)",
        "PulseAudio sinks (by name, through the pulse device):",
        "       null",
        "       s",
    ])
    assert audio.terminated == 1


def test_list_input_devices(audio):
    audio.default_input = 2
    text = list_devices("input")
    assert text.splitlines()[0] == "audio input devices (--mic INDEX or NAME):"
    assert f"    2  {USB_MIC}  1 ch, 48000 Hz  (default)" in text
    assert HDMI not in text
    assert text.count("(default)") == 1
    assert text.endswith("PulseAudio sources (by name, through the pulse device):\n       null.monitor\n       mic")


def test_list_without_default_marks_none(audio):
    audio.default_output = None
    assert "(default)" not in list_devices("output")


def test_list_without_pulseaudio_names_has_no_section(audio, monkeypatch):
    monkeypatch.setattr(devices, "pulse_names", lambda direction: [])
    text = list_devices("output")
    assert "PulseAudio" not in text
    assert text.splitlines()[-1] == "    4  default  32 ch, 44100 Hz  (default)"


def test_list_no_devices_says_none_helpfully(audio, monkeypatch):
    monkeypatch.setattr(devices, "pulse_names", lambda direction: [])
    audio.table = []
    audio.default_output = None
    assert list_devices("output") == ("audio output devices (--device INDEX or NAME):\n"
                                      "  none: no sound card, and no sound server such as PulseAudio running")


def test_list_offers_pulseaudio_names_only_through_a_pulse_device(audio):
    audio.table = NO_PULSE
    with pytest.raises(DeviceError):
        find_device("null", "output", ADVICE)
    assert "null" not in list_devices("output")


# --- pulse_names --------------------------------------------------------------------------------------------

SINKS = ("0\talsa_output.pci-0000_00_1f.3.analog-stereo\tmodule-alsa-card.c\ts16le 2ch 44100Hz\tSUSPENDED\n"
         "1\tnull\tmodule-null-sink.c\ts16le 2ch 44100Hz\tIDLE\n"
         "\n")


@pytest.fixture
def pactl(monkeypatch):
    """A fake `pactl` on the PATH answering `outcome` (the listing, or an exception to raise); the commands
    it was run with."""
    state = SimpleNamespace(outcome=SINKS, commands=[])

    def run(command, **kwargs):
        state.commands.append(command)
        if isinstance(state.outcome, BaseException):
            raise state.outcome
        return SimpleNamespace(stdout=state.outcome, returncode=0)

    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/pactl" if name == "pactl" else None)
    monkeypatch.setattr(devices.subprocess, "run", run)
    return state


def test_pulse_names_parses_short_listing(pactl):
    assert pulse_names("output") == ["alsa_output.pci-0000_00_1f.3.analog-stereo", "null"]
    assert pactl.commands == [["/usr/bin/pactl", "list", "short", "sinks"]]


def test_pulse_names_sources(pactl):
    pactl.outcome = "0\tnull.monitor\tmodule-null-sink.c\ts16le 2ch 44100Hz\tIDLE\n"
    assert pulse_names("input") == ["null.monitor"]
    assert pactl.commands == [["/usr/bin/pactl", "list", "short", "sources"]]


def test_pulse_names_empty_listing(pactl):
    pactl.outcome = ""
    assert pulse_names("output") == []


def test_pulse_names_without_pactl(pactl, monkeypatch):
    monkeypatch.setattr(devices.shutil, "which", lambda name: None)
    assert pulse_names("output") == []
    assert pactl.commands == []


@pytest.mark.parametrize("error", [
    subprocess.CalledProcessError(1, ["pactl"], stderr="Connection failure: Connection refused"),
    subprocess.TimeoutExpired(["pactl"], 5),
    FileNotFoundError(2, "No such file or directory"),
    PermissionError(13, "Permission denied"),
])
def test_pulse_names_when_pactl_fails(pactl, error, monkeypatch):
    pactl.outcome = error
    assert pulse_names("output") == []


# --- CallbackStream --------------------------------------------------------------------------------------------

NULL_SINK = Device(PULSE, "pulse", 32, 44100, pulse_name="null")
MONITOR = Device(PULSE, "pulse", 32, 44100, pulse_name="null.monitor")
CARD_DEVICE = Device(0, CARD, 2, 44100)


def _open(monkeypatch, audio, device, direction="output"):
    monkeypatch.setattr(devices, "open_pyaudio", lambda: audio)
    return CallbackStream(device, L16_STEREO, direction, 441, _callback, ADVICE)


def test_open_output_arguments(monkeypatch):
    monkeypatch.delenv("PULSE_SINK", raising=False)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    audio = FakePyAudio()
    _open(monkeypatch, audio, CARD_DEVICE)
    assert audio.opens == [dict(format=PA_INT16, channels=2, rate=44100, frames_per_buffer=441,
                                stream_callback=_callback, input_device_index=None, output_device_index=0,
                                input=False, output=True, PULSE_SINK=None, PULSE_SOURCE=None)]


def test_open_input_arguments(monkeypatch):
    monkeypatch.delenv("PULSE_SINK", raising=False)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    audio = FakePyAudio()
    _open(monkeypatch, audio, Device(2, USB_MIC, 1, 48000), "input")
    (opened,) = audio.opens
    assert (opened["input_device_index"], opened["output_device_index"]) == (2, None)
    assert (opened["input"], opened["output"]) == (True, False)
    assert (opened["channels"], opened["rate"]) == (2, 44100)  # the format's, not the device's


def test_open_pulse_sink_only_while_opening_when_unset(monkeypatch):
    monkeypatch.delenv("PULSE_SINK", raising=False)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    audio = FakePyAudio()
    _open(monkeypatch, audio, NULL_SINK)
    (opened,) = audio.opens
    assert (opened["PULSE_SINK"], opened["PULSE_SOURCE"]) == ("null", None)
    assert opened["output_device_index"] == PULSE
    assert "PULSE_SINK" not in os.environ
    assert "PULSE_SOURCE" not in os.environ


def test_open_pulse_source_only_while_opening_when_set(monkeypatch):
    monkeypatch.setenv("PULSE_SINK", "user-sink")
    monkeypatch.setenv("PULSE_SOURCE", "user-source")
    audio = FakePyAudio()
    _open(monkeypatch, audio, MONITOR, "input")
    (opened,) = audio.opens
    assert (opened["PULSE_SINK"], opened["PULSE_SOURCE"]) == ("user-sink", "null.monitor")
    assert opened["input_device_index"] == PULSE
    assert os.environ["PULSE_SINK"] == "user-sink"
    assert os.environ["PULSE_SOURCE"] == "user-source"


def test_open_portaudio_device_leaves_pulse_variables_alone(monkeypatch):
    monkeypatch.setenv("PULSE_SINK", "user-sink")
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    audio = FakePyAudio()
    _open(monkeypatch, audio, CARD_DEVICE)
    assert audio.opens[0]["PULSE_SINK"] == "user-sink"
    assert os.environ["PULSE_SINK"] == "user-sink"
    assert "PULSE_SOURCE" not in os.environ


@pytest.mark.parametrize("saved", [None, "user-sink"])
def test_open_failure_restores_pulse_variable(monkeypatch, saved):
    if saved is None:
        monkeypatch.delenv("PULSE_SINK", raising=False)
    else:
        monkeypatch.setenv("PULSE_SINK", saved)
    audio = FakePyAudio(open_error=OSError(-9996, "Invalid output device (no default output device)"))
    with pytest.raises(DeviceError):
        _open(monkeypatch, audio, NULL_SINK)
    assert audio.opens[0]["PULSE_SINK"] == "null"
    assert os.environ.get("PULSE_SINK") == saved
    assert audio.terminated == 1  # the PortAudio instance is released with the failed stream


def test_open_oserror_names_device_format_cause_and_advice(monkeypatch):
    audio = FakePyAudio(open_error=OSError(-9996, "Invalid output device (no default output device)"))
    with pytest.raises(DeviceError) as info:
        _open(monkeypatch, audio, NULL_SINK)
    assert str(info.value) == ("cannot open audio output PulseAudio null for L16 44100 Hz stereo (PT 10): "
                               f"Invalid output device (no default output device); {ADVICE}")
    assert "-9996" not in str(info.value)


def test_open_oserror_of_a_portaudio_device(monkeypatch):
    audio = FakePyAudio(open_error=OSError(-9997, "Invalid sample rate"))
    with pytest.raises(DeviceError) as info:
        _open(monkeypatch, audio, Device(2, USB_MIC, 1, 48000), "input")
    assert str(info.value) == (f"cannot open audio input {USB_MIC} (#2) for {L16_STEREO.describe()}: "
                               f"Invalid sample rate; {ADVICE}")


def test_open_oserror_without_errno_keeps_its_text(monkeypatch):
    audio = FakePyAudio(open_error=OSError("Device unavailable"))
    with pytest.raises(DeviceError) as info:
        _open(monkeypatch, audio, CARD_DEVICE)
    assert f": Device unavailable; {ADVICE}" in str(info.value)


def test_open_valueerror_is_a_device_error(monkeypatch):
    audio = FakePyAudio(open_error=ValueError("Invalid number of channels"))
    with pytest.raises(DeviceError) as info:
        _open(monkeypatch, audio, CARD_DEVICE)
    assert str(info.value) == (f"cannot open audio output {CARD} (#0) for {L16_STEREO.describe()}: "
                               f"Invalid number of channels; {ADVICE}")


def test_open_other_errors_pass_through(monkeypatch):
    monkeypatch.delenv("PULSE_SINK", raising=False)
    audio = FakePyAudio(open_error=RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        _open(monkeypatch, audio, NULL_SINK)
    assert "PULSE_SINK" not in os.environ


# --- quiet_stderr -------------------------------------------------------------------------------------------

def test_quiet_stderr_hides_then_restores_fd_2(capfd):
    os.write(2, b"before\n")
    with quiet_stderr():
        os.write(2, b"ALSA lib pcm.c: unable to open slave\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_quiet_stderr_restores_fd_2_after_an_exception(capfd):
    with pytest.raises(KeyError), quiet_stderr():
        os.write(2, b"hidden\n")
        raise KeyError("x")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_quiet_stderr_leaks_no_descriptor():
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with quiet_stderr():
            pass
    assert len(os.listdir("/proc/self/fd")) == before


# --- PortAudio's lifecycle, one thread at a time ------------------------------------------------------------

class SlowToTerminate(FakePyAudio):
    """A PortAudio instance whose stream opens and closes at once and whose terminate() takes until `release`
    is set, logging when it starts and ends."""

    def __init__(self, log):
        super().__init__()
        self.log = log
        self.terminating = threading.Event()
        self.release = threading.Event()

    def open(self, **kwargs):
        super().open(**kwargs)
        return SimpleNamespace(stop_stream=lambda: None, close=lambda: None)

    def terminate(self):
        self.log.append("terminate begins")
        self.terminating.set()
        self.release.wait(5)
        self.log.append("terminate ends")


def test_a_device_closing_holds_back_a_survey_on_another_thread(monkeypatch):
    """Pa_Terminate and Pa_Initialize on two threads at once corrupt PortAudio's state: a microphone being
    closed off the station's loop while the operator asks for the next device must not overlap."""
    log = []
    closing = SlowToTerminate(log)
    stream = _open(monkeypatch, closing, CARD_DEVICE)
    monkeypatch.setattr(devices, "open_pyaudio", lambda: log.append("initialize") or FakePyAudio())
    closer = threading.Thread(target=stream.close)
    closer.start()
    assert closing.terminating.wait(5)
    surveyor = threading.Thread(target=find_device, args=(None, "output", ADVICE))
    surveyor.start()
    surveyor.join(0.2)  # without the lock, the survey would be done by now
    closing.release.set()
    closer.join(5)
    surveyor.join(5)
    assert not closer.is_alive() and not surveyor.is_alive()
    assert log == ["terminate begins", "terminate ends", "initialize"]
