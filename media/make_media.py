#!/usr/bin/env python3
"""Generate the station's sample music: three short synthesized pieces.

The station needs audio to play in development and tests, and that audio must
be free of third-party rights.  So the project makes its own: every sound here
is computed from scratch with numpy (oscillators, envelopes, noise, a simple
convolution reverb), with fixed random seeds so each run gives the same music.

The pieces are deliberately written in different containers, sample rates and
channel counts, so that the station's decoding and resampling paths all get
exercised:

* ``01-tide-pool.wav``      22050 Hz, mono, 16-bit PCM (stdlib ``wave``)
* ``02-neon-arcade.mp3``    44100 Hz, stereo, MP3 128 kbit/s (``ffmpeg``)
* ``03-lantern-waltz.ogg``  48000 Hz, stereo, Ogg Vorbis (``ffmpeg``)

Run from the repository root with ``python3 media/make_media.py``; existing
outputs are overwritten.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

MEDIA_DIR = Path(__file__).resolve().parent
PEAK_DBFS = -3.0  # headroom so lossy encoders cannot push samples past 0 dBFS
ARTIST = "Station house synth (media/make_media.py)"
ALBUM = "Station sample media"

# An instrument turns (frequency Hz, gate seconds, velocity 0..1, sample rate,
# random generator) into a mono signal that may ring past the gate.
Instrument = Callable[[float, float, float, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Note:
    """One event in a score, in beats so that tempo is applied only once."""

    beat: float
    beats: float
    pitch: int
    vel: float = 1.0


# --------------------------------------------------------------------------
# Basic signal helpers
# --------------------------------------------------------------------------


def midi_hz(pitch: float) -> float:
    """Equal-tempered frequency, so every part agrees on tuning (A4 = 440)."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def times(n: int, sr: int) -> np.ndarray:
    """Sample times in seconds; shared by every generator."""
    return np.arange(n) / sr


def adsr(sr: int, gate: float, attack: float, decay: float,
         sustain: float, release: float) -> np.ndarray:
    """Attack/decay/sustain/release curve, so notes start and stop without clicks."""
    t = times(max(1, int(gate * sr)), sr)
    rise = np.clip(t / max(attack, 1e-4), 0.0, 1.0)
    fall = sustain + (1 - sustain) * np.exp(-np.maximum(t - attack, 0) / max(decay, 1e-4))
    body = rise * fall
    n_rel = max(1, int(release * sr))
    tail = body[-1] * np.exp(-5 * np.arange(n_rel) / n_rel) * np.linspace(1, 0, n_rel)
    return np.concatenate([body, tail])


def damp_after(sig: np.ndarray, sr: int, gate: float, tau: float) -> np.ndarray:
    """Mute a ringing tone after its gate, like a finger or damper landing on it."""
    t = times(len(sig), sr)
    return sig * np.exp(-np.maximum(t - gate, 0) / tau)


def spectral_filter(x: np.ndarray, sr: int, low: float | None = None,
                    high: float | None = None, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth-shaped band limit via FFT.

    Offline rendering lets us filter whole notes in the frequency domain,
    which avoids a per-sample IIR loop in Python.
    """
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))  # padding avoids circular wrap
    spec = np.fft.rfft(x, size)
    f = np.fft.rfftfreq(size, 1 / sr)
    gain = np.ones_like(f)
    if high is not None:
        gain /= np.sqrt(1 + (f / high) ** (2 * order))
    if low is not None:
        gain /= np.sqrt(1 + (low / np.maximum(f, 1e-6)) ** (2 * order))
    return np.fft.irfft(spec * gain, size)[:n]


def polyblep(t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Residual that smooths waveform jumps, so saws and squares do not alias badly."""
    out = np.zeros_like(t)
    m = t < dt
    x = t[m] / dt[m]
    out[m] = x + x - x * x - 1
    m = t > 1 - dt
    x = (t[m] - 1) / dt[m]
    out[m] = x * x + x + x + 1
    return out


def saw(phase: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth from a phase in cycles: the raw material of pads."""
    t = phase % 1.0
    return 2 * t - 1 - polyblep(t, dt)


def square(phase: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Band-limited square as the difference of two saws: the chiptune voice."""
    return 0.5 * (saw(phase, dt) - saw(phase + 0.5, dt))


def steady(freq: float, n: int, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Phase (cycles) and per-sample increment for a constant pitch."""
    dt = np.full(n, freq / sr)
    return np.cumsum(dt) - dt[0], dt


def fade_end(sig: np.ndarray, sr: int, seconds: float = 0.005) -> np.ndarray:
    """Ramp the last few milliseconds to zero, so a truncated sound cannot click."""
    k = min(len(sig), int(seconds * sr))
    out = sig.copy()
    out[len(sig) - k:] *= np.linspace(1.0, 0.0, k)
    return out


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White noise from the track's seeded generator, so output is repeatable."""
    return rng.uniform(-1.0, 1.0, n)


# --------------------------------------------------------------------------
# Pitched instruments
# --------------------------------------------------------------------------


def pluck(freq: float, gate: float, vel: float, sr: int,
          rng: np.random.Generator) -> np.ndarray:
    """Additive plucked string: upper partials die faster than the fundamental.

    Additive synthesis keeps every note exactly in tune, which a Karplus-Strong
    delay line of whole samples cannot do at 22050 Hz.
    """
    n = int((gate + 0.9) * sr)
    t = times(n, sr)
    out = np.zeros(n)
    for h in range(1, 16):
        fh = freq * h * (1 + 0.0003 * h * h)  # slight stiffness, like a real string
        if fh > 0.45 * sr:
            break
        amp = abs(np.sin(np.pi * h * 0.23)) / h ** 1.2
        out += amp * np.exp(-t / (1.5 / (1 + 0.6 * (h - 1)))) * np.sin(2 * np.pi * fh * t)
    out += 0.15 * spectral_filter(noise(n, rng), sr, low=2000) * np.exp(-t / 0.004)
    out *= np.clip(t / 0.002, 0, 1)
    return 0.5 * vel * damp_after(out, sr, gate + 0.15, 0.12)


def soft_bass(freq: float, gate: float, vel: float, sr: int,
              rng: np.random.Generator) -> np.ndarray:
    """Round sine bass with a little saturation so it is audible on small speakers."""
    env = adsr(sr, gate, 0.01, 0.3, 0.6, 0.12)
    t = times(len(env), sr)
    tone = np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(4 * np.pi * freq * t)
    return 0.6 * vel * np.tanh(1.5 * tone) * env


def pulse_bass(freq: float, gate: float, vel: float, sr: int,
               rng: np.random.Generator) -> np.ndarray:
    """Filtered square bass: the driving eighth-note engine of the arcade piece."""
    env = adsr(sr, gate, 0.003, 0.12, 0.5, 0.04)
    phase, dt = steady(freq, len(env), sr)
    tone = spectral_filter(square(phase, dt), sr, high=900, order=2)
    return 0.7 * vel * tone * env


def upright_bass(freq: float, gate: float, vel: float, sr: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Plucked acoustic-style bass: decays on its own, suits a waltz's 'oom'."""
    n = int((gate + 0.3) * sr)
    t = times(n, sr)
    tone = (np.sin(2 * np.pi * freq * t) + 0.4 * np.sin(4 * np.pi * freq * t) * np.exp(-t / 0.25)
            + 0.15 * np.sin(6 * np.pi * freq * t) * np.exp(-t / 0.1))
    env = np.exp(-t / 0.7) * np.clip(t / 0.006, 0, 1)
    return 0.65 * vel * damp_after(tone * env, sr, gate, 0.08)


def chip_lead(freq: float, gate: float, vel: float, sr: int,
              rng: np.random.Generator) -> np.ndarray:
    """Square lead with delayed vibrato, the classic game-console singing voice."""
    env = adsr(sr, gate, 0.008, 0.2, 0.7, 0.1)
    t = times(len(env), sr)
    depth = 0.005 * np.clip((t - 0.15) / 0.2, 0, 1)
    inst = freq * (1 + depth * np.sin(2 * np.pi * 5.5 * t))
    dt = inst / sr
    tone = square(np.cumsum(dt), dt)
    return 0.4 * vel * spectral_filter(tone, sr, high=3500) * env


def saw_arp(freq: float, gate: float, vel: float, sr: int,
            rng: np.random.Generator) -> np.ndarray:
    """Short, filtered saw blip: fast arpeggios spell out the chords."""
    n = int((gate + 0.15) * sr)
    t = times(n, sr)
    phase, dt = steady(freq, n, sr)
    env = np.exp(-t / 0.09) * np.clip(t / 0.002, 0, 1)
    return 0.35 * vel * spectral_filter(saw(phase, dt), sr, high=2500) * env


def stab(freq: float, gate: float, vel: float, sr: int,
         rng: np.random.Generator) -> np.ndarray:
    """Two detuned saws with a long release: the arcade piece's final chord."""
    env = adsr(sr, gate, 0.005, 0.4, 0.5, 1.0)
    n = len(env)
    tone = np.sum([saw(*steady(freq * c, n, sr)) for c in (0.997, 1.003)], axis=0)
    return 0.25 * vel * spectral_filter(tone, sr, high=2200) * env


def pad(freq: float, gate: float, vel: float, sr: int,
        rng: np.random.Generator) -> np.ndarray:
    """Warm string-like pad: three detuned saws, slow attack, heavy low-pass."""
    env = adsr(sr, gate, 0.35, 0.6, 0.8, 0.9)
    n = len(env)
    tone = np.sum([saw(*steady(freq * 2 ** (c / 1200), n, sr)) for c in (-8, 0, 8)], axis=0)
    return 0.12 * vel * spectral_filter(tone, sr, high=1100) * env


def fm_epiano(freq: float, gate: float, vel: float, sr: int,
              rng: np.random.Generator) -> np.ndarray:
    """Two-operator FM electric piano: harder notes sound brighter, as on a DX7."""
    n = int((gate + 1.0) * sr)
    t = times(n, sr)
    index = 0.2 + 1.8 * vel * np.exp(-t / 0.5)
    body = np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * freq * t))
    if 14 * freq < 0.45 * sr:  # metallic 'tine' only where it fits under Nyquist
        body += 0.12 * np.exp(-t / 0.04) * np.sin(2 * np.pi * 14 * freq * t)
    env = np.exp(-t / 1.4) * np.clip(t / 0.002, 0, 1)
    return 0.4 * vel * damp_after(body * env, sr, gate, 0.2)


# --------------------------------------------------------------------------
# Percussion (frequency argument ignored)
# --------------------------------------------------------------------------


def kick(freq: float, gate: float, vel: float, sr: int,
         rng: np.random.Generator) -> np.ndarray:
    """Sine with a falling pitch sweep: the body of an electronic bass drum."""
    n = int(0.45 * sr)
    t = times(n, sr)
    f = 48 + 110 * np.exp(-t / 0.035)
    body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.16)
    click = noise(n, rng) * np.exp(-t / 0.003) * 0.3
    return 0.9 * vel * (body + click)


def snare(freq: float, gate: float, vel: float, sr: int,
          rng: np.random.Generator) -> np.ndarray:
    """Tone plus high-passed noise: the backbeat."""
    n = int(0.3 * sr)
    t = times(n, sr)
    tone = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.06)
    rattle = spectral_filter(noise(n, rng), sr, low=1500) * np.exp(-t / 0.1)
    return 0.55 * vel * (tone + rattle)


def make_hat(decay: float) -> Instrument:
    """Bright noise tick; the decay time makes it a closed hat, open hat or crash."""

    def hat(freq: float, gate: float, vel: float, sr: int,
            rng: np.random.Generator) -> np.ndarray:
        n = int(min(decay * 6, 3.0) * sr)
        t = times(n, sr)
        tone = spectral_filter(noise(n, rng), sr, low=min(7000, 0.3 * sr))
        return 0.3 * vel * tone * np.exp(-t / decay)

    return hat


def shaker(freq: float, gate: float, vel: float, sr: int,
           rng: np.random.Generator) -> np.ndarray:
    """Band-passed noise with a soft attack: a gentle eighth-note pulse."""
    n = int(0.15 * sr)
    t = times(n, sr)
    env = np.clip(t / 0.012, 0, 1) * np.exp(-np.maximum(t - 0.012, 0) / 0.035)
    return 0.3 * vel * spectral_filter(noise(n, rng), sr, low=3500, high=9000) * env


def rim(freq: float, gate: float, vel: float, sr: int,
        rng: np.random.Generator) -> np.ndarray:
    """Short woody click, lighter than a snare for the quiet opening piece."""
    n = int(0.08 * sr)
    t = times(n, sr)
    tone = np.sin(2 * np.pi * 1700 * t) + 0.5 * spectral_filter(noise(n, rng), sr, low=2500)
    return 0.35 * vel * tone * np.exp(-t / 0.012)


def brush(freq: float, gate: float, vel: float, sr: int,
          rng: np.random.Generator) -> np.ndarray:
    """Slow-attack noise swish, a brush on a snare for the waltz's 'pah-pah'."""
    n = int(0.3 * sr)
    t = times(n, sr)
    env = np.clip(t / 0.03, 0, 1) * np.exp(-np.maximum(t - 0.03, 0) / 0.08)
    return 0.3 * vel * spectral_filter(noise(n, rng), sr, low=1500, high=6000) * env


# --------------------------------------------------------------------------
# Sequencing and mixing
# --------------------------------------------------------------------------


# A score written bar by bar: (beat in bar, length in beats, MIDI pitch[, velocity]).
Event = tuple[float, ...]


def bars(bar_beats: int, per_bar: Sequence[Sequence[Event]]) -> list[Note]:
    """Turn per-bar events into absolute notes, so scores read like sheet music."""
    return [Note(i * bar_beats + e[0], e[1], int(e[2]), *e[3:])
            for i, bar in enumerate(per_bar) for e in bar]


def pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan (-1 left .. +1 right) into an (n, 2) array."""
    angle = (position + 1) * np.pi / 4
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


@dataclass
class Session:
    """Render settings shared by every part of one piece, so parts need not repeat them.

    The seeded generator lives here: each piece draws all of its noise from
    one stream, which is what makes the output identical on every run.
    """

    sr: int
    bpm: float
    beats: float  # length of the score
    tail: float  # seconds of ring-out after the score
    seed: int
    rng: np.random.Generator = field(init=False)
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.n = int((self.beats * 60.0 / self.bpm + self.tail) * self.sr)

    def play(self, notes: Sequence[Note], inst: Instrument) -> np.ndarray:
        """Play a score on one instrument into a mono buffer of the piece's length."""
        buf = np.zeros(self.n)
        spb = 60.0 / self.bpm
        for note in notes:
            start = int(round(note.beat * spb * self.sr))
            sig = inst(midi_hz(note.pitch), note.beats * spb, note.vel, self.sr, self.rng)
            sig = fade_end(sig, self.sr)
            end = min(self.n, start + len(sig))
            buf[start:end] += sig[: end - start]
        return buf

    def placed(self, notes: Sequence[Note], inst: Instrument, position: float) -> np.ndarray:
        """Play a part and pan it into the stereo field."""
        return pan(self.play(notes, inst), position)

    def delayed(self, x: np.ndarray, beats: float) -> np.ndarray:
        """Shift a part later by some beats: a tempo-synced echo."""
        k = int(beats * 60.0 / self.bpm * self.sr)
        out = np.zeros_like(x)
        out[k:] = x[: len(x) - k]
        return out

    def reverb(self, x: np.ndarray, rt60: float) -> np.ndarray:
        """Convolution with decaying noise: a cheap, smooth room for the send bus.

        Each channel gets its own impulse response, which widens stereo mixes.
        """
        x2 = x.reshape(len(x), -1)
        out = np.zeros_like(x2)
        n_ir = int(rt60 * self.sr)
        t = times(n_ir, self.sr)
        size = 1 << int(np.ceil(np.log2(len(x2) + n_ir)))
        for ch in range(x2.shape[1]):
            ir = spectral_filter(noise(n_ir, self.rng), self.sr, high=5000)
            ir *= np.exp(-6.9 * t / rt60)
            ir[: int(0.02 * self.sr)] = 0.0  # pre-delay keeps the dry attack clear
            ir /= np.sqrt(np.sum(ir ** 2))
            wet = np.fft.irfft(np.fft.rfft(x2[:, ch], size) * np.fft.rfft(ir, size), size)
            out[:, ch] = wet[: len(x2)]
        return out.reshape(x.shape)

    def master(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """Gentle bus saturation, edge fades and peak normalisation to PEAK_DBFS."""
        x = np.tanh(1.2 * x / np.max(np.abs(x)))
        fade = np.ones(len(x))
        k_in, k_out = int(0.005 * self.sr), int(0.08 * self.sr)
        fade[:k_in] = np.linspace(0, 1, k_in)
        fade[-k_out:] = np.linspace(1, 0, k_out)
        x = x * (fade if x.ndim == 1 else fade[:, None])
        return x * (10 ** (PEAK_DBFS / 20) / np.max(np.abs(x))), self.sr


# --------------------------------------------------------------------------
# Piece 1: Tide Pool -- D dorian, 84 BPM, plucked strings; mono 22050 Hz
# --------------------------------------------------------------------------

TIDE_CHORDS = [(38, (53, 57, 60)), (43, (55, 59, 62)), (38, (53, 57, 60)), (36, (55, 60, 64)),
               (34, (53, 57, 62)), (36, (55, 60, 64)), (38, (53, 57, 60))]  # bass, tones
TIDE_TUNE: list[list[Event]] = [
    [(0, 1, 69), (1, .5, 72), (1.5, .5, 74), (2, 1, 69), (3, 1, 65)],
    [(0, 1, 71), (1, .5, 74), (1.5, .5, 76), (2, 1.5, 74), (3.5, .5, 71)],
    [(0, .5, 69), (.5, .5, 67), (1, 1, 65), (2, .5, 64), (2.5, .5, 65), (3, 1, 69)],
    [(0, 1.5, 67), (1.5, .5, 64), (2, 1, 72), (3, .5, 71), (3.5, .5, 69)],
    [(0, 1, 65), (1, .5, 69), (1.5, 1.5, 74), (3, .5, 72), (3.5, .5, 69)],
    [(0, 1, 67), (1, 1, 76), (2, .5, 74), (2.5, .5, 72), (3, 1, 64)],
    [(0, .5, 65), (.5, .5, 69), (1, .5, 72), (1.5, .5, 76), (2, 2, 74)],
    [(0, 5, 74)],
]


def tide_pool_drums(s: Session) -> np.ndarray:
    """Shaker eighths, rim clicks on 2 and 4 and a soft kick: a light pulse."""
    shake = bars(4, [[(i / 2, .25, 0, .5 if i % 2 else .3) for i in range(8)]] * 7)
    rims = bars(4, [[(1, .25, 0, .6), (3, .25, 0, .6)]] * 7)
    kicks = bars(4, [[(0, .5, 0, .7), (2.5, .5, 0, .45)]] * 7)
    kicks.append(Note(28, .5, 0, .6))
    return (2.0 * s.play(shake, shaker) + s.play(rims, rim) + 0.8 * s.play(kicks, kick))


def tide_pool() -> tuple[np.ndarray, int]:
    """Render piece 1: a calm, plucked tune for the low-rate mono WAV."""
    s = Session(sr=22050, bpm=84.0, beats=32, tail=2.4, seed=101)
    walk: list[list[Event]] = [[(0, 1.5, r), (1.5, .5, r + 12), (2, 1.5, r + 7), (3.5, .5, r)]
                               for r, _ in TIDE_CHORDS]
    offbeats: list[list[Event]] = [[(b, .5, p, .35) for b in (1, 3) for p in tones]
                                   for _, tones in TIDE_CHORDS]
    bass = bars(4, walk + [[(0, 4, 38)]])
    comp = bars(4, offbeats + [[(0, 5, p, .5) for p in (50, 57, 62, 65)]])
    send = s.play(bars(4, TIDE_TUNE), pluck) + 0.8 * s.play(comp, pluck)
    drums = tide_pool_drums(s)
    low = s.play(bass, soft_bass)
    return s.master(send + 0.35 * s.reverb(send, 1.8) + 0.8 * drums + 0.5 * low)


# --------------------------------------------------------------------------
# Piece 2: Neon Arcade -- A minor, 128 BPM, chiptune; stereo 44100 Hz
# --------------------------------------------------------------------------

ARCADE_CHORDS = [(45, (57, 60, 64, 69)), (41, (53, 57, 60, 65)),
                 (48, (55, 60, 64, 67)), (43, (55, 59, 62, 67))] * 3  # Am F C G
ARCADE_ARP_ORDER = [0, 1, 2, 3, 2, 1, 2, 3, 0, 1, 2, 3, 2, 3, 1, 2]
ARCADE_TUNE: list[list[Event]] = [  # enters at bar 5
    [(0, 1, 76), (1, .5, 81), (1.5, .5, 79), (2, 1, 76), (3, .5, 72), (3.5, .5, 74)],
    [(0, 1.5, 72), (1.5, .5, 69), (2, .5, 72), (2.5, 1, 77), (3.5, .5, 76)],
    [(0, 1, 76), (1, 1, 79), (2, .5, 76), (2.5, .5, 74), (3, 1, 72)],
    [(0, 1.5, 74), (1.5, .5, 71), (2, 1, 67), (3, .5, 71), (3.5, .5, 74)],
    [(0, .5, 76), (.5, .5, 76), (1, 1, 81), (2, .5, 83), (2.5, .5, 81), (3, 1, 79)],
    [(0, 1, 77), (1, .5, 76), (1.5, .5, 72), (2, 1, 69), (3, 1, 72)],
    [(0, .5, 79), (.5, .5, 76), (1, .5, 72), (1.5, .5, 76), (2, 1, 79), (3, 1, 84)],
    [(0, 1, 83), (1, 1, 79), (2, 1, 74), (3, 1, 76)],
    [(0, 3, 81)],
]


def arcade_drums(s: Session) -> np.ndarray:
    """Four-on-the-floor kit: the snare and open hats join after the intro."""
    kicks = [Note(b, .5, 0) for b in range(49)]
    snares = ([Note(4 * b + o, .5, 0, .9) for b in range(2, 12) for o in (1, 3)]
              + [Note(15 + f, .25, 0, .25 + f) for f in (.25, .5, .75)]
              + [Note(47 + f, .25, 0, .5 + f) for f in (.25, .5)])
    closed = [Note(i / 4, .1, 0, .7 if i % 4 == 0 else .4) for i in range(192)
              if i % 4 != 2 or i < 64]
    opened = [Note(b + .5, .4, 0, .5) for b in range(16, 48)]
    return (s.placed(kicks, kick, 0) + s.placed(snares, snare, -0.1)
            + 1.5 * s.placed(closed, make_hat(0.03), 0.4)
            + s.placed(opened, make_hat(0.22), -0.4)
            + s.placed([Note(48, 2, 0)], make_hat(0.9), -0.2))


def neon_arcade() -> tuple[np.ndarray, int]:
    """Render piece 2: a busy, bright track for the 44.1 kHz stereo MP3."""
    s = Session(sr=44100, bpm=128.0, beats=48, tail=2.0, seed=202)
    arp = bars(4, [[(i / 4, .2, tones[k], .9 if i % 4 == 0 else .6)
                    for i, k in enumerate(ARCADE_ARP_ORDER)] for _, tones in ARCADE_CHORDS])
    bass = bars(4, [[(i / 2, .4, r + 12 * (i % 2)) for i in range(8)] for r, _ in ARCADE_CHORDS])
    bass.append(Note(48, 3, 33))
    melody = [Note(x.beat + 16, x.beats, x.pitch) for x in bars(4, ARCADE_TUNE)]
    final = [Note(48, 2, p, .8) for p in (57, 60, 64, 69)]
    lead = s.play(melody, chip_lead)
    arps = s.play(arp, saw_arp) + 0.6 * s.play(final, stab)
    music = (1.8 * (pan(lead, 0.1) + 0.35 * pan(s.delayed(lead, 0.75), -0.7))
             + 1.3 * pan(arps, 0.35))
    low = s.placed(bass, pulse_bass, 0)
    return s.master(music + 0.25 * s.reverb(music, 1.2) + 0.7 * arcade_drums(s) + 0.5 * low)


# --------------------------------------------------------------------------
# Piece 3: Lantern Waltz -- F major, 3/4 at 132 BPM, FM keys; stereo 48000 Hz
# --------------------------------------------------------------------------

class Chord(NamedTuple):
    """A waltz chord: bass root, the fifth used on alternate bars, and a voicing."""

    root: int
    fifth: int
    tones: tuple[int, ...]


WALTZ_SHAPES = {
    "F": Chord(41, 36, (53, 57, 60)), "Dm": Chord(38, 33, (53, 57, 62)),
    "Bb": Chord(34, 41, (53, 58, 62)), "C": Chord(36, 31, (52, 55, 60)),
    "C7": Chord(36, 31, (52, 55, 58)), "Am": Chord(33, 40, (52, 57, 60)),
    "Gm": Chord(31, 38, (55, 58, 62)),
}
WALTZ_PROG = "F F Dm Dm Bb C F C7 F Am Dm Gm Bb Gm C7 F".split()
WALTZ_TUNE: list[list[Event]] = [
    [(0, 2, 72), (2, 1, 69)], [(0, 2, 77), (2, 1, 76)],
    [(0, 1.5, 74), (1.5, .5, 76), (2, 1, 77)], [(0, 2, 69), (2, 1, 74)],
    [(0, 1, 74), (1, 1, 77), (2, 1, 74)], [(0, 1.5, 72), (1.5, .5, 70), (2, 1, 67)],
    [(0, 2, 69), (2, 1, 72)], [(0, 2, 67), (2, 1, 70)],
    [(0, 1, 69), (1, 1, 72), (2, 1, 77)], [(0, 2, 76), (2, 1, 72)],
    [(0, 1, 74), (1, 1, 77), (2, 1, 81)], [(0, 2, 79), (2, 1, 74)],
    [(0, 1, 77), (1, 1, 74), (2, 1, 70)], [(0, 1, 70), (1, 1, 74), (2, 1, 79)],
    [(0, 1, 79), (1, 1, 76), (2, .5, 72), (2.5, .5, 76)], [(0, 6, 77)],
]


def waltz_accompaniment(s: Session) -> tuple[np.ndarray, np.ndarray]:
    """The 'oom-pah-pah': bass on one, keys on two and three, a pad underneath."""
    voicings = [WALTZ_SHAPES[c] for c in WALTZ_PROG]
    last = len(voicings) - 1  # alternate root and fifth, but end on the root
    bass = [Note(3 * i, 1, v.fifth if i % 2 and i < last else v.root, .9)
            for i, v in enumerate(voicings)]
    pads = [Note(3 * i, 3 if i < last else 5, p, .8) for i, v in enumerate(voicings)
            for p in v.tones]
    comp = [Note(3 * i + b, .8, p, .3) for i, v in enumerate(voicings[:-1])
            for b in (1, 2) for p in v.tones]
    comp += [Note(3 * last, 6, p, .45) for p in voicings[-1].tones]
    high = [Note(x.beat, x.beats, x.pitch + 12, .5) for x in pads]
    harmony = (s.placed(comp, fm_epiano, -0.3) + s.placed(pads, pad, -0.6)
               + s.placed(high, pad, 0.6))
    return harmony, s.placed(bass, upright_bass, -0.05)


def waltz_drums(s: Session) -> np.ndarray:
    """Soft kick on one and brushes on two and three."""
    brushes = [Note(3 * i + b, .5, 0, .7 if b == 1 else .5) for i in range(15) for b in (1, 2)]
    kicks = [Note(3 * i, .5, 0, .45) for i in range(16)]
    return 2.0 * s.placed(brushes, brush, 0.3) + s.placed(kicks, kick, 0)


def lantern_waltz() -> tuple[np.ndarray, int]:
    """Render piece 3: a gentle waltz with long tails for the 48 kHz Ogg Vorbis."""
    s = Session(sr=48000, bpm=132.0, beats=48, tail=3.2, seed=303)
    melody = [Note(x.beat, x.beats, x.pitch, .8) for x in bars(3, WALTZ_TUNE)]
    harmony, low = waltz_accompaniment(s)
    music = 1.5 * s.placed(melody, fm_epiano, 0.25) + harmony
    drums = waltz_drums(s)
    return s.master(music + 0.4 * s.reverb(music + 0.3 * drums, 2.4) + 0.6 * drums + 0.5 * low)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def to_int16(x: np.ndarray, seed: int) -> np.ndarray:
    """Quantise with seeded TPDF dither, so quiet tails fade instead of buzzing."""
    rng = np.random.default_rng(seed)
    lsb = 1 / 32768
    dither = (rng.uniform(-.5, .5, x.shape) + rng.uniform(-.5, .5, x.shape)) * lsb
    return np.clip(np.round((x + dither) * 32767), -32768, 32767).astype("<i2")


def write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    """16-bit PCM via the stdlib, so the WAV needs no external tool at all."""
    pcm = to_int16(x, seed=sr)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def encode(path: Path, x: np.ndarray, sr: int, codec: list[str], title: str) -> None:
    """Pipe raw float samples into ffmpeg; the rate and channels pass through unchanged."""
    channels = 1 if x.ndim == 1 else x.shape[1]
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(sr), "-ac", str(channels),
           "-i", "pipe:0", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
           *codec, "-metadata", f"title={title}", "-metadata", f"artist={ARTIST}",
           "-metadata", f"album={ALBUM}", str(path)]
    subprocess.run(cmd, input=x.astype("<f4").tobytes(), check=True)


@dataclass(frozen=True)
class Track:
    """One output file: which piece, what it is called, how it is stored."""

    filename: str
    title: str
    make: Callable[[], tuple[np.ndarray, int]]
    codec: list[str] | None  # None means 16-bit WAV through the stdlib


TRACKS = [
    Track("01-tide-pool.wav", "Tide Pool", tide_pool, None),
    Track("02-neon-arcade.mp3", "Neon Arcade", neon_arcade,
          ["-c:a", "libmp3lame", "-b:a", "128k"]),
    Track("03-lantern-waltz.ogg", "Lantern Waltz", lantern_waltz,
          ["-c:a", "libvorbis", "-q:a", "4"]),
]


def main() -> int:
    """Render every track and write it next to this script."""
    if shutil.which("ffmpeg") is None:
        print("make_media: ffmpeg not found on PATH; it is needed for MP3/Ogg.", file=sys.stderr)
        return 1
    for track in TRACKS:
        x, sr = track.make()
        path = MEDIA_DIR / track.filename
        if track.codec is None:
            write_wav(path, x, sr)
        else:
            encode(path, x, sr, track.codec, track.title)
        peak = 20 * np.log10(np.max(np.abs(x)))
        print(f"{path.name}: {len(x) / sr:.2f} s, {sr} Hz, "
              f"{1 if x.ndim == 1 else x.shape[1]} ch, peak {peak:.2f} dBFS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
