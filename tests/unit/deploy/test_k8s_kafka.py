"""Kafka in the manifests: the topics are the code's, and no autoscaler outgrows a topic."""

from __future__ import annotations

import pytest
from callscope.v1 import events_pb2
from callscope_analysis.settings import AnalysisSettings
from callscope_common.events import DLQ_SUFFIX, topic_of
from callscope_transcription.settings import TranscriptionSettings

from tests.unit.deploy.k8s import OVERLAYS, TARGETS, Rendered

# The topics each KEDA-scaled stage's consumer group works through (deletions are cheap and
# left out): from the event messages, so a renamed topic fails here.
SCALED_STAGES = {
    "transcription": (
        TranscriptionSettings.model_fields["consumer_group"].default,
        {topic_of(events_pb2.CallUploaded), topic_of(events_pb2.TranscriptionRequested)},
    ),
    "analysis": (
        AnalysisSettings.model_fields["consumer_group"].default,
        {topic_of(events_pb2.CallTranscribed), topic_of(events_pb2.AnalysisRequested)},
    ),
}


def code_topics() -> set[str]:
    """Every topic an event message in proto/ declares."""
    topics = set()
    for message in events_pb2.DESCRIPTOR.message_types_by_name.values():
        cls = getattr(events_pb2, message.name)
        try:
            topics.add(topic_of(cls))
        except ValueError:
            continue  # a message that is not an event (the header)
    return topics


def partitions(rendered: Rendered) -> dict[str, int]:
    """Topic name -> partitions, from the rendered KafkaTopic resources."""
    return {
        topic["spec"].get("topicName", topic["metadata"]["name"]): int(topic["spec"]["partitions"])
        for topic in rendered.of_kind("KafkaTopic")
    }


def test_the_code_declares_the_seven_stage_topics() -> None:
    """The list the KafkaTopic resources are compared with is the one the services use."""
    assert code_topics() == {
        "calls.uploaded",
        "calls.status",
        "calls.transcribed",
        "calls.analyzed",
        "calls.deleted",
        "transcription.requested",
        "analysis.requested",
    }


@pytest.mark.parametrize("target", TARGETS)
def test_every_topic_and_its_dlq_is_a_kafka_topic(
    rendered: dict[str, Rendered], target: str
) -> None:
    """KafkaTopics = the code's topics plus their .dlq, on the callscope cluster, with retention."""
    wanted = {name for topic in code_topics() for name in (topic, topic + DLQ_SUFFIX)}
    assert set(partitions(rendered[target])) == wanted
    kafka = rendered[target].get("Kafka", "callscope")
    nodes = sum(pool["spec"]["replicas"] for pool in rendered[target].of_kind("KafkaNodePool"))
    for topic in rendered[target].of_kind("KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert int(topic["spec"]["config"]["retention.ms"]) > 0
        assert topic["spec"]["replicas"] <= nodes
        assert int(topic["spec"]["config"]["min.insync.replicas"]) <= topic["spec"]["replicas"]
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False


@pytest.mark.parametrize("target", TARGETS)
def test_dead_letter_topics_keep_longer_with_fewer_partitions(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Each <topic>.dlq has fewer partitions and a longer retention than its topic."""
    topics = {t["metadata"]["name"]: t["spec"] for t in rendered[target].of_kind("KafkaTopic")}
    for name in code_topics():
        stage, dlq = topics[name], topics[name + DLQ_SUFFIX]
        assert dlq["partitions"] < stage["partitions"]
        assert int(dlq["config"]["retention.ms"]) > int(stage["config"]["retention.ms"])


@pytest.mark.parametrize("target", ("overlays/prod", "overlays/gpu"))
def test_scaled_objects_watch_their_group_and_never_exceed_partitions(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Kafka triggers on the stage's consumer group and topics; maxReplicaCount <= partitions."""
    counts = partitions(rendered[target])
    scaled = {so["metadata"]["name"]: so for so in rendered[target].of_kind("ScaledObject")}
    assert set(scaled) == set(SCALED_STAGES)
    bootstrap = {rendered[target].config_map("callscope-infra")["data"]["KAFKA_BOOTSTRAP_SERVERS"]}
    for name, (group, topics) in SCALED_STAGES.items():
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        triggers = spec["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        assert {t["metadata"]["consumerGroup"] for t in triggers} == {group}
        assert {t["metadata"]["topic"] for t in triggers} == topics
        assert {t["metadata"]["bootstrapServers"] for t in triggers} == bootstrap
        # One lagThreshold per stage, a whole number of records.
        thresholds = {t["metadata"]["lagThreshold"] for t in triggers}
        assert len(thresholds) == 1 and next(iter(thresholds)).isdigit(), thresholds
        for topic in topics:
            assert spec["maxReplicaCount"] <= counts[topic], f"{name}: {topic}"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


@pytest.mark.parametrize("target", ("overlays/prod", "overlays/gpu"))
def test_ingest_scales_within_the_partitions_it_consumes(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Ingest consumes calls.status and calls.analyzed: its HPA stays within their partitions."""
    counts = partitions(rendered[target])
    hpa = rendered[target].get("HorizontalPodAutoscaler", "ingest")["spec"]
    for message in (events_pb2.CallStatusChanged, events_pb2.CallAnalyzed):
        assert hpa["maxReplicas"] <= counts[topic_of(message)]


@pytest.mark.parametrize("target", OVERLAYS)
def test_consumer_groups_in_config_are_the_scaled_ones(
    rendered: dict[str, Rendered], target: str
) -> None:
    """<SVC>_CONSUMER_GROUP in the ConfigMaps equals the group KEDA watches (its default)."""
    for name, (group, _) in SCALED_STAGES.items():
        data = rendered[target].config_map(f"callscope-{name}")["data"]
        assert data[f"{name.upper()}_CONSUMER_GROUP"] == group


@pytest.mark.parametrize("target", TARGETS)
def test_services_find_kafka_at_the_bootstrap_service(
    rendered: dict[str, Rendered], target: str
) -> None:
    """KAFKA_BOOTSTRAP_SERVERS is Strimzi's <cluster>-kafka-bootstrap:<plain listener port>."""
    kafka = rendered[target].get("Kafka", "callscope")
    listener = next(x for x in kafka["spec"]["kafka"]["listeners"] if x["type"] == "internal")
    data = rendered[target].config_map("callscope-infra")["data"]
    want = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert data["KAFKA_BOOTSTRAP_SERVERS"] == want
