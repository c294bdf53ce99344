"""The lease: one holder at a time, renewals, takeover after expiry, release."""

from __future__ import annotations

from datetime import timedelta

from app.core.db import utcnow
from app.scheduler.lease import (
    acquire_or_renew,
    current_lease,
    holder_pid,
    live_holder,
    new_holder,
    release,
)


def test_one_holder_renews_and_a_second_is_refused_until_expiry(db_session):
    now = utcnow()
    assert acquire_or_renew("a:1:x", now, 45)
    assert not acquire_or_renew("b:2:y", now + timedelta(seconds=1), 45)
    assert acquire_or_renew("a:1:x", now + timedelta(seconds=15), 45)
    lease = current_lease()
    assert lease.holder == "a:1:x"
    assert lease.expires_at == now + timedelta(seconds=60)
    assert lease.acquired_at == now
    # Not yet expired (60 s after start): still refused; after it, taken over.
    assert not acquire_or_renew("b:2:y", now + timedelta(seconds=59), 45)
    later = now + timedelta(seconds=61)
    assert acquire_or_renew("b:2:y", later, 45)
    assert not acquire_or_renew("a:1:x", later, 45)
    lease = current_lease()
    assert (lease.holder, lease.acquired_at) == ("b:2:y", later)
    assert live_holder(later) == "b:2:y"


def test_a_released_lease_is_free_at_once(db_session):
    now = utcnow()
    assert acquire_or_renew("a:1:x", now, 45)
    assert not release("b:2:y", now)  # not theirs to release
    assert release("a:1:x", now)
    assert live_holder(now) is None
    assert acquire_or_renew("b:2:y", now, 45)


def test_holders_name_the_host_and_process():
    holder = new_holder()
    assert holder != new_holder()
    assert holder_pid(holder) is not None
    assert holder_pid("admin") is None
