"""DDS plumbing the ROS 2 way: topic names, QoS profiles, domain id, typed readers and writers.

ROS 2 puts topic ``/x`` on the DDS topic ``rt/x``; its ``sensor_data`` profile is best
effort with a short history (a late joint state is worthless, a resent one is harmful), and
commands use reliable delivery. The domain and how far discovery reaches come from
:mod:`robots.ros2.discovery` (``ROS_DOMAIN_ID``, ``ROS_AUTOMATIC_DISCOVERY_RANGE``,
``ROS_STATIC_PEERS`` or the ``dds`` config; loopback by default), applied before the
participant exists.
"""

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


def take(reader: DataReader, n: int = 64) -> list:
    """Up to ``n`` received samples, without DDS's invalid samples (writer gone, instance disposed)."""
    if reader is None:  # a listener called while its reader is being deleted
        return []
    return [m for m in reader.take(N=n) if not isinstance(m, InvalidSample)]


def wait_for_match(writer: DataWriter, timeout: float = 5.0) -> bool:
    """Wait until ``writer`` has discovered at least one reader (DDS discovery takes a moment)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if writer.get_matched_subscriptions():
            return True
        time.sleep(0.01)
    return False
