"""DDS plumbing the ROS 2 way: topic names, QoS profiles, domain id, typed readers and writers.

ROS 2 puts topic ``/x`` on the DDS topic ``rt/x``; its ``sensor_data`` profile is best
effort with a short history (a late joint state is worthless, a resent one is harmful), and
commands use reliable delivery. The domain and how far discovery reaches come from
:mod:`robots.ros2.discovery` (``ROS_DOMAIN_ID``, ``ROS_AUTOMATIC_DISCOVERY_RANGE``,
``ROS_STATIC_PEERS`` or the ``dds`` config; loopback by default), applied before the
participant exists.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cyclonedds.core import Listener, Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader, InvalidSample
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from robots.ros2.discovery import Discovery, join, resolve

SENSOR_QOS = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(5), Policy.Durability.Volatile)
"""rmw's sensor_data profile: best effort, keep last 5, volatile (joint states)."""

COMMAND_QOS = Qos(
    Policy.Reliability.Reliable(duration(milliseconds=100)), Policy.History.KeepLast(10), Policy.Durability.Volatile
)
"""rmw's default profile: reliable, keep last 10, volatile (trajectory commands)."""


def dds_topic(ros_topic: str) -> str:
    """The DDS topic name ROS 2 uses for a ROS topic: ``/joint_states`` -> ``rt/joint_states``."""
    name = ros_topic.strip()
    if not name or " " in name:
        raise ValueError(f"bad ROS topic name {ros_topic!r}")
    return "rt/" + name.lstrip("/")


def domain_id() -> int:
    """The domain from ``ROS_DOMAIN_ID`` (0..232), else 0.

    Raises:
        DiscoveryError: ``ROS_DOMAIN_ID`` is set but not a valid domain id.
    """
    return resolve().domain


_LISTENERS: list[Listener] = []
"""Every listener handed to a reader (see :meth:`Node.reader`)."""


@dataclass
class Endpoint:
    """A reader or writer bound to one ROS topic."""

    topic: Topic
    entity: DataReader | DataWriter


class Node:
    """A DDS participant on one domain with ROS-named topics (the part of an rclpy node we need).

    Args:
        domain: DDS domain id (default: ``ROS_DOMAIN_ID`` or 0); ignored when ``discovery`` is given.
        discovery: resolved discovery settings (default: from the environment, loopback unless
            ``ROS_AUTOMATIC_DISCOVERY_RANGE`` says otherwise).
    """

    def __init__(self, domain: int | None = None, discovery: Discovery | None = None) -> None:
        self.discovery = discovery if discovery is not None else resolve(domain=domain)
        self.domain = self.discovery.domain
        join(self.discovery)  # before the participant: Cyclone reads its configuration once per domain
        self.participant = DomainParticipant(self.domain)
        self._topics: dict[str, Topic] = {}

    def _topic(self, ros_topic: str, msg_type: type) -> Topic:
        name = dds_topic(ros_topic)
        if name not in self._topics:
            self._topics[name] = Topic(self.participant, name, msg_type)
        return self._topics[name]

    def reader(
        self, ros_topic: str, msg_type: type, qos: Qos = SENSOR_QOS, listener: Listener | None = None
    ) -> DataReader:
        """A reader; ``listener`` callbacks (e.g. ``on_data_available``) run on a DDS thread.

        The listener is kept alive for the life of the process: Cyclone may still call it from
        its own threads while the reader is being deleted (a writer that left is unregistered
        on its garbage-collection thread), and a callback freed by Python's garbage collector
        at that moment crashed the interpreter (seen under gdb: libffi from dds_reader.c).
        """
        if listener is not None:
            _LISTENERS.append(listener)
        reader = DataReader(self.participant, self._topic(ros_topic, msg_type), qos=qos, listener=listener)
        if listener is not None and getattr(listener, "on_data_available", None) is not None:
            # Samples already there when the reader is created (a latched message of a writer
            # this participant has discovered: an e-stop, the camera's /tf_static) are handed
            # to the callback before Python holds the reader, so it gets None and cannot take
            # them; a latched topic sends nothing after, so they would never be read. Hand the
            # reader over once now (taking nothing is harmless).
            listener.on_data_available(reader)
        return reader

    def writer(self, ros_topic: str, msg_type: type, qos: Qos = COMMAND_QOS) -> DataWriter:
        return DataWriter(self.participant, self._topic(ros_topic, msg_type), qos=qos)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a program (Ctrl-C, a supervisor's SIGTERM): held back while C takes samples."""


@contextmanager
def signals_held(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Hold ``signals`` back while Cyclone's C layer builds Python samples; deliver them after.

    cyclonedds-python's take (``ddspy_readtake``) builds each sample's info by calling a
    Python class from C and does not check the result: a Python signal handler that raises
    there (Ctrl-C's KeyboardInterrupt, a SIGTERM handler that stops a loop) makes it free a
    null pointer and the interpreter dies with a segmentation fault, or corrupts it (measured:
    4 of 15 Ctrl-C's of a reader under load; the stand-in cell died 3 times in 40 SIGTERMs
    sent just after a deployment ended, losing its statistics). Python runs handlers only in
    the main thread, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for sig in signals:
        handler = signal.getsignal(sig)
        if handler is None or handler == signal.SIG_IGN:  # set outside Python, or nothing to hold back
            continue
        previous[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in caught:
            signal.raise_signal(sig)  # the program's own handler (or default action) runs now


def take(reader: DataReader, n: int = 64) -> list:
    """Up to ``n`` received samples, without DDS's invalid samples (writer gone, instance disposed).

    Ctrl-C or SIGTERM arriving meanwhile takes effect when the samples are in hand
    (:func:`signals_held`).
    """
    if reader is None:  # a listener called while its reader is being deleted
        return []
    with signals_held():
        samples = reader.take(N=n)
    return [m for m in samples if not isinstance(m, InvalidSample)]


def wait_for_match(writer: DataWriter, timeout: float = 5.0) -> bool:
    """Wait until ``writer`` has discovered at least one reader (DDS discovery takes a moment)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if writer.get_matched_subscriptions():
            return True
        time.sleep(0.01)
    return False
