"""A real SMTP server in its own process for the benchmarks: prints "<Message-ID> <arrival time>" per message.

python bench/smtp_sink.py PORT
"""

from __future__ import annotations

import sys
import time
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


class Handler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        headers = BytesParser().parsebytes(envelope.content, headersonly=True)
        sys.stdout.write(f"{headers['Message-ID']} {at}\n")
        sys.stdout.flush()
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()
