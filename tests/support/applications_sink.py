"""A plain Nameko service in its own process, knowing nothing of this backend's code: an ordinary
``@event_handler`` on the applications service's exchange that writes each ``TalentCertified`` it
receives as one JSON line to ``$SINK_OUT`` (what any other government system would do)."""

import json
import os

from nameko.events import event_handler

OUT = os.environ["SINK_OUT"]


class ApplicationsSink:
    name = "applications_sink"

    @event_handler("applications", "TalentCertified")
    def on_talent_certified(self, body):
        with open(OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps(body, ensure_ascii=False) + "\n")
