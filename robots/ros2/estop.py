"""The operator e-stop over ROS 2: a latched ``std_msgs/msg/Bool`` topic (true = stop).

Every process that moves an arm (``embodied deploy``, the stand-in ``embodied fake-arm``)
subscribes and latches its own stop on ``true``; only ``false`` (``embodied estop --reset``)
releases it. The topic uses ROS 2's "latched" profile (reliable, transient local, keep
last 1): a subscriber that joins while the publisher is still up gets the last value.
"""

import time
from collections.abc import Callable

from cyclonedds.core import Listener, Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.util import duration

from robots.ros2.dds import Node, take
from robots.ros2.discovery import Discovery
from robots.ros2.messages import Bool

ESTOP_QOS = Qos(
    Policy.Reliability.Reliable(duration(milliseconds=100)),
    Policy.History.KeepLast(1),
    Policy.Durability.TransientLocal,
)
"""ROS 2's latched profile: reliable, keep last 1, transient local."""


def subscribe_estop(node: Node, topic: str, on_change: Callable[[bool], None]) -> DataReader:
    """Call ``on_change(stop)`` on a DDS thread for every e-stop message; keep the reader alive."""

    def on_data(reader) -> None:  # noqa: ANN001 (DDS listener thread)
        for msg in take(reader):
            on_change(bool(msg.data))

    return node.reader(topic, Bool, ESTOP_QOS, Listener(on_data_available=on_data))


def publish_estop(discovery: Discovery, topic: str, stop: bool, wait: float = 2.0) -> int:
    """Publish one e-stop value and wait until the subscribers present have it.

    Args:
        discovery: the DDS settings (domain, range).
        topic: the e-stop topic (e.g. ``/embodied/estop``).
        stop: True latches the stop; False releases it.
        wait: seconds to wait for subscribers to be discovered, then for their acknowledgements.

    Returns:
        The number of subscribers matched when the value was written (0: nobody heard it).
    """
    node = Node(discovery=discovery)
    writer = node.writer(topic, Bool, ESTOP_QOS)
    deadline = time.monotonic() + wait
    # Discovery takes a moment; give late subscribers a short grace after the first match.
    while time.monotonic() < deadline and not writer.get_matched_subscriptions():
        time.sleep(0.01)
    time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    matched = len(writer.get_matched_subscriptions())
    writer.write(Bool(data=bool(stop)))
    if matched:
        writer.wait_for_acks(duration(seconds=max(0.1, deadline - time.monotonic())))
    return matched
