"""The baseline's consumer: a dramatiq worker process running a no-op actor.

    python bench/noop_worker.py REDIS_URL NAMESPACE THREADS

Prints "ready" once consuming; on SIGTERM prints "<messages processed> <time of the last one>".
The producer (bench/notifications.py) sends the messages with the same actor declaration.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from consulta.workers.process import CONSUMER_WAIT_MS

QUEUE = "bench_noop"


def declare(broker: dramatiq.Broker, on_message: object = None) -> dramatiq.Actor:  # type: ignore[type-arg]
    def counted(key: str) -> None:
        if callable(on_message):
            on_message()

    return dramatiq.actor(counted, queue_name=QUEUE, broker=broker, max_retries=0)


def main() -> None:
    url, namespace, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    broker = RedisBroker(url=url, namespace=namespace)
    lock = threading.Lock()
    seen = [0, 0.0]

    def note() -> None:
        with lock:
            seen[0] += 1
            seen[1] = time.time()

    declare(broker, note)
    # The same consumer settings as `consulta worker` (threads, and how long its consumer sleeps).
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads, worker_timeout=CONSUMER_WAIT_MS)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    print("ready", flush=True)
    stop.wait()
    worker.stop()
    print(f"{seen[0]} {seen[1]}", flush=True)


if __name__ == "__main__":
    main()
