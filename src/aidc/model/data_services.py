"""Supporting data services: which ones a scenario needs, why, and how many nodes.

The services are the seed's: Redis (cache, session state, online features), MySQL or
PostgreSQL (metadata), MongoDB (documents), Kafka (request and event streams), Spark /
Flink / Hadoop (batch and stream preprocessing), Nginx (TLS and load balancing). Rules:

* Spark — the training corpus must be tokenised within ``preprocess_within_hours``:
  ``nodes = ceil(corpus bytes / (tokeniser bytes/s per node x seconds allowed))``;
  Hadoop MapReduce is never picked over it for new data (sort benchmark: 20.7 vs
  0.68 GB/min per node, catalog services.yaml).
* Kafka — any inference service: requests and feedback are logged as events,
  ``brokers = max(replication factor, ceil(peak events/s / events/s per broker))``.
* Redis — any generation service (session state, prefix and response cache):
  ``nodes = ceil(peak ops/s / ops/s per node)`` plus one replica when the service asks
  for 99.9% or more.
* MySQL (or PostgreSQL) — always: job, dataset and model metadata; a primary and a
  replica.
* MongoDB — generation services keep conversation documents: a replica set.
* Flink — anonymisation required on a request stream: the stream is scrubbed on the
  fly; as many task nodes as Kafka brokers.
* Nginx — more than one replica, or TLS in transit: an active/standby pair.

Per-node throughputs are data (catalog services.yaml). Pure: values in, values out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REDIS_OPS_PER_REQUEST = 2.0
"""One read of the session or cache entry and one write back per request."""
KAFKA_EVENTS_PER_REQUEST = 2.0
"""The request and its response (or feedback) are each logged as an event."""
KAFKA_REPLICATION_FACTOR = 3
"""Apache Kafka's recommended replication factor for durable topics (3 brokers minimum)."""
MONGODB_REPLICA_SET = 3
"""MongoDB's recommended smallest replica set: a primary and two secondaries."""


@dataclass(frozen=True)
class ServiceNeeds:
    """What the scenario asks of the data services (SI units)."""

    corpus_bytes: float  # training text to clean and tokenise
    preprocess_s: float | None  # time allowed to tokenise it
    peak_rps: float  # all inference services together
    has_inference: bool
    has_generation: bool
    max_replicas: int
    high_availability: bool  # any service asks for >= 99.9%
    tls_in_transit: bool
    anonymisation: bool


@dataclass(frozen=True)
class ServiceThroughput:
    """Per-node throughputs from the catalog."""

    tokeniser_bytes_per_s: float
    redis_ops_per_s: float
    kafka_events_per_s: float


@dataclass(frozen=True)
class ServicePlan:
    service: str
    nodes: int
    reason: str


def plan_services(needs: ServiceNeeds, tp: ServiceThroughput) -> list[ServicePlan]:
    """The services this scenario needs, with node counts and the reason for each."""
    plans = [
        ServicePlan(
            "mysql",
            2,
            "job, dataset and model metadata (primary + replica); PostgreSQL is an equal choice",
        )
    ]
    if needs.corpus_bytes > 0 and needs.preprocess_s:
        nodes = max(
            1, math.ceil(needs.corpus_bytes / (tp.tokeniser_bytes_per_s * needs.preprocess_s))
        )
        plans.append(
            ServicePlan(
                "spark",
                nodes,
                f"tokenise {needs.corpus_bytes:.3g} B of text within "
                f"{needs.preprocess_s:.3g} s at {tp.tokeniser_bytes_per_s:.3g} B/s per node",
            )
        )
    if needs.has_inference:
        events = needs.peak_rps * KAFKA_EVENTS_PER_REQUEST
        brokers = max(KAFKA_REPLICATION_FACTOR, math.ceil(events / tp.kafka_events_per_s))
        plans.append(
            ServicePlan(
                "kafka",
                brokers,
                f"log {events:.3g} request/response events/s for audit and feedback "
                f"(replication factor {KAFKA_REPLICATION_FACTOR})",
            )
        )
        if needs.anonymisation:
            plans.append(
                ServicePlan("flink", brokers, "anonymise the request stream before it is stored")
            )
    if needs.has_generation:
        ops = needs.peak_rps * REDIS_OPS_PER_REQUEST
        nodes = math.ceil(ops / tp.redis_ops_per_s) + (1 if needs.high_availability else 0)
        plans.append(
            ServicePlan(
                "redis",
                max(1, nodes),
                f"session state and prefix/response cache, {ops:.3g} ops/s at peak",
            )
        )
        plans.append(
            ServicePlan("mongodb", MONGODB_REPLICA_SET, "conversation and feedback documents")
        )
    if needs.max_replicas > 1 or needs.tls_in_transit:
        plans.append(
            ServicePlan("nginx", 2, "TLS termination and least-connections load balancing")
        )
    return plans


def total_service_nodes(plans: list[ServicePlan]) -> int:
    return sum(p.nodes for p in plans)
