"""A bad network, simulated (sans-IO): each datagram's fate (lost, corrupted, duplicated, delayed) from a seed.

`Impairer.process(data, now)` says when each copy of a datagram is to be delivered, if at all; the caller (the
relay's loop, or the tests' in-memory link) does the delivering. Every decision comes from generators seeded by
`Impairments.seed`, so a run can be repeated exactly. Each impairment draws from a generator of its own, and both
kinds of loss draw for every datagram: the same seed loses the same packets whatever the other impairments are
(with or without jitter, duplication, reordering or corruption, and random loss with or without burst loss), so
runs compare packet for packet.

The model, per datagram, in this order:

- **burst loss** (Gilbert–Elliott): a two-state chain, good and bad, stepped once per datagram: good turns bad
  with probability `p_enter`, bad turns good with `p_leave`; in the bad state a datagram is lost with
  `loss_in_bad`. Losses come in runs (a fading radio link, a congested queue), which is what concealment has
  to cope with; `BurstLoss.from_mean` builds one from the figures people think in.
- **random loss**: each datagram independently, with probability `loss`.
- **corruption**: with probability `corrupt`, one byte after the first `header_bytes` becomes a different value;
  the length never changes. The header is spared so that sequence numbers stay readable and loss stays
  countable (a real network's UDP checksum would drop most corrupted datagrams instead: use loss for that).
- **duplication**: with probability `duplicate`, a second copy; each copy then travels on its own.
- **delay**: each copy waits `delay_ms`, plus a uniform draw from 0 to `jitter_ms`, plus, with probability
  `reorder`, `reorder_delay_ms` more (held back: the datagrams behind it overtake it). The delay never falls
  below `delay_ms` (netem's `delay D J` spreads D ± J: that is `delay_ms=D-J, jitter_ms=2J` here).

Jitter reorders: copies are delayed independently, as on a real network whose queues and paths vary, so when the
jitter exceeds the spacing between datagrams (5 ms for the station's default packets) later ones overtake earlier
ones. `reorder` adds reordering that does not depend on the jitter.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields

from rtpwire.rtp import HEADER as RTP_HEADER


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a probability from 0 to 1, got {value}")


@dataclass(frozen=True)
class BurstLoss:
    """Gilbert–Elliott loss: the chain's transition probabilities per datagram, and the loss in the bad state."""

    p_enter: float  # good -> bad
    p_leave: float  # bad -> good
    loss_in_bad: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p_enter", "p_leave", "loss_in_bad"):
            _check_probability(name, getattr(self, name))
        if self.p_leave == 0.0 and self.p_enter > 0.0:
            raise ValueError("p_leave is 0: the first burst would never end")

    @classmethod
    def from_mean(cls, loss: float, burst_packets: float) -> BurstLoss:
        """The chain that loses a fraction `loss` of datagrams, in runs of `burst_packets` on average.

        Every datagram in the bad state is lost, so a run of losses is a stay in the bad state: geometric, with
        mean 1 / p_leave. The chain spends p_enter / (p_enter + p_leave) of the time there: that is the loss.
        """
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"mean burst loss is a fraction from 0 up to (not including) 1, got {loss}")
        if burst_packets < 1.0:
            raise ValueError(f"a burst is at least 1 packet long, got {burst_packets}")
        p_leave = 1.0 / burst_packets
        p_enter = loss * p_leave / (1.0 - loss)
        if p_enter > 1.0:
            most = burst_packets / (burst_packets + 1)
            plural = "" if burst_packets == 1 else "s"
            raise ValueError(f"bursts of {burst_packets:g} packet{plural} on average lose at most {most:.0%} "
                             f"(a good spell between two lasts at least one packet), not {loss:.0%}")
        return cls(p_enter, p_leave)

    @property
    def mean_loss(self) -> float:
        """The long-run fraction lost: the time spent in the bad state, times the loss there."""
        total = self.p_enter + self.p_leave
        return self.loss_in_bad * self.p_enter / total if total else 0.0


@dataclass(frozen=True)
class Impairments:
    """What the network does to datagrams; probabilities are fractions from 0 to 1. All zero: a clean link."""

    loss: float = 0.0
    burst: BurstLoss | None = None
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reorder: float = 0.0
    reorder_delay_ms: float = 10.0  # how long a reordered datagram is held back: two default packets' worth
    duplicate: float = 0.0
    corrupt: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "reorder", "duplicate", "corrupt"):
            _check_probability(name, getattr(self, name))
        for name in ("delay_ms", "jitter_ms", "reorder_delay_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative, got {getattr(self, name)}")

    def delay_only(self) -> Impairments:
        """The same fixed delay and nothing else: what reports get beside impaired audio, so that they keep
        their place beside it (a pause report overtaking the last packets before the pause would look like a
        resume)."""
        return Impairments(delay_ms=self.delay_ms, seed=self.seed)

    def describe(self) -> str:
        """One line for people: the impairments that are on, and the seed that repeats them."""
        parts = []
        if self.loss:
            parts.append(f"loss {self.loss:.3g}")
        if self.burst is not None:
            parts.append(f"burst loss {self.burst.mean_loss:.3g} in runs of {1 / self.burst.p_leave:.3g}")
        if self.delay_ms or self.jitter_ms:
            top = f"..{self.delay_ms + self.jitter_ms:g}" if self.jitter_ms else ""
            parts.append(f"delay {self.delay_ms:g}{top} ms")
        if self.reorder:
            parts.append(f"reorder {self.reorder:.3g} (+{self.reorder_delay_ms:g} ms)")
        if self.duplicate:
            parts.append(f"duplicate {self.duplicate:.3g}")
        if self.corrupt:
            parts.append(f"corrupt {self.corrupt:.3g}")
        return ", ".join(parts or ["no impairments"]) + f"; seed {self.seed}"


@dataclass
class ImpairmentCounts:
    """What an Impairer did. received = dropped_random + dropped_burst + delivered - duplicated."""

    received: int = 0
    dropped_random: int = 0
    dropped_burst: int = 0
    duplicated: int = 0
    reordered: int = 0  # copies held back by reorder_delay_ms
    corrupted: int = 0
    delivered: int = 0  # copies handed out for delivery, duplicates included

    @property
    def dropped(self) -> int:
        return self.dropped_random + self.dropped_burst

    def as_dict(self) -> dict[str, int]:
        return asdict(self) | {"dropped": self.dropped}


@dataclass
class _Generators:
    """One seeded generator per decision, so that each impairment's choices do not depend on the others'."""

    burst: random.Random
    loss: random.Random
    corrupt: random.Random
    duplicate: random.Random
    delay: random.Random

    @classmethod
    def seeded(cls, seed: int, salt: str) -> _Generators:
        # string seeds are hashed with SHA-512 by `random`: the same on every run and every platform
        return cls(**{f.name: random.Random(f"{seed}/{salt}/{f.name}") for f in fields(cls)})


class Impairer:
    """Decides each datagram's fate, in the order datagrams come; see the module's docstring for the model.

    `salt` separates streams impaired with one seed (the relay's RTP and RTCP), so they are not lost in step;
    `header_bytes` is what corruption spares at the start of each datagram."""

    def __init__(self, impairments: Impairments, *, salt: str = "", header_bytes: int = RTP_HEADER.size) -> None:
        self.impairments = impairments
        self.header_bytes = header_bytes
        self.counts = ImpairmentCounts()
        self._random = _Generators.seeded(impairments.seed, salt)
        self._bad = False  # the Gilbert–Elliott chain's state

    def process(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        """(deliver at, datagram) for each copy of `data`, received at `now`: none if it is lost."""
        config = self.impairments
        counts = self.counts
        counts.received += 1
        lost_in_burst, lost_at_random = self._lost_in_burst(), self._random.loss.random() < config.loss
        if lost_in_burst:
            counts.dropped_burst += 1
            return []
        if lost_at_random:
            counts.dropped_random += 1
            return []
        data, corrupted = self._corrupted(data)
        copies = 2 if self._random.duplicate.random() < config.duplicate else 1
        delays = [self._delay() for _ in range(copies)]
        counts.corrupted += corrupted
        counts.duplicated += copies - 1
        counts.delivered += copies
        counts.reordered += sum(held for _, held in delays)
        return [(now + delay_s, data) for delay_s, _ in delays]

    def _lost_in_burst(self) -> bool:
        """Step the chain, then decide in the state it is in."""
        burst = self.impairments.burst
        step, loss = self._random.burst.random(), self._random.burst.random()
        if burst is None:
            return False
        self._bad = step >= burst.p_leave if self._bad else step < burst.p_enter
        return self._bad and loss < burst.loss_in_bad

    def _corrupted(self, data: bytes) -> tuple[bytes, bool]:
        """The datagram with one byte after the header changed, or as it was; and whether it was changed."""
        corrupt, offset, flip = (self._random.corrupt.random(), self._random.corrupt.random(),
                                 self._random.corrupt.randrange(1, 256))
        if corrupt >= self.impairments.corrupt or len(data) <= self.header_bytes:
            return data, False
        position = self.header_bytes + int(offset * (len(data) - self.header_bytes))
        damaged = bytearray(data)
        damaged[position] ^= flip
        return bytes(damaged), True

    def _delay(self) -> tuple[float, bool]:
        """A copy's delay in seconds, and whether it is held back to be reordered."""
        config = self.impairments
        jitter, reorder = self._random.delay.random(), self._random.delay.random()
        held = reorder < config.reorder
        return (config.delay_ms + jitter * config.jitter_ms + (config.reorder_delay_ms if held else 0.0)) / 1000, held
