"""Follow-ups (SPEC §11): planned contacts that measure whether founders opened, survived
and created jobs — planning, work queues, completion, attempts and self-reports."""
